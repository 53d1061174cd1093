// Colours for the views: viridis for weights (sequential, readable with every common colour-vision
// deficiency and in greyscale) and a blue–orange diverging ramp for signed vector entries.

const VIRIDIS = ['#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c', '#22a884', '#44bf70',
  '#7ad151', '#bddf26', '#fde725'].map(hexToRgb);
const BLUE_ORANGE = ['#2c5d9e', '#6f9bd1', '#f4f1ea', '#e8a35a', '#b35806'].map(hexToRgb);

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// Lookup tables of 256 entries, so colouring a 256×256 matrix costs one array read per cell.
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
 * RGBA bytes of a rows×cols matrix: weights in 0…max on viridis, and with `causal` the cells above the
 * diagonal (keys after the query) in `maskedRgb`. Computed once per matrix and shared by the canvas
 * and SVG painters.
 */
export function matrixColours(values, rows, cols, max, causal, maskedRgb) {
  const rgba = new Uint8ClampedArray(rows * cols * 4);
  const inv = max > 0 ? 1 / max : 0;
  const [mr, mg, mb] = maskedRgb;
  for (let i = 0, p = 0; i < rows; ++i) {
    for (let j = 0; j < cols; ++j, p += 4) {
      if (causal && j > i) {
        rgba[p] = mr; rgba[p + 1] = mg; rgba[p + 2] = mb;
      } else {
        const t = Math.round(Math.min(values[i * cols + j] * inv, 1) * 255) * 3;
        rgba[p] = SEQUENTIAL[t]; rgba[p + 1] = SEQUENTIAL[t + 1]; rgba[p + 2] = SEQUENTIAL[t + 2];
      }
      rgba[p + 3] = 255;
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
