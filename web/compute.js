// Turns a sentence into everything the views show: tokens with their place in the text, and for every
// layer and head the Q, K, V vectors, raw scores Q·K, logits (scaled, tempered, masked), weights α and
// outputs Σ_j α_ij V_j. Every attention number comes from the package: from qkv.attention(), so that
// the knobs (scaling, temperature, causal) act the same way on GloVe vectors and on a model head, or,
// for a model with its own knobs, from model.run(), which has just computed exactly those numbers
// (bit for bit the same as qkv.attention() gives; tests/browser/page.test.js compares them).
//
// A run has `n` query rows and `m` key columns: m = n for self-attention; with a second text
// (`context`, cross-attention) the queries come from the sentence and the keys and values from the
// context. A run can also hold attention computed elsewhere (mode 'given', attention-file.js): then
// only its weights are known.

import { loadEmbeddings } from '../lib/model.js';

export const DEFAULT_KNOBS = Object.freeze({ heads: 1, scaling: true, temperature: 1, causal: false });
/** Head counts offered in embeddings mode: the divisors of the 100 GloVe dimensions that make sense. */
export const HEAD_CHOICES = [1, 2, 4, 5, 10];
/**
 * The most tokens computed and drawn: the trained model's context (256 positions, <bos> included).
 * Every part of the page is sized for it; tokens past it are left out, and the page says how many.
 */
export const MAX_TOKENS = 256;
/** The most characters of a sentence that are read (256 tokens of long words fit): the rest is not tokenized. */
export const MAX_TEXT = 4000;

/** A sentence as it is read: at most MAX_TEXT characters. */
export function readable(text) { return text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text; }

/** Word vectors (the package's Embeddings): every piece of the tokenizer's output gets its row. */
export function embeddingSource(embeddings) {
  return {
    kind: 'embeddings',
    dim: embeddings.dim,
    embed(text, limit = MAX_TOKENS) {
      const read = readable(text);
      const { tokens, vectors } = embeddings.lookup(read);
      const kept = Math.min(tokens.length, limit);
      return {
        units: tokens.slice(0, kept).map((p) => unitOf(p, read)),
        vectors: kept < tokens.length ? vectors.subarray(0, kept * embeddings.dim) : vectors,
        leftOut: tokens.length - kept, cut: read.length < text.length,
      };
    },
  };
}

/**
 * The package's GloVe table as a source (from the package folder at `assets`, if given). Reading a
 * table needs no WebAssembly: it is read while the module compiles.
 */
export async function loadEmbeddingSource(assets = undefined) {
  return embeddingSource(await loadEmbeddings(undefined, { assets }));
}

// A piece of the tokenizer's output as the views show it: the typed text (or <bos>), and the
// vocabulary entry it was looked up as.
function unitOf(piece, text) {
  return {
    text: piece.start === piece.end ? piece.text : text.slice(piece.start, piece.end),
    vocab: piece.text, start: piece.start, end: piece.end, unknown: Boolean(piece.unk),
  };
}

// [n][h·dh] rows → [h][n][dh] blocks, the layout qkv.attention() takes for several heads.
function splitHeads(x, n, heads, dHead) {
  if (heads === 1) return x;
  const out = new Float32Array(n * heads * dHead);
  for (let h = 0; h < heads; ++h) {
    for (let i = 0; i < n; ++i) {
      out.set(x.subarray(i * heads * dHead + h * dHead, i * heads * dHead + (h + 1) * dHead), (h * n + i) * dHead);
    }
  }
  return out;
}

// The heads' rows one after another. model.run() returns them as consecutive views of one buffer,
// already in this layout: then they are used in place, without a copy.
function concatHeads(parts) {
  const first = parts[0], total = parts.reduce((s, p) => s + p.length, 0);
  const contiguous = parts.every((p, i) => p.buffer === first.buffer && p.byteOffset === first.byteOffset + i * first.byteLength && p.length === first.length);
  if (contiguous) return new Float32Array(first.buffer, first.byteOffset, total);
  const out = new Float32Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/**
 * One call to the package for all heads of a layer; returns per-head views of its results. `n`
 * queries attend to `m` keys (m = n unless the keys come from a second text).
 */
export function attendHeads(qkv, { q, k, v, n, m = n, heads, dHead, knobs }) {
  const r = qkv.attention({
    q, k, v, heads, dim: dHead, queries: n, keys: m,
    scoring: knobs.scaling ? 'scaled_dot' : 'dot', temperature: knobs.temperature, causal: knobs.causal,
    returnWeights: true, returnScores: true, returnLogits: true,
  });
  const nm = n * m, nd = n * dHead, md = m * dHead;
  return Array.from({ length: heads }, (_, h) => ({
    q: q.subarray(h * nd, (h + 1) * nd), k: k.subarray(h * md, (h + 1) * md), v: v.subarray(h * md, (h + 1) * md),
    scores: r.scores.subarray(h * nm, (h + 1) * nm), logits: r.logits.subarray(h * nm, (h + 1) * nm),
    weights: r.weights.subarray(h * nm, (h + 1) * nm), output: r.output.subarray(h * nd, (h + 1) * nd),
  }));
}

function emptyRun(mode, text, knobs, extra = {}) {
  return { mode, text, context: null, units: [], keyUnits: [], n: 0, m: 0, dHead: 0, layers: [], knobs, scale: 1, next: null, leftOut: 0, cut: false, ...extra };
}

/**
 * Embeddings mode: Q = K = V = the GloVe vectors of the tokens, split into `knobs.heads` heads. With
 * `context` (a second text), K = V = the context's vectors: cross-attention, never causal.
 */
export function embeddingsRun(qkv, source, text, knobs = DEFAULT_KNOBS, context = null) {
  const cross = context != null;
  const used = cross ? { ...knobs, causal: false } : knobs;
  const queries = source.embed(text);
  const keys = cross ? source.embed(context) : queries;
  const n = queries.units.length, m = keys.units.length;
  const notes = { context: cross ? context : null, leftOut: queries.leftOut, keyLeftOut: cross ? keys.leftOut : 0, cut: queries.cut || keys.cut };
  if (n === 0 || m === 0) return { ...emptyRun('embeddings', text, used, notes), units: queries.units, keyUnits: keys.units, n: 0, m: 0 };
  const heads = used.heads, dHead = source.dim / heads;
  const q = splitHeads(queries.vectors, n, heads, dHead);
  const k = cross ? splitHeads(keys.vectors, m, heads, dHead) : q;
  return {
    mode: 'embeddings', text, units: queries.units, keyUnits: keys.units, n, m, dHead, knobs: used,
    scale: used.scaling ? 1 / Math.sqrt(dHead) : 1,
    layers: [{ heads: attendHeads(qkv, { q, k, v: k, n, m, heads, dHead, knobs: used }) }],
    next: null, ...notes,
  };
}

/**
 * Model mode: the trained model's own Q, K, V per head (from model.run), attended again by the
 * package when the what-if knobs differ from the model's own (scaling on, temperature 1). Causal
 * masking is part of the model and stays on. The heads' outputs, which model.run does not return,
 * are left out (`output: null`): withOutputs() adds them where they are read. Runs where the model is
 * (a worker, see model-worker.js, or this thread). `reuse`: the `modelOut` of a run nobody reads any
 * more, whose arrays model.run may fill again instead of allocating (0.8 MB a keystroke at 64 tokens,
 * and the garbage collections that follow).
 */
export function modelRun(qkv, model, text, knobs = DEFAULT_KNOBS, reuse = undefined) {
  const used = { ...knobs, causal: true, heads: model.config.n_heads };
  if (text.trim() === '') return emptyRun('model', text, used);
  const read = readable(text);
  const out = model.run(read, { topK: 5, truncate: true, reuse });
  const n = out.ids.length;
  const units = out.tokens.map((p) => unitOf(p, read));
  const dHead = model.config.d_model / model.config.n_heads;
  // With the model's own scaling and temperature, its scores, logits and weights are the ones shown.
  const own = knobs.scaling && knobs.temperature === 1;
  const layers = out.layers.map((layer) => {
    if (!own) {
      const args = {
        q: concatHeads(layer.heads.map((h) => h.q)), k: concatHeads(layer.heads.map((h) => h.k)),
        v: concatHeads(layer.heads.map((h) => h.v)), n, heads: layer.heads.length, dHead, knobs: used,
      };
      return { heads: attendHeads(qkv, args) };
    }
    return { heads: layer.heads.map((h) => ({ q: h.q, k: h.k, v: h.v, scores: h.scores, logits: h.logits, weights: h.weights, output: null })) };
  });
  // Only when the model had to cut: then it is worth tokenizing again to say how much.
  const leftOut = out.truncated ? model.encode(read).ids.length - n : 0;
  const run = {
    mode: 'model', text, context: null, units, keyUnits: units, n, m: n, dHead, knobs: used, layers, next: out.next,
    headLabels: Array.isArray(model.config.head_labels) ? model.config.head_labels : null, leftOut, cut: read.length < text.length, scale: knobs.scaling ? 1 / Math.sqrt(dHead) : 1,
  };
  // model.run's own result, for the next run's `reuse` (not enumerable: a worker does not send it).
  Object.defineProperty(run, 'modelOut', { value: out });
  return run;
}

/**
 * Gives every head of `run` whose `output` is null an output computed on first read, from its q, k, v
 * with the run's knobs (one call to the package per layer, for all of the layer's heads).
 */
export function withOutputs(qkv, run) {
  for (const layer of run.layers) {
    if (!layer.heads.some((h) => h.output === null)) continue;
    let attended = null;
    const args = () => ({
      q: concatHeads(layer.heads.map((h) => h.q)), k: concatHeads(layer.heads.map((h) => h.k)), v: concatHeads(layer.heads.map((h) => h.v)),
      n: run.n, m: run.m, heads: layer.heads.length, dHead: run.dHead, knobs: run.knobs,
    });
    layer.heads.forEach((h, i) => {
      if (h.output !== null) return;
      Object.defineProperty(h, 'output', { configurable: true, enumerable: true, get: () => (attended ??= attendHeads(qkv, args()))[i].output });
    });
  }
  return run;
}

/** The head a view shows, clamped to what the run has. */
export function selectedHead(run, layer, head) {
  const l = run.layers[Math.min(layer, run.layers.length - 1)];
  return l ? l.heads[Math.min(head, l.heads.length - 1)] : null;
}

/**
 * Keeps state.layer, head, query and key where they still make sense for `run`; `previous` is the
 * run shown before it. By default the step panel follows the last query (it has the most keys to
 * look at in causal mode), and the key follows the query in self-attention. A run shown in place of
 * the one asked for (word vectors while the model loads) leaves the chosen layer and head alone.
 */
export function settleSelection(state, run, previous = null) {
  // While the query is the last token, it stays the last token as the sentence grows or shrinks.
  const followLast = previous && state.query === previous.n - 1;
  const keyOnQuery = state.key === state.query;
  const layers = run.layers.length, heads = run.layers[0]?.heads.length ?? 1;
  if (run.mode === state.mode || state.mode !== 'model') {
    state.layer = Math.min(state.layer, Math.max(layers - 1, 0));
    state.head = Math.min(state.head, Math.max(heads - 1, 0));
  }
  if (run.n === 0) { state.query = state.key = null; return run; }
  if (state.query == null || state.query >= run.n || followLast) state.query = run.n - 1;
  if (state.key == null || state.key >= run.m || (keyOnQuery && run.m === run.n)) state.key = Math.min(state.query, run.m - 1);
  return run;
}

/**
 * The run for `state` (text, context, mode, knobs) from `sources` ({ embeddings, given }) computed in
 * this thread: embeddings mode, or attention given by a file. Model mode is computed by the model's
 * own source (model-source.js), where it lives.
 */
export function computeRun(qkv, sources, state) {
  return state.mode === 'given' && sources.given ? sources.given
    : embeddingsRun(qkv, sources.embeddings, state.text, state.knobs, state.context ?? null);
}
