// The three views of attention weights, each written once against the painter interface (painter.js):
// heatmap (query rows × key columns), lines (each query linked to its keys, opacity by weight, as in
// BertViz's head view) and overview (every layer × head as a small heatmap). ViewCanvas puts one of
// them on a live canvas with pointer, touch and keyboard handling; <qkv-attention> uses it (and the
// page through it). Rows are the run's n queries, columns its m keys (m = n in self-attention). For
// right-to-left text the heatmap's columns and the lines view run from right to left.
import { CanvasPainter, SvgPainter, textWidth } from './painter.js';
import { matrixColours, sequential, weightPosition } from './palette.js';
import { selectedHead } from './compute.js';
import { label, isRtl } from './format.js';
import { headName, headPattern } from './heads.js';

const LABEL_SIZE = 12;
const LEGEND_H = 40;

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

/** Whether the run's sentence reads right to left (its first strong character decides, as dir="auto"). */
export function runIsRtl(run) { return isRtl(run.text); }

// Colours of a head's matrix, kept with its weights array (a new run has new arrays), one entry per
// size (the heatmap's and the overview's) and theme.
const colourCache = new WeakMap();
function coloursOf(head, run, theme, rtl, outRows = run.n, outCols = run.m) {
  const key = `${theme.masked} ${rtl} ${outRows} ${outCols} ${run.knobs.causal}`;
  let entries = colourCache.get(head.weights);
  if (!entries) colourCache.set(head.weights, (entries = new Map()));
  let rgba = entries.get(key);
  if (!rgba) {
    rgba = matrixColours(head.weights, run.n, run.m, { causal: run.knobs.causal, maskedRgb: theme.maskedRgb, mirror: rtl, outRows, outCols });
    entries.set(key, rgba);
  }
  return rgba;
}

// Labels are cut to a width, not to a number of characters: measured once per text, width and weight.
const fitted = new Map();
function fit(text, width, bold = false, size = LABEL_SIZE) {
  const key = `${width}\u0000${bold}\u0000${size}\u0000${text}`;
  let out = fitted.get(key);
  if (out === undefined) {
    out = text;
    if (textWidth(out, size, bold) > width) {
      let lo = 0, hi = text.length;
      while (lo < hi) { // the longest prefix that fits with its ellipsis
        const mid = (lo + hi + 1) >> 1;
        if (textWidth(`${text.slice(0, mid)}…`, size, bold) <= width) lo = mid; else hi = mid - 1;
      }
      out = `${text.slice(0, lo)}…`;
    }
    if (fitted.size > 5000) fitted.clear();
    fitted.set(key, out);
  }
  return out;
}

// The widest label of a run's units, kept with the units (every view of a run asks again).
const widestOf = new WeakMap();
function maxLabelWidth(units, cap) {
  let w = widestOf.get(units);
  if (w === undefined) {
    w = 0;
    for (const u of units) w = Math.max(w, textWidth(label(u, 40), LABEL_SIZE, true));
    widestOf.set(units, w);
  }
  return Math.min(Math.ceil(w), cap);
}

// A cross of two strokes (background under foreground) reads on every colour of the ramp.
function outline(p, x, y, w, h, theme, thick = 1.5) {
  p.strokeRect(x, y, w, h, theme.bg, thick + 2);
  p.strokeRect(x, y, w, h, theme.fg, thick);
}

const TICKS = [0, 0.05, 0.25, 0.5, 1];
const tickText = (t) => (t === 0 ? '0' : t === 1 ? '1' : String(t).replace(/^0/, ''));

// The colour scale: the ramp with the weights it stands for (see weightPosition), and the masked colour.
function legend(p, x, y, width, theme, withMasked) {
  const steps = 64, bar = Math.max(100, Math.min(240, width - 110));
  const rgba = new Uint8ClampedArray(steps * 4);
  for (let k = 0; k < steps; ++k) {
    const [r, g, b] = sequential(k / (steps - 1));
    rgba.set([r, g, b, 255], k * 4);
  }
  p.cells(x, y + 2, bar / steps, 10, 1, steps, rgba);
  for (const t of TICKS) {
    const tx = x + weightPosition(t) * bar;
    p.fillRect(tx - 0.5, y + 12, 1, 3, theme.muted);
    p.text(tickText(t), tx, y + 20, { colour: theme.muted, size: 10, align: t === 0 ? 'left' : t === 1 ? 'right' : 'center' });
  }
  p.text('weight α (one scale in every view)', x, y + 33, { colour: theme.muted, size: 11 });
  if (withMasked) {
    const mx = x + bar + 14;
    p.fillRect(mx, y + 2, 10, 10, theme.masked);
    p.text('masked', mx + 14, y + 7, { colour: theme.muted, size: 11 });
  }
}

const isGiven = (run) => run.mode === 'given';

export const heatmap = {
  name: 'heatmap',
  layout(run, width) {
    const { n, m } = run;
    const rtl = runIsRtl(run);
    const lw = maxLabelWidth(run.units, 110) + 8;
    const colLabels = maxLabelWidth(run.keyUnits, 110) + 8;
    const pad = colLabels * 0.5 + 4;
    const cs = Math.max(2, Math.min(40, Math.floor((width - lw - pad) / Math.max(m, 1))));
    const labels = cs >= 11;
    const top = labels ? colLabels * 0.87 + 6 : 24;
    // Left to right: row labels, then the matrix. Right to left: the matrix, then the row labels.
    const x0 = rtl ? 4 : lw;
    return { n, m, rtl, lw, top, cs, x0, labels, numbers: cs >= 30, width: rtl ? x0 + m * cs + Math.max(lw, pad) : lw + m * cs + pad, height: top + n * cs + 8 + LEGEND_H };
  },
  colX(L, j) { return L.x0 + (L.rtl ? L.m - 1 - j : j) * L.cs; },
  paint(p, L, { run, layer, head, focus, theme }) {
    const h = selectedHead(run, layer, head);
    if (!h) return;
    const { n, m, top, cs, x0 } = L;
    p.cells(x0, top, cs, cs, n, m, coloursOf(h, run, theme, L.rtl));
    if (L.numbers) {
      for (let i = 0; i < n; ++i) {
        for (let j = 0; j < m; ++j) {
          if (run.knobs.causal && j > i) continue;
          const w = h.weights[i * m + j];
          const ink = weightPosition(w) > 0.6 ? '#000' : '#fff';
          p.text(w.toFixed(2).replace(/^0/, ''), this.colX(L, j) + cs / 2, top + i * cs + cs / 2, { colour: ink, size: 10, align: 'center' });
        }
      }
    }
    const q = focus?.query != null && focus.query < n ? focus.query : null;
    const k = focus?.key != null && focus.key < m ? focus.key : null;
    const rowLabel = (i, bold) => {
      const text = fit(label(run.units[i], 40), L.lw - 8, bold);
      const colour = bold ? theme.fg : theme.muted, y = top + i * cs + cs / 2, rtl = isRtl(text);
      if (L.rtl) p.text(text, x0 + m * cs + 6, y, { colour, bold, size: LABEL_SIZE, align: 'left', rtl });
      else p.text(text, L.lw - 6, y, { colour, bold, size: LABEL_SIZE, align: 'right', rtl });
    };
    const colLabel = (j, bold) => p.text(fit(label(run.keyUnits[j], 40), 110, bold), this.colX(L, j) + cs / 2, top - 6,
      { colour: bold ? theme.fg : theme.muted, bold, size: LABEL_SIZE, rotate: -60, rtl: isRtl(run.keyUnits[j].text) });
    // The chosen row and column are drawn once, in bold, after the others.
    if (L.labels) {
      for (let i = 0; i < n; ++i) if (i !== q) rowLabel(i, false);
      for (let j = 0; j < m; ++j) if (j !== k) colLabel(j, false);
    } else p.text('query ↓  key →  (hover or use the arrow keys for labels)', 4, 12, { colour: theme.muted, size: 11 });
    if (q !== null) {
      outline(p, x0, top + q * cs, m * cs, cs, theme);
      if (L.labels) rowLabel(q, true);
      else p.text(`query: ${label(run.units[q])}`, 4, top + q * cs + cs / 2, { colour: theme.fg, bold: true, size: 11 });
    }
    if (k !== null) {
      outline(p, this.colX(L, k), top, cs, n * cs, theme);
      if (L.labels) colLabel(k, true);
    }
    legend(p, x0, top + n * cs + 8, L.width - x0, theme, run.knobs.causal && !isGiven(run));
  },
  hit(L, x, y) {
    const c = Math.floor((x - L.x0) / L.cs), i = Math.floor((y - L.top) / L.cs);
    const j = L.rtl ? L.m - 1 - c : c;
    const inCols = c >= 0 && c < L.m, inRows = i >= 0 && i < L.n;
    if (inRows && inCols) return { query: i, key: j };
    if (inCols && y < L.top) return { key: j };
    if (inRows && (L.rtl ? x >= L.x0 + L.m * L.cs : x < L.lw)) return { query: i };
    return null;
  },
  anchor(L, { query, key }) {
    return { x: heatmap.colX(L, key ?? 0) + L.cs / 2, y: L.top + (query ?? 0) * L.cs + L.cs };
  },
};

const ALPHA_STEPS = 24;
const MIN_ALPHA = 0.04, MIN_ALPHA_CHOSEN = 0.1;
const MAX_LINES = 2048;

/** How many lines per query the lines view draws: all for short inputs, the top 3 for long ones. */
export function autoTopK(n) { return n <= 32 ? 0 : 3; }

// The indices of the k largest entries of `row` (ties: the earlier key), at most k of them.
function topIndices(row, k) {
  const best = [];
  for (let j = 0; j < row.length; ++j) {
    const w = row[j];
    if (best.length === k && w <= row[best[k - 1]]) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && row[best[at - 1]] < w) { if (at < k) best[at] = best[at - 1]; at -= 1; }
    best[at] = j;
  }
  return best;
}

export const lines = {
  name: 'lines',
  layout(run, width) {
    const { n, m } = run, rows = Math.max(n, m);
    const row = rows <= 30 ? 22 : Math.max(3, Math.min(22, Math.floor(660 / Math.max(rows, 1))));
    const rtl = runIsRtl(run);
    const w = Math.max(Math.min(width, 560), 160);
    // Each side's labels get what they need, at most a third of the width, and are cut to fit it.
    const side = Math.floor((w - 60) / 2);
    const qw = Math.min(maxLabelWidth(run.units, side) + 10, side), kw = Math.min(maxLabelWidth(run.keyUnits, side) + 10, side);
    // Queries on the side a reader starts from: the left, or the right for right-to-left text.
    const qx = rtl ? w - qw : qw, kx = rtl ? kw : w - kw;
    return { n, m, row, rtl, qw, kw, qx, kx, top: 26, width: w, height: 26 + rows * row + 24, labels: row >= 11 };
  },
  paint(p, L, { run, layer, head, focus, theme, topK }) {
    const h = selectedHead(run, layer, head);
    if (!h) return;
    const { n, m, row, top, qx, kx, rtl } = L;
    let k = topK ?? autoTopK(m);
    // "All" lines of a long input would be tens of thousands (and can take the tab down): the
    // strongest keys of each query then, MAX_LINES in all.
    if ((k === 0 || k >= m) && n * m > MAX_LINES) k = Math.max(1, Math.floor(MAX_LINES / n));
    const y = (i) => top + i * row + row / 2;
    p.text('query', qx + (rtl ? 6 : -6), 10, { colour: theme.muted, size: 11, align: rtl ? 'left' : 'right' });
    p.text('key', kx + (rtl ? -6 : 6), 10, { colour: theme.muted, size: 11, align: rtl ? 'right' : 'left' });
    const q = focus?.query != null && focus.query < n ? focus.query : null;
    // Lines of about the same opacity are stroked together (one path per step of ALPHA_STEPS): a
    // canvas rasterises each path when the frame is committed, and at 256 tokens a thousand paths
    // cost the browser ~100 ms a frame here; sixteen cost a few.
    const buckets = new Map();
    const drawRow = (i, strong) => {
      const wrow = h.weights.subarray(i * m, (i + 1) * m);
      const keys = k > 0 && !strong && k < m ? topIndices(wrow, k) : null;
      const draw = (j) => {
        const w = wrow[j];
        if (!(w > 0)) return;
        // A line fainter than MIN_ALPHA is hardly seen, but costs the compositor as much as any: a
        // chosen query's keys below a weight of 0.01 are left out, as the others' below 0.07.
        const alpha = weightPosition(w) * (q === null || strong ? 1 : 0.15);
        if (alpha < (strong ? MIN_ALPHA_CHOSEN : MIN_ALPHA)) return;
        const key = Math.round(alpha * ALPHA_STEPS) * 2 + (strong ? 1 : 0);
        let segments = buckets.get(key);
        if (!segments) buckets.set(key, (segments = []));
        segments.push(qx, y(i), kx, y(j));
      };
      if (keys) keys.forEach(draw); else for (let j = 0; j < m; ++j) draw(j);
    };
    for (let i = 0; i < n; ++i) if (i !== q) drawRow(i, false);
    if (q !== null) drawRow(q, true);
    // Past a few hundred lines, hairlines only: a line 1 px wide is drawn on the canvas's fast path,
    // a wider one is turned into a shape first (113 → 19 ms a frame at 256 tokens here). Hairlines
    // of one opacity go in one path; wider lines one by one, since a path of many overlapping wide
    // lines is filled as one shape, which cost the compositor more than the lines apart (28 against
    // 12 ms a frame at 64 tokens).
    const hair = n * Math.min(k || m, m) > 400;
    for (const [key, segments] of [...buckets].sort((a, b) => a[0] - b[0])) {
      const alpha = Math.max(1, key >> 1) / ALPHA_STEPS;
      if (hair) { p.lines(segments, theme.line, 1, alpha); continue; }
      const width = key % 2 === 1 ? 2 : 1.5;
      for (let at = 0; at < segments.length; at += 4) p.line(segments[at], segments[at + 1], segments[at + 2], segments[at + 3], theme.line, width, alpha);
    }
    const key = focus?.key != null && focus.key < m ? focus.key : null;
    const side = (units, i, isOn, x, width, alignRight) => {
      if (!L.labels && !isOn) return;
      const text = fit(label(units[i], 40), width - 10, isOn);
      p.text(text, x, y(i), { colour: isOn ? theme.fg : theme.muted, bold: isOn, size: LABEL_SIZE, align: alignRight ? 'right' : 'left', rtl: isRtl(text) });
    };
    for (let i = 0; i < n; ++i) side(run.units, i, i === q, qx + (rtl ? 6 : -6), L.qw, !rtl);
    for (let j = 0; j < m; ++j) side(run.keyUnits, j, j === key, kx + (rtl ? -6 : 6), L.kw, rtl);
    if (q !== null) outline(p, rtl ? qx + 2 : 1, top + q * row, L.qw - 3, row, theme, 1);
    if (key !== null) outline(p, rtl ? 1 : kx + 2, top + key * row, L.kw - 3, row, theme, 1);
    const note = k > 0 && k < m ? `the ${k} strongest keys of each query; the chosen query shows all` : 'line opacity: the weight, on the heatmap’s scale';
    p.text(note, 2, L.height - 10, { colour: theme.muted, size: 11 });
  },
  hit(L, x, y) {
    const i = Math.floor((y - L.top) / L.row);
    if (i < 0) return null;
    const onQuery = L.rtl ? x >= L.qx : x <= L.qx, onKey = L.rtl ? x <= L.kx : x >= L.kx;
    if (onQuery && i < L.n) return { query: i };
    if (onKey && i < L.m) return { key: i };
    return null;
  },
  anchor(L, { query, key }) {
    return query != null ? { x: L.qx, y: L.top + query * L.row + L.row } : { x: L.kx, y: L.top + (key ?? 0) * L.row + L.row };
  },
};

// The overview names each head of a trained model (or of a file) by what it does on this sentence.
const namesHeads = (run) => run.mode !== 'embeddings' && run.keyUnits === run.units && run.n > 0;
const NAME_H = 28;

export const overview = {
  name: 'overview',
  layout(run, width) {
    const layers = run.layers.length, heads = run.layers[0]?.heads.length ?? 0;
    const lw = layers > 1 ? 58 : 8, gap = 10;
    const size = Math.max(40, Math.min(120, Math.floor((width - lw) / Math.max(heads, 1)) - gap));
    const named = namesHeads(run), pitch = size + gap + (named ? NAME_H : 0);
    return { layers, heads, lw, gap, size, pitch, named, top: 22, width: lw + heads * (size + gap), height: 22 + layers * pitch + 4 };
  },
  paint(p, L, { run, layer, head, focus, theme }) {
    const { lw, gap, size, top, pitch } = L;
    const rtl = runIsRtl(run);
    // A small heatmap has at most one cell per pixel: blocks of cells are pooled (their largest weight).
    const rows = Math.min(run.n, size), cols = Math.min(run.m, size);
    const ch = size / Math.max(rows, 1), cw = size / Math.max(cols, 1);
    for (let h = 0; h < L.heads; ++h) p.text(`head ${h + 1}`, lw + h * (size + gap) + size / 2, 10, { colour: theme.muted, size: 11, align: 'center' });
    run.layers.forEach((lay, l) => {
      const y = top + l * pitch;
      if (L.layers > 1) p.text(`layer ${l + 1}`, 2, y + size / 2, { colour: theme.muted, size: 11 });
      lay.heads.forEach((hd, h) => {
        const x = lw + h * (size + gap);
        p.cells(x, y, cw, ch, rows, cols, coloursOf(hd, run, theme, rtl, rows, cols));
        const name = L.named && headName(headPattern(run, hd));
        if (name) {
          const chosen = l === Math.min(layer, L.layers - 1) && h === Math.min(head, L.heads - 1);
          // The name without its explanation in brackets (the caption, the picker and the hover text have it).
          p.text(fit(name.text.replace(/ \(.*\)$/, ''), size, chosen, 11), x, y + size + 13, { colour: chosen ? theme.fg : theme.muted, bold: chosen, size: 11 });
          p.text(`${name.scoreName} ${name.score.toFixed(2)}`, x, y + size + 26, { colour: theme.muted, size: 10 });
        }
        if (focus?.query != null && focus.query < run.n) {
          const r = Math.floor((focus.query * rows) / run.n);
          p.strokeRect(x, y + r * ch, size, ch, theme.fg, 1);
        }
        if (l === Math.min(layer, L.layers - 1) && h === Math.min(head, L.heads - 1)) outline(p, x - 2, y - 2, size + 4, size + 4, theme, 2.5);
      });
    });
  },
  hit(L, x, y) {
    const h = Math.floor((x - L.lw) / (L.size + L.gap)), l = Math.floor((y - L.top) / L.pitch);
    return h >= 0 && h < L.heads && l >= 0 && l < L.layers ? { layer: l, head: h } : null;
  },
  anchor(L, { layer, head }) {
    return { x: L.lw + head * (L.size + L.gap) + L.size / 2, y: L.top + layer * L.pitch + L.size };
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
    const doc = host.ownerDocument;
    this.canvas = doc.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.canvas.className = `view-canvas view-${view.name}`;
    this.canvas.setAttribute('role', 'img');
    this.tip = doc.createElement('div');
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
      const t = this.handlers.keyTarget?.(this.view.name, e.key, this.layout);
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
