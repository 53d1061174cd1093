// The output-only path (online softmax) at float32's extremes, in every build: equal to the path that
// materialises the weights (returnWeights) over the whole float32 range — logits and additive masks
// at ±FLT_MAX (an additive mask of -3.4028e38 is PyTorch's float32 minimum, a common mask value), a
// temperature whose scale/temperature overflows float32, logits an ulp apart where an ulp is 2^104 —
// and equal to a float64 softmax of the float32 logits the module reports (returnLogits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from './reference.js';
import { BACKENDS, load } from './backends.js';

const F = 3.4028234663852886e38; // FLT_MAX
const V = [1, 2, 5, 6, 9, 10, 13, 14];

// Float64 softmax of float32 logits as the core defines it: each weight from the float32 difference
// to the max (Math.fround), -inf and NaN masked, and +inf logits sharing the weight when present.
function softmaxOfFloat32(logits) {
  const mx = logits.reduce((m, x) => (x > m ? x : m), -Infinity);
  if (mx === -Infinity) return logits.map(() => 0);
  const e = logits.map((x) => (mx === Infinity ? (x === Infinity ? 1 : 0) : x === x ? Math.exp(Math.fround(x - mx)) : 0));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

const CASES = [
  { name: 'an additive mask of -3.4028e38 on every key', opts: { q: [1, 0], k: [1, 0, 0, 1], dim: 2, additiveMask: [-F, -F] }, weights: [0.5, 0.5] },
  { name: 'q = [2.5e38] with scoring dot', opts: { q: [2.5e38], k: [1, 0.5], dim: 1, scoring: 'dot' }, weights: [1, 0] },
  { name: 'q = [-2.5e38] with scoring dot, equal keys', opts: { q: [-2.5e38], k: [1, 1], dim: 1, scoring: 'dot' }, weights: [0.5, 0.5] },
  { name: 'temperature 1e-40', opts: { q: [1, 0], k: [1, 0, 0, 1], dim: 2, temperature: 1e-40 }, weights: [1, 0] },
  { name: 'logits ±FLT_MAX', opts: { q: [F], k: [-1, 1, -1], dim: 1, scoring: 'dot' }, weights: [0, 1, 0] },
  { name: 'logits an ulp (2^104) apart', opts: { q: [F], k: [1, 0.99999994, -1], dim: 1, scoring: 'dot' }, weights: [1, 0, 0] },
  { name: 'q·k overflowing to +Infinity', opts: { q: [3e38], k: [2, 3, 1, -2], dim: 1, scoring: 'dot' }, weights: [0.5, 0.5, 0, 0] },
];

for (const backend of BACKENDS) {
  for (const c of CASES) {
    test(`${backend}: ${c.name} gives the same weights and output on both paths`, async () => {
      const qkv = await load(backend);
      const keys = c.weights.length, v = V.slice(0, 2 * keys);
      const online = qkv.attention({ ...c.opts, v }).output;
      const full = qkv.attention({ ...c.opts, v, returnWeights: true });
      assert.deepEqual([...full.weights], c.weights);
      const want = [0, 1].map((x) => c.weights.reduce((s, w, j) => s + w * v[2 * j + x], 0));
      for (const out of [full.output, online]) {
        assert.ok(out.every((o, x) => Math.abs(o - want[x]) <= 1e-6 * Math.abs(want[x])), `${[...out]} against ${want}`);
      }
    });
  }

  test(`${backend}: across the float32 range, output only equals the weights of the module's own float32 logits`, async () => {
    const qkv = await load(backend);
    const r = rng(backend.length + 40);
    // Magnitudes from 2^-60 to 2^60: logits from tiny to overflowing; masks mixing ±FLT_MAX, 2^100…2^126,
    // small values and -Infinity; 1…40 queries and 1…300 keys (several key tiles of the online path).
    const wild = (n) => Array.from({ length: n }, () => (2 * r() - 1) * 2 ** r.int(-60, 60));
    for (let trial = 0; trial < 8; ++trial) {
      const queries = r.int(1, 40), keys = r.int(1, 300), dim = r.int(1, 3), valueDim = 3;
      const additiveMask = trial % 2 ? Array.from({ length: queries * keys }, () => {
        const pick = r.int(0, 7);
        return pick === 0 ? -F : pick === 1 ? F : pick === 2 ? -Infinity : pick === 3 ? 2 ** r.int(100, 126) : r.int(0, 4);
      }) : undefined;
      const opts = { q: wild(queries * dim), k: wild(keys * dim), v: r.array(keys * valueDim), dim, valueDim, scoring: 'dot',
        causal: trial % 3 === 0, additiveMask };
      const online = qkv.attention(opts).output;
      const full = qkv.attention({ ...opts, returnWeights: true, returnLogits: true });
      for (let i = 0; i < queries; ++i) {
        const w = softmaxOfFloat32([...full.logits.subarray(i * keys, (i + 1) * keys)]);
        for (let j = 0; j < keys; ++j) assert.ok(Math.abs(full.weights[i * keys + j] - w[j]) <= 1e-6, `trial ${trial}, weight ${i},${j}`);
        for (let x = 0; x < valueDim; ++x) {
          const o = online[i * valueDim + x];
          assert.ok(Number.isFinite(o) && Math.abs(o - full.output[i * valueDim + x]) <= 1e-5, `trial ${trial}, output ${i},${x}: ${o}`);
        }
      }
    }
  });
}
