// Two drawing back ends with one small interface, so that each view is written once and gives both
// the live canvas (and PNG export) and an SVG export. User text only ever reaches the SVG through
// textContent on DOM nodes, never through markup strings.

const SVG_NS = 'http://www.w3.org/2000/svg';
let measureContext = null;

function font(size, bold) { return `${bold ? '600 ' : ''}${size}px system-ui, sans-serif`; }

// Widths already measured: the views lay out the same few hundred labels on every keystroke.
const widths = new Map();

/** Width in CSS pixels of a label at this size (shared by both painters so layouts match). */
export function textWidth(text, size = 12, bold = false) {
  const key = `${size}${bold ? 'b' : ''}\u0000${text}`;
  let width = widths.get(key);
  if (width === undefined) {
    measureContext ??= (typeof OffscreenCanvas === 'function'
      ? new OffscreenCanvas(1, 1) : document.createElement('canvas')).getContext('2d');
    const f = font(size, bold);
    if (measureContext.font !== f) measureContext.font = f;
    width = measureContext.measureText(text).width;
    if (widths.size > 20000) widths.clear();
    widths.set(key, width);
  }
  return width;
}

export class CanvasPainter {
  /** Sizes the canvas for width×height CSS pixels at the device pixel ratio (or `pixelRatio`). */
  constructor(canvas, width, height, pixelRatio = globalThis.devicePixelRatio || 1) {
    this.canvas = canvas;
    const w = Math.max(1, Math.ceil(width)), h = Math.max(1, Math.ceil(height));
    if (canvas.width !== Math.round(w * pixelRatio) || canvas.height !== Math.round(h * pixelRatio)) {
      canvas.width = Math.round(w * pixelRatio);
      canvas.height = Math.round(h * pixelRatio);
    }
    // Only when the size changes, which a keystroke mostly does not: no style work for the page then.
    if (canvas.style && (canvas.style.width !== `${w}px` || canvas.style.height !== `${h}px`)) {
      canvas.style.width = `${w}px`; canvas.style.height = `${h}px`;
    }
    this.ctx = canvas.getContext('2d');
    this.ctx.setTransform(pixelRatio, 0, 0, pixelRatio, 0, 0);
    this.ctx.clearRect(0, 0, w, h);
    this.width = w; this.height = h;
  }

  fillRect(x, y, w, h, colour) { this.ctx.fillStyle = colour; this.ctx.fillRect(x, y, w, h); }

  strokeRect(x, y, w, h, colour, width = 1) {
    this.ctx.strokeStyle = colour; this.ctx.lineWidth = width; this.ctx.strokeRect(x, y, w, h);
  }

  line(x1, y1, x2, y2, colour, width = 1, alpha = 1) {
    this.lines([x1, y1, x2, y2], colour, width, alpha);
  }

  /** Segments [x1, y1, x2, y2, x1, y1, …] stroked as one path: one raster pass, not one per line. */
  lines(segments, colour, width = 1, alpha = 1) {
    const c = this.ctx;
    c.globalAlpha = alpha; c.strokeStyle = colour; c.lineWidth = width;
    c.beginPath();
    for (let k = 0; k < segments.length; k += 4) { c.moveTo(segments[k], segments[k + 1]); c.lineTo(segments[k + 2], segments[k + 3]); }
    c.stroke();
    c.globalAlpha = 1;
  }

  // `rtl`: the text is laid out right to left (its letters in reading order); `align` stays absolute.
  text(str, x, y, { colour = '#000', size = 12, bold = false, align = 'left', baseline = 'middle', rotate = 0, rtl = false } = {}) {
    const c = this.ctx;
    c.save();
    c.font = font(size, bold); c.fillStyle = colour; c.textAlign = align; c.textBaseline = baseline;
    if (rtl) c.direction = 'rtl'; // restored below; writing 'ltr' on every label cost the first draw
    c.translate(x, y);
    if (rotate) c.rotate(rotate * Math.PI / 180);
    c.fillText(str, 0, 0);
    c.restore();
  }

  /** A rows×cols block of cells from RGBA bytes, each cell cellW×cellH, drawn as one scaled image. */
  cells(x, y, cellW, cellH, rows, cols, rgba) {
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(tileOf(rgba, cols, rows), 0, 0, cols, rows, x, y, cols * cellW, rows * cellH);
  }
}

// One scratch canvas for every block of cells: a keystroke draws a dozen of them (heatmaps, legends,
// vector strips). It only ever grows, so that blocks of other sizes do not reallocate it.
let tile = null, tileContext = null;
function tileOf(rgba, cols, rows) {
  tile ??= typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(cols, rows) : document.createElement('canvas');
  if (tile.width < cols || tile.height < rows) {
    tile.width = Math.max(tile.width, cols);
    tile.height = Math.max(tile.height, rows);
    tileContext = null;
  }
  tileContext ??= tile.getContext('2d');
  tileContext.putImageData(new ImageData(rgba, cols, rows), 0, 0);
  return tile;
}

export class SvgPainter {
  constructor(width, height, background) {
    this.width = Math.ceil(width); this.height = Math.ceil(height);
    this.svg = document.createElementNS(SVG_NS, 'svg');
    this.svg.setAttribute('xmlns', SVG_NS);
    this.svg.setAttribute('width', String(this.width));
    this.svg.setAttribute('height', String(this.height));
    this.svg.setAttribute('viewBox', `0 0 ${this.width} ${this.height}`);
    if (background) this.fillRect(0, 0, this.width, this.height, background);
  }

  #add(name, attrs) {
    const el = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    this.svg.append(el);
    return el;
  }

  fillRect(x, y, w, h, colour) { this.#add('rect', { x, y, width: w, height: h, fill: colour }); }

  strokeRect(x, y, w, h, colour, width = 1) {
    this.#add('rect', { x, y, width: w, height: h, fill: 'none', stroke: colour, 'stroke-width': width });
  }

  line(x1, y1, x2, y2, colour, width = 1, alpha = 1) {
    this.#add('line', { x1, y1, x2, y2, stroke: colour, 'stroke-width': width, 'stroke-opacity': alpha.toFixed(3) });
  }

  lines(segments, colour, width = 1, alpha = 1) {
    let d = '';
    for (let k = 0; k < segments.length; k += 4) d += `M${segments[k]} ${segments[k + 1]}L${segments[k + 2]} ${segments[k + 3]}`;
    this.#add('path', { d, fill: 'none', stroke: colour, 'stroke-width': width, 'stroke-opacity': alpha.toFixed(3) });
  }

  text(str, x, y, { colour = '#000', size = 12, bold = false, align = 'left', baseline = 'middle', rotate = 0, rtl = false } = {}) {
    const el = this.#add('text', {
      x, y, fill: colour, 'font-size': size, 'font-family': 'system-ui, sans-serif',
      'text-anchor': { left: 'start', center: 'middle', right: 'end' }[align],
      'dominant-baseline': { middle: 'central', top: 'hanging', bottom: 'auto', alphabetic: 'auto' }[baseline],
    });
    if (bold) el.setAttribute('font-weight', '600');
    // With direction rtl, SVG's text-anchor start/end swap sides: keep the anchor where it was meant.
    if (rtl) {
      el.setAttribute('direction', 'rtl');
      el.setAttribute('text-anchor', { left: 'end', center: 'middle', right: 'start' }[align]);
    }
    if (rotate) el.setAttribute('transform', `rotate(${rotate} ${x} ${y})`);
    el.textContent = str;
  }

  cells(x, y, cellW, cellH, rows, cols, rgba) {
    for (let i = 0; i < rows; ++i) {
      for (let j = 0; j < cols; ++j) {
        const p = (i * cols + j) * 4;
        this.fillRect(x + j * cellW, y + i * cellH, cellW, cellH, `rgb(${rgba[p]},${rgba[p + 1]},${rgba[p + 2]})`);
      }
    }
  }

  toString() { return new XMLSerializer().serializeToString(this.svg); }
}
