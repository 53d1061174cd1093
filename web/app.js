// The demo page: one state object, recomputed on every keystroke or knob, drawn by the shared views.
import { loadAttention } from '../lib/index.js';
import { modelLoadingText } from './format.js';
import { DEFAULT_KNOBS, HEAD_CHOICES, computeRun, loadEmbeddingSource, loadModelSource } from './compute.js';
import { VIEWS, viewPng, viewSvg } from './views.js';
import { AttentionViews } from './interaction.js';
import { renderStep } from './step.js';
import { renderTokens, highlightTokens, wireTokens } from './tokens.js';
import { download, matrixCsv, matrixJson, stateToHash, hashToState } from './exports.js';

const $ = (id) => document.getElementById(id);
const ui = {
  sentence: $('sentence'), tokens: $('tokens'), status: $('status'), step: $('step'), announce: $('announce'),
  layer: $('layer'), layerWrap: $('layer-wrap'), head: $('head'), heads: $('heads'), headsWrap: $('heads-wrap'),
  scaling: $('scaling'), causal: $('causal'), temperature: $('temperature'), temperatureValue: $('temperature-value'),
  topk: $('topk'), modeEmb: $('mode-embeddings'), modeModel: $('mode-model'), modelLoading: $('model-loading'),
  modelProgress: $('model-progress'), modelStatus: $('model-status'), knobNote: $('knob-note'),
  nextCard: $('next-card'), next: $('next'), matrix: $('matrix'),
};

const state = {
  text: ui.sentence.value, mode: 'embeddings', layer: 0, head: 0, knobs: { ...DEFAULT_KNOBS },
  query: null, key: null, hover: null, topK: null, showAll: false,
};
let qkv = null, embeddings = null, model = null, run = null, computeMs = 0;

for (const h of HEAD_CHOICES) ui.heads.append(new Option(`${h} × ${100 / h} dims`, String(h)));

// ---- computing -------------------------------------------------------------------------------------

function recompute() {
  const t0 = performance.now();
  // The page keeps no earlier run, so the model may write the new numbers into the old arrays.
  run = computeRun(qkv, { embeddings, model }, state, run, { reuse: true });
  computeMs = performance.now() - t0;
}

// ---- drawing ---------------------------------------------------------------------------------------

const views = new AttentionViews(
  { heatmap: $('host-heatmap'), lines: $('host-lines'), overview: $('host-overview') }, state,
  { selection: afterSelection, head: afterHead, hover: paintTokenHighlights }, document.body);
const focus = () => views.focus();

function viewContext() { return views.context(); }

function paintTokens() { renderTokens(ui.tokens, run, focus(), state.query); }

function paintTokenHighlights() { highlightTokens(ui.tokens, focus(), state.query); }

function paintStep() {
  stale.delete('step');
  renderStep(ui.step, run, {
    layer: state.layer, head: state.head, query: state.query, key: state.key, showAll: state.showAll,
    onKey: (k) => views.select({ key: k }),
    onShowAll: () => { state.showAll = true; paintStep(); },
  });
}

// Writes a property only when it differs: an unchanged text or attribute written again still
// invalidates style and layout, and paintControls runs on every keystroke.
function put(el, prop, value) { if (el[prop] !== value) el[prop] = value; }

function paintControls() {
  const layers = run.layers.length || 1, heads = run.layers[0]?.heads.length ?? state.knobs.heads;
  const fill = (select, count, name, value) => {
    if (select.options.length !== count) select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(`${name} ${i + 1}`, String(i))));
    put(select, 'value', String(value));
  };
  fill(ui.layer, layers, 'layer', state.layer);
  fill(ui.head, heads, 'head', state.head);
  put(ui.layerWrap, 'hidden', state.mode !== 'model');
  put(ui.headsWrap, 'hidden', state.mode === 'model');
  put(ui.heads, 'value', String(state.knobs.heads));
  put(ui.scaling, 'checked', state.knobs.scaling);
  put(ui.causal, 'checked', state.mode === 'model' || state.knobs.causal);
  put(ui.causal, 'disabled', state.mode === 'model');
  put(ui.temperature, 'value', String(state.knobs.temperature));
  put(ui.temperatureValue, 'textContent', state.knobs.temperature.toFixed(2));
  put(ui.topk, 'value', state.topK == null ? 'auto' : String(state.topK));
  put(ui.modeEmb, 'checked', state.mode === 'embeddings');
  put(ui.modeModel, 'checked', state.mode === 'model');
  const whatIf = state.mode === 'model' && (!state.knobs.scaling || state.knobs.temperature !== 1);
  put(ui.knobNote, 'textContent', state.mode === 'model'
    ? (whatIf ? 'What-if: each head’s weights are recomputed from its Q and K with your knobs; the model’s later layers and its predictions still use its own weights.'
      : 'The model is causal (GPT-style): each token looks only at itself and earlier tokens. <bos> marks the start.')
    : `Q = K = V = each token’s 100 GloVe numbers${state.knobs.heads > 1 ? `, cut into ${state.knobs.heads} heads of ${100 / state.knobs.heads}` : ''}.`);
}

function paintNext() {
  const show = state.mode === 'model' && run.next?.length;
  ui.nextCard.hidden = !show;
  if (!show) return;
  const top = run.next[0].probability;
  ui.next.replaceChildren(...run.next.map(({ token, probability }) => {
    const li = document.createElement('li');
    const word = document.createElement('span');
    word.className = 'next-word';
    word.textContent = token;
    const bar = document.createElement('span');
    bar.className = 'next-bar';
    bar.style.inlineSize = `${Math.max(1, (probability / top) * 100).toFixed(1)}%`; // the likeliest word fills the track
    const pct = document.createElement('span');
    pct.className = 'num';
    pct.textContent = `${(probability * 100).toFixed(1)} %`;
    li.append(word, bar, pct);
    return li;
  }));
}

function paintStatus() {
  if (run.n === 0) { ui.status.textContent = 'Type a sentence to see its attention weights.'; return; }
  const unknown = run.units.filter((u) => u.unknown).length;
  ui.status.textContent = `${run.n} token${run.n === 1 ? '' : 's'}` +
    (unknown ? ` (${unknown} not in the vocabulary, dashed)` : '') +
    ` · ${run.mode === 'model' ? `${run.layers.length} layers × ${run.layers[0].heads.length} heads` : `${run.layers[0].heads.length} head${run.layers[0].heads.length > 1 ? 's' : ''}`} of d = ${run.dHead}` +
    ` · computed in ${computeMs.toFixed(1)} ms with ${qkv.backend}`;
}

let hashTimer = 0;
function saveHash() {
  clearTimeout(hashTimer);
  hashTimer = setTimeout(() => {
    const hash = stateToHash(state);
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }, 150);
}

// While typing, the parts of the page that are off screen (usually the step panel, the next-word
// card and some views) are not drawn in the keystroke's frame: they are drawn once typing pauses
// (QUIET_MS without a keystroke), in idle time, or at once when they scroll into view. Their DOM is
// then current, for screen readers and find-in-page; knobs and clicks draw everything at once. (A
// trace showed the off-screen step panel's rebuild costing ~10 ms of layout in the next frame even
// under content-visibility: auto, i.e. in the next keystroke's frame when it was drawn between keys.)
const QUIET_MS = 250;
const PARTS = {
  heatmap: { el: $('host-heatmap'), paint: () => views.paint(['heatmap']) },
  lines: { el: $('host-lines'), paint: () => views.paint(['lines']) },
  overview: { el: $('host-overview'), paint: () => views.paint(['overview']) },
  step: { el: ui.step, paint: () => paintStep() },
  next: { el: ui.nextCard, paint: () => paintNext() },
};
const offscreen = new Set(), stale = new Set();
let observed = false;
const onScreen = new IntersectionObserver((entries) => {
  observed = true;
  for (const e of entries) {
    if (e.isIntersecting) offscreen.delete(e.target); else offscreen.add(e.target);
  }
  for (const name of [...stale]) {
    if (!offscreen.has(PARTS[name].el)) { stale.delete(name); PARTS[name].paint(); }
  }
  markStale();
}, { rootMargin: '200px' });

// Until the observer has reported (the first paint), where each part is comes from the layout the
// page has anyway at that point.
function isOffscreen(el) {
  if (observed) return offscreen.has(el);
  const r = el.getBoundingClientRect();
  return r.bottom < -200 || r.top > innerHeight + 200 || (r.width === 0 && r.height === 0);
}

// body[data-stale] lists the parts not drawn yet (tests wait for it to be empty).
function markStale() {
  const list = [...stale].join(' ');
  if (document.body.dataset.stale !== list) document.body.dataset.stale = list;
}
for (const { el } of Object.values(PARTS)) onScreen.observe(el);

const whenIdle = globalThis.requestIdleCallback
  ? (fn) => requestIdleCallback(fn, { timeout: 500 })
  : (fn) => setTimeout(() => fn({ didTimeout: true, timeRemaining: () => 0 }), 50);
const cancelIdle = globalThis.cancelIdleCallback ?? clearTimeout;
let quietTimer = 0, idleRequest = 0;
function paintStaleWhenIdle() {
  idleRequest ||= whenIdle((deadline) => {
    idleRequest = 0;
    for (const name of [...stale]) {
      if (!deadline.didTimeout && deadline.timeRemaining() < 4) break;
      stale.delete(name);
      PARTS[name].paint();
    }
    if (stale.size) paintStaleWhenIdle();
    markStale();
  });
}
function paintStaleWhenQuiet() {
  clearTimeout(quietTimer);
  if (idleRequest) { cancelIdle(idleRequest); idleRequest = 0; }
  quietTimer = setTimeout(() => { quietTimer = 0; paintStaleWhenIdle(); }, QUIET_MS);
}

function paintAll(typing = false) {
  paintTokens();
  views.run = run;
  for (const [name, part] of Object.entries(PARTS)) {
    if (typing && isOffscreen(part.el)) stale.add(name);
    else { stale.delete(name); part.paint(); }
  }
  if (stale.size) paintStaleWhenQuiet();
  markStale();
  paintControls();
  paintStatus();
  saveHash();
  document.body.dataset.n = String(run.n);
}

// Typing is drawn in the next animation frame, not in the input handler: keystrokes that arrive
// before that frame are coalesced into one update, and the editor's own layout after an input event
// no longer has to lay out the whole page we would have just rebuilt.
let frameRequest = 0;
function requestUpdate() {
  frameRequest ||= requestAnimationFrame(() => { frameRequest = 0; update(true); });
}

// `typing`: parts off screen may wait (see PARTS).
function update(typing = false) {
  if (frameRequest) { cancelAnimationFrame(frameRequest); frameRequest = 0; }
  performance.clearMarks('qkv:update');
  performance.mark('qkv:update');
  recompute();
  paintAll(typing);
  performance.clearMarks('qkv:painted');
  performance.mark('qkv:painted'); // bench:page measures keydown → qkv:update → this mark → the frame that shows it
}

// After the views changed the query or key (they have repainted themselves).
function afterSelection() {
  paintTokenHighlights();
  paintStep();
  ui.announce.textContent = views.describe();
  saveHash();
}

function afterHead() {
  paintStep(); paintControls(); saveHash();
}

// ---- wiring ----------------------------------------------------------------------------------------

function wire() {
  ui.sentence.addEventListener('input', () => { state.text = ui.sentence.value; state.showAll = false; requestUpdate(); });
  wireTokens(ui.tokens, views);
  ui.layer.addEventListener('change', () => views.setHead(Number(ui.layer.value), state.head));
  ui.head.addEventListener('change', () => views.setHead(state.layer, Number(ui.head.value)));
  const knob = (el, apply) => el.addEventListener('input', () => { apply(); update(); });
  knob(ui.heads, () => { state.knobs.heads = Number(ui.heads.value); state.head = 0; });
  knob(ui.scaling, () => { state.knobs.scaling = ui.scaling.checked; });
  knob(ui.causal, () => { state.knobs.causal = ui.causal.checked; });
  knob(ui.temperature, () => { state.knobs.temperature = Number(ui.temperature.value); });
  ui.topk.addEventListener('change', () => { state.topK = ui.topk.value === 'auto' ? null : Number(ui.topk.value); views.paint(); });
  for (const radio of [ui.modeEmb, ui.modeModel]) {
    radio.addEventListener('change', () => { if (radio.checked) setMode(radio.value); });
  }
  document.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-export]');
    if (!b || !run || run.n === 0) return;
    const view = VIEWS[b.dataset.export];
    const name = `qkv-${view.name}-${run.mode === 'model' ? `L${state.layer + 1}` : ''}H${state.head + 1}`;
    const width = $(`host-${view.name}`).clientWidth;
    if (b.dataset.format === 'png') download(await viewPng(view, viewContext(), width), `${name}.png`);
    else download(new Blob([viewSvg(view, viewContext(), width)], { type: 'image/svg+xml' }), `${name}.svg`);
  });
  $('export-csv').addEventListener('click', () => {
    if (run?.n) download(new Blob([matrixCsv(run, state.layer, state.head, ui.matrix.value)], { type: 'text/csv' }), `qkv-${ui.matrix.value}.csv`);
  });
  $('export-json').addEventListener('click', () => {
    if (run?.n) download(new Blob([matrixJson(run, state.layer, state.head)], { type: 'application/json' }), 'qkv-attention.json');
  });
  $('copy-link').addEventListener('click', async () => {
    history.replaceState(null, '', stateToHash(state));
    try {
      await navigator.clipboard.writeText(location.href);
      ui.announce.textContent = 'Link copied.';
    } catch {
      ui.announce.textContent = 'The link is in the address bar.';
    }
  });
  window.addEventListener('hashchange', () => restoreHash());
}

function setMode(mode) {
  if (mode === 'model' && !model) return;
  state.mode = mode;
  state.layer = 0; state.head = 0;
  update();
}

function restoreHash() {
  const restored = hashToState(location.hash, state);
  if (!restored) return false;
  Object.assign(state, restored, { hover: null });
  if (state.mode === 'model' && !model) {
    // Shown in embeddings mode until the model has loaded, then switched over with this head.
    state.wantModel = { layer: state.layer, head: state.head };
    state.mode = 'embeddings';
  }
  ui.sentence.value = state.text;
  if (qkv && embeddings) update();
  return true;
}

function startModel() {
  ui.modelProgress.removeAttribute('value');
  loadModelSource(qkv, (fraction) => {
    if (fraction != null) ui.modelProgress.value = fraction;
    ui.modelStatus.textContent = modelLoadingText(fraction);
  }).then((m) => {
    model = m;
    ui.modeModel.disabled = false;
    ui.modelLoading.hidden = true;
    const c = m.config;
    ui.modeModel.parentElement.title = `${c.n_layers} layers × ${c.n_heads} heads, d_model ${c.d_model}, ${c.vocab_size} words`;
    document.body.dataset.model = 'ready';
    if (state.wantModel) {
      Object.assign(state, state.wantModel, { mode: 'model', wantModel: null });
      update();
    }
  }, (err) => {
    ui.modelProgress.hidden = true;
    ui.modelStatus.textContent = `The trained model is not available: ${err.message}`;
    document.body.dataset.model = 'unavailable';
  });
}

async function main() {
  performance.mark('qkv:modules');
  restoreHash();
  try {
    [qkv, embeddings] = await Promise.all([
      loadAttention().then((m) => { performance.mark('qkv:wasm'); return m; }),
      // The vectors are read and checked while the module compiles, not after it.
      loadEmbeddingSource().then((e) => { performance.mark('qkv:vectors'); return e; })]);
  } catch (err) {
    ui.status.textContent = `Could not start: ${err.message}`;
    return;
  }
  wire();
  update(true); // like a keystroke: what is on screen now, the rest when idle
  performance.mark('qkv:first-heatmap');
  document.body.dataset.ready = 'true';
  // The model (900 KB to parse and dequantise) after the first heatmap's frame, not before it.
  requestAnimationFrame(() => setTimeout(startModel, 0));
}

main();
