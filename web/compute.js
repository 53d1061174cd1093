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

import { loadEmbeddings, isBytePiece } from '../lib/model.js';

export const DEFAULT_KNOBS = Object.freeze({ heads: 1, scaling: true, temperature: 1, causal: false });
/** Head counts offered in embeddings mode: the divisors of the 100 GloVe dimensions that make sense. */
export const HEAD_CHOICES = [1, 2, 4, 5, 10];
/**
 * The most tokens computed and drawn (the trained model reads fewer: its context, config.max_positions).
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
      const { tokens, vectors, estimated } = embeddings.lookup(read);
      const kept = Math.min(tokens.length, limit);
      return {
        units: unitsOf(tokens.slice(0, kept), read, estimated),
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

/**
 * The tokenizer's (or the model's) pieces as the views show them: the typed text (or <bos>), the
 * vocabulary entry it was looked up as, its offsets, and how it sits in its word — `word` (the index
 * of its word, −1 for <bos>), `joinBefore`/`joinAfter` (a piece of the same word comes before/after:
 * the views write "home·work"), `byte` ([k, count]: the k-th of the UTF-8 bytes the model reads for a
 * character it has no piece for). In word-vector mode `estimated[i]` says piece i had no GloVe
 * vector of its own and got one estimated from its subword pieces; `unknown`, that it has none at all.
 */
export function unitsOf(pieces, text, estimated = null) {
  const units = pieces.map((p, i) => ({
    text: p.start === p.end ? p.text : text.slice(p.start, p.end),
    vocab: p.text, start: p.start, end: p.end, word: p.token ?? -1,
    unknown: Boolean(p.unk) && !estimated?.[i], estimated: Boolean(estimated?.[i]),
    joinBefore: false, joinAfter: false, byte: null,
  }));
  for (let i = 1; i < units.length; ++i) {
    if (units[i].word >= 0 && units[i].word === units[i - 1].word) units[i].joinBefore = units[i - 1].joinAfter = true;
  }
  // A character spelled in bytes: its byte pieces share its span.
  for (let i = 0; i < units.length;) {
    let j = i;
    while (j < units.length && isBytePiece(units[j].vocab) && units[j].start === units[i].start && units[j].end === units[i].end) j += 1;
    for (let k = i; k < j; ++k) units[k].byte = [k - i + 1, j - i];
    i = Math.max(j, i + 1);
  }
  return units;
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
  const units = unitsOf(out.tokens, read);
  const dHead = model.config.d_model / model.config.n_heads;
  // With the model's own scaling and temperature, its scores, logits and weights are the ones shown.
  const own = knobs.scaling && knobs.temperature === 1;
  const layers = out.layers.map((layer) => {
    if (!own) {
      const args = {
        q: concatHeads(layer.heads.map((h) => h.q)), k: concatHeads(layer.heads.map((h) => h.k)),
        v: concatHeads(layer.heads.map((h) => h.v)), n, heads: layer.heads.length, dHead, knobs: used,
      };
      // What-if weights: the heads' patterns are computed from these (heads.js), not the model's.
      return { smear: layer.smear, heads: attendHeads(qkv, args).map((h, i) => ({ ...h, smear: layer.heads[i].smear })) };
    }
    return {
      smear: layer.smear,
      heads: layer.heads.map((h) => ({ q: h.q, k: h.k, v: h.v, scores: h.scores, logits: h.logits, weights: h.weights, output: null, smear: h.smear, pattern: h.pattern })),
    };
  });
  const run = {
    mode: 'model', text, context: null, units, keyUnits: units, n, m: n, dHead, knobs: used, layers, next: out.next,
    leftOut: out.leftOut, cut: read.length < text.length, scale: knobs.scaling ? 1 / Math.sqrt(dHead) : 1,
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

// A chosen token as a place in its text, which outlives the run it was chosen in: the same word is
// found again in the model's pieces after word vectors (and back), after an edit before it, and in
// a permalink. <bos> is { bos: true }; a piece is where it starts, and which byte of a character
// spelled in bytes it is, or that it is an empty word-start piece "▁".
export function anchorOf(u) {
  if (!u) return null;
  if (u.start === u.end && u.word < 0) return { bos: true };
  return { at: u.start, byte: u.byte?.[0] ?? 0, empty: u.start === u.end };
}

/** The index of the token at `anchor` in `units` (see anchorOf), or null when the text is empty. */
export function unitAt(units, anchor) {
  if (units.length === 0) return null;
  if (anchor.bos) return 0; // <bos> where there is one, else the first word
  let covering = -1, after = -1;
  for (let i = 0; i < units.length; ++i) {
    const u = units[i];
    if (u.start === u.end) {
      if (anchor.empty && u.start === anchor.at && u.word >= 0) return i;
      continue;
    }
    if (u.start <= anchor.at && anchor.at < u.end) {
      if (covering < 0) covering = i;
      if ((u.byte?.[0] ?? 0) === anchor.byte) return i;
    } else if (after < 0 && u.start >= anchor.at) after = i;
  }
  if (covering >= 0) return covering;
  return after >= 0 ? after : units.length - 1;
}

// Where `anchor` is after the text changed from `before` to `after`: an edit before it moves it by
// the edit's length; an edit that covers it puts it where the edit starts.
export function shiftAnchor(anchor, before, after) {
  if (!anchor || anchor.bos) return anchor;
  let p = 0;
  const most = Math.min(before.length, after.length);
  while (p < most && before.charCodeAt(p) === after.charCodeAt(p)) p += 1;
  let q = 0;
  while (q < most - p && before.charCodeAt(before.length - 1 - q) === after.charCodeAt(after.length - 1 - q)) q += 1;
  if (anchor.at < p) return anchor;
  if (anchor.at >= before.length - q) return { ...anchor, at: anchor.at + after.length - before.length };
  return { at: p, byte: 0, empty: false };
}

/**
 * Keeps state.layer, head, query and key where they still make sense for `run`; `previous` is the
 * run shown before it. By default the step panel follows the last query (it has the most keys to
 * look at in causal mode), and the key follows the query in self-attention. A run shown in place of
 * the one asked for (word vectors while the model loads) leaves the chosen layer and head alone.
 */
export function settleSelection(state, run, previous = null, anchors = null) {
  // While the query is the last token, it stays the last token as the sentence grows or shrinks.
  const followLast = previous && previous.n > 0 && state.query === previous.n - 1;
  const keyOnQuery = state.key === state.query;
  const layers = run.layers.length, heads = run.layers[0]?.heads.length ?? 1;
  if (run.mode === state.mode || state.mode !== 'model') {
    state.layer = Math.min(state.layer, Math.max(layers - 1, 0));
    state.head = Math.min(state.head, Math.max(heads - 1, 0));
  }
  if (run.n === 0) { state.query = state.key = null; return run; }
  // Otherwise the chosen word is found again where it is in the text (its tokens may have moved:
  // an edit before it, <bos> and pieces in model mode).
  if (followLast) state.query = run.n - 1;
  else if (anchors?.query) state.query = unitAt(run.units, anchors.query);
  if (state.query == null || state.query >= run.n) state.query = run.n - 1;
  if (!(keyOnQuery && run.m === run.n) && anchors?.key) state.key = unitAt(run.keyUnits, anchors.key);
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
