// What a head does, measured on the sentence it attends to, so that a lesson can name a head by what
// it does ("the previous-token head") instead of by a number that changes whenever the model is
// trained again. Each pattern is the mean weight, over the queries where it applies, that a head
// puts where the pattern says; a model whose config has `head_labels` ([layer][head] → name) is
// asked first.

/** The patterns a lesson may name, with how a learner would say them. */
export const PATTERNS = {
  start: 'the first token (<bos>)',
  previous: 'the previous token',
  self: 'the token itself',
  induction: 'the token after an earlier copy of itself',
  punctuation: 'punctuation',
};

const PUNCT = /^\p{P}+$/u;
const same = (a, b) => a.text.toLowerCase() === b.text.toLowerCase();

// For query i, the key the pattern looks at (or a list of keys), or null where it does not apply.
const TARGETS = {
  start: (units, i) => (i >= 1 ? 0 : null),
  previous: (units, i) => (i >= 2 ? i - 1 : null),
  self: (units, i) => (i >= 1 ? i : null),
  induction: (units, i) => {
    for (let p = i - 1; p >= 1; --p) if (same(units[p], units[i])) return p + 1 < i ? p + 1 : null;
    return null;
  },
  punctuation: (units, i) => {
    const keys = [];
    for (let j = 1; j <= i; ++j) if (PUNCT.test(units[j].text)) keys.push(j);
    return keys.length ? keys : null;
  },
};

/** How strongly head `head` of `run` follows `pattern`: its mean weight there (0 … 1), or null. */
export function patternScore(run, head, pattern) {
  const target = TARGETS[pattern];
  if (!target || run.keyUnits !== run.units) return null;
  const { n, m, units } = run;
  let sum = 0, count = 0;
  for (let i = 0; i < n; ++i) {
    const t = target(units, i);
    if (t === null) continue;
    const row = i * m;
    sum += Array.isArray(t) ? t.reduce((a, j) => a + head.weights[row + j], 0) : head.weights[row + t];
    count += 1;
  }
  return count ? sum / count : null;
}

/**
 * The { layer, head, score } of `run` that best follows `pattern` (a key of PATTERNS), or null when
 * the pattern does not apply to this sentence. A head the model labels with the pattern's name wins.
 */
export function findHead(run, pattern) {
  const labels = run.headLabels;
  if (labels) {
    for (let l = 0; l < labels.length; ++l) {
      const h = labels[l]?.indexOf?.(pattern) ?? -1;
      if (h >= 0 && run.layers[l]?.heads[h]) return { layer: l, head: h, score: patternScore(run, run.layers[l].heads[h], pattern) };
    }
  }
  let best = null;
  run.layers.forEach((layer, l) => layer.heads.forEach((h, i) => {
    const score = patternScore(run, h, pattern);
    if (score !== null && (!best || score > best.score)) best = { layer: l, head: i, score };
  }));
  return best;
}
