// The three views of attention weights, each written once against the painter interface (painter.js):
// heatmap (query rows × key columns), lines (each query linked to its keys, opacity by weight, as in
// BertViz's head view) and overview (every layer × head as a small heatmap). ViewCanvas puts one of
// them on a live canvas with pointer, touch and keyboard handling; the page and the <qkv-attention>
// element both use it.
import { CanvasPainter, SvgPainter, textWidth } from './painter.js';
import { matrixColours, sequential, css } from './palette.js';
import { selectedHead } from './compute.js';
import { label } from './format.js';

const LABEL_SIZE = 12;
const LEGEND_H = 34;

/** Colours of the current theme, read from CSS custom properties on `el`. */
export function themeOf(el) {
  const s = getComputedStyle(el);
  const get = (name, fallback) => s.getPropertyValue(name).trim() || fallback;
  return {
    fg: get('--fg', '#1b1b1f'), bg: get('--bg', '#ffffff'), muted: get('--muted', '#5b5b66'),
    line: get('--line', '#2c5d9e'), masked: get('--masked', '#c9c9d1'),
    maskedRgb: (get('--masked-rgb', '201,201,209')).split(',').map(Number),
  };
}


function maxOf(a) { let m = 0; for (let i = 0; i < a.length; ++i) if (a[i] > m) m = a[i]; return m; }

const colourCache = new WeakMap();
function coloursOf(head, run, theme) {
  let c = colourCache.get(head.weights);
  if (!c || c.masked !== theme.masked) {
    const max = maxOf(head.weights);
    c = { max, masked: theme.masked, rgba: matrixColours(head.weights, run.n, run.n, max, run.knobs.causal, theme.maskedRgb) };
    colourCache.set(head.weights, c);
  }
  return c;
}

function maxLabelWidth(run, cap) {
  let w = 0;
  for (const u of run.units) w = Math.max(w, textWidth(label(u), LABEL_SIZE));
  return Math.min(w, cap);
}

// A cross of two strokes (background under foreground) reads on every colour of the ramp.
function outline(p, x, y, w, h, theme, thick = 1.5) {
  p.strokeRect(x, y, w, h, theme.bg, thick + 2);
  p.strokeRect(x, y, w, h, theme.fg, thick);
}

function legend(p, x, y, width, max, theme, withMasked) {
  const steps = 64, bar = Math.max(80, Math.min(220, width - 150));
  const rgba = new Uint8ClampedArray(steps * 4);
  for (let k = 0; k < steps; ++k) {
    const [r, g, b] = sequential(k / (steps - 1));
    rgba.set([r, g, b, 255], k * 4);
  }
  p.text('0', x, y + 8, { colour: theme.muted, size: 11 });
  p.cells(x + 12, y + 2, bar / steps, 12, 1, steps, rgba);
  p.text(max.toFixed(3), x + 16 + bar, y + 8, { colour: theme.muted, size: 11 });
  p.text('weight α (colour scale 0 … largest weight)', x, y + 25, { colour: theme.muted, size: 11 });
  if (withMasked) {
    const mx = x + 60 + bar;
    p.fillRect(mx, y + 2, 12, 12, theme.masked);
    p.text('masked', mx + 16, y + 8, { colour: theme.muted, size: 11 });
  }
}

export const heatmap = {
  name: 'heatmap',
  layout(run, width) {
    const n = run.n;
    const lw = maxLabelWidth(run, 110) + 8;
    const pad = lw * 0.5 + 4;
    const cs = Math.max(2, Math.min(40, Math.floor((width - lw - pad) / Math.max(n, 1))));
    const top = cs >= 11 ? lw * 0.87 + 6 : 24;
    return { n, lw, top, cs, labels: cs >= 11, numbers: cs >= 30, width: lw + n * cs + pad, height: top + n * cs + 8 + LEGEND_H };
  },
  paint(p, L, { run, layer, head, focus, theme }) {
    const h = selectedHead(run, layer, head);
    if (!h) return;
    const { n, lw, top, cs } = L;
    const { rgba, max } = coloursOf(h, run, theme);
    p.cells(lw, top, cs, cs, n, n, rgba);
    if (L.numbers) {
      for (let i = 0; i < n; ++i) {
        for (let j = 0; j < n; ++j) {
          if (run.knobs.causal && j > i) continue;
          const w = h.weights[i * n + j];
          const ink = w / (max || 1) > 0.55 ? '#000' : '#fff';
          p.text(w.toFixed(2).replace(/^0/, ''), lw + j * cs + cs / 2, top + i * cs + cs / 2, { colour: ink, size: 10, align: 'center' });
        }
      }
    }
    const rowLabel = (i, bold) => p.text(label(run.units[i]), lw - 6, top + i * cs + cs / 2, { colour: bold ? theme.fg : theme.muted, bold, size: LABEL_SIZE, align: 'right' });
    const colLabel = (j, bold) => p.text(label(run.units[j]), lw + j * cs + cs / 2, top - 6, { colour: bold ? theme.fg : theme.muted, bold, size: LABEL_SIZE, rotate: -60 });
    if (L.labels) for (let i = 0; i < n; ++i) { rowLabel(i, false); colLabel(i, false); }
    else p.text('query ↓  key →  (hover or use the arrow keys for labels)', lw, 12, { colour: theme.muted, size: 11 });
    if (focus && focus.query != null && focus.query < n) {
      outline(p, lw, top + focus.query * cs, n * cs, cs, theme);
      if (L.labels) rowLabel(focus.query, true);
      else p.text(`query: ${label(run.units[focus.query])}`, 2, top + focus.query * cs + cs / 2, { colour: theme.fg, bold: true, size: 11 });
    }
    if (focus && focus.key != null && focus.key < n) {
      outline(p, lw + focus.key * cs, top, cs, n * cs, theme);
      if (L.labels) colLabel(focus.key, true);
    }
    legend(p, lw, top + n * cs + 8, L.width - lw, max, theme, run.knobs.causal);
  },
  hit(L, x, y) {
    const j = Math.floor((x - L.lw) / L.cs), i = Math.floor((y - L.top) / L.cs);
    if (i >= 0 && i < L.n && j >= 0 && j < L.n) return { query: i, key: j };
    if (j >= 0 && j < L.n && y < L.top) return { key: j };
    if (i >= 0 && i < L.n && x < L.lw) return { query: i };
    return null;
  },
  anchor(L, { query, key }) {
    return { x: L.lw + (key ?? 0) * L.cs + L.cs / 2, y: L.top + (query ?? 0) * L.cs + L.cs };
  },
};

/** How many lines per query the lines view draws: all for short inputs, the top 3 for long ones. */
export function autoTopK(n) { return n <= 32 ? 0 : 3; }

export const lines = {
  name: 'lines',
  layout(run, width) {
    const n = run.n;
    const row = n <= 30 ? 22 : Math.max(3, Math.min(22, Math.floor(660 / Math.max(n, 1))));
    const lw = maxLabelWidth(run, 120) + 10;
    const w = Math.max(Math.min(width, 560), 2 * lw + 60);
    return { n, row, lw, top: 26, x1: lw, x2: w - lw, width: w, height: 26 + n * row + 24, labels: row >= 11 };
  },
  paint(p, L, { run, layer, head, focus, theme, topK }) {
    const h = selectedHead(run, layer, head);
    if (!h) return;
    const { n, row, top, x1, x2 } = L;
    const k = topK ?? autoTopK(n);
    const max = maxOf(h.weights) || 1;
    const y = (i) => top + i * row + row / 2;
    p.text('query', x1 - 6, 10, { colour: theme.muted, size: 11, align: 'right' });
    p.text('key', x2 + 6, 10, { colour: theme.muted, size: 11 });
    const q = focus?.query != null && focus.query < n ? focus.query : null;
    const drawRow = (i, strong) => {
      const wrow = h.weights.subarray(i * n, (i + 1) * n);
      let limit = -1;
      if (k > 0 && !strong) limit = Float32Array.from(wrow).sort()[n - Math.min(k, n)]; // the k-th largest
      for (let j = 0; j < n; ++j) {
        const w = wrow[j];
        if (w <= 0 || w < limit) continue;
        const alpha = Math.min(1, w / max) * (q === null || strong ? 1 : 0.12);
        if (alpha < 0.01) continue;
        p.line(x1, y(i), x2, y(j), theme.line, strong ? 2 : 1.5, alpha);
      }
    };
    for (let i = 0; i < n; ++i) if (i !== q) drawRow(i, false);
    if (q !== null) drawRow(q, true);
    for (let i = 0; i < n; ++i) {
      const isQ = i === q, isK = i === focus?.key;
      if (!L.labels && !isQ && !isK) continue;
      p.text(label(run.units[i]), x1 - 6, y(i), { colour: isQ ? theme.fg : theme.muted, bold: isQ, size: LABEL_SIZE, align: 'right' });
      p.text(label(run.units[i]), x2 + 6, y(i), { colour: isK ? theme.fg : theme.muted, bold: isK, size: LABEL_SIZE });
    }
    if (q !== null) outline(p, 1, top + q * row, x1 - 3, row, theme, 1);
    if (focus?.key != null && focus.key < n) outline(p, x2 + 2, top + focus.key * row, L.width - x2 - 3, row, theme, 1);
    const note = k > 0 ? `top ${k} keys per query; the chosen query shows all` : 'line opacity ∝ weight';
    p.text(note, 2, L.height - 10, { colour: theme.muted, size: 11 });
  },
  hit(L, x, y) {
    const i = Math.floor((y - L.top) / L.row);
    if (i < 0 || i >= L.n) return null;
    if (x <= L.x1) return { query: i };
    if (x >= L.x2) return { key: i };
    return null;
  },
  anchor(L, { query, key }) {
    return query != null ? { x: L.x1, y: L.top + query * L.row + L.row } : { x: L.x2, y: L.top + (key ?? 0) * L.row + L.row };
  },
};

export const overview = {
  name: 'overview',
  layout(run, width) {
    const layers = run.layers.length, heads = run.layers[0]?.heads.length ?? 0;
    const lw = layers > 1 ? 58 : 8, gap = 10;
    const size = Math.max(40, Math.min(120, Math.floor((width - lw) / Math.max(heads, 1)) - gap));
    return { layers, heads, lw, gap, size, top: 22, width: lw + heads * (size + gap), height: 22 + layers * (size + gap) + 4 };
  },
  paint(p, L, { run, layer, head, focus, theme }) {
    const { lw, gap, size, top } = L;
    const cs = size / Math.max(run.n, 1);
    for (let h = 0; h < L.heads; ++h) p.text(`head ${h + 1}`, lw + h * (size + gap) + size / 2, 10, { colour: theme.muted, size: 11, align: 'center' });
    run.layers.forEach((lay, l) => {
      const y = top + l * (size + gap);
      if (L.layers > 1) p.text(`layer ${l + 1}`, 2, y + size / 2, { colour: theme.muted, size: 11 });
      lay.heads.forEach((hd, h) => {
        const x = lw + h * (size + gap);
        p.cells(x, y, cs, cs, run.n, run.n, coloursOf(hd, run, theme).rgba);
        if (focus?.query != null && focus.query < run.n) p.strokeRect(x, y + focus.query * cs, size, cs, theme.fg, 1);
        if (l === Math.min(layer, L.layers - 1) && h === Math.min(head, L.heads - 1)) outline(p, x - 2, y - 2, size + 4, size + 4, theme, 2.5);
      });
    });
  },
  hit(L, x, y) {
    const h = Math.floor((x - L.lw) / (L.size + L.gap)), l = Math.floor((y - L.top) / (L.size + L.gap));
    return h >= 0 && h < L.heads && l >= 0 && l < L.layers ? { layer: l, head: h } : null;
  },
  anchor(L, { layer, head }) {
    return { x: L.lw + head * (L.size + L.gap) + L.size / 2, y: L.top + layer * (L.size + L.gap) + L.size };
  },
};

export const VIEWS = { heatmap, lines, overview };

/** A view as SVG text, drawn by the same code as the canvas. */
export function viewSvg(view, ctx, width) {
  const L = view.layout(ctx.run, width);
  const p = new SvgPainter(L.width, L.height, ctx.theme.bg);
  view.paint(p, L, ctx);
  return p.toString();
}

/** A view as a PNG Blob at twice the CSS size, drawn by the same code as the canvas. */
export function viewPng(view, ctx, width) {
  const L = view.layout(ctx.run, width);
  const canvas = document.createElement('canvas');
  const p = new CanvasPainter(canvas, L.width, L.height, 2);
  p.fillRect(0, 0, L.width, L.height, ctx.theme.bg);
  view.paint(p, L, ctx);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

/**
 * One view on a live canvas. `handlers`: hover(target|null) while the pointer moves, choose(target)
 * on click, tap or Enter, and move(target) when the arrow keys change the focused cell (or head).
 */
export class ViewCanvas {
  constructor(view, host, handlers) {
    this.view = view;
    this.handlers = handlers;
    this.canvas = document.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.canvas.className = `view-canvas view-${view.name}`;
    this.canvas.setAttribute('role', 'img');
    this.tip = document.createElement('div');
    this.tip.className = 'view-tip';
    this.tip.hidden = true;
    this.tip.setAttribute('aria-hidden', 'true');
    host.append(this.canvas, this.tip);
    this.host = host;
    this.#listen();
  }

  #point(e) {
    const r = this.canvas.getBoundingClientRect();
    return this.view.hit(this.layout, e.clientX - r.left, e.clientY - r.top);
  }

  #listen() {
    const c = this.canvas;
    c.addEventListener('pointermove', (e) => {
      if (!this.layout) return;
      const t = this.#point(e);
      this.handlers.hover?.(t);
      this.#tip(t, e);
    });
    c.addEventListener('pointerleave', () => { this.handlers.hover?.(null); this.tip.hidden = true; });
    c.addEventListener('click', (e) => {
      const t = this.layout && this.#point(e);
      if (t) this.handlers.choose?.(t);
    });
    c.addEventListener('keydown', (e) => {
      const t = this.handlers.keyTarget?.(this.view.name, e.key);
      if (t === undefined) return;
      e.preventDefault();
      if (t) this.#tip(t, null);
    });
    c.addEventListener('blur', () => { this.tip.hidden = true; });
  }

  #tip(target, event) {
    const text = target && this.handlers.describe?.(target, this.view.name);
    if (!text) { this.tip.hidden = true; return; }
    this.tip.textContent = text;
    this.tip.hidden = false;
    let x, y;
    if (event) {
      const r = this.canvas.getBoundingClientRect();
      x = event.clientX - r.left + 12; y = event.clientY - r.top + 14;
    } else ({ x, y } = this.view.anchor(this.layout, target));
    const maxX = Math.max(0, this.layout.width - this.tip.offsetWidth - 4);
    this.tip.style.left = `${Math.min(x, maxX) + this.canvas.offsetLeft}px`;
    this.tip.style.top = `${y + this.canvas.offsetTop}px`;
  }

  render(ctx, width) {
    this.layout = this.view.layout(ctx.run, width);
    // The canvas keeps its size while the drawing shrinks by less than a sixth (one token fewer):
    // resizing reallocates its pixels and lays the card out again, on every keystroke that changes
    // the token count. It never gets wider than the host.
    const keep = (now, want) => (want <= now && want >= now * 0.85 ? now : want);
    const w = Math.min(keep(this.size?.w ?? 0, Math.ceil(this.layout.width)), Math.max(Math.ceil(width), Math.ceil(this.layout.width)));
    const h = keep(this.size?.h ?? 0, Math.ceil(this.layout.height));
    this.size = { w, h };
    const p = new CanvasPainter(this.canvas, w, h);
    this.view.paint(p, this.layout, ctx);
    this.canvas.setAttribute('aria-label', this.handlers.summary?.(this.view.name) ?? `${this.view.name} of attention weights`);
  }
}
