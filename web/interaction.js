// What hover, click, touch and the keyboard do on the views of <qkv-attention> (and so of the page):
// a pointer over a cell highlights its query row and key column everywhere; click, tap or the arrow
// keys choose them; in the overview they choose a layer and head. The state object is the session's
// (it holds layer, head, query, key, hover and topK); the callbacks say what changed.
import { VIEWS, ViewCanvas, themeOf } from './views.js';
import { selectedHead } from './compute.js';
import { fmt, label } from './format.js';
import { headNameText, headPattern } from './heads.js';

/** One sentence about cell (query, key) of the selected head, for tooltips and screen readers. */
export function describeCell(run, layer, head, { query, key }) {
  const h = run && selectedHead(run, layer, head);
  if (!h || (query == null && key == null)) return '';
  if (query == null || key == null) {
    return query != null ? `query ${query + 1}: “${label(run.units[query], 30)}”` : `key ${key + 1}: “${label(run.keyUnits[key], 30)}”`;
  }
  const at = query * run.m + key, w = h.weights[at];
  const masked = h.logits ? h.logits[at] === -Infinity : false;
  return `“${label(run.units[query], 30)}” → “${label(run.keyUnits[key], 30)}”: ` +
    (masked ? 'masked, weight 0' : `weight ${fmt.weight(w)} (${(w * 100).toFixed(1)} %)${h.scores ? `, score ${fmt.score(h.scores[at])}` : ''}`);
}

const clamp = (x, n) => Math.max(0, Math.min(n - 1, x));

// "layer 1, head 2: induction (what came next last time) 0.68", as the overview names a head.
function headWords(run, layer, head) {
  const h = run?.layers[layer]?.heads[head];
  const named = h && run.mode !== 'embeddings' ? headNameText(headPattern(run, h)) : '';
  return `layer ${layer + 1}, head ${head + 1}${named ? `: ${named}` : ''}`;
}

export class AttentionViews {
  /**
   * @param {Record<string, HTMLElement>} hosts  view name → element to draw it in
   * @param {object} state  { layer, head, query, key, hover, topK }, shared with the caller
   * @param {{ selection?(): void, head?(): void, hover?(): void }} on  called after each change
   * @param {HTMLElement} themeSource  where the CSS colour variables are read
   */
  constructor(hosts, state, on, themeSource) {
    this.state = state;
    this.on = on;
    this.themeSource = themeSource;
    this.run = null;
    this.hosts = hosts;
    this.canvases = Object.fromEntries(Object.entries(hosts).map(([name, host]) => [name, new ViewCanvas(VIEWS[name], host, this.#handlers())]));
    // Widths and colours are read once and then followed (resizes, a light/dark switch), so that
    // drawing after a keystroke never forces a layout or a style recalculation of the page.
    this.widths = new Map();
    this.theme = null;
    this.resized = new ResizeObserver((entries) => {
      let changed = false;
      for (const e of entries) {
        changed ||= this.widths.get(e.target) !== e.contentRect.width;
        this.widths.set(e.target, e.contentRect.width);
      }
      if (changed) this.paint();
    });
    for (const host of Object.values(hosts)) this.resized.observe(host);
    this.dark = matchMedia('(prefers-color-scheme: dark)');
    this.onScheme = () => { this.theme = null; this.paint(); };
    this.dark.addEventListener('change', this.onScheme);
  }

  /** Stops following sizes and the colour scheme (the views are being replaced). */
  dispose() {
    this.resized.disconnect();
    this.dark.removeEventListener('change', this.onScheme);
  }

  focus() { return this.state.hover ?? { query: this.state.query, key: this.state.key }; }

  context() {
    const s = this.state;
    return { run: this.run, layer: s.layer, head: s.head, focus: this.focus(), theme: (this.theme ??= themeOf(this.themeSource)), topK: s.topK };
  }

  /** Shows a new run (after a keystroke or a knob) and repaints the views named in `names` (all by default). */
  show(run, names = undefined) {
    this.run = run;
    this.paint(names);
  }

  /** Reads the width of every host not measured yet (before the caller changes the DOM). */
  measure() {
    for (const host of Object.values(this.hosts)) if (!this.widths.has(host)) this.widths.set(host, host.clientWidth);
  }

  paint(names = Object.keys(this.canvases)) {
    if (!this.run) return;
    const ctx = this.context();
    for (const name of names) {
      const host = this.hosts[name];
      this.canvases[name].render(ctx, this.widths.get(host) ?? host.clientWidth);
    }
  }

  describe(target = this.state) {
    return describeCell(this.run, this.state.layer, this.state.head, target);
  }

  setHead(layer, head) {
    Object.assign(this.state, { layer, head });
    this.paint();
    this.on.head?.();
  }

  /** Highlights a query row and key column everywhere without choosing them (null: back to the choice). */
  hover(target) {
    if (!this.run?.n) return;
    const next = target && !('layer' in target) ? target : null;
    if (JSON.stringify(next) === JSON.stringify(this.state.hover)) return;
    this.state.hover = next;
    this.paint();
    this.on.hover?.();
  }

  select({ query, key }) {
    if (query != null) this.state.query = query;
    if (key != null) this.state.key = key;
    this.state.hover = null;
    this.paint();
    this.on.selection?.();
  }

  #handlers() {
    const s = this.state;
    return {
      hover: (target) => this.hover(target),
      choose: (target) => ('layer' in target ? this.setHead(target.layer, target.head) : this.select(target)),
      keyTarget: (view, key, layout) => {
        const run = this.run;
        if (!run?.n) return undefined;
        if (view === 'overview') {
          const L = run.layers.length, H = run.layers[0].heads.length;
          const move = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] }[key];
          if (!move) return undefined;
          this.setHead((s.layer + move[0] + L) % L, (s.head + move[1] + H) % H);
          return { layer: s.layer, head: s.head };
        }
        const q = s.query ?? 0, k = s.key ?? 0, { n, m } = run;
        const ahead = layout?.rtl ? -1 : 1; // the arrow that points to the next key, on screen
        const move = {
          ArrowUp: [q - 1, k], ArrowDown: [q + 1, k], ArrowLeft: [q, k - ahead], ArrowRight: [q, k + ahead],
          Home: [q, 0], End: [q, m - 1], PageUp: [q - 10, k], PageDown: [q + 10, k],
        }[key];
        if (!move) return undefined;
        this.select({ query: clamp(move[0], n), key: clamp(move[1], m) });
        return { query: s.query, key: s.key };
      },
      describe: (target) => ('layer' in target ? headWords(this.run, target.layer, target.head) : this.describe(target)),
      summary: (view) => {
        const run = this.run;
        if (!run?.n) return 'No tokens yet';
        const where = run.layers.length > 1 ? `layer ${s.layer + 1} head ${s.head + 1}` : `head ${s.head + 1}`;
        if (view === 'overview') return `Small heatmaps of all ${run.layers.length * run.layers[0].heads.length} heads; arrow keys choose a head. Selected: ${headWords(run, s.layer, s.head)}.`;
        const size = run.m === run.n && run.keyUnits === run.units ? `${run.n} tokens` : `${run.n} queries and ${run.m} keys`;
        return `${view === 'heatmap' ? 'Heatmap' : 'Lines view'} of attention weights for ${size}, ${where}. ` +
          `Arrow keys move between query rows (up, down) and key columns (left, right). Focused: ${this.describe()}`;
      },
    };
  }
}
