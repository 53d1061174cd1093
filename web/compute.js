// Turns a sentence into everything the views show: tokens with their place in the text, and for every
// layer and head the Q, K, V vectors, raw scores Q·K, logits (scaled, tempered, masked), weights α and
// outputs Σ_j α_ij V_j. Every attention number comes from the package: from qkv.attention(), so that
// the knobs (scaling, temperature, causal) act the same way on GloVe vectors and on a model head, or,
// for a model with its own knobs, from model.run(), which has just computed exactly those numbers
// (bit for bit the same as qkv.attention() gives; tests/browser/page.test.js compares them).

import { loadEmbeddings, loadModel } from '../lib/model.js';

export const DEFAULT_KNOBS = Object.freeze({ heads: 1, scaling: true, temperature: 1, causal: false });
/** Head counts offered in embeddings mode: the divisors of the 100 GloVe dimensions that make sense. */
export const HEAD_CHOICES = [1, 2, 4, 5, 10];

/** Word vectors (the package's Embeddings): every piece of the tokenizer's output gets its row. */
export function embeddingSource(embeddings) {
  return {
    kind: 'embeddings',
    dim: embeddings.dim,
    embed(text) {
      const { tokens, vectors } = embeddings.lookup(text);
      return { units: tokens.map((p) => unitOf(p, text)), vectors };
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

/** The package's trained model, run by `qkv`; `onProgress(fraction | null)` follows the download. */
export function loadModelSource(qkv, onProgress, assets = undefined) {
  return loadModel(undefined, { attention: qkv, assets, onProgress: (loaded, total) => onProgress(total > 0 ? loaded / total : null) });
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

/** One call to the package for all heads of a layer; returns per-head views of its results. */
export function attendHeads(qkv, { q, k, v, n, heads, dHead, knobs }) {
  const r = qkv.attention({
    q, k, v, heads, dim: dHead, queries: n, keys: n,
    scoring: knobs.scaling ? 'scaled_dot' : 'dot', temperature: knobs.temperature, causal: knobs.causal,
    returnWeights: true, returnScores: true, returnLogits: true,
  });
  const nn = n * n, nd = n * dHead;
  return Array.from({ length: heads }, (_, h) => ({
    q: q.subarray(h * nd, (h + 1) * nd), k: k.subarray(h * nd, (h + 1) * nd), v: v.subarray(h * nd, (h + 1) * nd),
    scores: r.scores.subarray(h * nn, (h + 1) * nn), logits: r.logits.subarray(h * nn, (h + 1) * nn),
    weights: r.weights.subarray(h * nn, (h + 1) * nn), output: r.output.subarray(h * nd, (h + 1) * nd),
  }));
}

function emptyRun(mode, text, knobs) {
  return { mode, text, units: [], n: 0, dHead: 0, layers: [], knobs, scale: 1, next: null };
}

/** Embeddings mode: Q = K = V = the GloVe vectors of the tokens, split into `knobs.heads` heads. */
export function embeddingsRun(qkv, source, text, knobs = DEFAULT_KNOBS) {
  const { units, vectors } = source.embed(text);
  const n = units.length;
  if (n === 0) return emptyRun('embeddings', text, knobs);
  const heads = knobs.heads, dHead = source.dim / heads;
  const x = splitHeads(vectors, n, heads, dHead);
  return {
    mode: 'embeddings', text, units, n, dHead, knobs,
    scale: knobs.scaling ? 1 / Math.sqrt(dHead) : 1,
    layers: [{ heads: attendHeads(qkv, { q: x, k: x, v: x, n, heads, dHead, knobs }) }],
    next: null,
  };
}

/**
 * Model mode: the trained model's own Q, K, V per head (from model.run), attended again by the
 * package so that the what-if knobs apply; with the default knobs this gives the model's weights.
 * Causal masking is part of the model and stays on.
 */
export function modelRun(qkv, model, text, knobs = DEFAULT_KNOBS, reuse = undefined) {
  if (text.trim() === '') return emptyRun('model', text, knobs);
  const out = model.run(text, { topK: 5, truncate: true, reuse });
  const n = out.ids.length;
  const units = out.tokens.map((p) => unitOf(p, text));
  const dHead = model.config.d_model / model.config.n_heads;
  const used = { ...knobs, causal: true, heads: model.config.n_heads };
  // With the model's own scaling and temperature, its scores, logits and weights are the ones shown;
  // only the heads' outputs (which model.run does not return) need qkv.attention(), for one layer at a
  // time and only when something reads them (the step panel, the JSON export).
  const own = knobs.scaling && knobs.temperature === 1;
  const layers = out.layers.map((layer) => {
    const args = {
      q: concatHeads(layer.heads.map((h) => h.q)), k: concatHeads(layer.heads.map((h) => h.k)),
      v: concatHeads(layer.heads.map((h) => h.v)), n, heads: layer.heads.length, dHead, knobs: used,
    };
    if (!own) return { heads: attendHeads(qkv, args) };
    let attended = null;
    return {
      heads: layer.heads.map((h, i) => ({
        q: h.q, k: h.k, v: h.v, scores: h.scores, logits: h.logits, weights: h.weights,
        get output() { return (attended ??= attendHeads(qkv, args))[i].output; },
      })),
    };
  });
  return {
    mode: 'model', text, units, n, dHead, knobs: used, layers, next: out.next, truncated: out.truncated, modelHeads: out.layers, modelOut: out,
    scale: knobs.scaling ? 1 / Math.sqrt(dHead) : 1,
  };
}

/** The head a view shows, clamped to what the run has. */
export function selectedHead(run, layer, head) {
  const l = run.layers[Math.min(layer, run.layers.length - 1)];
  return l ? l.heads[Math.min(head, l.heads.length - 1)] : null;
}

/**
 * The run for `state` (text, mode, knobs) from `sources` ({ embeddings, model }; model mode falls back
 * to embeddings while no model is loaded). Keeps state.layer, head, query and key where they still
 * make sense for the new run; `previous` is the run shown before this keystroke. With `reuse`, the
 * caller gives up `previous`: the model may write this run's numbers into its arrays.
 */
export function computeRun(qkv, sources, state, previous = null, { reuse = false } = {}) {
  // While the query is the last token, it stays the last token as the sentence grows or shrinks.
  const followLast = previous && state.query === previous.n - 1;
  const keyOnQuery = state.key === state.query;
  const run = state.mode === 'model' && sources.model
    ? modelRun(qkv, sources.model, state.text, state.knobs, reuse ? previous?.modelOut : undefined) : embeddingsRun(qkv, sources.embeddings, state.text, state.knobs);
  const layers = run.layers.length, heads = run.layers[0]?.heads.length ?? 1;
  state.layer = Math.min(state.layer, Math.max(layers - 1, 0));
  state.head = Math.min(state.head, Math.max(heads - 1, 0));
  if (run.n === 0) { state.query = state.key = null; return run; }
  // By default the step panel follows the last token: it has the most keys to look at in causal mode.
  if (state.query == null || state.query >= run.n || followLast) state.query = run.n - 1;
  if (state.key == null || state.key >= run.n || keyOnQuery) state.key = state.query;
  return run;
}
