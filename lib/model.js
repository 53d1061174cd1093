// The trained model and the word-vector table: loading (.qkv files, checked by weights.js), the
// tokenizer, and the forward pass in the core, returning every layer's and head's attention.
import { INTERNAL, parseLayout } from './internal.js';
import { parseWeights, readSource, WeightsFormatError } from './weights.js';
import { tokenize, encode, normalize } from './tokenizer.js';
import { PieceVocabulary, encodePieces, WORD_START } from './pieces.js';
import { headScores, headLabel, isPunctuationPiece } from './heads.js';

export const DEFAULT_MODEL = new URL('../models/tiny-lm.qkv', import.meta.url);
export const DEFAULT_EMBEDDINGS = new URL('../models/glove-10k.qkv', import.meta.url);

function checkOptions(fn, options) {
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object, received ${options === null ? 'null' : typeof options}`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new TypeError(`${fn}: onProgress must be a function`);
  return options;
}

/** Loads a model file into the module; see index.d.ts. */
export async function loadModelInto(qkv, source = DEFAULT_MODEL, options = {}) {
  const fn = 'loadModel';
  checkOptions(fn, options);
  const bytes = await readSource(source, fn, options.onProgress);
  const file = parseWeights(bytes, `${fn}: ${source instanceof URL || typeof source === 'string' ? source : 'the given bytes'}`);
  if (file.kind !== 'model') throw new WeightsFormatError(`${fn}: this file holds ${file.kind}, not a model (use loadEmbeddings)`);
  return new Model(qkv, file);
}

/** Loads a word-vector table; see index.d.ts. */
export async function loadEmbeddingsFrom(source = DEFAULT_EMBEDDINGS, options = {}) {
  const fn = 'loadEmbeddings';
  checkOptions(fn, options);
  const bytes = await readSource(source, fn, options.onProgress);
  const file = parseWeights(bytes, `${fn}: ${source instanceof URL || typeof source === 'string' ? source : 'the given bytes'}`);
  if (file.kind !== 'embeddings') throw new WeightsFormatError(`${fn}: this file holds a ${file.kind}, not word vectors (use loadModel)`);
  return new Embeddings(file);
}

const isSpecial = (w) => /^<[a-z]+>$/.test(w);
// The text a piece of encode() covers: its token's text, or the part of it the piece spans.
const textOf = (tokens, piece) => {
  const tok = tokens[piece.token];
  return tok.text.slice(piece.start - tok.start, piece.end - tok.start);
};
// run() result → the Float32Array its arrays are views of (for options.reuse).
const resultBlocks = new WeakMap();

export class Embeddings {
  #vectors;
  #ready;
  #rows;
  #pieces = null;
  #coefficients = null;
  #basis = null;
  #rank = 0;
  constructor(file) {
    const info = file.tensorInfo('vectors');
    if (!info || info.shape.length !== 2 || info.shape[0] !== file.vocab.length) {
      throw new WeightsFormatError('loadEmbeddings: the vectors tensor must be [vocabulary size][dim]');
    }
    this.dim = info.shape[1];
    this.vocab = file.vocab;
    this.source = file.config.source ?? null;
    // Rows are dequantised when first looked up (a sentence needs a few dozen of the 10,000), into
    // one table, so that vector() still returns views that stay valid.
    this.#rows = file.rows('vectors');
    this.#vectors = new Float32Array(this.#rows.count * this.dim);
    this.#ready = new Uint8Array(this.#rows.count);
    // Words outside the table: the mean of their subword pieces' vectors (cut_glove.py fits them; the
    // file stores them as coefficients on a basis of principal directions).
    if (file.config.fallback === 'pieces') {
      const pieces = file.config.pieces, coef = file.tensorInfo('piece_coefficients'), basis = file.tensorInfo('piece_basis');
      if (!Array.isArray(pieces) || !coef || !basis || coef.shape[0] !== pieces.length || basis.shape[1] !== this.dim || coef.shape[1] !== basis.shape[0]) {
        throw new WeightsFormatError('loadEmbeddings: a pieces fallback needs config.pieces, piece_coefficients [pieces][rank] and piece_basis [rank][dim]');
      }
      this.#pieces = new PieceVocabulary(pieces, file.tensor('piece_scores'));
      this.#coefficients = file.tensor('piece_coefficients');
      this.#basis = file.tensor('piece_basis');
      this.#rank = basis.shape[0];
    }
  }

  /**
   * A vector for a word the table lacks: the mean of its pieces' vectors, or null without a pieces
   * fallback in the file. `norm` is the word as tokenize() normalises it.
   */
  estimate(norm) {
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
    if (!Array.isArray(tokens)) throw new TypeError(`lookup: expected a string or the tokens from tokenize(), received ${typeof textOrTokens}`);
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

export class Model {
  #qkv;
  #frame;
  #index;
  #params = 0;
  #paramCount = 0;
  #work = 0;
  #workBytes = 0;
  #special;
  #punct;
  #pieces = null;
  #smearMask = 0;

  constructor(qkv, file) {
    const m = qkv[INTERNAL]();
    const c = file.config;
    for (const key of ['vocab_size', 'd_model', 'n_layers', 'n_heads', 'd_ff', 'max_positions']) {
      if (!Number.isInteger(c[key]) || c[key] < 1) throw new WeightsFormatError(`loadModel: config.${key} must be a positive integer, received ${JSON.stringify(c[key])}`);
    }
    if (c.vocab_size !== file.vocab.length) throw new WeightsFormatError(`loadModel: config.vocab_size ${c.vocab_size} does not match the ${file.vocab.length} vocabulary entries`);
    if (c.d_model % c.n_heads !== 0) throw new WeightsFormatError(`loadModel: n_heads ${c.n_heads} does not divide d_model ${c.d_model}`);
    if (!file.vocab.includes('<bos>') || !file.vocab.includes('<unk>')) throw new WeightsFormatError('loadModel: the vocabulary needs <bos> and <unk>');
    this.#qkv = qkv;
    this.config = { ...c };
    this.vocab = file.vocab;
    // Left out of next-token predictions: <bos>, <unk>, byte pieces and the bare word-start mark.
    this.#special = Uint8Array.from(file.vocab, (w) => (isSpecial(w) || /^<0x[0-9A-F]{2}>$/.test(w) || w === WORD_START ? 1 : 0));
    this.#punct = Uint8Array.from(file.vocab, (w) => (isPunctuationPiece(w) ? 1 : 0));
    // A subword model (config.tokenizer 'unigram') carries each piece's log-probability; older files
    // have a word vocabulary that tokenizer.js's encode() looks words up in.
    if (c.tokenizer === 'unigram') {
      const scores = file.tensorInfo('piece_scores');
      if (!scores || scores.count !== file.vocab.length) throw new WeightsFormatError('loadModel: a unigram model needs piece_scores [vocab_size]');
      this.#pieces = new PieceVocabulary(file.vocab, file.tensor('piece_scores'));
    }
    const smearLayers = c.smear_layers ?? [];
    if (!Array.isArray(smearLayers) || smearLayers.some((l) => !Number.isInteger(l) || l < 0 || l >= Math.min(c.n_layers, 32))) {
      throw new WeightsFormatError(`loadModel: config.smear_layers must list layers from 0 to ${Math.min(c.n_layers, 32) - 1}, received ${JSON.stringify(c.smear_layers)}`);
    }
    this.#smearMask = smearLayers.reduce((m, l) => m | (1 << l), 0) >>> 0;
    // Each smearing layer's per-head weight of a key against the key before it: sigmoid(logit).
    this.smear = Array.from({ length: c.n_layers }, (_, l) => (smearLayers.includes(l)
      ? Array.from(file.tensor(`layers.${l}.attn.smear`), (a) => 1 / (1 + Math.exp(-a))) : null));
    this.provenance = file.header.provenance ?? null;
    this.#index = parseLayout(m.modelFrameLayout());
    this.#frame = m._malloc(4 * this.#index.count);
    this.#writeConfig();
    // Ask the core for the packed order, then dequantise each tensor straight into wasm memory.
    const layout = m.modelTensorLayout(this.#frame).split(',').filter(Boolean).map((e) => {
      const [name, count] = e.split(':');
      return { name, count: Number(count) };
    });
    this.#paramCount = layout.reduce((a, t) => a + t.count, 0);
    this.#params = m._malloc(this.#paramCount * 4);
    if (!this.#params) throw new RangeError('loadModel: not enough WebAssembly memory for the model');
    let at = this.#params >> 2;
    for (const { name, count } of layout) {
      const info = file.tensorInfo(name);
      if (!info) throw new WeightsFormatError(`loadModel: tensor ${name} is missing`);
      if (info.count !== count) throw new WeightsFormatError(`loadModel: tensor ${name} holds ${info.count} numbers, the config needs ${count}`);
      m.HEAPF32.set(file.tensor(name), at); // re-read HEAPF32: tensor() does not touch wasm memory, malloc above may have grown it
      at += count;
    }
    this.#writeConfig();
    this.#check('loadModel', m.checkModel(this.#frame));
  }

  #writeConfig() {
    const m = this.#qkv[INTERNAL](), F = this.#index, base = this.#frame >> 2, c = this.config;
    m.HEAP32.fill(0, base, base + F.count);
    m.HEAP32[base + F.vocabSize] = c.vocab_size; m.HEAP32[base + F.dModel] = c.d_model; m.HEAP32[base + F.layers] = c.n_layers;
    m.HEAP32[base + F.heads] = c.n_heads; m.HEAP32[base + F.dFF] = c.d_ff; m.HEAP32[base + F.maxPositions] = c.max_positions;
    m.HEAPF32[base + F.normEps] = c.norm_eps ?? 1e-5;
    m.HEAP32[base + F.smearLayers] = this.#smearMask | 0;
    m.HEAP32[base + F.params] = this.#params; m.HEAP32[base + F.paramCount] = this.#paramCount;
  }

  #check(fn, code) {
    if (code === 0) return;
    const err = new RangeError(`${fn}: ${this.#qkv[INTERNAL]().lastError()}`);
    err.code = code;
    throw err;
  }

  /**
   * Tokenizes text for this model: <bos> first, each word's pieces after (pieces.js encodePieces:
   * every piece has `token`, the index of its word in `words` = tokenize(text), and its span).
   */
  encode(text) {
    const tokens = tokenize(text);
    if (this.#pieces) {
      const pieces = encodePieces(tokens, this.#pieces, this.config.bos_id ?? this.vocab.indexOf('<bos>'));
      return { tokens: pieces, ids: pieces.map((p) => p.id), unknown: pieces.map(() => false), wordUnknown: tokens.map(() => false), words: tokens };
    }
    const { ids, unknown, pieces } = encode(tokens, this.vocab, { bos: true });
    return { tokens: pieces, ids, unknown: pieces.map((p) => p.unk), wordUnknown: unknown, words: tokens };
  }

  /**
   * Runs the model on `text`; returns the tokens, every layer's and head's q, k, v, scores, logits and
   * weights, and the top next-token predictions. See index.d.ts.
   * `options.reuse`: an earlier result of this model's run() that the caller no longer needs; its
   * arrays are overwritten with this run's numbers instead of allocating new ones (a typing loop
   * allocated ~0.8 MB a keystroke at 64 tokens, and that, not the copy, cost ~5 ms).
   */
  run(text, options = {}) {
    const fn = 'model.run';
    if (typeof text !== 'string') throw new TypeError(`${fn}: text must be a string, received ${text === null ? 'null' : typeof text}`);
    checkOptions(fn, options);
    if (options.reuse != null && typeof options.reuse !== 'object') throw new TypeError(`${fn}: reuse must be an earlier result of run() (or null)`);
    const topK = options.topK ?? 5;
    if (!Number.isInteger(topK) || topK < 0) throw new RangeError(`${fn}: topK must be a whole number ≥ 0, received ${topK}`);
    if (!this.#params) throw new TypeError(`${fn}: this model was freed`);
    const enc = this.encode(text);
    let { ids } = enc;
    const max = this.config.max_positions;
    let truncated = false;
    if (ids.length > max) {
      if (!options.truncate) throw new RangeError(`${fn}: the text has ${ids.length - 1} tokens; the model reads at most ${max - 1} (pass { truncate: true } to keep the first ${max - 1})`);
      ids = ids.slice(0, max);
      truncated = true;
    }
    const n = ids.length, c = this.config, L = c.n_layers, H = c.n_heads, dh = c.d_model / H, V = c.vocab_size;
    const sizes = { ids: n, q: L * H * n * dh, k: L * H * n * dh, v: L * H * n * dh, scores: L * H * n * n, logits: L * H * n * n, weights: L * H * n * n, nextLogits: V };
    const total = Object.values(sizes).reduce((a, b) => a + b, 0) * 4;
    const m = this.#qkv[INTERNAL]();
    if (total > this.#workBytes) {
      if (this.#work) m._free(this.#work);
      this.#work = m._malloc(total);
      this.#workBytes = this.#work ? total : 0;
      if (!this.#work) throw new RangeError(`${fn}: not enough WebAssembly memory for ${n} tokens`);
    }
    const ptrs = {};
    let at = this.#work;
    for (const [name, size] of Object.entries(sizes)) { ptrs[name] = at; at += size * 4; }
    m.HEAP32.set(ids, ptrs.ids >> 2);
    this.#writeConfig();
    const F = this.#index, base = this.#frame >> 2;
    m.HEAP32[base + F.ids] = ptrs.ids; m.HEAP32[base + F.n] = n;
    for (const name of ['q', 'k', 'v', 'scores', 'logits', 'weights', 'nextLogits']) m.HEAP32[base + F[name]] = ptrs[name];
    m.HEAP32[base + F.logitRows] = 1;
    this.#check(fn, m.runModel(this.#frame));

    // One copy out of wasm memory for all the results (they lie one after another in the work
    // buffer), then views into it: six separate copies cost more in allocation than in bytes.
    const first = ptrs.q >> 2, all = {}, length = (ptrs.nextLogits >> 2) + sizes.nextLogits - first;
    const old = options.reuse != null ? resultBlocks.get(options.reuse) : undefined;
    // A new block has room to spare, so that a sentence growing by a few tokens keeps reusing it.
    const block = old && old.length >= length ? old : new Float32Array('reuse' in options ? Math.ceil(length * 1.5) : length);
    block.set(m.HEAPF32.subarray(first, first + length));
    for (const name of ['q', 'k', 'v', 'scores', 'logits', 'weights', 'nextLogits']) {
      all[name] = block.subarray((ptrs[name] >> 2) - first, (ptrs[name] >> 2) - first + sizes[name]);
    }
    const layers = [];
    const idsN = Int32Array.from(ids);
    for (let l = 0; l < L; ++l) {
      const heads = [];
      for (let h = 0; h < H; ++h) {
        const rows = (l * H + h) * n * dh, plane = (l * H + h) * n * n;
        const weights = all.weights.subarray(plane, plane + n * n);
        const pattern = headScores(weights, n, idsN, this.#punct);
        pattern.label = headLabel(pattern);
        heads.push({
          smear: this.smear[l] ? this.smear[l][h] : null, pattern,
          q: all.q.subarray(rows, rows + n * dh), k: all.k.subarray(rows, rows + n * dh), v: all.v.subarray(rows, rows + n * dh),
          scores: all.scores.subarray(plane, plane + n * n), logits: all.logits.subarray(plane, plane + n * n),
          weights,
        });
      }
      layers.push({ heads, smear: this.smear[l] });
    }
    const { nextLogits } = all;
    const result = { tokens: enc.tokens.slice(0, n), words: enc.words, ids: idsN, unknown: enc.unknown.slice(0, n), truncated,
      leftOut: enc.ids.length - n, dHead: dh,
      layers, nextLogits, next: topPredictions(nextLogits, this.vocab, topK, this.#special) };
    if (old) resultBlocks.delete(options.reuse); // spent: its arrays may now hold this run's numbers
    resultBlocks.set(result, block);
    return result;
  }

  /** Returns the model's wasm memory; using it afterwards throws. */
  free() {
    const m = this.#qkv[INTERNAL]();
    for (const p of [this.#params, this.#work, this.#frame]) if (p) m._free(p);
    this.#params = this.#work = this.#frame = 0;
    this.#workBytes = 0;
  }
}

// Softmax over the vocabulary, the k most probable tokens; special tokens (<bos>, <unk>) are left out.
function topPredictions(logits, vocab, k, special) {
  let mx = -Infinity;
  for (const x of logits) mx = Math.max(mx, x);
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - mx);
  const best = [];
  for (let i = 0; i < logits.length; ++i) {
    if (special[i]) continue;
    if (best.length < k || logits[i] > logits[best[best.length - 1]]) {
      best.push(i);
      best.sort((a, b) => logits[b] - logits[a]);
      if (best.length > k) best.pop();
    }
  }
  // text: the piece as a learner reads it, without the word-start mark; startsWord: it had the mark
  return best.map((i) => ({ token: vocab[i], id: i, probability: Math.exp(logits[i] - mx) / sum,
    text: vocab[i].startsWith(WORD_START) ? vocab[i].slice(1) : vocab[i], startsWord: vocab[i].startsWith(WORD_START) }));
}
