// Differential testing of the package against the float64 reference (reference.js): random shapes
// (SIMD tails, several 32-query blocks and 128-key tiles), batch and heads, every scoring, scale,
// temperature, causal, keyLengths, boolean and additive masks (shared or per batch item and head),
// which results are asked for, and how inputs and outputs are passed (arrays, Float32Arrays, resident
// Tensors, `out` targets). Used by tests/js/differential.test.js (a few hundred cases in `npm test`)
// and scripts/differential.mjs (any number, on every wasm build).
import { attentionRef } from './reference.js';

// A random case: the options for qkv.attention, and how large its inputs are (`range`).
export function randomCase(r) {
  const pickDim = (max) => (r() < 0.3 ? [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65][r.int(0, 16)] : r.int(1, max));
  let batch = r() < 0.6 ? 1 : r.int(2, 3), heads = r() < 0.5 ? 1 : r.int(2, 4);
  let queries = r() < 0.2 ? r.int(33, 70) : pickDim(32), keys = r() < 0.2 ? r.int(100, 300) : pickDim(64);
  const dim = pickDim(80), valueDim = pickDim(40);
  // Keep a case's float64 reference to a few milliseconds.
  while (batch * heads * queries * keys * (dim + valueDim) > 1.5e6) {
    if (keys > 16) keys >>= 1; else if (queries > 8) queries >>= 1; else if (heads > 1) heads -= 1; else batch = 1;
  }
  const bh = batch * heads, plane = queries * keys;
  const range = r() < 0.8 ? 1 : 4;
  const o = { batch, heads, dim, queries, keys, valueDim };
  const values = (n, lo, hi) => r.array(n, lo, hi);
  o.q = values(bh * queries * dim, -range, range);
  o.k = values(bh * keys * dim, -range, range);
  o.v = values(bh * keys * valueDim, -1, 1);
  const s = r();
  o.scoring = s < 0.25 ? 'dot' : s < 0.95 ? 'scaled_dot' : 'additive';
  if (o.scoring === 'additive') {
    const da = r.int(1, 8);
    o.additive = { wq: values(dim * da, -1, 1), wk: values(dim * da, -1, 1), va: values(da, -1, 1) };
  }
  if (r() < 0.25) o.scale = (r() < 0.5 ? -1 : 1) * (0.05 + 3.95 * r());
  if (r() < 0.25) o.temperature = 0.25 + 3.75 * r();
  if (r() < 0.4) o.causal = true;
  if (r() < 0.3) o.keyLengths = Array.from({ length: batch }, () => r.int(0, keys));
  const maskLength = () => (r() < 0.5 ? plane : bh * plane);
  if (r() < 0.25) {
    const p = 0.3 + 0.7 * r();
    o.mask = Uint8Array.from({ length: maskLength() }, () => (r() < p ? 1 : 0));
    if (r() < 0.3) o.mask = Array.from(o.mask, (x) => x === 1);
  }
  if (r() < 0.3) {
    // Ordinary values, -Infinity (masked), 87–93 (exp overflows unless the maximum is subtracted).
    const kind = r.int(0, 2);
    o.additiveMask = Float32Array.from({ length: maskLength() }, () => {
      const x = r();
      if (x < 0.15) return -Infinity;
      return kind === 2 ? 87 + 6 * r() : (2 * r() - 1) * (kind === 0 ? 2 : 30);
    });
  }
  o.returnWeights = r() < 0.5;
  o.returnScores = r() < 0.15;
  o.returnLogits = r() < 0.15;
  if (r() < 0.2) o.q = Array.from(o.q); // plain arrays are accepted too
  if (r() < 0.1) o.v = Float64Array.from(o.v);
  return { options: o, range, resident: r() < 0.15, outTargets: r() < 0.15 };
}

// Tolerance from float32 rounding of the logits (|alpha|·dim·range² units of 2^-24), as in the
// native tests, with room for the additive scoring's tanh.
function tolerance({ options: o, range }) {
  const alpha = Math.abs(o.scale ?? 1) / (o.temperature ?? 1);
  const extra = o.scoring === 'additive' ? 8 * o.additive.va.length : 1;
  return 4e-6 + 4 * 6e-8 * alpha * o.dim * range * range * extra;
}

// Runs one case on `qkv` and compares it with the reference; returns a description of the first
// difference, or '' when everything agrees.
export function checkCase(qkv, c) {
  const o = { ...c.options };
  const owned = [];
  if (c.resident) {
    for (const name of ['q', 'k', 'v']) owned.push((o[name] = qkv.tensor(o[name])));
  }
  const shape = { batch: o.batch, heads: o.heads, queries: o.queries, keys: o.keys };
  const planeLength = o.batch * o.heads * o.queries * o.keys;
  if (c.outTargets) {
    o.out = { output: new Float32Array(o.batch * o.heads * o.queries * o.valueDim) };
    if (o.returnWeights) o.out.weights = c.resident ? qkv.tensor(planeLength) : new Float32Array(planeLength);
    if (o.out.weights && c.resident) owned.push(o.out.weights);
  }
  try {
    const got = qkv.attention(o);
    const ref = attentionRef({ ...c.options, ...shape, valueDim: o.valueDim });
    const tol = tolerance(c);
    const arrayOf = (x) => (x && typeof x.toFloat32Array === 'function' ? x.toFloat32Array() : x);
    const compare = (name, a, b, t) => {
      a = arrayOf(a);
      if (!a || a.length !== b.length) return `${name}: length ${a?.length}, expected ${b.length}`;
      for (let i = 0; i < a.length; ++i) {
        if (a[i] === b[i]) continue; // ±Infinity in logits
        if (!(Math.abs(a[i] - b[i]) <= t)) return `${name}[${i}] = ${a[i]}, float64 ${b[i]} (tolerance ${t.toExponential(2)})`;
      }
      return '';
    };
    return compare('output', got.output, ref.output, 2 * tol) ||
      (o.returnWeights ? compare('weights', got.weights, ref.weights, tol) : '') ||
      (o.returnScores ? compare('scores', got.scores, ref.scores, 1e-5 * o.dim * c.range * c.range) : '') ||
      (o.returnLogits ? compare('logits', got.logits, ref.logits, 1e-5 * o.dim * c.range * c.range * (Math.abs(o.scale ?? 1) / (o.temperature ?? 1)) + 1e-4) : '');
  } finally {
    for (const t of owned) t.free();
  }
}

// A case in a few words, for a failure message.
export function describeCase({ options: o, range, resident, outTargets }) {
  const flags = ['causal', 'keyLengths', 'mask', 'additiveMask', 'scale', 'temperature', 'returnWeights', 'returnScores', 'returnLogits']
    .filter((f) => o[f] !== undefined && o[f] !== false);
  return `batch ${o.batch} heads ${o.heads} queries ${o.queries} keys ${o.keys} dim ${o.dim} valueDim ${o.valueDim} ${o.scoring} ` +
    `range ${range}${resident ? ' resident' : ''}${outTargets ? ' out' : ''} [${flags.join(' ')}]`;
}
