// Word vectors: a .qkv table of one vector per vocabulary entry (the bundled one is GloVe 6B 100d,
// 10,000 words, int8), looked up by the tokenizer's pieces. Plain JavaScript: no WebAssembly needed.
import { readWeights, checkAssets } from './assets.js';
import { checkOptions, optionNames, describe } from './checks.js';
import { invalidArgument } from './errors.js';
import { tokenize, encode, normalize } from './tokenizer.js';
import { PieceVocabulary } from './pieces.js';
import { parseWeights, WeightsFormatError, checkEmbeddingsFile } from './weights.js';

const LOAD_OPTIONS = optionNames('assets', 'onProgress');

/** Options of a weights loader: `known` names, `onProgress` a function, `assets` checked. */
export function checkLoadOptions(fn, options, known = LOAD_OPTIONS) {
  const o = checkOptions(fn, 'options', options, known);
  const onProgress = o.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalidArgument(`${fn}: onProgress must be a function, received ${describe(onProgress)}`);
  return { o, onProgress, assets: checkAssets(fn, o.assets) };
}

/**
 * Loads a word-vector table: the package's models/glove-10k.qkv by default (moved by `assets`), or a
 * URL, a path (Node) or the file's bytes. See model.d.ts.
 */
export async function loadEmbeddings(source = undefined, options = {}) {
  const fn = 'loadEmbeddings';
  const { onProgress, assets } = checkLoadOptions(fn, options);
  const { bytes, what } = await readWeights(fn, source, 'glove-10k.qkv', assets,
    () => new URL('../models/glove-10k.qkv', import.meta.url), onProgress);
  const file = parseWeights(bytes, `${fn}: ${what}`);
  if (file.kind !== 'embeddings') throw new WeightsFormatError(`${fn}: this file holds a ${file.kind}, not word vectors (use loadModel)`);
  return new Embeddings(file);
}

// The text a piece of encode() covers: its token's text, or the part of it the piece spans.
const textOf = (tokens, piece) => {
  const tok = tokens[piece.token];
  return tok.text.slice(piece.start - tok.start, piece.end - tok.start);
};

export class Embeddings {
  #vectors;
  #ready;
  #rows;
  #pieces = null;
  #coefficients = null;
  #basis = null;
  #rank = 0;
  /** @internal Made by loadEmbeddings(). */
  constructor(file) {
    checkEmbeddingsFile(file, 'loadEmbeddings');
    this.dim = file.tensorInfo('vectors').shape[1];
    this.vocab = file.vocab;
    this.source = file.config.source ?? null;
    // Rows are dequantised when first looked up (a sentence needs a few dozen of the 10,000), into
    // one table, so that vector() still returns views that stay valid.
    this.#rows = file.rows('vectors');
    this.#vectors = new Float32Array(this.#rows.count * this.dim);
    this.#ready = new Uint8Array(this.#rows.count);
    // Words outside the table: the mean of their subword pieces' vectors (cut_glove.py fits them; the
    // file stores them as coefficients on a basis of principal directions, models/FORMAT.md).
    if (file.config.fallback === 'pieces') {
      const pieces = file.config.pieces, coef = file.tensorInfo('piece_coefficients'), basis = file.tensorInfo('piece_basis');
      const scores = file.tensorInfo('piece_scores');
      if (!Array.isArray(pieces) || !coef || !basis || !scores || coef.shape.length !== 2 || basis.shape.length !== 2 ||
          coef.shape[0] !== pieces.length || scores.count !== pieces.length || basis.shape[1] !== this.dim || coef.shape[1] !== basis.shape[0]) {
        throw new WeightsFormatError('loadEmbeddings: a pieces fallback needs config.pieces, piece_scores [pieces], piece_coefficients [pieces][rank] and piece_basis [rank][dim]');
      }
      this.#pieces = new PieceVocabulary(pieces, file.tensor('piece_scores'));
      this.#coefficients = file.tensor('piece_coefficients');
      this.#basis = file.tensor('piece_basis');
      this.#rank = basis.shape[0];
    }
  }
  /**
   * A vector for a word the table lacks (`norm`: the word as tokenize() normalises it): the mean of
   * its subword pieces' vectors; null when the file has no such fallback.
   */
  estimate(norm) {
    if (typeof norm !== 'string') throw invalidArgument(`estimate: norm must be a string, received ${describe(norm)}`);
    if (!this.#pieces) return null;
    const pieces = this.#pieces.segment(norm), r = this.#rank, d = this.dim;
    const c = new Float64Array(r);
    for (const p of pieces) for (let k = 0; k < r; ++k) c[k] += this.#coefficients[p.id * r + k] / pieces.length;
    const v = new Float32Array(d);
    for (let k = 0; k < r; ++k) for (let j = 0; j < d; ++j) v[j] += c[k] * this.#basis[k * d + j];
    return v;
  }
  /** The vector of vocabulary entry `id` (a view; do not modify). */
  vector(id) {
    const row = this.#vectors.subarray(id * this.dim, (id + 1) * this.dim);
    if (!this.#ready[id] && id >= 0 && id < this.#ready.length) {
      this.#rows.fill(id, row);
      this.#ready[id] = 1;
    }
    return row;
  }
  /**
   * Tokenizes `text` (or takes tokens from tokenize()) and looks each piece up. A piece the table
   * lacks (the <unk> entry) gets estimate()'s vector where the file has a pieces fallback, and
   * `estimated[i]` says so; `unknown[t]` says word t was not in the table as it stands.
   */
  lookup(textOrTokens) {
    const tokens = typeof textOrTokens === 'string' ? tokenize(textOrTokens) : textOrTokens;
    if (!Array.isArray(tokens)) throw invalidArgument(`lookup: expected a string or the tokens from tokenize(), received ${describe(textOrTokens)}`);
    const { ids, unknown, pieces } = encode(tokens, this.vocab);
    const vectors = new Float32Array(ids.length * this.dim);
    const estimated = pieces.map(() => false);
    ids.forEach((id, i) => {
      const guess = pieces[i].unk ? this.estimate(normalize(textOf(tokens, pieces[i]))) : null;
      estimated[i] = guess !== null;
      vectors.set(guess ?? this.vector(id), i * this.dim);
    });
    return { tokens: pieces, ids: Int32Array.from(ids), unknown, estimated, vectors };
  }
}
