// The trained model and the word-vector table: loading (.qkv files, checked by weights.js), the
// tokenizer, and the forward pass in the core, returning every layer's and head's attention.
import { INTERNAL, parseLayout } from './internal.js';
import { parseWeights, readSource, WeightsFormatError, checkModelConfig, checkModelTensors, checkEmbeddingsFile } from './weights.js';
import { tokenize, encode } from './tokenizer.js';

export const DEFAULT_MODEL = new URL('../models/tiny-lm.qkv', import.meta.url);
export const DEFAULT_EMBEDDINGS = new URL('../models/glove-10k.qkv', import.meta.url);
const MAX_MEMORY = 2 ** 31; // -sMAXIMUM_MEMORY in CMakeLists.txt
const OUT_OF_MEMORY = 3; // qkv::Code::out_of_memory (src/status.h)

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
// run() result → the Float32Array its arrays are views of (for options.reuse).
const resultBlocks = new WeakMap();

export class Embeddings {
  #vectors;
  #ready;
  #rows;
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
    if (!Array.isArray(tokens)) throw new TypeError(`lookup: expected a string or the tokens from tokenize(), received ${typeof textOrTokens}`);
    const { ids, unknown, pieces } = encode(tokens, this.vocab);
    const vectors = new Float32Array(ids.length * this.dim);
    ids.forEach((id, i) => vectors.set(this.vector(id), i * this.dim));
    return { tokens: pieces, ids: Int32Array.from(ids), unknown, vectors };
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

  constructor(qkv, file) {
    const fn = 'loadModel';
    const m = qkv[INTERNAL]();
    // The file's config and sizes are checked before the core is asked anything (weights.js), and a
    // file the core still refuses leaves the module's memory as it was.
    checkModelConfig(file, fn);
    const c = file.config;
    this.#qkv = qkv;
    this.config = { ...c };
    this.vocab = file.vocab;
    this.#special = Uint8Array.from(file.vocab, (w) => (isSpecial(w) ? 1 : 0));
    this.provenance = file.header.provenance ?? null;
    this.#index = parseLayout(m.modelFrameLayout());
    try {
      this.#frame = m._malloc(4 * this.#index.count);
      this.#writeConfig();
      // The core lists the packed order; every tensor is checked against the file before anything
      // is allocated, then dequantised straight into wasm memory.
      const listed = m.modelTensorLayout(this.#frame);
      if (!listed) throw new WeightsFormatError(`${fn}: ${m.lastError()}`);
      const layout = JSON.parse(listed);
      const count = checkModelTensors(file, layout, fn);
      if (count * 4 > MAX_MEMORY) throw new RangeError(`${fn}: the model's ${count} parameters need ${(count * 4 / 2 ** 20).toFixed(1)} MiB, over the ${MAX_MEMORY / 2 ** 20} MiB WebAssembly memory limit`);
      this.#params = m._malloc(count * 4);
      if (!this.#params) throw new RangeError(`${fn}: not enough WebAssembly memory for the model (${(count * 4 / 2 ** 20).toFixed(1)} MiB)`);
      this.#paramCount = count;
      let at = this.#params >> 2;
      for (const [name] of layout) {
        const values = file.tensor(name);
        m.HEAPF32.set(values, at); // re-read HEAPF32: tensor() does not touch wasm memory, malloc above may have grown it
        at += values.length;
      }
      this.#writeConfig();
      const code = m.checkModel(this.#frame);
      // At load, whatever the core finds wrong with the numbers is the file's fault.
      if (code !== 0) throw new (code === OUT_OF_MEMORY ? RangeError : WeightsFormatError)(`${fn}: ${m.lastError()}`);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  #writeConfig() {
    const m = this.#qkv[INTERNAL](), F = this.#index, base = this.#frame >> 2, c = this.config;
    m.HEAP32.fill(0, base, base + F.count);
    m.HEAP32[base + F.vocabSize] = c.vocab_size; m.HEAP32[base + F.dModel] = c.d_model; m.HEAP32[base + F.layers] = c.n_layers;
    m.HEAP32[base + F.heads] = c.n_heads; m.HEAP32[base + F.dFF] = c.d_ff; m.HEAP32[base + F.maxPositions] = c.max_positions;
    m.HEAPF32[base + F.normEps] = c.norm_eps ?? 1e-5;
    m.HEAP32[base + F.params] = this.#params; m.HEAP32[base + F.paramCount] = this.#paramCount;
  }

  #check(fn, code) {
    if (code === 0) return;
    const err = new RangeError(`${fn}: ${this.#qkv[INTERNAL]().lastError()}`);
    err.code = code;
    throw err;
  }

  /** Tokenizes text for this model: <bos> first, each word's pieces after. */
  encode(text) {
    const tokens = tokenize(text);
    const { ids, unknown, pieces } = encode(tokens, this.vocab, { bos: true });
    return { tokens: pieces, ids, unknown: pieces.map((p) => p.unk), wordUnknown: unknown };
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
      // _malloc takes a 32-bit size: 12 GiB of planes would wrap to a small block the core then overruns.
      if (total > MAX_MEMORY) throw new RangeError(`${fn}: ${n} tokens need ${(total / 2 ** 20).toFixed(0)} MiB of results, over the ${MAX_MEMORY / 2 ** 20} MiB WebAssembly memory limit`);
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
    for (let l = 0; l < L; ++l) {
      const heads = [];
      for (let h = 0; h < H; ++h) {
        const rows = (l * H + h) * n * dh, plane = (l * H + h) * n * n;
        heads.push({
          q: all.q.subarray(rows, rows + n * dh), k: all.k.subarray(rows, rows + n * dh), v: all.v.subarray(rows, rows + n * dh),
          scores: all.scores.subarray(plane, plane + n * n), logits: all.logits.subarray(plane, plane + n * n),
          weights: all.weights.subarray(plane, plane + n * n),
        });
      }
      layers.push({ heads });
    }
    const { nextLogits } = all;
    const result = { tokens: enc.tokens.slice(0, n), ids: Int32Array.from(ids), unknown: enc.unknown.slice(0, n), truncated, dHead: dh,
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
  return best.map((i) => ({ token: vocab[i], id: i, probability: Math.exp(logits[i] - mx) / sum }));
}
