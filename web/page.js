// The demo page, built on <qkv-attention>: the element computes and draws everything (it is the same
// element a course page embeds); this script adds the page's own parts around it — the knobs panel,
// the exports, the permalink, lessons and a file picker — by setting the element's attributes and
// state and listening to its events.
import { DEFAULT_SENTENCE } from './attributes.js';
import { HEAD_CHOICES, MAX_TEXT } from './compute.js';
import { QkvAttentionElement } from './qkv-attention-element.js';
import { download } from './exports.js';
import { headNameText, headPattern } from './heads.js';

const $ = (id) => document.getElementById(id);
// Imported by name, not for its side effect alone: the package says it has none, and a bundler
// would otherwise leave the element out.
const widget = $('widget');
if (!(widget instanceof QkvAttentionElement)) throw new Error('the <qkv-attention> element is not defined');
const ui = {
  layer: $('layer'), layerWrap: $('layer-wrap'), head: $('head'), heads: $('heads'), headsWrap: $('heads-wrap'),
  scaling: $('scaling'), causal: $('causal'), temperature: $('temperature'), temperatureValue: $('temperature-value'),
  topk: $('topk'), modeEmb: $('mode-embeddings'), modeModel: $('mode-model'), modeGiven: $('mode-given'),
  modelLoading: $('model-loading'), modelProgress: $('model-progress'), modelStatus: $('model-status'), knobNote: $('knob-note'),
  attendSelf: $('attend-self'), attendCross: $('attend-cross'), pageNote: $('page-note'), matrix: $('matrix'),
  lesson: $('lesson'), file: $('attention-file'), announce: $('page-announce'),
};

// The example a learner gets on switching to two texts: a question attending to a short passage.
const CROSS_EXAMPLE = {
  question: 'Where did the cat sleep?',
  passage: 'The cat was sleeping on the warm bed by the door while the dog watched the garden.',
};
const LESSONS = { 'attention-from-scratch': 'lessons/attention-from-scratch.json', 'model-heads': 'lessons/model-heads.json' };

for (const h of HEAD_CHOICES) ui.heads.append(new Option(`${h} × ${100 / h} dims`, String(h)));

// ---- the permalink ---------------------------------------------------------------------------------
// The state in the URL hash, short keys, every value checked on the way back in. Positions from 1.

function stateToHash(s, selection, lesson) {
  const p = new URLSearchParams();
  if (lesson) {
    p.set('lesson', lesson);
    p.set('step', String((s.step ?? 0) + 1));
  }
  p.set('s', s.text);
  if (s.context != null) p.set('c', s.context);
  p.set('m', s.mode === 'model' ? 'model' : 'emb');
  if (s.mode === 'model') p.set('l', String(s.layer + 1));
  p.set('h', String(s.head + 1));
  if (s.knobs.heads !== 1) p.set('heads', String(s.knobs.heads));
  if (!s.knobs.scaling) p.set('scale', '0');
  if (s.knobs.temperature !== 1) p.set('t', String(s.knobs.temperature));
  if (s.knobs.causal) p.set('causal', '1');
  // The chosen tokens by where they are in the text, not by position: the same words come back in
  // either source (the model adds <bos> and cuts words into pieces).
  const place = (index, at) => (index == null ? null : at == null ? '<bos>' : `@${at}`);
  const q = place(s.query, selection.queryAt), k = place(s.key, selection.keyAt);
  if (q) p.set('q', q);
  if (k) p.set('k', k);
  return `#${p.toString()}`;
}

// The hash as the element's attributes (names and text as in attributes.js), and what was cut.
function hashToAttributes(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  if (!p.has('s') && !p.has('lesson')) return null;
  const attrs = {}, cut = [];
  const text = (name, value) => {
    if (value.length > MAX_TEXT) cut.push(name);
    return value.slice(0, MAX_TEXT);
  };
  if (p.has('s')) attrs.sentence = text('sentence', p.get('s'));
  if (p.has('c')) attrs.context = text('second text', p.get('c'));
  attrs.mode = p.get('m') === 'model' ? 'model' : 'embeddings';
  for (const [key, name] of [['l', 'layer'], ['h', 'head'], ['heads', 'heads'], ['t', 'temperature'], ['q', 'query'], ['k', 'key'], ['step', 'step']]) {
    if (p.has(key)) attrs[name] = p.get(key).slice(0, 12);
  }
  if (p.get('scale') === '0') attrs.scaling = 'off';
  if (p.get('causal') === '1') attrs.causal = '';
  if (LESSONS[p.get('lesson')]) attrs.lesson = LESSONS[p.get('lesson')];
  return { attrs, cut };
}

const OWNED = ['sentence', 'context', 'mode', 'layer', 'head', 'heads', 'temperature', 'query', 'key', 'step', 'scaling', 'causal', 'lesson'];
function restoreHash() {
  const restored = hashToAttributes(location.hash);
  if (!restored) return false;
  for (const name of OWNED) {
    if (name in restored.attrs) widget.setAttribute(name, restored.attrs[name]);
    else if (name !== 'sentence') widget.removeAttribute(name);
  }
  lessonName = Object.keys(LESSONS).find((k) => LESSONS[k] === restored.attrs.lesson) ?? '';
  ui.lesson.value = lessonName;
  ui.pageNote.textContent = restored.cut.length ? `The link’s ${restored.cut.join(' and ')} ${restored.cut.length > 1 ? 'were' : 'was'} longer than ${MAX_TEXT.toLocaleString('en')} characters: the rest was left out.` : '';
  return true;
}

let lessonName = '';
let hashTimer = 0;
function saveHash() {
  clearTimeout(hashTimer);
  hashTimer = setTimeout(() => {
    if (widget.state.mode === 'given') return; // a file cannot travel in a link
    const hash = stateToHash(widget.state, widget.selection, lessonName);
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }, 400); // when typing pauses: a long sentence's link costs a few ms to write
}

// ---- the knobs panel -------------------------------------------------------------------------------

// Writes a property only when it differs: an unchanged text or attribute written again still
// invalidates style and layout, and paintControls runs after every keystroke.
function put(el, prop, value) { if (el[prop] !== value) el[prop] = value; }

let givenLoaded = false, painted = '';
function paintControls() {
  const run = widget.run, s = widget.state, model = widget.model;
  if (!run) return;
  // What is asked for, not what is drawn yet: the model's run comes from its worker a moment later.
  // Model mode shows word vectors (and the controls say so) until the model has loaded.
  const shown = s.mode === 'model' && model.status !== 'ready' ? 'embeddings' : s.mode === 'given' ? 'given' : s.mode;
  const cross = s.context != null;
  const layers = shown === 'model' ? model.config.n_layers : run.layers.length || 1;
  const heads = shown === 'model' ? model.config.n_heads : shown === 'embeddings' ? s.knobs.heads : run.layers[0]?.heads.length ?? 1;
  const fill = (select, count, name, value) => {
    if (select.options.length !== count) select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(`${name} ${i + 1}`, String(i))));
    put(select, 'value', String(value));
  };
  fill(ui.layer, layers, 'layer', s.layer);
  fill(ui.head, heads, 'head', s.head);
  paintHeadNames();
  put(ui.layerWrap, 'hidden', layers < 2);
  put(ui.headsWrap, 'hidden', shown !== 'embeddings');
  put(ui.heads, 'value', String(s.knobs.heads));
  put(ui.scaling, 'checked', s.knobs.scaling);
  put(ui.scaling, 'disabled', shown === 'given');
  put(ui.causal, 'checked', shown === 'model' || (s.knobs.causal && !cross));
  put(ui.causal, 'disabled', shown !== 'embeddings' || cross);
  put(ui.temperature, 'value', String(s.knobs.temperature));
  put(ui.temperature, 'disabled', shown === 'given');
  put(ui.temperatureValue, 'textContent', s.knobs.temperature.toFixed(2));
  put(ui.topk, 'value', s.topK == null ? 'auto' : String(s.topK));
  put(ui.modeEmb, 'checked', shown === 'embeddings');
  put(ui.modeModel, 'checked', shown === 'model');
  put(ui.modeGiven, 'checked', shown === 'given');
  put(ui.modeGiven, 'disabled', !givenLoaded);
  put(ui.modeModel, 'disabled', widget.model.status !== 'ready' || cross);
  put(ui.attendSelf, 'checked', !cross);
  put(ui.attendCross, 'checked', cross);
  put(ui.attendCross, 'disabled', shown === 'given');
  const whatIf = shown === 'model' && (!s.knobs.scaling || s.knobs.temperature !== 1);
  put(ui.knobNote, 'textContent', shown === 'given' ? 'Attention from your file: only its weights are known, so the knobs do not apply.'
    : cross ? 'Two texts (cross-attention): each token of the sentence is a query; the keys and values are the second text’s tokens (Q = the sentence’s GloVe vectors, K = V = the second text’s). The trained model is self-attention only: it attends within one text, so it is off while there are two.'
      : shown === 'model'
        ? (whatIf ? 'What-if: each head’s weights are recomputed from its Q and K with your knobs; the model’s later layers and its predictions still use its own weights.'
          : 'The model is causal (GPT-style): each token looks only at itself and earlier tokens. <bos> marks the start.')
        : `Q = K = V = each token’s 100 GloVe numbers${s.knobs.heads > 1 ? `, cut into ${s.knobs.heads} heads of ${100 / s.knobs.heads}` : ''}. The word vectors are English (GloVe): a word GloVe has no vector for (dotted) gets one estimated from its pieces.`);
}

// Each head of the picker named by what it does on this sentence, with the score behind the name
// (as the element's overview and caption name it): the names change as the learner types.
function paintHeadNames() {
  const run = widget.run, s = widget.state;
  const layer = run?.n && run.mode !== 'embeddings' ? run.layers[Math.min(s.layer, run.layers.length - 1)] : null;
  [...ui.head.options].forEach((option, h) => {
    const named = layer?.heads[h] ? headNameText(headPattern(run, layer.heads[h])) : '';
    put(option, 'textContent', named ? `head ${h + 1}: ${named}` : `head ${h + 1}`);
  });
}

function paintModel(model) {
  if (model.status === 'loading' || model.status === 'idle') {
    if (model.fraction != null) ui.modelProgress.value = model.fraction; else ui.modelProgress.removeAttribute('value');
    ui.modelStatus.textContent = model.fraction != null ? `Loading the trained model… ${Math.round(model.fraction * 100)} %` : 'Loading the trained model…';
    return;
  }
  if (model.status === 'ready') {
    ui.modelLoading.hidden = true;
    const c = model.config;
    painted = '';
    ui.modeModel.parentElement.title = `${c.n_layers} layers × ${c.n_heads} heads, d_model ${c.d_model}, ${c.vocab_size} words`;
    document.body.dataset.model = 'ready';
  } else {
    ui.modelProgress.hidden = true;
    ui.modelStatus.textContent = `The trained model is not available: ${model.error?.message ?? 'unknown error'}`;
    document.body.dataset.model = 'unavailable';
  }
  paintControls();
}

// ---- wiring ----------------------------------------------------------------------------------------

function wire() {
  const knob = (el, patch) => el.addEventListener('input', () => widget.setState(patch()));
  ui.layer.addEventListener('change', () => widget.setState({ layer: Number(ui.layer.value) }));
  ui.head.addEventListener('change', () => widget.setState({ head: Number(ui.head.value) }));
  knob(ui.heads, () => ({ knobs: { heads: Number(ui.heads.value) }, head: 0 }));
  knob(ui.scaling, () => ({ knobs: { scaling: ui.scaling.checked } }));
  knob(ui.causal, () => ({ knobs: { causal: ui.causal.checked } }));
  knob(ui.temperature, () => ({ knobs: { temperature: Number(ui.temperature.value) } }));
  ui.topk.addEventListener('change', () => widget.setState({ topK: ui.topk.value === 'auto' ? null : Number(ui.topk.value) }));
  for (const radio of [ui.modeEmb, ui.modeModel, ui.modeGiven]) {
    radio.addEventListener('change', () => { if (radio.checked) widget.setState({ mode: radio.value, layer: 0, head: 0 }); });
  }
  ui.attendSelf.addEventListener('change', () => { if (ui.attendSelf.checked) widget.setState({ context: null }); });
  ui.attendCross.addEventListener('change', () => {
    if (!ui.attendCross.checked) return;
    const s = widget.state;
    widget.setState({
      mode: 'embeddings', context: CROSS_EXAMPLE.passage, layer: 0, head: 0,
      ...(s.text === DEFAULT_SENTENCE || s.text.trim() === '' ? { text: CROSS_EXAMPLE.question } : {}),
    });
  });
  ui.lesson.addEventListener('change', () => {
    lessonName = ui.lesson.value;
    widget.removeAttribute('step');
    if (LESSONS[lessonName]) widget.setAttribute('lesson', LESSONS[lessonName]); else widget.removeAttribute('lesson');
    saveHash();
  });
  ui.file.addEventListener('change', () => {
    const [file] = ui.file.files;
    if (file) showFile(file);
  });
  // A file dropped anywhere on the page (the element takes the ones dropped on itself).
  document.addEventListener('dragover', (e) => { if ([...e.dataTransfer.items].some((i) => i.kind === 'file')) e.preventDefault(); });
  document.addEventListener('drop', (e) => {
    if (e.defaultPrevented || !e.dataTransfer.files.length) return;
    e.preventDefault();
    showFile(e.dataTransfer.files[0]);
  });
  document.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-export]');
    if (!b || !widget.run?.n) return;
    const { layer, head } = widget.state;
    const name = `qkv-${b.dataset.export}-${widget.run.layers.length > 1 ? `L${layer + 1}` : ''}H${head + 1}`;
    download(await widget.exportView(b.dataset.export, b.dataset.format), `${name}.${b.dataset.format}`);
  });
  $('export-csv').addEventListener('click', () => {
    if (widget.run?.n) download(widget.exportMatrix('csv', ui.matrix.value), `qkv-${ui.matrix.value}.csv`);
  });
  $('export-json').addEventListener('click', () => {
    if (widget.run?.n) download(widget.exportMatrix('json'), 'qkv-attention.json');
  });
  $('copy-link').addEventListener('click', async () => {
    history.replaceState(null, '', stateToHash(widget.state, widget.selection, lessonName));
    try {
      await navigator.clipboard.writeText(location.href);
      ui.announce.textContent = 'Link copied.';
    } catch {
      ui.announce.textContent = 'The link is in the address bar.';
    }
  });
  window.addEventListener('hashchange', () => restoreHash());
  // Typing changes only the text: the controls are painted again when anything else changed.
  const paintControlsIfChanged = () => {
    const { text, ...rest } = widget.state;
    const key = JSON.stringify([rest, widget.run?.mode, widget.run?.layers.length, widget.model.status]);
    if (key !== painted) { painted = key; paintControls(); }
  };
  const put = (name, value) => { if (document.body.dataset[name] !== value) document.body.dataset[name] = value; };
  widget.addEventListener('qkv-change', () => { saveHash(); paintControlsIfChanged(); });
  widget.addEventListener('qkv-model', (e) => paintModel(e.detail));
  widget.addEventListener('qkv-draw', (e) => {
    const { first, stale, n } = e.detail;
    put('stale', stale.join(' ')); // tests wait for none
    put('n', String(n));
    if (e.detail.mode) paintControlsIfChanged();
    paintHeadNames();
    if (first) {
      performance.mark('qkv:first-heatmap');
      document.body.dataset.ready = 'true';
      // The model after the first heatmap's frame, not before it.
      requestAnimationFrame(() => setTimeout(() => widget.loadModel().catch(() => {}), 0));
    }
  });
}

async function showFile(file) {
  try {
    await widget.showFile(file);
    givenLoaded = true;
    ui.pageNote.textContent = `Showing the attention in ${file.name}.`;
  } catch (error) {
    ui.pageNote.textContent = `${file.name} cannot be shown: ${error.message}`;
  }
  paintControls();
}

performance.mark('qkv:modules');
restoreHash();
wire();
