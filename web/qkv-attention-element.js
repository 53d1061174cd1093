// <qkv-attention>: attention over a sentence, computed in the browser and drawn in a shadow root —
// the token strip, heatmap, lines, all heads, the model's next words and the step-by-step panel, a
// second text for cross-attention, attention loaded from a file, and lessons that walk through it.
// The demo page is built on this element (it adds its knobs, exports and permalink around it), so
// whatever the page shows a course page can hold.
//
//   <script type="module" src="qkv-attention-element.js"></script>
//   <qkv-attention sentence="The cat sat on the mat." view="heatmap step" query="cat"></qkv-attention>
//
// Every attribute, with its default, is in attributes.js and in the README ("Embedding in a
// course"). The session (session.js) holds the state and draws; this file builds the DOM, reads the
// attributes, lessons and files, and tells the page what happened through events. Styles live in the
// shadow root as a constructable stylesheet, which a CSP without 'unsafe-inline' allows; their text is
// part of this module's code (dist/attention-css.js, made from attention.css at build time), so that
// no bundler rule or extra request is needed for them. It fetches, from `src` (the package folder by
// default; the `assets` option of the package), the wasm, the word vectors and, in model mode, the
// model.
import { loadAttention } from '../lib/index.js';
import css from '../dist/attention-css.js';
import { loadEmbeddingSource } from './compute.js';
import { loadModelSource } from './model-source.js';
import { ATTRIBUTES, DEFAULT_SENTENCE, STAGES, URL_ATTRIBUTES, VIEW_NAMES } from './attributes.js';
import { AttentionSession } from './session.js';
import { parseLesson, renderCaption, settingsAt, LessonError } from './lesson.js';
import { readAttentionFile, AttentionFileError, MAX_FILE_BYTES } from './attention-file.js';
import { VIEWS, viewPng, viewSvg } from './views.js';
import { matrixCsv, matrixJson } from './exports.js';
import { PATTERNS, headName, headPattern } from './heads.js';

const VIEW_TITLES = {
  heatmap: ['Heatmap', 'rows: queries · columns: keys'], lines: ['Lines', 'each query to its keys'],
  overview: ['All heads', 'choose one'], next: ['What the model expects next', ''], step: ['Step by step', ''],
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
const mark = (name) => (value) => { performance.mark(name); return value; };
const engine = (src) => once(`qkv ${src}`, () => loadAttention({ assets: assets(src) }).then(mark('qkv:wasm')));
// The vectors are read and checked while the module compiles, not after it (they need no wasm).
const embeddingsFrom = (src) => once(`embeddings ${src}`, () => loadEmbeddingSource(assets(src)).then(mark('qkv:vectors')));
// The model, with everyone who follows its download.
const progressListeners = new Map();
const modelFrom = (src) => once(`model ${src}`, async () => loadModelSource(await engine(src), {
  assets: assets(src),
  onProgress: (fraction) => { for (const listener of progressListeners.get(src) ?? []) listener(fraction); },
}));

function el(doc, tag, className, text) {
  const e = doc.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

async function fetchJson(url, what) {
  const response = await fetch(new URL(url, document.baseURI));
  if (!response.ok) throw new Error(`${what} ${url}: HTTP ${response.status}`);
  const length = Number(response.headers.get('content-length'));
  if (length > MAX_FILE_BYTES) throw new Error(`${what} ${url}: ${length.toLocaleString('en')} bytes is more than can be read`);
  return response.text();
}

export class QkvAttentionElement extends HTMLElement {
  static observedAttributes = Object.keys(ATTRIBUTES);

  #root; #ui; #session; #viewNames = null; #changed = new Set(Object.keys(ATTRIBUTES)); #scheduled = false;
  #loading = null; #ready; #resolveReady; #readyDone = false; #waits = 0; #started; #startedResolve; #src = null;
  #lesson = null; #lessonError = null; #step = 0; #lessonToken = 0; #attentionToken = 0; #notes = new Map();

  constructor() {
    super();
    this.#ready = new Promise((resolve) => { this.#resolveReady = resolve; });
    this.#started = new Promise((resolve, reject) => { this.#startedResolve = { resolve, reject }; });
    this.#started.catch(() => {});
    this.#root = this.attachShadow({ mode: 'open' });
    const doc = this.ownerDocument;
    const ui = {
      frame: el(doc, 'div', 'qkv-frame'),
      lesson: el(doc, 'section', 'qkv-lesson'), lessonTitle: el(doc, 'h2', 'lesson-title'), lessonCount: el(doc, 'span', 'lesson-count'),
      lessonCaption: el(doc, 'div', 'lesson-caption'), lessonFound: el(doc, 'p', 'lesson-found'), lessonBack: el(doc, 'button', 'lesson-back'),
      lessonNext: el(doc, 'button', 'lesson-next'), lessonError: el(doc, 'p', 'lesson-error'),
      input: el(doc, 'div', 'qkv-input'), label: el(doc, 'label', 'qkv-label', 'Sentence'), sentence: el(doc, 'textarea'),
      tokens: el(doc, 'div', 'tokens'), contextLabel: el(doc, 'label', 'qkv-label', 'Second text: its tokens are the keys and values'),
      context: el(doc, 'textarea'), keyTokens: el(doc, 'div', 'tokens key-tokens'), caption: el(doc, 'p', 'qkv-caption'),
      loading: el(doc, 'div', 'qkv-loading'), progress: el(doc, 'progress'), loadingText: el(doc, 'span', null, 'Loading…'),
      status: el(doc, 'p', 'status'), notes: el(doc, 'p', 'qkv-notes'), views: el(doc, 'div', 'qkv-views'), announce: el(doc, 'div', 'sr-only'),
    };
    ui.frame.setAttribute('part', 'frame');
    ui.frame.setAttribute('role', 'group');
    ui.frame.setAttribute('aria-label', 'Attention weights of a sentence');
    this.#buildLesson(doc, ui);
    ui.input.setAttribute('part', 'input');
    ui.sentence.id = 'sentence';
    ui.label.htmlFor = 'sentence';
    ui.context.id = 'context';
    ui.contextLabel.htmlFor = 'context';
    for (const box of [ui.sentence, ui.context]) Object.assign(box, { rows: 2, spellcheck: false, autocomplete: 'off', dir: 'auto', hidden: true });
    ui.sentence.setAttribute('autocapitalize', 'off');
    ui.context.setAttribute('autocapitalize', 'off');
    ui.tokens.id = 'tokens';
    ui.keyTokens.id = 'key-tokens';
    ui.tokens.setAttribute('role', 'toolbar');
    ui.tokens.setAttribute('aria-label', 'Tokens: choose one as the query');
    ui.keyTokens.setAttribute('role', 'toolbar');
    ui.keyTokens.setAttribute('aria-label', 'Tokens of the second text: choose one as the key');
    ui.keyTokens.hidden = true;
    ui.status.id = 'status';
    ui.status.setAttribute('role', 'status');
    ui.notes.hidden = true;
    ui.notes.setAttribute('role', 'alert');
    ui.announce.id = 'announce';
    ui.announce.setAttribute('aria-live', 'polite');
    ui.progress.max = 1;
    ui.loading.hidden = true;
    ui.loading.append(ui.progress, ui.loadingText);
    ui.label.hidden = ui.contextLabel.hidden = true;
    ui.input.append(ui.label, ui.sentence, ui.tokens, ui.contextLabel, ui.context, ui.keyTokens, ui.caption, ui.loading, ui.status, ui.notes);
    ui.views.setAttribute('part', 'views');
    const controls = doc.createElement('slot');
    controls.name = 'controls';
    ui.frame.append(ui.lesson, ui.input, controls, ui.views, ui.announce);
    ui.frame.hidden = true; // until the stylesheet is in, so that nothing shows unstyled
    this.#root.append(ui.frame);
    this.#ui = ui;
    this.#session = new AttentionSession(ui, {
      draw: (detail) => this.#drawn(detail),
      stale: () => this.#emitDraw({ first: false }),
      select: () => this.dispatchEvent(new CustomEvent('qkv-select', { bubbles: true, composed: true, detail: this.selection })),
      change: () => this.dispatchEvent(new CustomEvent('qkv-change', { bubbles: true, composed: true, detail: this.state })),
      model: (model) => this.dispatchEvent(new CustomEvent('qkv-model', { bubbles: true, composed: true, detail: { ...model } })),
    }, (onProgress) => this.#model(onProgress));
    ui.sentence.addEventListener('input', () => this.#session.set({ text: ui.sentence.value, showAll: false }, { typing: true }));
    ui.context.addEventListener('input', () => this.#session.set({ context: ui.context.value, showAll: false }, { typing: true }));
    this.#acceptDrops(ui.frame);
  }

  /** Resolves once the element has drawn what its attributes ask for (or shown why it cannot). */
  get ready() { return this.#ready; }

  /** What is shown: tokens, and per layer and head q, k, v, scores, logits, weights, output (see compute.js). */
  get run() { return this.#session.run; }

  /** The chosen layer, head, query and key (from 0), and the sentence as it is now. */
  get selection() {
    const { layer, head, query, key, text } = this.#session.state, { anchors } = this.#session;
    const at = (a) => (a && !a.bos ? a.at : null);
    return { layer, head, query, key, sentence: text, queryAt: at(anchors.query), keyAt: at(anchors.key) };
  }

  /**
   * The whole state (positions from 0): text, context (null without a second text), mode ('embeddings',
   * 'model' or 'given'), layer, head, knobs { heads, scaling, temperature, causal }, query, key, topK,
   * stage, and the lesson step (from 0, or null without a lesson).
   */
  get state() {
    const { text, context, mode, layer, head, knobs, query, key, topK, stage } = this.#session.state;
    return { text, context, mode, layer, head, knobs: { ...knobs }, query, key, topK, stage, step: this.#lesson ? this.#step : null };
  }

  /**
   * Changes the state, as a learner would: the page's knobs use this. Fields as in `state`; `head`
   * may also name a pattern ('previous', 'start', …) and `query`/`key` a word; `step` moves in the
   * lesson. Attributes changed later still apply.
   */
  setState(patch) {
    const { step, ...rest } = patch;
    if (step != null && this.#lesson) this.goToStep(step);
    if (Object.keys(rest).length) this.#session.set(rest);
  }

  /** The trained model's state: { status: 'idle' | 'loading' | 'ready' | 'unavailable', fraction, error, config }. */
  get model() { const { status, fraction, error, config } = this.#session.model; return { status, fraction, error, config, where: this.#session.computedWhere }; }

  /** Loads the trained model now (model mode loads it anyway); resolves when it is ready. */
  loadModel() { return this.#whenStarted().then(() => this.#session.loadModel()); }

  /**
   * Shows attention computed elsewhere: `data` is the JSON text or its parsed object (see
   * attention-file.js for the two formats read). Throws an AttentionFileError saying what is wrong;
   * then nothing changes. `null` goes back to the sentence.
   */
  async showAttention(data, { layer = 0, head = 0, query = null, key = null } = {}) {
    await this.#whenStarted();
    if (data === null) { this.#session.setGiven(null); return; }
    const run = readAttentionFile(data);
    this.#session.setGiven(run, { layer, head, query, key });
  }

  /** The lesson shown: { title, steps, step } (step from 0), or null. */
  get lesson() { return this.#lesson ? { title: this.#lesson.title, steps: this.#lesson.steps.length, step: this.#step } : null; }

  /** Shows step `index` (from 0) of the lesson. */
  goToStep(index) {
    if (!this.#lesson) return;
    this.#step = Math.max(0, Math.min(this.#lesson.steps.length - 1, index));
    this.#applyStep();
  }

  /** A view (`heatmap`, `lines` or `overview`) as a PNG or SVG Blob, drawn by the code that draws it here. */
  async exportView(name, format = 'png') {
    const view = VIEWS[name], views = this.#session.views;
    if (!view) throw new TypeError(`exportView: name must be one of ${Object.keys(VIEWS).join(', ')}, received ${String(name)}`);
    if (!this.run?.n) throw new RangeError('exportView: there is nothing to draw yet');
    const host = this.#root.getElementById(`host-${name}`);
    const width = host?.clientWidth || 720;
    if (format === 'png') return viewPng(view, views.context(), width);
    if (format === 'svg') return new Blob([viewSvg(view, views.context(), width)], { type: 'image/svg+xml' });
    throw new TypeError(`exportView: format must be 'png' or 'svg', received ${String(format)}`);
  }

  /** The selected head as CSV (`which`: weights, scores or logits) or JSON (everything), as a Blob. */
  exportMatrix(format = 'csv', which = 'weights') {
    const run = this.run, { layer, head } = this.#session.state;
    if (!run?.n) throw new RangeError('exportMatrix: there is nothing to export yet');
    if (format === 'csv') return new Blob([matrixCsv(run, layer, head, which)], { type: 'text/csv' });
    if (format === 'json') return new Blob([matrixJson(run, layer, head)], { type: 'application/json' });
    throw new TypeError(`exportMatrix: format must be 'csv' or 'json', received ${String(format)}`);
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
    if (this.#scheduled || !this.#session.started) return;
    this.#scheduled = true;
    queueMicrotask(() => { this.#scheduled = false; this.#apply(); });
  }

  #whenStarted() { return this.#started; }

  // The stylesheet first, so that a loading line shows while the wasm and the vectors arrive.
  #load() {
    const src = this.#config().src;
    this.#ui.status.textContent = 'Loading the WebAssembly module and the word vectors…';
    const files = Promise.all([engine(src), embeddingsFrom(src)]);
    files.catch(() => {}); // reported below, once the stylesheet is in
    const loading = (async () => {
      this.#root.adoptedStyleSheets = [stylesheet()];
      this.#ui.frame.hidden = false;
      // One frame for the browser to lay the element out while the files arrive (a task after the
      // frame's callbacks, so after its layout): the first draw then finds its layout done (it cost
      // that draw ~30 ms on the demo page's cold load). A tab in the background has no frames: a
      // timer stands in.
      const laidOut = new Promise((resolve) => { requestAnimationFrame(() => setTimeout(resolve, 0)); setTimeout(resolve, 100); });
      const [[qkv, embeddings]] = await Promise.all([files, laidOut]);
      if (this.#loading !== loading) return;
      this.#src = src;
      this.#changed = new Set(Object.keys(ATTRIBUTES));
      this.#apply(true);
      this.#session.start({ qkv, embeddings });
      this.#startedResolve.resolve();
    })().catch((error) => this.#fail(error));
    this.#loading = loading;
  }

  #model(onProgress) {
    const src = this.#src;
    if (!progressListeners.has(src)) progressListeners.set(src, new Set());
    progressListeners.get(src).add(onProgress);
    const model = modelFrom(src);
    model.finally(() => progressListeners.get(src).delete(onProgress)).catch(() => {});
    return model;
  }

  #fail(error) {
    this.#startedResolve.reject(error);
    this.#ui.frame.hidden = false;
    this.#ui.status.textContent = `Could not start: ${error.message}`;
    this.#ui.status.classList.add('qkv-error');
    this.#finishReady();
  }

  #finishReady() {
    if (this.#readyDone) return;
    this.#readyDone = true;
    this.#resolveReady();
  }

  // ---- attributes -----------------------------------------------------------------------------------

  // Attributes → state, then one recompute and paint. The learner's own choices (typed text, a
  // clicked token) stay until the attribute they override changes. `starting`: before the session
  // has drawn anything, so nothing is drawn twice.
  #apply(starting = false) {
    const changed = this.#changed;
    this.#changed = new Set();
    const c = this.#config(), ui = this.#ui;
    for (const name of URL_ATTRIBUTES) {
      if (!changed.has(name)) continue;
      const raw = this.getAttribute(name);
      if (raw && raw.trim() && c[name] === null) this.#note(name, `${name}="${raw.length > 60 ? `${raw.slice(0, 60)}…` : raw}" is not an http(s) or relative URL, so it is not used${name === 'src' ? ': the package’s own files are' : ''}.`);
      else this.#note(name, null);
    }
    ui.sentence.hidden = ui.label.hidden = !c.editable;
    ui.context.hidden = ui.contextLabel.hidden = !(c.editable && c.context !== null);
    if (changed.has('view') || !this.#viewNames) this.#buildViews(c.view);
    const patch = {};
    if (changed.has('sentence')) { patch.text = c.sentence; ui.sentence.value = c.sentence; }
    if (changed.has('context')) { patch.context = c.context; ui.context.value = c.context ?? ''; }
    if (changed.has('mode')) patch.mode = c.mode;
    const knobs = {};
    for (const name of ['heads', 'scaling', 'temperature', 'causal']) if (changed.has(name)) knobs[name] = c[name];
    if (Object.keys(knobs).length) patch.knobs = knobs;
    if (changed.has('layer')) patch.layer = c.layer;
    if (changed.has('head')) patch.head = c.head;
    if (changed.has('stage')) patch.stage = c.stage;
    if (['sentence', 'context', 'query', 'key', 'mode', 'heads'].some((name) => changed.has(name))) { patch.query = c.query; patch.key = c.key; }
    if (Object.keys(patch).length) {
      if (starting) Object.assign(this.#session.state, this.#startingState(patch)); else this.#session.set(patch);
    }
    if (changed.has('lesson')) this.#loadLesson(c.lesson);
    else if (changed.has('step') && this.#lesson) this.goToStep(c.step);
    if (changed.has('attention')) this.#loadAttentionFile(c.attention);
  }

  // Before the first run: the patch written straight into the state (words and places in the text
  // wait for the run).
  #startingState(patch) {
    const s = this.#session.state, out = {};
    for (const [name, value] of Object.entries(patch)) {
      if (name === 'knobs') out.knobs = { ...s.knobs, ...value };
      else if ((name === 'query' || name === 'key' || name === 'head') && (typeof value === 'string' || (value !== null && typeof value === 'object'))) this.#session.set({ [name]: value });
      else out[name] = value;
    }
    return out;
  }

  #buildViews(names) {
    const doc = this.ownerDocument, hosts = {};
    const parts = names.map((name) => {
      const section = el(doc, 'section', `qkv-view qkv-${name}`);
      section.setAttribute('part', `view view-${name}`);
      const [title, note] = VIEW_TITLES[name];
      const h = el(doc, 'h2', 'qkv-view-title', title);
      h.setAttribute('part', 'view-title');
      if (note) h.append(' ', el(doc, 'span', 'qkv-note', note));
      section.append(h);
      const host = name === 'step' ? el(doc, 'div', 'step-panel') : name === 'next' ? el(doc, 'ol', 'next') : el(doc, 'div', 'view-host');
      host.id = name === 'step' || name === 'next' ? name : `host-${name}`;
      const slot = doc.createElement('slot');
      slot.name = name;
      section.append(host, slot);
      if (name === 'next') section.hidden = true;
      hosts[name] = host;
      return section;
    });
    const rest = doc.createElement('slot');
    rest.name = 'views';
    this.#ui.views.replaceChildren(...parts, rest);
    this.#viewNames = names;
    this.#session.setViews(hosts);
    this.#session.redraw();
  }

  // Messages about attributes that could not be used (shown until the attribute changes).
  #note(name, text) {
    if (text) this.#notes.set(name, text); else this.#notes.delete(name);
    this.#ui.notes.textContent = [...this.#notes.values()].join(' ');
    this.#ui.notes.hidden = this.#notes.size === 0;
  }

  // ---- drawing and events ---------------------------------------------------------------------------

  #drawn(detail) {
    // The text boxes follow the state when something other than typing changed it (a lesson, the
    // page's knobs): a box being typed in already holds it.
    const ui = this.#ui, s = this.#session.state, editable = this.#config().editable;
    if (ui.sentence.value !== s.text) ui.sentence.value = s.text;
    if (ui.context.value !== (s.context ?? '')) ui.context.value = s.context ?? '';
    const withContext = editable && s.context !== null && s.mode !== 'given';
    if (ui.context.hidden === withContext) ui.context.hidden = ui.contextLabel.hidden = !withContext;
    if (ui.sentence.hidden === (editable && s.mode !== 'given')) ui.sentence.hidden = ui.label.hidden = !(editable && s.mode !== 'given');
    this.#paintLessonFound();
    this.#ui.views.querySelector('.qkv-overview')?.classList.toggle('qkv-stage', this.#session.state.stage === 'heads');
    this.#emitDraw(detail);
  }

  #emitDraw({ first }) {
    const stale = this.#session.stale;
    this.dispatchEvent(new CustomEvent('qkv-draw', { bubbles: true, composed: true, detail: { first, stale, n: this.run?.n ?? 0, mode: this.run?.mode ?? null } }));
    if (this.#session.settled && stale.length === 0 && this.#waits === 0) this.#finishReady();
  }

  // ---- lessons --------------------------------------------------------------------------------------

  #buildLesson(doc, ui) {
    const head = el(doc, 'div', 'lesson-head');
    head.append(ui.lessonTitle, ui.lessonCount);
    const nav = el(doc, 'div', 'lesson-nav');
    for (const b of [ui.lessonBack, ui.lessonNext]) b.type = 'button';
    const arrow = (text) => { const a = el(doc, 'span', null, text); a.setAttribute('aria-hidden', 'true'); return a; };
    ui.lessonBack.append(arrow('← '), 'Back');
    ui.lessonNext.append('Next', arrow(' →'));
    nav.append(ui.lessonBack, ui.lessonNext);
    ui.lessonCaption.tabIndex = 0;
    ui.lessonError.setAttribute('role', 'alert');
    ui.lessonError.hidden = true;
    ui.lesson.setAttribute('part', 'lesson');
    ui.lesson.append(head, ui.lessonCaption, ui.lessonFound, nav, ui.lessonError);
    ui.lesson.hidden = true;
    ui.lessonBack.addEventListener('click', () => this.goToStep(this.#step - 1));
    ui.lessonNext.addEventListener('click', () => this.goToStep(this.#step + 1));
    // The arrow keys step through the lesson while the lesson bar has the focus.
    ui.lesson.addEventListener('keydown', (e) => {
      const to = { ArrowLeft: -1, ArrowRight: 1, PageUp: -1, PageDown: 1 }[e.key];
      if (!to || !this.#lesson) return;
      e.preventDefault();
      this.goToStep(this.#step + to);
    });
  }

  // Inline (<script type="application/json"> inside the element) when there is one, else from `url`.
  async #loadLesson(url) {
    const token = ++this.#lessonToken;
    const inline = this.querySelector(':scope > script[type="application/json"]');
    if (!inline && !url) { this.#setLesson(null, null); return; }
    this.#waits += 1;
    try {
      const text = inline ? inline.textContent : await fetchJson(url, 'lesson');
      if (token !== this.#lessonToken) return;
      this.#setLesson(parseLesson(text, inline ? 'lesson' : `lesson ${url}`), null);
    } catch (error) {
      if (token === this.#lessonToken) this.#setLesson(null, error);
    } finally {
      this.#waits -= 1;
      if (token === this.#lessonToken) this.#emitDraw({ first: false });
    }
  }

  #setLesson(lesson, error) {
    const ui = this.#ui;
    this.#lesson = lesson;
    this.#lessonError = error;
    ui.lesson.hidden = !lesson && !error;
    ui.lessonError.hidden = !error;
    ui.lessonError.textContent = error ? `This lesson cannot be shown. ${error.message}` : '';
    for (const part of [ui.lessonCaption, ui.lessonFound, ui.lessonBack.parentElement, ui.lessonCount]) part.hidden = !lesson;
    ui.lessonTitle.textContent = lesson ? lesson.title || 'Lesson' : 'Lesson';
    ui.lesson.setAttribute('aria-label', lesson ? `Lesson: ${lesson.title || 'steps'}` : 'Lesson');
    if (lesson) this.goToStep(this.#config().step);
    this.dispatchEvent(new CustomEvent('qkv-lesson', { bubbles: true, composed: true, detail: { lesson: this.lesson, error: error?.message ?? null } }));
  }

  // The step's settings over the element's attributes: every step is shown the same way, whichever
  // step came before it.
  #applyStep() {
    const ui = this.#ui, c = this.#config(), lesson = this.#lesson, index = this.#step;
    const { settings: s, caption, stage } = settingsAt(lesson, index);
    ui.lessonCount.textContent = `Step ${index + 1} of ${lesson.steps.length}`;
    ui.announce.textContent = `${lesson.title || 'Lesson'}: step ${index + 1} of ${lesson.steps.length}`;
    ui.lessonCaption.replaceChildren(renderCaption(this.ownerDocument, caption));
    ui.lessonBack.disabled = index === 0;
    ui.lessonNext.disabled = index === lesson.steps.length - 1;
    const view = s.view ?? c.view;
    if (view.join(' ') !== this.#viewNames.join(' ')) this.#buildViews(view);
    const text = s.sentence ?? c.sentence, context = 'context' in s ? s.context : c.context;
    this.#session.set({
      text, context, mode: s.mode ?? c.mode, layer: s.layer ?? c.layer, head: s.head ?? c.head,
      knobs: { heads: s.heads ?? c.heads, scaling: s.scaling ?? c.scaling, temperature: s.temperature ?? c.temperature, causal: s.causal ?? c.causal },
      query: s.query ?? c.query, key: s.key ?? c.key, stage: stage ?? c.stage, showAll: false,
    });
    this.#paintLessonFound();
    this.dispatchEvent(new CustomEvent('qkv-lesson', { bubbles: true, composed: true, detail: { lesson: this.lesson, error: null } }));
    this.dispatchEvent(new CustomEvent('qkv-change', { bubbles: true, composed: true, detail: this.state }));
  }

  // A step that names a head by what it does says which head that is in this sentence.
  #paintLessonFound() {
    const found = this.#session.found, ui = this.#ui;
    let text = '';
    if (this.#lesson && found) {
      const run = this.#session.run, named = found.layer === null ? null : headName(headPattern(run, run.layers[found.layer].heads[found.head]));
      text = found.layer === null ? `No head can be scored for “${PATTERNS[found.pattern]}” on this sentence: try a sentence where it can.`
        : `Shown: layer ${found.layer + 1}, head ${found.head + 1}, the head that scores highest for “${PATTERNS[found.pattern]}” on this sentence ` +
          `(${found.score.toFixed(2)}: the mean weight it puts there)${named ? `; its name on this sentence: ${named.text}` : ''}.`;
    }
    if (ui.lessonFound.textContent !== text) ui.lessonFound.textContent = text;
    ui.lessonFound.hidden = !text;
  }

  // ---- attention from a file ------------------------------------------------------------------------

  async #loadAttentionFile(url) {
    const token = ++this.#attentionToken;
    if (!url) { if (this.run?.mode === 'given' && this.#session.state.mode === 'given') this.#session.setGiven(null); this.#note('attention-file', null); return; }
    this.#waits += 1;
    try {
      const text = await fetchJson(url, 'attention');
      if (token !== this.#attentionToken) return;
      const c = this.#config();
      await this.showAttention(text, { layer: c.layer, head: c.head, query: c.query, key: c.key });
      this.#note('attention-file', null);
    } catch (error) {
      if (token === this.#attentionToken) this.#note('attention-file', `The attention in ${url} cannot be shown: ${error.message}`);
    } finally {
      this.#waits -= 1;
      if (token === this.#attentionToken) this.#emitDraw({ first: false });
    }
  }

  // A JSON file dropped on an editable element is read as attention (see showAttention).
  #acceptDrops(target) {
    const files = (e) => [...(e.dataTransfer?.items ?? [])].some((item) => item.kind === 'file');
    target.addEventListener('dragover', (e) => {
      if (!this.#config().editable || !files(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      this.#ui.frame.classList.add('qkv-drop');
    });
    target.addEventListener('dragleave', () => this.#ui.frame.classList.remove('qkv-drop'));
    target.addEventListener('drop', async (e) => {
      this.#ui.frame.classList.remove('qkv-drop');
      if (!this.#config().editable || !files(e)) return;
      e.preventDefault();
      const file = e.dataTransfer.files[0];
      await this.showFile(file).catch(() => {});
    });
  }

  /**
   * Reads a File (from a picker or a drop) as attention and shows it; on a bad file, says why on
   * screen and rejects with the AttentionFileError.
   */
  async showFile(file) {
    try {
      if (file.size > MAX_FILE_BYTES) throw new AttentionFileError(`attention file: ${file.name} has ${file.size.toLocaleString('en')} bytes, more than can be read`);
      await this.showAttention(await file.text());
      this.#note('attention-file', null);
    } catch (error) {
      this.#note('attention-file', `${file.name} cannot be shown: ${error.message}`);
      throw error;
    }
  }
}

export { ATTRIBUTES, DEFAULT_SENTENCE, STAGES, VIEW_NAMES, PATTERNS, LessonError, AttentionFileError };

if (!customElements.get('qkv-attention')) customElements.define('qkv-attention', QkvAttentionElement);
