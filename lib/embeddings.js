// Word vectors: a .qkv table of one vector per vocabulary entry (the bundled one is GloVe 6B 100d,
// 10,000 words, int8), looked up by the tokenizer's pieces. Plain JavaScript: no WebAssembly needed.
import { readWeights, checkAssets } from './assets.js';
import { checkOptions, optionNames, describe } from './checks.js';
import { invalidArgument } from './errors.js';
import { tokenize, encode } from './tokenizer.js';
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

export class Embeddings {
  #vectors;
  #ready;
  #rows;
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
  /** Tokenizes `text` (or takes tokens from tokenize()) and looks each piece up. */
  lookup(textOrTokens) {
    const tokens = typeof textOrTokens === 'string' ? tokenize(textOrTokens) : textOrTokens;
    if (!Array.isArray(tokens)) throw invalidArgument(`lookup: expected a string or the tokens from tokenize(), received ${describe(textOrTokens)}`);
    const { ids, unknown, pieces } = encode(tokens, this.vocab);
    const vectors = new Float32Array(ids.length * this.dim);
    ids.forEach((id, i) => vectors.set(this.vector(id), i * this.dim));
    return { tokens: pieces, ids: Int32Array.from(ids), unknown, vectors };
  }
}
