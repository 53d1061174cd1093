// The demo page: one state object, recomputed on every keystroke or knob, drawn by the shared views.
import { loadAttention } from '../bindings/index.js';
import { DEFAULT_KNOBS, HEAD_CHOICES, embeddingsRun, modelRun, loadEmbeddingSource, loadModelSource } from './compute.js';
import { VIEWS, viewPng, viewSvg } from './views.js';
import { AttentionViews } from './interaction.js';
import { renderStep } from './step.js';
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
  // While the query is the last token, it stays the last token as the sentence grows or shrinks.
  const followLast = run && state.query === run.n - 1;
  const keyOnQuery = state.key === state.query;
  run = state.mode === 'model' && model ? modelRun(qkv, model, state.text, state.knobs) : embeddingsRun(qkv, embeddings, state.text, state.knobs);
  computeMs = performance.now() - t0;
  const layers = run.layers.length, heads = run.layers[0]?.heads.length ?? 1;
  state.layer = Math.min(state.layer, Math.max(layers - 1, 0));
  state.head = Math.min(state.head, Math.max(heads - 1, 0));
  if (run.n === 0) { state.query = state.key = null; return; }
  // By default the step panel follows the last token: it has the most keys to look at in causal mode.
  if (state.query == null || state.query >= run.n || followLast) state.query = run.n - 1;
  if (state.key == null || state.key >= run.n || keyOnQuery) state.key = state.query;
}

// ---- drawing ---------------------------------------------------------------------------------------

const views = new AttentionViews(
  { heatmap: $('host-heatmap'), lines: $('host-lines'), overview: $('host-overview') }, state,
  { selection: afterSelection, head: afterHead, hover: paintTokenHighlights }, document.body);
const focus = () => views.focus();

function viewContext() { return views.context(); }

function paintTokens() {
  const parts = [];
  let at = 0;
  const f = focus();
  run.units.forEach((u, i) => {
    if (u.start > at) parts.push(document.createTextNode(state.text.slice(at, u.start)));
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'tok';
    b.dataset.i = String(i);
    b.textContent = u.start === u.end ? u.text : state.text.slice(u.start, u.end);
    if (u.start === u.end) b.classList.add('special');
    if (u.unknown) { b.classList.add('unk'); b.title = 'not in the vocabulary: uses the <unk> vector'; }
    else if (u.vocab && u.vocab !== u.text.toLowerCase()) b.title = `looked up as “${u.vocab}”`;
    b.tabIndex = i === (state.query ?? 0) ? 0 : -1;
    b.classList.toggle('is-query', i === f.query);
    b.classList.toggle('is-key', i === f.key);
    parts.push(b);
    at = Math.max(at, u.end);
  });
  if (at < state.text.length) parts.push(document.createTextNode(state.text.slice(at)));
  ui.tokens.replaceChildren(...parts);
}

function paintTokenHighlights() {
  const f = focus();
  for (const b of ui.tokens.querySelectorAll('.tok')) {
    const i = Number(b.dataset.i);
    b.classList.toggle('is-query', i === f.query);
    b.classList.toggle('is-key', i === f.key);
  }
}

function paintStep() {
  renderStep(ui.step, run, {
    layer: state.layer, head: state.head, query: state.query, key: state.key, showAll: state.showAll,
    onKey: (k) => views.select({ key: k }),
    onShowAll: () => { state.showAll = true; paintStep(); },
  });
}

function paintControls() {
  const layers = run.layers.length || 1, heads = run.layers[0]?.heads.length ?? state.knobs.heads;
  const fill = (select, count, name, value) => {
    if (select.options.length !== count) select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(`${name} ${i + 1}`, String(i))));
    select.value = String(value);
  };
  fill(ui.layer, layers, 'layer', state.layer);
  fill(ui.head, heads, 'head', state.head);
  ui.layerWrap.hidden = state.mode !== 'model';
  ui.headsWrap.hidden = state.mode === 'model';
  ui.heads.value = String(state.knobs.heads);
  ui.scaling.checked = state.knobs.scaling;
  ui.causal.checked = state.mode === 'model' || state.knobs.causal;
  ui.causal.disabled = state.mode === 'model';
  ui.temperature.value = String(state.knobs.temperature);
  ui.temperatureValue.textContent = state.knobs.temperature.toFixed(2);
  ui.topk.value = state.topK == null ? 'auto' : String(state.topK);
  ui.modeEmb.checked = state.mode === 'embeddings';
  ui.modeModel.checked = state.mode === 'model';
  const whatIf = state.mode === 'model' && (!state.knobs.scaling || state.knobs.temperature !== 1);
  ui.knobNote.textContent = state.mode === 'model'
    ? (whatIf ? 'What-if: each head’s weights are recomputed from its Q and K with your knobs; the model’s later layers and its predictions still use its own weights.'
      : 'The model is causal (GPT-style): each token looks only at itself and earlier tokens. <bos> marks the start.')
    : `Q = K = V = each token’s 100 GloVe numbers${state.knobs.heads > 1 ? `, cut into ${state.knobs.heads} heads of ${100 / state.knobs.heads}` : ''}.`;
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

function paintAll() {
  paintTokens();
  views.show(run);
  paintStep();
  paintControls();
  paintNext();
  paintStatus();
  saveHash();
  document.body.dataset.n = String(run.n);
}

function update() {
  recompute();
  paintAll();
}

// After the views changed the query or key (they have repainted themselves).
function afterSelection() {
  paintTokenHighlights();
  paintStep();
  for (const b of ui.tokens.querySelectorAll('.tok')) b.tabIndex = Number(b.dataset.i) === state.query ? 0 : -1;
  ui.announce.textContent = views.describe();
  saveHash();
}

function afterHead() {
  paintStep(); paintControls(); saveHash();
}

// ---- wiring ----------------------------------------------------------------------------------------

function wire() {
  ui.sentence.addEventListener('input', () => { state.text = ui.sentence.value; state.showAll = false; update(); });
  ui.tokens.addEventListener('click', (e) => {
    const b = e.target.closest('.tok');
    if (!b) return;
    const i = Number(b.dataset.i);
    views.select({ query: i, key: i });
  });
  ui.tokens.addEventListener('keydown', (e) => {
    const b = e.target.closest('.tok');
    if (!b || !run) return;
    const i = Number(b.dataset.i);
    const to = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: run.n - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const chosen = Math.max(0, Math.min(run.n - 1, to));
    views.select({ query: chosen, key: chosen });
    ui.tokens.querySelector(`.tok[data-i="${state.query}"]`)?.focus();
  });
  ui.tokens.addEventListener('pointerover', (e) => {
    const b = e.target.closest('.tok');
    if (b) views.hover({ query: Number(b.dataset.i), key: Number(b.dataset.i) });
  });
  ui.tokens.addEventListener('pointerleave', () => views.hover(null));
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
  new ResizeObserver(() => views.paint()).observe($('views'));
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => views.paint());
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
    ui.modelStatus.textContent = `Loading the trained model… ${fraction != null ? `${Math.round(fraction * 100)} %` : ''}`;
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
  restoreHash();
  try {
    [qkv, embeddings] = await Promise.all([loadAttention(), loadAttention().then(loadEmbeddingSource)]);
  } catch (err) {
    ui.status.textContent = `Could not start: ${err.message}`;
    return;
  }
  wire();
  update();
  document.body.dataset.ready = 'true';
  startModel();
}

main();
