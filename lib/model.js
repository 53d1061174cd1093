// `qkv-attention/model`: the trained model and the word vectors. An entry of its own, so that an
// application that only calls attention() does not carry the weight files: the default files are
// found from here (webpack and Vite emit them when this module is bundled, and only then).
//
// The model: .qkv weights checked by weights.js, packed into the module's memory in the order the
// core asks for, and run by the core's forward pass through the call layer (call.js), returning
// every layer's and head's attention.
import { bridgeOf } from './attention.js';
import { readWeights } from './assets.js';
import { I32 } from './call.js';
import { bool, count, describe, optionNames, checkOptions } from './checks.js';
import { invalidArgument, outOfRange } from './errors.js';
import { checkLoadOptions } from './embeddings.js';
import { loadAttention } from './loading.js';
import { tokenize, encode } from './tokenizer.js';
import { PieceVocabulary, encodePieces, isBytePiece, WORD_START } from './pieces.js';
import { headScores, headLabel, isPunctuationPiece } from './heads.js';
import { parseWeights, WeightsFormatError, checkModelConfig, checkModelTensors } from './weights.js';

export { loadEmbeddings, Embeddings } from './embeddings.js';
export { WeightsFormatError };
export { headScores, headLabel, isPunctuationPiece, HEAD_LABELS, HEAD_KINDS } from './heads.js';
export { isBytePiece } from './pieces.js';

const LOAD_OPTIONS = optionNames('attention', 'backend', 'assets', 'onProgress');
const RUN_OPTIONS = optionNames('topK', 'truncate', 'reuse');
const OUTPUTS = ['q', 'k', 'v', 'scores', 'logits', 'weights', 'nextLogits'];

/**
 * Loads the trained model: the package's models/tiny-lm.qkv by default (moved by `assets`), or a URL,
 * a path (Node) or the file's bytes, into `options.attention` (a module from loadAttention) or a
 * module loaded with `options.backend` and `options.assets`. See model.d.ts.
 */
export async function loadModel(source = undefined, options = {}) {
  const fn = 'loadModel';
  const { o, onProgress, assets } = checkLoadOptions(fn, options, LOAD_OPTIONS);
  const attention = o.attention, backend = o.backend;
  let bridge = null;
  if (attention !== undefined) {
    try {
      bridge = bridgeOf(attention);
    } catch {
      throw invalidArgument(`${fn}: attention must be a module from loadAttention(), received ${describe(attention)}`);
    }
    if (backend !== undefined) throw invalidArgument(`${fn}: pass attention (a loaded module) or backend, not both`);
  }
  const qkv = attention ?? loadAttention({ ...(backend === undefined ? {} : { backend }), ...(o.assets === undefined ? {} : { assets: o.assets }) });
  const [{ bytes, what }, module] = await Promise.all([
    readWeights(fn, source, 'tiny-lm.qkv', assets, () => new URL('../models/tiny-lm.qkv', import.meta.url), onProgress),
    qkv,
  ]);
  bridge ??= bridgeOf(module);
  const file = parseWeights(bytes, `${fn}: ${what}`);
  if (file.kind !== 'model') throw new WeightsFormatError(`${fn}: this file holds ${file.kind}, not a model (use loadEmbeddings)`);
  return new Model(bridge, file);
}

const isSpecial = (w) => /^<[a-z]+>$/.test(w);
// run() result → the Float32Array its arrays are views of (for options.reuse).
const resultBlocks = new WeakMap();

export class Model {
  #bridge;
  #params = 0;
  #paramCount = 0;
  #special;
  #punct;
  #pieces = null;
  #smearMask = 0;

  /** @internal Made by loadModel(). */
  constructor(bridge, file) {
    const fn = 'loadModel';
    // The file's config and sizes are checked before the core is asked anything (weights.js), and a
    // file the core still refuses leaves the module's memory as it was.
    checkModelConfig(file, fn);
    const c = file.config;
    this.#bridge = bridge;
    this.config = { ...c };
    this.vocab = file.vocab;
    // Left out of next-token predictions: <bos>, <unk>, byte pieces and the bare word-start mark.
    this.#special = Uint8Array.from(file.vocab, (w) => (isSpecial(w) || isBytePiece(w) || w === WORD_START ? 1 : 0));
    this.#punct = Uint8Array.from(file.vocab, (w) => (isPunctuationPiece(w) ? 1 : 0));
    // A subword model (config.tokenizer 'unigram') carries each piece's log-probability; older files
    // have a word vocabulary that tokenizer.js's encode() looks words up in.
    if (c.tokenizer === 'unigram') {
      const scores = file.tensorInfo('piece_scores');
      if (!scores || scores.count !== file.vocab.length) throw new WeightsFormatError('loadModel: a unigram model needs piece_scores [vocab_size]');
      this.#pieces = new PieceVocabulary(file.vocab, file.tensor('piece_scores'));
    } else if (c.tokenizer !== undefined) {
      throw new WeightsFormatError(`loadModel: config.tokenizer must be 'unigram' or absent, received ${JSON.stringify(c.tokenizer)}`);
    }
    const smearLayers = c.smear_layers ?? [];
    if (!Array.isArray(smearLayers) || smearLayers.some((l) => !Number.isInteger(l) || l < 0 || l >= Math.min(c.n_layers, 32))) {
      throw new WeightsFormatError(`loadModel: config.smear_layers must list layers from 0 to ${Math.min(c.n_layers, 32) - 1}, received ${JSON.stringify(c.smear_layers)}`);
    }
    this.#smearMask = smearLayers.reduce((mask, l) => mask | (1 << l), 0);
    // Each smearing layer's per-head weight of a key against the key before it: sigmoid(logit).
    this.smear = Array.from({ length: c.n_layers }, (_, l) => {
      if (!smearLayers.includes(l)) return null;
      const info = file.tensorInfo(`layers.${l}.attn.smear`);
      if (!info || info.count !== c.n_heads) throw new WeightsFormatError(`loadModel: tensor layers.${l}.attn.smear must hold n_heads = ${c.n_heads} numbers`);
      return Array.from(file.tensor(`layers.${l}.attn.smear`), (a) => 1 / (1 + Math.exp(-a)));
    });
    this.provenance = file.header.provenance ?? null;
    const m = bridge.module;
    // The core lists the packed order ([[name, shape], …]; bounded by the file, see checkModelConfig);
    // every tensor is checked against the file before anything is allocated, then dequantised straight
    // into wasm memory.
    this.#writeConfig(bridge.begin('model'));
    const listed = m.modelTensorLayout(bridge.frame);
    if (!listed) throw new WeightsFormatError(`${fn}: ${m.lastError()}`);
    const layout = JSON.parse(listed);
    const count = checkModelTensors(file, layout, fn);
    this.#params = bridge.alloc(fn, count * 4);
    this.#paramCount = count;
    try {
      let at = this.#params >> 2;
      for (const [name] of layout) {
        const values = file.tensor(name);
        m.HEAPF32.set(values, at); // HEAPF32 read after tensor(): alloc above may have grown memory
        at += values.length;
      }
      this.#writeConfig(bridge.begin('model'));
      bridge.run(fn, m._qkv_check_model);
    } catch (e) {
      this.free();
      // At load, whatever the core still finds wrong with the numbers is the file's fault.
      if (e.code === 'ERR_QKV_NON_FINITE' || e.code === 'ERR_QKV_INVALID_ARGUMENT') throw new WeightsFormatError(e.message);
      throw e;
    }
  }

  #writeConfig(F) {
    const b = this.#bridge, c = this.config;
    b.int(F.vocabSize, c.vocab_size); b.int(F.dModel, c.d_model); b.int(F.layers, c.n_layers);
    b.int(F.heads, c.n_heads); b.int(F.dFF, c.d_ff); b.int(F.maxPositions, c.max_positions);
    b.float(F.normEps, c.norm_eps ?? 1e-5); b.int(F.smearLayers, this.#smearMask);
    b.pointer(F.params, this.#params); b.int(F.paramCount, this.#paramCount);
  }

  /**
   * Tokenizes text for this model: <bos> first, each word's pieces after (pieces.js encodePieces:
   * every piece has `token`, the index of its word in `words` = tokenize(text), and its span).
   */
  encode(text) {
    if (typeof text !== 'string') throw invalidArgument(`model.encode: text must be a string, received ${describe(text)}`);
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
   * weights, and the top next-token predictions. See model.d.ts.
   * `options.reuse`: an earlier result of this model's run() that the caller no longer needs; its
   * arrays are overwritten with this run's numbers instead of allocating new ones (a typing loop
   * allocated ~0.8 MB a keystroke at 64 tokens, and that, not the copy, cost ~5 ms).
   */
  run(text, options = {}) {
    const fn = 'model.run';
    if (typeof text !== 'string') throw invalidArgument(`${fn}: text must be a string, received ${describe(text)}`);
    const o = checkOptions(fn, 'options', options, RUN_OPTIONS);
    const topK = count(fn, 'topK', o.topK, 5);
    const truncate = bool(fn, 'truncate', o.truncate);
    const reuse = o.reuse;
    const reusing = 'reuse' in o;
    if (reuse != null && typeof reuse !== 'object') throw invalidArgument(`${fn}: reuse must be an earlier result of run() (or null), received ${describe(reuse)}`);
    if (!this.#params) throw invalidArgument(`${fn}: this model was freed`);
    const enc = this.encode(text);
    let { ids } = enc;
    const max = this.config.max_positions;
    let truncated = false;
    if (ids.length > max) {
      if (!truncate) throw outOfRange(`${fn}: the text has ${ids.length - 1} tokens; the model reads at most ${max - 1} (pass { truncate: true } to keep the first ${max - 1})`);
      ids = ids.slice(0, max);
      truncated = true;
    }
    const n = ids.length, c = this.config, L = c.n_layers, H = c.n_heads, dh = c.d_model / H, V = c.vocab_size;
    const sizes = { q: L * H * n * dh, k: L * H * n * dh, v: L * H * n * dh, scores: L * H * n * n, logits: L * H * n * n, weights: L * H * n * n, nextLogits: V };

    const b = this.#bridge, m = b.module, F = b.begin('model');
    this.#writeConfig(F);
    b.int(F.n, n);
    b.int(F.logitRows, 1);
    b.input(F.ids, 'ids', Int32Array.from(ids), n, I32);
    const first = b.slotCount;
    for (const name of OUTPUTS) b.output(F[name], name, null, sizes[name]);
    b.run(fn, m._qkv_run_model);

    // One copy out of wasm memory for all the results (they lie one after another in the staging
    // block), then views into it: seven separate copies cost more in allocation than in bytes.
    const start = b.addressOf(first) >> 2, at = (i) => (b.addressOf(first + i) >> 2) - start;
    const length = at(OUTPUTS.length - 1) + sizes.nextLogits;
    const old = reuse != null ? resultBlocks.get(reuse) : undefined;
    // A new block has room to spare, so that a sentence growing by a few tokens keeps reusing it.
    const block = old && old.length >= length ? old : new Float32Array(reusing ? Math.ceil(length * 1.5) : length);
    block.set(m.HEAPF32.subarray(start, start + length));
    b.begin('model'); // let go of the call's slots
    const all = {};
    OUTPUTS.forEach((name, i) => { all[name] = block.subarray(at(i), at(i) + sizes[name]); });
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
          q: all.q.subarray(rows, rows + n * dh), k: all.k.subarray(rows, rows + n * dh), v: all.v.subarray(rows, rows + n * dh),
          scores: all.scores.subarray(plane, plane + n * n), logits: all.logits.subarray(plane, plane + n * n),
          weights, smear: this.smear[l] ? this.smear[l][h] : null, pattern,
        });
      }
      layers.push({ heads, smear: this.smear[l] });
    }
    const { nextLogits } = all;
    const result = { tokens: enc.tokens.slice(0, n), words: enc.words, ids: idsN, unknown: enc.unknown.slice(0, n), truncated,
      leftOut: enc.ids.length - n, dHead: dh, layers, nextLogits, next: topPredictions(nextLogits, this.vocab, topK, this.#special) };
    if (old) resultBlocks.delete(reuse); // spent: its arrays may now hold this run's numbers
    resultBlocks.set(result, block);
    return result;
  }

  /** Returns the model's wasm memory; using it afterwards throws. */
  free() {
    if (this.#params) this.#bridge.free(this.#params);
    this.#params = 0;
  }
}

// Softmax over the vocabulary, the k most probable tokens; `special` ones (<bos>, <unk>, byte pieces,
// the bare word-start mark) are left out.
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
