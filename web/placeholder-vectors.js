// Placeholder word vectors for the first page: each word gets a fixed pseudo-random vector derived
// from its text, so that the same word always attends the same way. Real GloVe vectors and a trained
// model replace these (issue 4). Shared by the page and its browser test.
export const PLACEHOLDER_DIM = 16;

export function splitWords(text) {
  const tokens = [];
  for (const m of text.matchAll(/[\p{L}\p{N}']+|[^\s\p{L}\p{N}]/gu)) {
    tokens.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  }
  return tokens;
}

// FNV-1a hash of the word seeds a small xorshift generator: deterministic, no dependencies.
export function placeholderVector(word, dim = PLACEHOLDER_DIM) {
  let h = 2166136261;
  for (const ch of word.toLowerCase()) h = Math.imul(h ^ ch.codePointAt(0), 16777619) >>> 0;
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; ++i) {
    h ^= h << 13; h >>>= 0; h ^= h >>> 17; h ^= h << 5; h >>>= 0;
    v[i] = (h / 4294967296) * 2 - 1;
  }
  return v;
}

export function placeholderMatrix(tokens, dim = PLACEHOLDER_DIM) {
  const m = new Float32Array(tokens.length * dim);
  tokens.forEach((t, i) => m.set(placeholderVector(t.text, dim), i * dim));
  return m;
}
