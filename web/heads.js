// What each head does on the sentence shown, named as a teacher would: the package's head scores
// (qkv-attention/model: headScores, headLabel, HEAD_LABELS — the code that labels the model's heads
// in model.run and in the model card), so that the overview, the head picker, the caption and a
// lesson that names a head by what it does ("head": "induction") all read the same numbers. A model
// run carries them already; attention from a file (or word vectors, when a lesson asks) gets them
// from the same function, with token ids made from the token texts.
import { headScores, headLabel, isPunctuationPiece, HEAD_LABELS, HEAD_KINDS } from '../lib/model.js';

/** What a lesson may name a head by (`"head": "previous"`), with how a learner reads it. */
export const PATTERNS = Object.freeze(Object.fromEntries(HEAD_KINDS.map((k) => [k, HEAD_LABELS[k]])));

// Scores computed here, kept with the head's weights (a new run has new arrays).
const computed = new WeakMap();

// Token ids for headScores from the texts: the same text (case aside) is the same id, so that a
// repeated word counts as a duplicate; punctuation as the model's vocabulary counts it.
function idsOf(units) {
  const index = new Map(), punct = [];
  const ids = Int32Array.from(units, (u) => {
    const text = (u.start === u.end ? u.vocab : u.text).toLowerCase();
    let id = index.get(text);
    if (id === undefined) {
      id = index.size;
      index.set(text, id);
      punct.push(isPunctuationPiece(text) ? 1 : 0);
    }
    return id;
  });
  return { ids, punct };
}

/**
 * The pattern of head `h` of `run` ({ previous, start, self, punctuation, duplicate, induction,
 * entropy, label }), or null where there is none to compute: two texts (queries ≠ keys), or no tokens.
 */
export function headPattern(run, h) {
  if (h.pattern) return h.pattern;
  if (run.keyUnits !== run.units || run.n === 0) return null;
  let pattern = computed.get(h.weights);
  if (!pattern) {
    run.headIds ??= idsOf(run.units);
    pattern = headScores(h.weights, run.n, run.headIds.ids, run.headIds.punct);
    pattern.label = headLabel(pattern);
    computed.set(h.weights, pattern);
  }
  return pattern;
}

/**
 * A head's name and the score behind it: the kind's mean weight, or for a broad head its entropy
 * (1: spread evenly), for a mixed one its highest score. `text` is HEAD_LABELS' words.
 */
export function headName(pattern) {
  if (!pattern) return null;
  const { label } = pattern;
  let score;
  if (label === 'broad') score = pattern.entropy;
  else if (label === 'mixed') score = Math.max(...HEAD_KINDS.map((k) => pattern[k] ?? 0));
  else score = pattern[label];
  return { label, text: HEAD_LABELS[label], score, scoreName: label === 'broad' ? 'entropy' : 'weight' };
}

/** "induction (what came next last time) 0.68": a head's name with its score, for labels and options. */
export function headNameText(pattern) {
  const name = headName(pattern);
  return name ? `${name.text} ${name.score.toFixed(2)}` : '';
}

/**
 * The { layer, head, score } of `run` that does `pattern` (a key of PATTERNS) most, or null when no
 * head can (the sentence has no repeated token for induction, say, or there are two texts).
 */
export function findHead(run, pattern) {
  let best = null;
  run.layers.forEach((layer, l) => layer.heads.forEach((h, i) => {
    const score = headPattern(run, h)?.[pattern] ?? null;
    if (score !== null && (!best || score > best.score)) best = { layer: l, head: i, score };
  }));
  return best;
}
