// What one attention head does on one sentence, as numbers a teacher can name, and the name.
// The JavaScript twin of scripts/model/head_scores.py, which logs the same scores during training
// and writes them into the model card; tests/js/heads.test.js checks that both agree on fixtures.
//
// `weights` is the head's n×n row-major matrix (row i: how query i spreads its attention over keys
// 0…i), `ids` the token ids with ids[0] = <bos>, `punct[id]` whether that vocabulary entry is
// punctuation.
//   previous     mean over queries i ≥ 2 of W[i][i−1]
//   start        mean over queries i ≥ 1 of W[i][0]            (the <bos> token)
//   self         mean over queries i ≥ 1 of W[i][i]
//   punctuation  mean over queries i with punctuation at some 1 ≤ j < i of the weight on those keys
//   duplicate    mean over queries i whose token appeared before (1 ≤ j < i) of the weight on the
//                earlier copies
//   induction    mean over queries i whose token appeared before at j with j + 1 < i of the weight
//                on the keys j + 1 (what came right after the earlier copies)
//   entropy      mean over queries i ≥ 2 of the row's entropy ÷ log(i + 1): 1 uniform, 0 one key
// A score is null where no query qualifies (no repeated token: no induction score).

export const HEAD_KINDS = ['previous', 'start', 'self', 'punctuation', 'duplicate', 'induction'];

/** What a learner reads for each label. */
export const HEAD_LABELS = {
  previous: 'previous token', start: 'start token', self: 'itself', punctuation: 'punctuation',
  duplicate: 'same token earlier', induction: 'induction (what came next last time)', broad: 'broad', mixed: 'mixed',
};

/** Whether a vocabulary entry is punctuation: without its word-start mark, all Unicode P*. */
export function isPunctuationPiece(piece) {
  const w = piece.replace(/^\u2581+/, '');
  return w.length > 0 && !piece.startsWith('<') && /^\p{P}+$/u.test(w);
}

/** The scores above for one head. */
export function headScores(weights, n, ids, punct) {
  const W = (i, j) => weights[i * n + j];
  const out = { previous: null, start: null, self: null, punctuation: null, duplicate: null, induction: null, entropy: null };
  if (n >= 3) {
    let prev = 0, ent = 0;
    for (let i = 2; i < n; ++i) {
      prev += W(i, i - 1);
      let h = 0;
      for (let j = 0; j <= i; ++j) { const w = W(i, j); if (w > 0) h -= w * Math.log(w); }
      ent += h / Math.log(i + 1);
    }
    out.previous = prev / (n - 2);
    out.entropy = ent / (n - 2);
  }
  if (n >= 2) {
    let start = 0, self = 0;
    for (let i = 1; i < n; ++i) { start += W(i, 0); self += W(i, i); }
    out.start = start / (n - 1);
    out.self = self / (n - 1);
  }
  const sums = { punctuation: [0, 0], duplicate: [0, 0], induction: [0, 0] };
  const after = new Uint8Array(n);
  for (let i = 2; i < n; ++i) {
    let p = 0, d = 0, ind = 0, anyP = false, anyD = false, anyI = false;
    after.fill(0);
    for (let j = 1; j < i; ++j) {
      if (punct[ids[j]]) { p += W(i, j); anyP = true; }
      if (ids[j] === ids[i]) {
        d += W(i, j); anyD = true;
        if (j + 1 < i && !after[j + 1]) { after[j + 1] = 1; ind += W(i, j + 1); anyI = true; }
      }
    }
    if (anyP) { sums.punctuation[0] += p; sums.punctuation[1] += 1; }
    if (anyD) { sums.duplicate[0] += d; sums.duplicate[1] += 1; }
    if (anyI) { sums.induction[0] += ind; sums.induction[1] += 1; }
  }
  for (const [k, [s, c]] of Object.entries(sums)) if (c) out[k] = s / c;
  return out;
}

/**
 * The head's name on this sentence: the kind with the highest score if it reaches `threshold`, else
 * 'broad' when attention is spread out, else 'mixed' (head_scores.py has the same rule).
 */
export function headLabel(scores, threshold = 0.4, broad = 0.75) {
  let best = null, value = -1;
  for (const k of HEAD_KINDS) {
    const v = scores[k];
    if (v !== null && v !== undefined && v > value) { best = k; value = v; }
  }
  if (best !== null && value >= threshold) return best;
  if (scores.entropy !== null && scores.entropy >= broad) return 'broad';
  return 'mixed';
}
