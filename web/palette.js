// Colours for the views: viridis for weights (sequential, readable with every common colour-vision
// deficiency and in greyscale) and a blue–orange diverging ramp for signed vector entries.

const VIRIDIS = ['#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c', '#22a884', '#44bf70',
  '#7ad151', '#bddf26', '#fde725'].map(hexToRgb);
const BLUE_ORANGE = ['#2c5d9e', '#6f9bd1', '#f4f1ea', '#e8a35a', '#b35806'].map(hexToRgb);

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// Lookup tables of 256 entries, so colouring a 256×256 matrix costs a few array reads per cell.
function buildTable(stops) {
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; ++i) {
    const x = (i / 255) * (stops.length - 1);
    const k = Math.min(Math.floor(x), stops.length - 2);
    const f = x - k;
    for (let c = 0; c < 3; ++c) table[i * 3 + c] = Math.round(stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f);
  }
  return table;
}
const SEQUENTIAL = buildTable(VIRIDIS);
const DIVERGING = buildTable(BLUE_ORANGE);

function pick(table, t) {
  const i = Math.round(Math.min(Math.max(t, 0), 1) * 255) * 3;
  return [table[i], table[i + 1], table[i + 2]];
}

/** Viridis colour [r, g, b] of a value in 0…1. */
export function sequential(t) { return pick(SEQUENTIAL, t); }

/** Blue (−1) … neutral (0) … orange (+1). */
export function diverging(t) { return pick(DIVERGING, (t + 1) / 2); }

export function css([r, g, b]) { return `rgb(${r},${g},${b})`; }

/** Black or white, whichever reads better on this background. */
export function inkOn([r, g, b]) { return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#000' : '#fff'; }

/**
 * Where a weight α ∈ [0, 1] sits on the colour ramp: √α. The scale is absolute (the same colour is the
 * same weight in every head and sentence, and a row of equal weights is one colour, whatever its
 * size), and the square root keeps the small weights of a long sentence (1/256 is 0.06 of the ramp)
 * apart from zero. The legend labels it with weights, not ramp positions.
 */
export function weightPosition(w) { return w > 0 ? Math.sqrt(Math.min(w, 1)) : 0; }

// The colour of α quantised to 1/4096, as one RGBA word (little-endian bytes R, G, B, A): colouring
// a cell of a 256 × 256 matrix is one table read and one store.
const RAMP_STEPS = 4096;
const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const RAMP = Uint32Array.from({ length: RAMP_STEPS + 1 }, (_, k) => {
  const t = Math.round(Math.sqrt(k / RAMP_STEPS) * 255) * 3;
  const [r, g, b] = [SEQUENTIAL[t], SEQUENTIAL[t + 1], SEQUENTIAL[t + 2]];
  return little ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
});
const rampOf = (w) => RAMP[Math.round((w > 0 ? (w < 1 ? w : 1) : 0) * RAMP_STEPS)];

/**
 * RGBA bytes of a rows×cols matrix of weights on viridis (see weightPosition), with `masked(i, j)`
 * cells (keys after the query under a causal mask) in `maskedRgb`. `mirror` puts column 0 on the
 * right (right-to-left text). `outRows`×`outCols` below rows×cols pools blocks of cells into one,
 * keeping each block's largest weight (the small heatmaps of the overview). Computed once per matrix
 * and shared by the canvas and SVG painters.
 */
export function matrixColours(values, rows, cols, { causal = false, maskedRgb = [0, 0, 0], mirror = false, outRows = rows, outCols = cols } = {}) {
  const rgba = new Uint8ClampedArray(outRows * outCols * 4);
  const words = new Uint32Array(rgba.buffer);
  const [mr, mg, mb] = maskedRgb;
  const masked = little ? ((255 << 24) | (mb << 16) | (mg << 8) | mr) >>> 0 : ((mr << 24) | (mg << 16) | (mb << 8) | 255) >>> 0;
  if (outRows === rows && outCols === cols && !mirror) {
    // The common case (a heatmap in reading order), without the pooling arithmetic.
    for (let i = 0, p = 0; i < rows; ++i) {
      const open = causal ? i + 1 : cols;
      for (let j = 0; j < cols; ++j, ++p) words[p] = j < open ? rampOf(values[p]) : masked;
    }
    return rgba;
  }
  for (let oi = 0, p = 0; oi < outRows; ++oi) {
    const i0 = Math.floor((oi * rows) / outRows), i1 = Math.max(i0 + 1, Math.floor(((oi + 1) * rows) / outRows));
    for (let oc = 0; oc < outCols; ++oc, ++p) {
      const oj = mirror ? outCols - 1 - oc : oc;
      const j0 = Math.floor((oj * cols) / outCols), j1 = Math.max(j0 + 1, Math.floor(((oj + 1) * cols) / outCols));
      if (causal && j0 > i1 - 1) { words[p] = masked; continue; }
      let w = values[i0 * cols + j0];
      for (let i = i0; i < i1; ++i) for (let j = j0; j < j1; ++j) if (values[i * cols + j] > w) w = values[i * cols + j];
      words[p] = rampOf(w);
    }
  }
  return rgba;
}

/** Signed values as a 1×n strip on the diverging ramp, scaled by the largest magnitude. */
export function stripColours(values, absMax) {
  const rgba = new Uint8ClampedArray(values.length * 4);
  const inv = absMax > 0 ? 1 / absMax : 0;
  for (let k = 0; k < values.length; ++k) {
    const [r, g, b] = diverging(values[k] * inv);
    rgba[k * 4] = r; rgba[k * 4 + 1] = g; rgba[k * 4 + 2] = b; rgba[k * 4 + 3] = 255;
  }
  return rgba;
}
