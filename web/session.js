// The session of one <qkv-attention>: its state (sentence, second text, source, knobs, chosen head,
// query and key), its sources (word vectors, the trained model, attention given by a file), the
// recompute after every change, and the drawing of every part — at once for what is on screen,
// later for what is not. The element owns one and gives it the DOM to draw in; the demo page is
// built on the element, so this is the only copy of the orchestration.
import { DEFAULT_KNOBS, computeRun, settleSelection, anchorOf, unitAt, shiftAnchor } from './compute.js';
import { AttentionViews } from './interaction.js';
import { renderStep } from './step.js';
import { renderTokens, highlightTokens, wireTokens } from './tokens.js';
import { count, modelLoadingText } from './format.js';
import { findHead, headPattern, headNameText } from './heads.js';

// While typing, the parts that are off screen (usually the step panel, the next-word list and some
// views) are not drawn in the keystroke's frame: they are drawn once typing pauses (QUIET_MS without a
// keystroke), in idle time, or at once when they scroll into view. Their DOM is then current, for
// screen readers and find-in-page; knobs and clicks draw everything at once. (A trace showed the
// off-screen step panel's rebuild costing ~10 ms of layout in the next frame even under
// content-visibility: auto, i.e. in the next keystroke's frame when it was drawn between keys.)
const QUIET_MS = 250;
/** The page's own work in one frame, past which what is left is drawn in the next frames. */
const FRAME_BUDGET_MS = 12;

const whenIdle = globalThis.requestIdleCallback
  ? (fn) => requestIdleCallback(fn, { timeout: 500 })
  : (fn) => setTimeout(() => fn({ didTimeout: true, timeRemaining: () => 0 }), 50);
const cancelIdle = globalThis.cancelIdleCallback ?? clearTimeout;

/**
 * The token of `run` that `wanted` names: a position from 0, the first token with that text, or a
 * place in the text ({ at }: see anchorOf).
 */
function tokenIndex(units, wanted) {
  if (wanted == null || units.length === 0) return null;
  if (typeof wanted === 'number') return Math.min(wanted, units.length - 1);
  if (typeof wanted === 'object') return unitAt(units, { byte: 0, empty: false, ...wanted });
  const word = wanted.toLowerCase();
  const i = units.findIndex((u) => u.text.toLowerCase() === word);
  return i >= 0 ? i : null;
}

export class AttentionSession {
  /** { text, context, mode, layer, head, knobs, query, key, hover, topK, showAll, stage }; positions from 0. */
  state = {
    text: '', context: null, mode: 'embeddings', layer: 0, head: 0, knobs: { ...DEFAULT_KNOBS },
    query: null, key: null, hover: null, topK: null, showAll: false, stage: null,
  };
  /** What is shown (see compute.js), or null before the first run. */
  run = null;
  /** The trained model: status 'idle' | 'loading' | 'ready' | 'unavailable', and its load's progress. */
  model = { status: 'idle', fraction: null, error: null, config: null };
  computeMs = 0;
  /** Where the run shown was computed: 'main thread' or 'worker'. */
  computedWhere = 'main thread';
  /** The head a pattern named (set({ head: 'previous' })) was found to be: { pattern, layer, head, score }. */
  found = null;

  #ui; #on; #views = null; #hosts = {}; #sources = null; #modelSource = null; #loadModel;
  #want = {}; #first = true;
  /** The chosen query and key as places in their texts (anchorOf), kept across runs. */
  anchors = { query: null, key: null };
  #asked = {};
  #modelTicket = 0; #inFlight = false; #pending = null;
  #frameRequest = 0; #quietTimer = 0; #idleRequest = 0;
  #parts = {}; #offscreen = new Set(); #stale = new Set(); #observed = false; #observer;

  /**
   * `ui`: { frame, tokens, keyTokens, status, caption, announce, loading, progress, loadingText }.
   * `on`: { draw(detail), stale(list), change(), select(), model(model) }, all optional.
   * `loadModel(onProgress)`: resolves to the model source (model-source.js), shared between elements.
   */
  constructor(ui, on, loadModel) {
    this.#ui = ui;
    this.#on = on;
    this.#loadModel = loadModel;
    this.#observer = new IntersectionObserver((entries) => {
      this.#observed = true;
      for (const e of entries) {
        if (e.isIntersecting) this.#offscreen.delete(e.target); else this.#offscreen.add(e.target);
      }
      for (const name of [...this.#stale]) {
        if (this.#parts[name] && !this.#offscreen.has(this.#parts[name].el)) { this.#stale.delete(name); this.#parts[name].paint(); }
      }
      this.#markStale();
    }, { rootMargin: '200px' });
    const views = () => this.#views;
    wireTokens(ui.tokens, views, 'query');
    wireTokens(ui.keyTokens, views, 'key');
  }

  /** The views to draw in: { heatmap?, lines?, overview?, step?, next? } → host element. */
  setViews(hosts) {
    for (const part of Object.values(this.#parts)) this.#observer.unobserve(part.el);
    this.#views?.dispose();
    this.#hosts = hosts;
    const canvases = Object.fromEntries(['heatmap', 'lines', 'overview'].filter((v) => hosts[v]).map((v) => [v, hosts[v]]));
    this.#views = new AttentionViews(canvases, this.state, {
      selection: () => this.#afterSelection(), head: () => this.#afterSelection(), hover: () => this.#paintTokenHighlights(),
    }, this.#ui.frame);
    this.#views.run = this.run;
    this.#parts = {};
    for (const name of Object.keys(canvases)) this.#parts[name] = { el: hosts[name], paint: () => this.#views.paint([name]) };
    if (hosts.step) this.#parts.step = { el: hosts.step, paint: () => this.#paintStep() };
    if (hosts.next) this.#parts.next = { el: hosts.next, paint: () => this.#paintNext() };
    this.#stale.clear();
    this.#offscreen.clear();
    this.#observed = false;
    for (const part of Object.values(this.#parts)) this.#observer.observe(part.el);
  }

  /** The WebAssembly module and the word vectors: the session computes from here on. */
  start(sources) {
    this.#sources = { ...sources, given: null };
    this.update(true); // like a keystroke: what is on screen now, the rest when idle
  }

  get started() { return this.#sources !== null; }

  /**
   * Whether what is shown is what the state asks for: nothing left to compute, and in model mode the
   * model's run (or the word vectors because the model cannot be loaded).
   */
  get settled() {
    const s = this.state, run = this.run;
    if (!run || this.#frameRequest || this.#inFlight || this.#pending) return false;
    return s.mode !== 'model' || run.mode === 'model' || this.model.status === 'unavailable' || s.context !== null;
  }

  /** Draws everything again from the run shown (new views, a new layout). */
  redraw() {
    if (this.run) this.#paintAll(false);
  }

  /** The views' interaction (select, hover, setHead, describe), for the element. */
  get views() { return this.#views; }

  /**
   * Changes the state and shows the result. `patch` may hold text, context (null: self-attention),
   * mode, knobs (a part of them), layer, head (a number, or the name of a pattern: heads.js), query
   * and key (a position from 0, a word, or null for the default), topK, stage. A new text, source or
   * number of heads chooses query and key afresh unless the patch names them. `typing`: a keystroke
   * (drawn in the next frame; parts off screen may wait).
   */
  set(patch, { typing = false } = {}) {
    const s = this.state;
    let recompute = false, reselect = false;
    const change = (name, value) => {
      if (!(name in patch) || value === s[name]) return false;
      s[name] = value;
      return true;
    };
    const before = s.text;
    if (change('text', patch.text)) {
      recompute = true;
      reselect ||= !typing;
      // Typing before the chosen word moves it; the same word stays chosen.
      this.anchors.query = shiftAnchor(this.anchors.query, before, s.text);
      if (s.context === null) this.anchors.key = shiftAnchor(this.anchors.key, before, s.text);
    }
    if (change('context', patch.context)) recompute = reselect = true;
    // Word vectors and the model show the same words (the model adds <bos> and may cut a word into
    // pieces): the chosen words stay chosen. A file's attention is another text.
    const mode = s.mode;
    if (change('mode', patch.mode)) { recompute = true; reselect ||= mode === 'given' || s.mode === 'given'; }
    if (patch.knobs) {
      const knobs = { ...s.knobs, ...patch.knobs };
      if (Object.keys(knobs).some((k) => knobs[k] !== s.knobs[k])) {
        if (knobs.heads !== s.knobs.heads) reselect = true;
        s.knobs = knobs;
        recompute = true;
      }
    }
    if ('layer' in patch) s.layer = patch.layer;
    if ('head' in patch) {
      if (typeof patch.head === 'string') { this.#want.head = patch.head; this.found = null; recompute ||= this.run !== null; } else { s.head = patch.head; delete this.#want.head; this.found = null; }
    }
    if (reselect) {
      s.query = null; s.key = null; s.showAll = false; delete this.#want.query; delete this.#want.key;
      this.anchors = { query: null, key: null };
      this.#asked = {};
    }
    for (const name of ['query', 'key']) {
      if (!(name in patch)) continue;
      const v = patch[name];
      if (v !== null && typeof v === 'object' || typeof v === 'string') { this.#want[name] = v; s[name] = null; recompute ||= this.run !== null; } else {
        s[name] = v;
        delete this.#want[name];
        const units = name === 'query' ? this.run?.units : this.run?.keyUnits;
        this.anchors[name] = v == null ? null : anchorOf(units?.[v]);
      }
    }
    if ('topK' in patch) s.topK = patch.topK;
    if ('stage' in patch) s.stage = patch.stage;
    if ('showAll' in patch) s.showAll = patch.showAll;
    s.hover = null;
    if (!this.#sources) return;
    if (recompute || reselect) {
      if (typing) this.#requestUpdate(); else this.update(false);
    } else this.#repaint();
    this.#on.change?.();
  }

  /**
   * Shows attention given by a file (attention-file.js), or with null goes back to the sentence;
   * `patch` (as in set) chooses what to show of it.
   */
  setGiven(run, patch = {}) {
    this.#sources.given = run;
    this.set({ mode: run ? 'given' : 'embeddings', layer: 0, head: 0, ...patch });
  }

  /** Starts loading the trained model (once); resolves when it is ready, rejects if it cannot be. */
  loadModel() {
    if (this.model.promise) return this.model.promise;
    const m = this.model;
    m.status = 'loading';
    this.#paintLoading();
    m.promise = this.#loadModel((fraction) => {
      if (m.status !== 'loading') return;
      m.fraction = fraction;
      this.#paintLoading();
      this.#on.model?.(m);
    }).then((source) => {
      this.#modelSource = source;
      Object.assign(m, { status: 'ready', config: source.config });
    }, (error) => {
      Object.assign(m, { status: 'unavailable', error });
    }).then(() => {
      this.#paintLoading();
      this.#on.model?.(m);
      if (this.state.mode === 'model' && this.#sources) this.update(false);
      if (m.error) throw m.error;
    });
    m.promise.catch(() => {});
    this.#on.model?.(m);
    return m.promise;
  }

  // ---- computing ---------------------------------------------------------------------------------

  // Typing is drawn in the next animation frame, not in the input handler: keystrokes that arrive
  // before that frame are coalesced into one update, and the editor's own layout after an input
  // event no longer has to lay out the whole element we would have just rebuilt. The model's runs
  // are asked for at once (they take their time in a worker) and drawn when they come.
  #requestUpdate() {
    if (this.#wantsModel() && this.#modelSource.wantsWorker(this.state.text)) { this.#askModel(true); return; }
    this.#frameRequest ||= requestAnimationFrame(() => { this.#frameRequest = 0; this.update(true); });
  }

  // The model attends within one text: with a second text, model mode shows word vectors instead.
  #wantsModel() { return this.state.mode === 'model' && this.model.status === 'ready' && this.state.context === null; }

  /** Recomputes and draws everything (`typing`: parts off screen may wait). */
  update(typing = false) {
    if (this.#frameRequest) { cancelAnimationFrame(this.#frameRequest); this.#frameRequest = 0; }
    if (!this.#sources) return;
    if (this.state.mode === 'model' && this.model.status === 'idle') this.loadModel();
    this.#paintLoading();
    const model = this.#wantsModel();
    if (model && this.#modelSource.wantsWorker(this.state.text)) { this.#askModel(typing); return; }
    performance.clearMarks('qkv:update');
    performance.mark('qkv:update');
    let run;
    if (model) {
      this.#modelTicket += 1; // a run still on its way from the worker is out of date
      ({ run, ms: this.computeMs, where: this.computedWhere } = this.#modelSource.here(this.state.text, this.state.knobs));
    } else {
      const t0 = performance.now();
      // Model mode while the model loads (or when it cannot) shows the word vectors meanwhile.
      const mode = this.state.mode === 'given' && this.#sources.given ? 'given' : 'embeddings';
      run = computeRun(this.#sources.qkv, this.#sources, { ...this.state, mode });
      this.computeMs = performance.now() - t0;
      this.computedWhere = 'main thread';
    }
    this.#present(run, typing);
  }

  // One model run at a time: a keystroke that comes while one is computed waits for it, and only the
  // newest text is computed next.
  #askModel(typing) {
    const ticket = ++this.#modelTicket;
    if (this.#inFlight) { this.#pending = { typing: typing && (this.#pending?.typing ?? true) }; return; }
    this.#inFlight = true;
    const { text, knobs } = this.state;
    this.#modelSource.there(text, knobs).then(({ run, ms, where }) => {
      this.#inFlight = false;
      const next = this.#pending;
      this.#pending = null;
      if (next) { this.#askModel(next.typing); return; } // this one is already out of date
      if (ticket !== this.#modelTicket || !this.#wantsModel()) return;
      this.computeMs = ms;
      this.computedWhere = where;
      // Drawn as soon as it comes, not in the next animation frame: the frame after this task shows
      // it, and waiting for a frame callback first cost up to a frame of latency (one run at a time
      // is computed, so results never come faster than they can be drawn).
      performance.clearMarks('qkv:update');
      performance.mark('qkv:update');
      this.#present(run, typing);
    }, () => {
      // The worker failed (it ran out of memory, say): this thread computes from now on.
      this.#inFlight = false;
      this.#pending = null;
      this.#modelSource.dropWorker();
      this.update(false);
    });
  }

  // The named query, key and head (a word, a pattern) as positions of the new run.
  #resolveWanted(run) {
    const s = this.state, want = this.#want;
    if (run.n === 0) return;
    // A head named by what it does is looked for among the model's heads, not among the word vectors
    // shown while the model loads: until the model's run comes, it stays asked for.
    const standIn = s.mode === 'model' && run.mode !== 'model' && s.context === null && this.model.status !== 'unavailable';
    const head = standIn ? null : want.head;
    if (head) {
      const found = findHead(run, head);
      if (found) { s.layer = found.layer; s.head = found.head; }
      this.found = { pattern: head, ...(found ?? { layer: null, head: null, score: null }) };
    }
    if ('query' in want) s.query = tokenIndex(run.units, want.query) ?? s.query;
    if ('key' in want) s.key = tokenIndex(run.keyUnits, want.key) ?? (run.keyUnits === run.units ? s.query : s.key);
    else if (('query' in want) && run.keyUnits === run.units) s.key = s.query;
    // A place in the text, or <bos>, is what was asked for, whichever run shows it first (word
    // vectors while the model loads have no <bos>).
    const asked = (v) => (typeof v === 'object' ? { byte: 0, empty: false, ...v } : /^<bos>$/i.test(v) ? { bos: true } : null);
    if (want.query != null && asked(want.query)) this.#asked.query = asked(want.query);
    if (want.key != null && asked(want.key)) this.#asked.key = asked(want.key);
    this.#want = standIn && want.head ? { head: want.head } : {};
  }

  #present(run, typing) {
    settleSelection(this.state, run, this.run, this.anchors);
    this.#resolveWanted(run);
    this.#remember(run);
    this.run = run;
    // Word vectors shown while the model loads stand in for it: a place asked for stays the anchor.
    if (this.state.mode === 'model' && run.mode !== 'model' && this.state.context === null) {
      for (const name of ['query', 'key']) if (this.#asked[name]) this.anchors[name] = this.#asked[name];
    } else this.#asked = {};
    this.#paintAll(typing);
    performance.clearMarks('qkv:painted');
    performance.mark('qkv:painted'); // bench:page measures keydown → qkv:update → this mark → the frame that shows it
    this.#on.draw?.({ first: this.#first, typing });
    this.#first = false;
  }

  // ---- drawing -----------------------------------------------------------------------------------

  #paintAll(typing) {
    // Where each part is and how wide, read before the token strip changes: afterwards each read
    // would make the browser lay the page out first (at 256 tokens, ~100 ms of the first draw).
    const waiting = Object.keys(this.#parts).filter((name) => typing && this.#isOffscreen(this.#parts[name].el));
    this.#views.measure();
    const start = performance.now();
    this.#paintTokens();
    this.#views.run = this.run;
    let late = false;
    for (const [name, part] of Object.entries(this.#parts)) {
      // While typing (and for the first draw), past a frame's budget the parts on screen follow in
      // the next frames (a permalink of a long sentence drew everything in one task of ~200 ms
      // here): the page never stops answering. Knobs and clicks still draw everything at once.
      late ||= typing && performance.now() - start > FRAME_BUDGET_MS;
      if (waiting.includes(name)) this.#stale.add(name);
      else if (late) { this.#stale.add(name); this.#paintSoon(name); }
      else { this.#stale.delete(name); part.paint(); }
    }
    if (this.#stale.size) this.#paintStaleWhenQuiet();
    this.#markStale();
    this.#paintStatus();
  }

  #repaint() {
    if (!this.run) return;
    this.#views.paint();
    this.#paintTokenHighlights();
    for (const name of ['step', 'next']) if (this.#parts[name]) { this.#stale.delete(name); this.#parts[name].paint(); }
    this.#markStale();
    this.#paintStatus();
  }

  // Until the observer has reported (the first paint), where each part is comes from the layout the
  // element has anyway at that point.
  #isOffscreen(el) {
    if (this.#observed) return this.#offscreen.has(el);
    const r = el.getBoundingClientRect();
    return r.bottom < -200 || r.top > innerHeight + 200 || (r.width === 0 && r.height === 0);
  }

  /** The parts not drawn yet (tests wait for none). */
  get stale() { return [...this.#stale]; }

  #markStale() { this.#on.stale?.(this.stale); }

  #paintStaleWhenIdle() {
    this.#idleRequest ||= whenIdle((deadline) => {
      this.#idleRequest = 0;
      for (const name of [...this.#stale]) {
        if (!deadline.didTimeout && deadline.timeRemaining() < 4) break;
        this.#stale.delete(name);
        this.#parts[name]?.paint();
      }
      if (this.#stale.size) this.#paintStaleWhenIdle();
      this.#markStale();
    });
  }

  // Parts on screen that did not fit in the last frame: one more in each frame after it.
  #soon = new Set(); #soonRequest = 0;
  #paintSoon(name) {
    this.#soon.add(name);
    this.#soonRequest ||= requestAnimationFrame(() => {
      this.#soonRequest = 0;
      const start = performance.now();
      for (const next of [...this.#soon]) {
        if (performance.now() - start > FRAME_BUDGET_MS) break;
        this.#soon.delete(next);
        if (this.#stale.delete(next)) this.#parts[next]?.paint();
      }
      if (this.#soon.size) this.#paintSoon([...this.#soon][0]);
      this.#markStale();
    });
  }

  #paintStaleWhenQuiet() {
    clearTimeout(this.#quietTimer);
    if (this.#idleRequest) { cancelIdle(this.#idleRequest); this.#idleRequest = 0; }
    this.#quietTimer = setTimeout(() => { this.#quietTimer = 0; this.#paintStaleWhenIdle(); }, QUIET_MS);
  }

  #focus() { return this.#views.focus(); }

  #paintTokens() {
    const run = this.run, ui = this.#ui, self = run.keyUnits === run.units;
    renderTokens(ui.tokens, run.mode === 'given' ? run.text : this.state.text, run.units, this.#focus(), { role: 'query', self, leftOut: run.leftOut ?? 0 });
    if (!self) renderTokens(ui.keyTokens, run.mode === 'given' ? run.keyText : this.state.context ?? '', run.keyUnits, this.#focus(), { role: 'key', leftOut: run.keyLeftOut ?? 0 });
    else if (ui.keyTokens.firstChild) ui.keyTokens.replaceChildren();
    if (ui.keyTokens.hidden !== self) ui.keyTokens.hidden = self;
  }

  #paintTokenHighlights() {
    const run = this.run, self = run.keyUnits === run.units;
    highlightTokens(this.#ui.tokens, this.#focus(), { role: 'query', self, chosen: this.state.query });
    if (!self) highlightTokens(this.#ui.keyTokens, this.#focus(), { role: 'key', chosen: this.state.key });
  }

  #paintStep() {
    const host = this.#hosts.step, s = this.state;
    if (!host) return;
    this.#stale.delete('step');
    renderStep(host, this.run, {
      layer: s.layer, head: s.head, query: s.query, key: s.key, showAll: s.showAll, stage: s.stage,
      onKey: (k) => this.#views.select({ key: k }),
      onShowAll: () => { s.showAll = true; this.#paintStep(); },
    });
  }

  #paintNext() {
    const host = this.#hosts.next, run = this.run;
    if (!host) return;
    const section = host.closest('section') ?? host;
    const show = run.mode === 'model' && run.next?.length > 0;
    if (section.hidden !== !show) section.hidden = !show;
    if (!show) { if (host.firstChild) host.replaceChildren(); return; }
    const doc = host.ownerDocument, top = run.next[0].probability;
    host.replaceChildren(...run.next.map(({ token, text = token, startsWord = true, probability }) => {
      const li = doc.createElement('li');
      const word = doc.createElement('span');
      word.className = 'next-word';
      // A piece that goes on with the last word is written joined to it, as in the token strip.
      word.textContent = startsWord ? text : `·${text}`;
      if (!startsWord) word.title = 'a piece that continues the last word';
      const bar = doc.createElement('span');
      bar.className = 'next-bar';
      bar.style.inlineSize = `${Math.max(1, (probability / top) * 100).toFixed(1)}%`; // the likeliest word fills the track
      const pct = doc.createElement('span');
      pct.className = 'num';
      pct.textContent = `${(probability * 100).toFixed(1)} %`;
      li.append(word, bar, pct);
      return li;
    }));
  }

  #paintLoading() {
    const ui = this.#ui, m = this.model;
    const show = m.status === 'loading' && this.state.mode === 'model';
    if (ui.loading.hidden !== !show) ui.loading.hidden = !show;
    if (!show) return; // written only while it shows: every write invalidates style, on every keystroke
    if (m.fraction != null) ui.progress.value = m.fraction; else ui.progress.removeAttribute('value');
    const text = modelLoadingText(m.fraction);
    if (ui.loadingText.textContent !== text) ui.loadingText.textContent = text;
  }

  /** The status line: what was computed, what was left out, what could not be. */
  statusText() {
    const run = this.run, s = this.state;
    if (!run) return 'Loading the WebAssembly module and the word vectors…';
    const parts = [];
    if (s.mode === 'model' && s.context !== null) parts.push('The trained model is self-attention only (it attends within one text): showing word embeddings for the two texts.');
    else if (s.mode === 'model' && this.model.status === 'unavailable') parts.push(`The trained model is not available (${this.model.error?.message ?? 'unknown error'}); showing word embeddings.`);
    else if (s.mode === 'model' && run.mode !== 'model') parts.push('Showing word embeddings until the trained model has loaded.');
    if (run.n === 0) {
      parts.push(run.units.length > 0 && run.m === 0 ? 'Type a second text: its tokens are the keys and values.' : 'Type a sentence to see its attention weights.');
      return parts.join(' ');
    }
    const self = run.keyUnits === run.units;
    const all = self ? run.units : [...run.units, ...run.keyUnits];
    const size = self ? count(run.n, 'token') : `${count(run.n, 'query', 'queries')} × ${count(run.m, 'key')}`;
    let text = size;
    if (run.mode === 'embeddings') {
      const unknown = all.filter((u) => u.unknown).length, estimated = all.filter((u) => u.estimated).length;
      if (estimated) {
        text += estimated === 1 ? ' (1 is not among the English words GloVe has vectors for: its vector is estimated from the pieces of the word, dotted)'
          : ` (${estimated} are not among the English words GloVe has vectors for: their vectors are estimated from the pieces of each word, dotted)`;
      }
      if (unknown) {
        text += unknown * 2 > all.length
          ? ` — ${unknown} of ${all.length} have no word vector (dashed): the vectors are English words (GloVe), and every word without one shares the same <unk> vector`
          : ` (${unknown} without an English word vector, dashed)`;
      }
    }
    const layers = run.layers.length, heads = run.layers[0].heads.length;
    text += run.mode === 'given' ? ` · ${layers} layer${layers > 1 ? 's' : ''} × ${heads} head${heads > 1 ? 's' : ''}, from your file`
      : ` · ${run.mode === 'model' ? `${layers} layers × ${heads} heads` : `${heads} head${heads > 1 ? 's' : ''}`} of d = ${run.dHead}` +
        ` · computed in ${this.computeMs.toFixed(1)} ms with ${this.#sources.qkv.backend}${this.computedWhere === 'worker' ? ' in a worker' : ''}`;
    parts.push(text);
    if (run.leftOut || run.keyLeftOut) {
      const what = run.mode === 'model' ? `the model reads ${count(run.n, 'token')}, <bos> included` : `the page computes at most ${count(run.n, 'token')}`;
      parts.push(`Left out: ${count(run.leftOut + (run.keyLeftOut ?? 0), 'token')} past the first ${run.n} (${what}).`);
    }
    if (run.cut) parts.push('Only the first 4,000 characters are read.');
    return parts.join(' ');
  }

  #paintStatus() {
    const text = this.statusText();
    if (this.#ui.status.textContent !== text) this.#ui.status.textContent = text;
    const caption = this.captionText();
    if (this.#ui.caption.textContent !== caption) this.#ui.caption.textContent = caption;
  }

  /** One line on what the views show: source, head, knobs. */
  captionText() {
    const run = this.run, s = this.state;
    if (!run?.n) return '';
    const heads = run.layers[0].heads.length, layers = run.layers.length;
    const layer = Math.min(s.layer, layers - 1) + 1, head = Math.min(s.head, heads - 1) + 1;
    const k = run.knobs;
    // What the chosen head does on this sentence, with the score behind the name (heads.js).
    const named = run.mode === 'embeddings' ? '' : headNameText(headPattern(run, run.layers[layer - 1].heads[head - 1]));
    const does = named ? ` (${named})` : '';
    if (run.mode === 'given') return `attention from your file, layer ${layer} of ${layers}, head ${head} of ${heads}${does}`;
    const where = run.mode === 'model' ? `trained model, layer ${layer} of ${layers}, head ${head} of ${heads}${does}`
      : `word embeddings (${run.keyUnits === run.units ? 'Q = K = V = GloVe' : 'Q from the sentence, K = V from the second text'})${heads > 1 ? `, head ${head} of ${heads}` : ''}`;
    return `${where} · d = ${run.dHead}` +
      ` · ${k.scaling ? 'scaled by 1/√d' : 'not scaled'}${k.temperature !== 1 ? ` · temperature ${k.temperature}` : ''}` +
      ` · ${run.keyUnits !== run.units ? 'cross-attention' : k.causal ? 'causal (looks back only)' : 'bidirectional'}`;
  }

  // The chosen tokens as places in the text, for the next run.
  #remember(run = this.run) {
    if (!run) return;
    this.anchors = { query: anchorOf(run.units[this.state.query]), key: anchorOf(run.keyUnits[this.state.key]) };
  }

  #afterSelection() {
    this.#asked = {};
    this.#remember();
    this.#paintTokenHighlights();
    this.#paintStep();
    this.#markStale();
    this.#paintStatus();
    this.#ui.announce.textContent = this.#views.describe();
    this.#on.select?.();
    this.#on.change?.();
  }
}
