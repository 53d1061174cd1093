// <qkv-attention>: the demo page's views as one element a course page can hold, configured by
// attributes. It runs the page's own code (compute.js, views through interaction.js, step.js,
// tokens.js, attention.css), so the numbers a lesson shows are the numbers the page shows.
//
//   <script type="module" src="qkv-attention-element.js"></script>
//   <qkv-attention sentence="The cat sat on the mat." view="heatmap step" query="cat"></qkv-attention>
//
// Every attribute, with its default, is in attributes.js and in the README ("Embedding in a
// course"). Styles live in the shadow root as a constructable stylesheet, which a CSP without
// 'unsafe-inline' allows; their text is part of this module's code (dist/attention-css.js, made from
// attention.css at build time), so that no bundler rule or extra request is needed for them. It
// fetches, from `src` (the package folder by default; the `assets` option of the package), the wasm,
// the word vectors and, in model mode, the model.
import { loadAttention } from '../lib/index.js';
import css from '../dist/attention-css.js';
import { DEFAULT_KNOBS, computeRun, loadEmbeddingSource, loadModelSource } from './compute.js';
import { ATTRIBUTES, DEFAULT_SENTENCE } from './attributes.js';
import { AttentionViews } from './interaction.js';
import { renderStep } from './step.js';
import { modelLoadingText } from './format.js';
import { renderTokens, highlightTokens, wireTokens } from './tokens.js';

const VIEW_TITLES = {
  heatmap: 'Heatmap · rows: queries, columns: keys', lines: 'Lines · each query to its keys',
  overview: 'All heads · choose one', step: 'Step by step',
};

// Loaded once per page and per `src`, shared by every element.
const shared = new Map();
function once(key, load) {
  if (!shared.has(key)) {
    const promise = load();
    shared.set(key, promise);
    promise.catch(() => shared.delete(key));
  }
  return shared.get(key);
}

let sheet = null;
const stylesheet = () => {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
  }
  return sheet;
};

// `src` is the folder holding dist/ and models/ (the package's `assets` option); without it the
// package finds its own files.
const assets = (src) => src ?? undefined;
const engine = (src) => once(`qkv ${src}`, () => loadAttention({ assets: assets(src) }));
const embeddingsFrom = (src) => once(`embeddings ${src}`, () => loadEmbeddingSource(assets(src)));
const progressListeners = new Map();
const modelFrom = (src) => once(`model ${src}`, async () => loadModelSource(await engine(src),
  (fraction) => { for (const listener of progressListeners.get(src) ?? []) listener(fraction); }, assets(src)));

function el(doc, tag, className, text) {
  const e = doc.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

// The token `wanted` names (a position or a word) in `run`, or null.
function tokenIndex(run, wanted) {
  if (wanted == null || run.n === 0) return null;
  if (typeof wanted === 'number') return Math.min(wanted, run.n - 1);
  const word = wanted.toLowerCase();
  const i = run.units.findIndex((u) => u.text.toLowerCase() === word);
  return i >= 0 ? i : null;
}

export class QkvAttentionElement extends HTMLElement {
  static observedAttributes = Object.keys(ATTRIBUTES);

  #root; #ui; #views = null; #stepHost = null; #state; #run = null; #sources = null;
  #changed = new Set(Object.keys(ATTRIBUTES)); #scheduled = false; #loading = null; #ready; #resolveReady;

  constructor() {
    super();
    this.#ready = new Promise((resolve) => { this.#resolveReady = resolve; });
    this.#state = { text: DEFAULT_SENTENCE, mode: 'embeddings', layer: 0, head: 0, knobs: { ...DEFAULT_KNOBS }, query: null, key: null, hover: null, topK: null, showAll: false };
    this.#root = this.attachShadow({ mode: 'open' });
    const doc = this.ownerDocument;
    const ui = {
      frame: el(doc, 'div', 'qkv-frame'), label: el(doc, 'label', 'sr-only', 'Sentence'), sentence: el(doc, 'textarea'),
      tokens: el(doc, 'div', 'tokens'), caption: el(doc, 'p', 'qkv-caption'),
      loading: el(doc, 'div', 'qkv-loading'), progress: el(doc, 'progress'), loadingText: el(doc, 'span', null, 'Loading…'),
      views: el(doc, 'div', 'qkv-views'), status: el(doc, 'p', 'status'), announce: el(doc, 'div', 'sr-only'),
    };
    ui.frame.setAttribute('part', 'frame');
    ui.frame.setAttribute('role', 'group');
    ui.frame.setAttribute('aria-label', 'Attention weights of a sentence');
    ui.sentence.id = 'sentence';
    ui.label.htmlFor = 'sentence';
    Object.assign(ui.sentence, { rows: 2, spellcheck: false, autocomplete: 'off', hidden: true });
    ui.tokens.setAttribute('role', 'toolbar');
    ui.tokens.setAttribute('aria-label', 'Tokens: choose one as the query');
    ui.status.setAttribute('role', 'status');
    ui.announce.setAttribute('aria-live', 'polite');
    ui.progress.max = 1;
    ui.loading.hidden = true;
    ui.loading.append(ui.progress, ui.loadingText);
    ui.frame.append(ui.label, ui.sentence, ui.tokens, ui.caption, ui.loading, ui.views, ui.status, ui.announce);
    ui.frame.hidden = true; // until the stylesheet is in, so that nothing shows unstyled
    this.#root.append(ui.frame);
    this.#ui = ui;
    ui.sentence.addEventListener('input', () => {
      this.#state.text = ui.sentence.value;
      this.#state.showAll = false;
      this.#compute();
      this.#paint();
    });
  }

  /** Resolves once the element has drawn its first views (or shown why it cannot). */
  get ready() { return this.#ready; }

  /** What is shown: tokens, and per layer and head q, k, v, scores, logits, weights, output (see compute.js). */
  get run() { return this.#run; }

  /** The chosen layer, head, query and key (from 0), and the sentence as it is now. */
  get selection() {
    const { layer, head, query, key, text } = this.#state;
    return { layer, head, query, key, sentence: text };
  }

  connectedCallback() {
    if (!this.#loading) this.#load();
  }

  attributeChangedCallback(name, before, after) {
    if (before === after) return;
    this.#changed.add(name);
    if (name === 'src' && this.#loading) this.#load();
    else this.#schedule();
  }

  #config() {
    return Object.fromEntries(Object.entries(ATTRIBUTES).map(([name, parse]) => [name, parse(this.getAttribute(name))]));
  }

  // Several attributes set one after another are applied together.
  #schedule() {
    if (this.#scheduled || !this.#sources) return;
    this.#scheduled = true;
    queueMicrotask(() => { this.#scheduled = false; this.#apply(); });
  }

  // The stylesheet first, so that a loading line shows while the wasm and the vectors arrive.
  #load() {
    const src = this.#config().src;
    this.#sources = null;
    this.#ui.status.textContent = 'Loading the WebAssembly module and the word vectors…';
    const files = Promise.all([engine(src), embeddingsFrom(src)]);
    files.catch(() => {}); // reported below, once the stylesheet is in
    const loading = (async () => {
      this.#root.adoptedStyleSheets = [stylesheet()];
      this.#ui.frame.hidden = false;
      const [qkv, embeddings] = await files;
      if (this.#loading !== loading) return;
      this.#sources = { qkv, embeddings, model: null, src };
      this.#changed = new Set(Object.keys(ATTRIBUTES));
      this.#apply();
    })().catch((error) => this.#fail(error));
    this.#loading = loading;
  }

  #fail(error) {
    this.#ui.frame.hidden = false;
    this.#ui.status.textContent = `Could not start: ${error.message}`;
    this.#ui.status.classList.add('qkv-error');
    this.#resolveReady();
  }

  // The model is fetched only when an element asks for it, with a progress bar meanwhile.
  #needModel() {
    const sources = this.#sources, ui = this.#ui, src = sources.src;
    if (sources.model || sources.modelError || sources.modelLoading) return;
    sources.modelLoading = true;
    ui.loading.hidden = false;
    ui.progress.removeAttribute('value');
    ui.loadingText.textContent = modelLoadingText(null);
    const listener = (fraction) => {
      if (fraction != null) ui.progress.value = fraction;
      ui.loadingText.textContent = modelLoadingText(fraction);
    };
    if (!progressListeners.has(src)) progressListeners.set(src, new Set());
    progressListeners.get(src).add(listener);
    modelFrom(src).then((model) => { sources.model = model; }, (error) => { sources.modelError = error; }).finally(() => {
      progressListeners.get(src).delete(listener);
      sources.modelLoading = false;
      ui.loading.hidden = true;
      if (this.#sources === sources) { this.#changed.add('mode'); this.#apply(); }
    });
  }

  // Attributes → state, then one recompute and paint. The learner's own choices (typed text, a
  // clicked token) stay until the attribute they override changes.
  #apply() {
    const changed = this.#changed;
    this.#changed = new Set();
    const c = this.#config(), s = this.#state, ui = this.#ui;
    if (changed.has('sentence')) { s.text = c.sentence; ui.sentence.value = c.sentence; }
    ui.sentence.hidden = ui.label.hidden = !c.editable;
    if (c.mode === 'model') this.#needModel();
    const waiting = c.mode === 'model' && !this.#sources.model && !this.#sources.modelError;
    s.mode = c.mode;
    s.knobs = { heads: c.heads, scaling: c.scaling, temperature: c.temperature, causal: c.causal };
    s.layer = c.layer;
    s.head = c.head;
    if (changed.has('view') || !this.#views) this.#buildViews(c.view);
    const reselect = ['sentence', 'query', 'key', 'mode', 'heads'].some((name) => changed.has(name));
    if (reselect) { s.query = null; s.key = null; s.showAll = false; }
    if (waiting) { ui.views.hidden = true; ui.status.textContent = ''; return; }
    ui.views.hidden = false;
    this.#compute();
    if (reselect && this.#run.n) {
      s.query = tokenIndex(this.#run, c.query) ?? s.query;
      s.key = tokenIndex(this.#run, c.key) ?? s.query;
    }
    this.#paint();
    this.#resolveReady();
  }

  #buildViews(names) {
    const doc = this.ownerDocument, hosts = {};
    const parts = names.map((name) => {
      const section = el(doc, 'section', `qkv-view qkv-${name}`);
      section.append(el(doc, 'h3', null, VIEW_TITLES[name]));
      const host = el(doc, 'div', name === 'step' ? 'step-panel' : 'view-host');
      section.append(host);
      hosts[name] = host;
      return section;
    });
    this.#ui.views.replaceChildren(...parts);
    this.#stepHost = hosts.step ?? null;
    delete hosts.step;
    const views = new AttentionViews(hosts, this.#state, {
      selection: () => this.#afterSelection(), head: () => this.#afterSelection(), hover: () => this.#paintTokenHighlights(),
    }, this.#ui.frame);
    if (!this.#views) {
      const element = this; // the token strip outlives a change of `view`, which makes new views
      wireTokens(this.#ui.tokens, {
        select: (t) => element.#views.select(t), hover: (t) => element.#views.hover(t), get run() { return element.#run; },
      });
    }
    this.#views = views;
    views.run = this.#run;
  }

  #compute() {
    const { qkv, embeddings, model } = this.#sources;
    this.#run = computeRun(qkv, { embeddings, model }, this.#state, this.#run);
  }

  #paint() {
    const run = this.#run, s = this.#state, ui = this.#ui;
    renderTokens(ui.tokens, run, this.#views.focus(), s.query);
    this.#views.show(run);
    this.#paintStep();
    ui.caption.textContent = this.#caption();
    const fallback = s.mode === 'model' && this.#sources.modelError;
    ui.status.textContent = fallback ? `The trained model is not available (${this.#sources.modelError.message}); showing word embeddings.`
      : run.n === 0 ? 'Type a sentence to see its attention weights.' : '';
  }

  #caption() {
    const run = this.#run, s = this.#state;
    if (!run.n) return '';
    const heads = run.layers[0].heads.length;
    const where = run.mode === 'model' ? `trained model, layer ${s.layer + 1} of ${run.layers.length}, head ${s.head + 1} of ${heads}`
      : `word embeddings (Q = K = V = GloVe)${heads > 1 ? `, head ${s.head + 1} of ${heads}` : ''}`;
    const k = run.knobs;
    return `${run.n} tokens · ${where} · d = ${run.dHead}` +
      ` · ${k.scaling ? 'scaled by 1/√d' : 'not scaled'}${k.temperature !== 1 ? ` · temperature ${k.temperature}` : ''}` +
      ` · ${k.causal ? 'causal (looks back only)' : 'bidirectional'}`;
  }

  #paintStep() {
    if (!this.#stepHost) return;
    const s = this.#state;
    renderStep(this.#stepHost, this.#run, {
      layer: s.layer, head: s.head, query: s.query, key: s.key, showAll: s.showAll,
      onKey: (k) => this.#views.select({ key: k }),
      onShowAll: () => { s.showAll = true; this.#paintStep(); },
    });
  }

  #paintTokenHighlights() { highlightTokens(this.#ui.tokens, this.#views.focus(), this.#state.query); }

  #afterSelection() {
    this.#paintTokenHighlights();
    this.#paintStep();
    this.#ui.caption.textContent = this.#caption();
    this.#ui.announce.textContent = this.#views.describe();
    this.dispatchEvent(new CustomEvent('qkv-select', { bubbles: true, composed: true, detail: this.selection }));
  }
}

export { ATTRIBUTES, DEFAULT_SENTENCE };

if (!customElements.get('qkv-attention')) customElements.define('qkv-attention', QkvAttentionElement);
