// Both wasm builds against the float64 JavaScript reference: random shapes (covering SIMD tails),
// masks, batch and heads, multi-head self- and cross-attention, and reference-free properties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attentionRef, mhaRef, rng, maxAbsDiff } from './reference.js';
import { BACKENDS, BACKEND_NAMES, KERNEL_NAMES, load } from './backends.js';

const TOL = 2e-6; // float32 attention vs float64, inputs in [-1, 1], d ≤ 70

for (const backend of BACKENDS) {
  test(`${backend}: loads and reports its backend`, async () => {
    const qkv = await load(backend);
    assert.equal(qkv.backend, BACKEND_NAMES[backend]);
    assert.equal(qkv.kernels, KERNEL_NAMES[backend]);
  });

  test(`${backend}: random shapes, batch and heads match the float64 reference`, async () => {
    const qkv = await load(backend);
    const r = rng(backend === 'scalar' ? 2 : 1);
    for (let trial = 0; trial < 80; ++trial) {
      const batch = r.int(1, 3), heads = r.int(1, 3), queries = r.int(1, 20), keys = r.int(1, 20);
      const dim = r.int(1, 70), valueDim = r.int(1, 20);
      const q = r.array(batch * heads * queries * dim), k = r.array(batch * heads * keys * dim);
      const v = r.array(batch * heads * keys * valueDim);
      const temperature = trial % 4 === 0 ? 0.7 : undefined;
      const scoring = trial % 5 === 0 ? 'dot' : 'scaled_dot';
      const got = qkv.attention({ q, k, v, batch, heads, dim, valueDim, temperature, scoring, returnWeights: true });
      const ref = attentionRef({ q, k, v, batch, heads, queries, keys, dim, valueDim, temperature, scoring });
      assert.deepEqual(got.shape, { batch, heads, queries, keys, dim, valueDim });
      assert.ok(maxAbsDiff(got.weights, ref.weights) < TOL, `weights, trial ${trial}`);
      assert.ok(maxAbsDiff(got.output, ref.output) < TOL, `output, trial ${trial}`);
    }
  });

  test(`${backend}: causal, padding, boolean and additive masks match the reference`, async () => {
    const qkv = await load(backend);
    const r = rng(7);
    for (let trial = 0; trial < 40; ++trial) {
      const batch = 2, heads = 2, queries = r.int(1, 12), keys = r.int(1, 12), dim = r.int(1, 9), valueDim = r.int(1, 9);
      const q = r.array(batch * heads * queries * dim), k = r.array(batch * heads * keys * dim), v = r.array(batch * heads * keys * valueDim);
      const full = trial % 2 === 0;
      const planeN = (full ? batch * heads : 1) * queries * keys;
      const mask = Array.from({ length: planeN }, () => r() > 0.25);
      const additiveMask = r.array(planeN, -2, 2);
      const keyLengths = [r.int(0, keys), keys];
      const causal = trial % 3 === 0;
      const opts = { q, k, v, batch, heads, queries, keys, dim, valueDim, causal, mask, additiveMask, keyLengths };
      const got = qkv.attention({ ...opts, returnWeights: true });
      const ref = attentionRef(opts);
      assert.ok(maxAbsDiff(got.weights, ref.weights) < TOL, `weights, trial ${trial}`);
      assert.ok(maxAbsDiff(got.output, ref.output) < TOL, `output, trial ${trial}`);
    }
  });

  test(`${backend}: output only (online softmax) equals the materialised path within 1e-5`, async () => {
    const qkv = await load(backend);
    const r = rng(16);
    for (let trial = 0; trial < 16; ++trial) {
      // Across the core's 32-query blocks and 128-key tiles, with tails.
      const batch = 2, heads = 1 + (trial % 2), queries = r.int(1, 75), keys = r.int(1, 300), dim = r.int(1, 70), valueDim = r.int(1, 20);
      const q = r.array(batch * heads * queries * dim), k = r.array(batch * heads * keys * dim), v = r.array(batch * heads * keys * valueDim);
      const opts = { q, k, v, batch, heads, queries, keys, dim, valueDim, causal: trial % 3 === 0 };
      if (trial % 2 === 1) opts.keyLengths = [r.int(0, keys), keys];
      if (trial % 4 === 2) opts.mask = Array.from({ length: queries * keys }, () => r() > 0.2);
      // +87…93 on every logit overflows exp in float32 unless the running max is subtracted.
      if (trial % 4 === 3) opts.additiveMask = r.array(queries * keys, 87, 93);
      const materialised = qkv.attention({ ...opts, returnWeights: true }).output;
      const online = qkv.attention(opts).output;
      assert.ok(maxAbsDiff(online, materialised) < 1e-5, `online vs materialised, trial ${trial}`);
      assert.ok(maxAbsDiff(online, attentionRef(opts).output) < TOL + 1e-7 * dim, `online vs float64, trial ${trial}`);
    }
  });

  test(`${backend}: scores and logits are the steps before softmax`, async () => {
    const qkv = await load(backend);
    const r = rng(8);
    const dim = 4, q = r.array(3 * dim), k = r.array(5 * dim), v = r.array(5 * 2);
    const got = qkv.attention({ q, k, v, dim, causal: true, temperature: 2, returnScores: true, returnLogits: true, returnWeights: true });
    for (let i = 0; i < 3; ++i) {
      for (let j = 0; j < 5; ++j) {
        let dot = 0;
        for (let c = 0; c < dim; ++c) dot += q[i * dim + c] * k[j * dim + c];
        assert.ok(Math.abs(got.scores[i * 5 + j] - dot) < 1e-6, 'score is Q·K');
        const logit = j <= i ? dot / Math.sqrt(dim) / 2 : -Infinity;
        if (j <= i) assert.ok(Math.abs(got.logits[i * 5 + j] - logit) < 1e-6, 'logit is Q·K/√d/T');
        else assert.equal(got.logits[i * 5 + j], -Infinity);
      }
    }
  });

  test(`${backend}: properties — rows sum to 1, shift invariance, causal row 0, key permutation, all-masked rows`, async () => {
    const qkv = await load(backend);
    const r = rng(9);
    const nq = 6, nk = 9, dim = 5, dv = 3;
    const q = r.array(nq * dim), k = r.array(nk * dim), v = r.array(nk * dv);
    const base = qkv.attention({ q, k, v, dim, returnWeights: true });
    for (let i = 0; i < nq; ++i) {
      const s = base.weights.subarray(i * nk, (i + 1) * nk).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(s - 1) < 1e-6, `row ${i} sums to ${s}`);
    }
    const shifted = qkv.attention({ q, k, v, dim, additiveMask: new Float32Array(nq * nk).fill(37.5), returnWeights: true });
    assert.ok(maxAbsDiff(shifted.weights, base.weights) < 1e-6, 'adding a constant to every score changes nothing');
    const causal = qkv.attention({ q, k, v, dim, causal: true, returnWeights: true });
    assert.equal(causal.weights[0], 1);
    for (let j = 1; j < nk; ++j) assert.equal(causal.weights[j], 0);
    const perm = Array.from({ length: nk }, (_, i) => i).sort(() => r() - 0.5);
    const kp = new Float32Array(nk * dim), vp = new Float32Array(nk * dv);
    perm.forEach((p, j) => { kp.set(k.subarray(p * dim, (p + 1) * dim), j * dim); vp.set(v.subarray(p * dv, (p + 1) * dv), j * dv); });
    const permuted = qkv.attention({ q, k: kp, v: vp, dim, returnWeights: true });
    assert.ok(maxAbsDiff(permuted.output, base.output) < 1e-6, 'permuting keys and values together leaves the output');
    const none = qkv.attention({ q, k, v, dim, keyLengths: [0], returnWeights: true });
    assert.ok(none.weights.every((w) => w === 0) && none.output.every((o) => o === 0), 'a fully masked row is all zeros');
  });

  test(`${backend}: softmax does not overflow for scores around 90–100`, async () => {
    const qkv = await load(backend);
    const r = rng(10);
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17]) {
      // With dot scoring and one-hot queries the scores are the keys' entries: 90–100.
      const q = new Float32Array(n).fill(0); q[0] = 1;
      const k = r.array(n, 90, 100), v = r.array(n);
      const opts = { q, k: Float32Array.from(k), v, dim: 1, queries: n, keys: n, scoring: 'dot' };
      const got = qkv.attention({ ...opts, returnWeights: true });
      const ref = attentionRef({ q, k, v, queries: n, keys: n, dim: 1, valueDim: 1, scoring: 'dot' });
      assert.ok(got.weights.every(Number.isFinite));
      assert.ok(maxAbsDiff(got.weights, ref.weights) < 1e-6, `n=${n}`);
      // Output only: the online path, whose running max must be subtracted as well.
      const online = qkv.attention(opts).output;
      assert.ok(online.every(Number.isFinite), `online, n=${n}`);
      assert.ok(maxAbsDiff(online, ref.output) < 1e-5, `online output, n=${n}`);
    }
  });

  test(`${backend}: additive (Bahdanau) scoring matches the reference`, async () => {
    const qkv = await load(backend);
    const r = rng(11);
    const nq = 3, nk = 4, dim = 5, da = 6;
    const q = r.array(nq * dim), k = r.array(nk * dim), v = r.array(nk * 2);
    const wq = r.array(dim * da), wk = r.array(dim * da), va = r.array(da);
    const got = qkv.attention({ q, k, v, dim, scoring: 'additive', additive: { wq, wk, va }, returnWeights: true, returnScores: true });
    for (let i = 0; i < nq; ++i) {
      const row = [];
      for (let j = 0; j < nk; ++j) {
        let s = 0;
        for (let t = 0; t < da; ++t) {
          let u = 0;
          for (let c = 0; c < dim; ++c) u += q[i * dim + c] * wq[c * da + t] + k[j * dim + c] * wk[c * da + t];
          s += va[t] * Math.tanh(u);
        }
        row.push(s);
        assert.ok(Math.abs(got.scores[i * nk + j] - s) < 1e-5);
      }
      const mx = Math.max(...row), e = row.map((x) => Math.exp(x - mx)), sum = e.reduce((a, b) => a + b);
      e.forEach((x, j) => assert.ok(Math.abs(got.weights[i * nk + j] - x / sum) < 2e-6));
    }
  });

  test(`${backend}: multi-head self- and cross-attention match the float64 reference`, async () => {
    const qkv = await load(backend);
    const r = rng(12);
    for (let trial = 0; trial < 12; ++trial) {
      const heads = r.int(1, 4), dModel = heads * r.int(1, 6), batch = r.int(1, 2), length = r.int(1, 9);
      const cross = trial % 2 === 1;
      const contextLength = cross ? r.int(1, 9) : length, dContext = cross ? r.int(1, 11) : dModel;
      const params = { wq: r.array(dModel * dModel), wk: r.array(dContext * dModel), wv: r.array(dContext * dModel), wo: r.array(dModel * dModel),
        bq: r.array(dModel), bk: r.array(dModel), bv: r.array(dModel), bo: r.array(dModel) };
      const x = r.array(batch * length * dModel);
      const context = cross ? r.array(batch * contextLength * dContext) : undefined;
      const causal = !cross && trial % 4 === 0;
      const got = qkv.multiHeadAttention({ x, context, params, heads, batch, causal, intermediates: ['weights', 'q', 'concat'] });
      const ref = mhaRef({ x, context, params, batch, heads, dModel, length, contextLength, dContext, causal });
      assert.ok(maxAbsDiff(got.weights, ref.weights) < 1e-5, `weights, trial ${trial}`);
      assert.ok(maxAbsDiff(got.output, ref.output) < 1e-4, `output, trial ${trial}`);
      assert.equal(got.q.length, batch * heads * length * (dModel / heads));
      assert.equal(got.concat.length, batch * length * dModel);
    }
  });

  test(`${backend}: resident tensors compute the same with no copies, and survive memory growth`, async () => {
    const qkv = await load(backend);
    const r = rng(13);
    const n = 10, dim = 8;
    const q = r.array(n * dim), k = r.array(n * dim), v = r.array(n * dim);
    const copied = qkv.attention({ q, k, v, dim, returnWeights: true });
    const tq = qkv.tensor(q), tk = qkv.tensor(k), tv = qkv.tensor(v), out = qkv.tensor(n * dim), w = qkv.tensor(n * n);
    const res = qkv.attention({ q: tq, k: tk, v: tv, dim, returnWeights: true, out: { output: out, weights: w } });
    assert.equal(res.output, out);
    assert.deepEqual(out.toFloat32Array(), copied.output);
    assert.deepEqual(w.toFloat32Array(), copied.weights);
    const big = qkv.tensor(8 * 2 ** 20); // 32 MiB: grows memory and detaches old views
    assert.deepEqual(out.toFloat32Array(), copied.output, 'tensor contents survive growth (views are re-taken)');
    qkv.attention({ q: tq, k: tk, v: tv, dim, out: { output: out } });
    // Without weights the output comes from the online-softmax path: the same to float32 rounding.
    assert.ok(maxAbsDiff(out.toFloat32Array(), copied.output) < 1e-6);
    for (const t of [tq, tk, tv, out, w, big]) t.free();
    assert.throws(() => qkv.attention({ q: tq, k, v, dim }), { name: 'TypeError', message: /q: this Tensor was freed/ });
  });

  test(`${backend}: Float32Array out targets are filled in place`, async () => {
    const qkv = await load(backend);
    const r = rng(14);
    const q = r.array(8), k = r.array(8), v = r.array(8);
    const output = new Float32Array(8);
    const res = qkv.attention({ q, k, v, dim: 2, out: { output } });
    assert.equal(res.output, output);
    assert.deepEqual(output, qkv.attention({ q, k, v, dim: 2 }).output);
  });
}

test('every build agrees closely with the others', async () => {
  const builds = await Promise.all(BACKENDS.map(load));
  const r = rng(15);
  const q = r.array(4 * 33 * 17), k = r.array(4 * 29 * 17), v = r.array(4 * 29 * 9);
  const opts = { q, k, v, heads: 4, dim: 17, returnWeights: true, causal: true };
  const [a, ...others] = builds.map((qkv) => qkv.attention(opts));
  for (const b of others) {
    assert.ok(maxAbsDiff(a.output, b.output) < 1e-6);
    assert.ok(maxAbsDiff(a.weights, b.weights) < 1e-6);
  }
});
