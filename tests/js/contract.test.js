// The JavaScript API under hostile or careless use (issue 12, items 4 and 6–10): strict options,
// float32 range checks, masks, `out` aliasing an input, Tensors that cannot be faked, getters that
// change their answer or call back in, and the messages of failed loads. Each test is one finding;
// each failed on the package before the fix (run against it once to check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { attentionRef, rng, maxAbsDiff } from './reference.js';
import { BACKENDS, load } from './backends.js';

const lib = new URL('../../lib/', import.meta.url);
const model = () => import(new URL('model.js', lib));
const F32_TOL = 2e-5;

// An error of the package's contract: its class, its code, and a message matching `message`.
function contract(type, code, message) {
  return (e) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.code, code, `code of: ${e.message}`);
    assert.match(e.message, message);
    return true;
  };
}

const small = () => ({ q: Float32Array.of(1, 0, 0, 1), k: Float32Array.of(1, 0, 0, 1, 1, 1), v: Float32Array.of(1, 2, 3, 4, 5, 6), dim: 2 });

for (const backend of BACKENDS) {
  test(`${backend}: #4 NaN and +Infinity in additiveMask are refused; -Infinity still masks`, async () => {
    const qkv = await load(backend);
    for (const [bad, shown] of [[NaN, 'NaN'], [Infinity, 'Infinity']]) {
      const additiveMask = Float32Array.of(0, 0, 0, 0, bad, 0);
      assert.throws(() => qkv.attention({ ...small(), additiveMask }),
        contract(RangeError, 'ERR_QKV_NON_FINITE', new RegExp(`additiveMask must hold finite numbers or -Infinity, received ${shown} at index 4`)));
      const resident = qkv.tensor(additiveMask);
      assert.throws(() => qkv.attention({ ...small(), additiveMask: resident }), contract(RangeError, 'ERR_QKV_NON_FINITE', /additiveMask/));
      resident.free();
    }
    const r = qkv.attention({ ...small(), additiveMask: [0, -Infinity, 0, 0, 0, 0], returnWeights: true });
    assert.equal(r.weights[1], 0, 'a -Infinity entry masks its key');
    assert.ok(Math.abs(r.weights[0] + r.weights[2] - 1) < 1e-6);
  });

  test(`${backend}: #6 misspelt options are refused with the nearest known name, in every options object`, async () => {
    const qkv = await load(backend);
    const m = { x: new Float32Array(8), heads: 2, params: { wq: new Float32Array(16), wk: new Float32Array(16), wv: new Float32Array(16), wo: new Float32Array(16) } };
    const cases = [
      [() => qkv.attention({ ...small(), casual: true }), /unknown option "casual"; did you mean "causal"\?/],
      [() => qkv.attention({ ...small(), keyLength: [3] }), /unknown option "keyLength"; did you mean "keyLengths"\?/],
      [() => qkv.attention({ ...small(), temprature: 2 }), /unknown option "temprature"; did you mean "temperature"\?/],
      [() => qkv.attention({ ...small(), masks: [1, 1, 1, 1, 1, 1] }), /unknown option "masks"; did you mean "mask"\?/],
      [() => qkv.attention({ ...small(), returnWeight: true }), /unknown option "returnWeight"; did you mean "returnWeights"\?/],
      [() => qkv.attention({ ...small(), out: { outptu: new Float32Array(4) } }), /unknown key in out "outptu"; did you mean "output"\?/],
      [() => qkv.attention({ ...small(), scoring: 'additive', additive: { wq: [1, 0], wk: [1, 0], va: [1], vb: [1] } }), /unknown key in additive "vb"; did you mean "va"\?/],
      [() => qkv.multiHeadAttention({ ...m, intermediate: true }), /unknown option "intermediate"; did you mean "intermediates"\?/],
      [() => qkv.multiHeadAttention({ ...m, params: { ...m.params, bqq: new Float32Array(4) } }), /unknown key in params "bqq"; did you mean "bq"\?/],
      [() => qkv.multiHeadAttention({ ...m, out: { headOutput: new Float32Array(8) } }), /unknown key in out "headOutput"; did you mean "headOutputs"\?/],
      [() => qkv.attention({ ...small(), zzzzzzzz: 1 }), /unknown option "zzzzzzzz" \(known: q, k, v, /],
    ];
    for (const [call, message] of cases) assert.throws(call, contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', message));
    await assert.rejects(async () => (await import(new URL('index.js', lib))).loadAttention({ backnd: 'simd' }),
      contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /loadAttention: unknown option "backnd"; did you mean "backend"\?/));
    const { loadModel, loadEmbeddings } = await model();
    await assert.rejects(async () => loadModel(undefined, { attention: qkv, onprogress: () => {} }),
      contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /loadModel: unknown option "onprogress"; did you mean "onProgress"\?/));
    await assert.rejects(async () => loadEmbeddings(undefined, { asset: '/x/' }),
      contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /loadEmbeddings: unknown option "asset"; did you mean "assets"\?/));
    const tiny = await loadModel(undefined, { attention: qkv });
    assert.throws(() => tiny.run('the cat', { topk: 3 }), contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /model.run: unknown option "topk"; did you mean "topK"\?/));
    tiny.free();
  });

  test(`${backend}: #7 out aliasing an input gives the numbers of a call without aliasing`, async () => {
    const qkv = await load(backend);
    const r = rng(7), n = 300, d = 8;
    const q = r.array(n * d), k = r.array(n * d), v = r.array(n * d);
    const want = attentionRef({ q, k, v, queries: n, keys: n, dim: d, valueDim: d }).output;
    for (const aliased of ['q', 'k', 'v']) {
      const t = { q: qkv.tensor(q), k: qkv.tensor(k), v: qkv.tensor(v) };
      const { output } = qkv.attention({ q: t.q, k: t.k, v: t.v, dim: d, out: { output: t[aliased] } });
      assert.equal(output, t[aliased], 'the result is the given Tensor');
      assert.ok(maxAbsDiff(output.toFloat32Array(), want) < F32_TOL, `out.output = ${aliased}: ${maxAbsDiff(output.toFloat32Array(), want)}`);
      for (const x of Object.values(t)) x.free();
    }
    // A view of the module's memory counts as that memory, like the Tensor it views.
    const tq = qkv.tensor(q), tk = qkv.tensor(k), tv = qkv.tensor(v);
    const { output } = qkv.attention({ q: tq, k: tk, v: tv, dim: d, out: { output: tv.array } });
    assert.ok(maxAbsDiff(tv.toFloat32Array(), want) < F32_TOL, 'out.output = v.array');
    assert.equal(output.length === 0 || output.length === n * d, true);
    // Two outputs in the same memory: which numbers would end up there is not defined, so refused.
    tv.set(v);
    const w = qkv.tensor(n * n);
    const { weights } = qkv.attention({ q: tq, k: tk, v: tv, dim: d, returnWeights: true, out: { output: tq, weights: w } });
    assert.equal(weights, w);
    assert.ok(maxAbsDiff(tq.toFloat32Array(), want) < F32_TOL, 'out.output = q with out.weights');
    const both = qkv.tensor(Math.max(n * d, n * n));
    assert.throws(() => qkv.attention({ q: tq, k: tk, v: tv, dim: d, queries: n, returnWeights: true,
      out: { output: new Float32Array(both.array.buffer, both.array.byteOffset, n * d), weights: new Float32Array(both.array.buffer, both.array.byteOffset, n * n) } }),
    contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /out.output and out.weights share memory/));
    for (const x of [tq, tk, tv, w, both]) x.free();
  });

  test(`${backend}: #8 a Tensor's length and address cannot be faked`, async () => {
    const qkv = await load(backend);
    const Tensor = qkv.tensor(1).constructor;
    assert.throws(() => new Tensor(qkv, 8, 1e6), contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /use qkv.tensor/));
    const q = qkv.tensor([1, 0, 0, 1]), neighbour = qkv.tensor([7, 7, 7, 7, 7, 7, 7, 7]);
    assert.throws(() => { q.length = 8; }, TypeError, 'length is read-only');
    assert.throws(() => Object.defineProperty(q, 'length', { value: 8 }), TypeError, 'and cannot be redefined');
    assert.equal(q.length, 4);
    // A Float32Array whose length property lies is read for what it holds.
    const lying = Float32Array.of(1, 0, 0, 1);
    Object.defineProperty(lying, 'length', { value: 4096 });
    const out = qkv.tensor(4);
    const r1 = qkv.attention({ q: lying, k: [1, 0, 0, 1], v: [1, 2, 3, 4], dim: 2, out: { output: out } });
    assert.equal(r1.shape.queries, 2, 'the real length');
    assert.deepEqual([...neighbour.array], [7, 7, 7, 7, 7, 7, 7, 7], 'the neighbour is untouched');
    const short = new Float32Array(2);
    Object.defineProperty(short, 'length', { value: 4 });
    assert.throws(() => qkv.attention({ q: [1, 0, 0, 1], k: [1, 0, 0, 1], v: [1, 2, 3, 4], dim: 2, out: { output: short } }),
      contract(RangeError, 'ERR_QKV_OUT_OF_RANGE', /out.output must hold 4 numbers, received 2/));
    for (const t of [q, neighbour, out]) t.free();
  });

  test(`${backend}: #8 options are read once: a getter that answers a longer array later is not read again`, async () => {
    const qkv = await load(backend);
    const guard = qkv.tensor(4096).array.fill(5); // memory after the staging block, watched below
    let reads = 0;
    const options = {
      k: [1, 0, 0, 1], v: [1, 2, 3, 4], dim: 2,
      get q() { return ++reads === 1 ? [1, 0, 0, 1] : new Array(4096).fill(1); },
    };
    const r = qkv.attention(options);
    assert.equal(reads, 1, 'q was read once');
    assert.equal(r.shape.queries, 2);
    assert.ok(guard.every((x) => x === 5) || guard.length === 0, 'nothing written past the inputs');
  });

  test(`${backend}: #8 a call made from inside an option's getter does not break the call reading it`, async () => {
    const qkv = await load(backend);
    const inner = { q: [0, 1], k: [1, 0, 0, 1, 1, 1], v: [9, 8, 7, 6, 5, 4], dim: 2, returnWeights: true };
    const innerAlone = qkv.attention(inner);
    const outerAlone = qkv.attention({ ...small(), returnWeights: true });
    let innerResult;
    const outer = qkv.attention({
      ...small(), returnWeights: true,
      get v() { innerResult = qkv.attention(inner); return Float32Array.of(1, 2, 3, 4, 5, 6); },
    });
    assert.deepEqual([...outer.output], [...outerAlone.output], 'the outer call is unchanged by the call inside it');
    assert.deepEqual([...outer.weights], [...outerAlone.weights]);
    assert.deepEqual([...innerResult.output], [...innerAlone.output], 'and the inner call gave its own numbers');
  });

  test(`${backend}: #9 checks that accepted bad values`, async () => {
    const qkv = await load(backend);
    for (const scoring of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.throws(() => qkv.attention({ ...small(), scoring }), contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /scoring must be 'dot', 'scaled_dot' or 'additive'/));
      assert.throws(() => qkv.multiHeadAttention({ x: [1, 2], params: { wq: [1], wk: [1], wv: [1], wo: [1] }, scoring }), contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /scoring must be 'dot' or 'scaled_dot'/));
    }
    for (const [name, value, shown] of [['scale', 1e-46, /scale must be a finite non-zero number, received 1e-46, which is 0 as a float32/],
      ['scale', 1e39, /scale must be a finite non-zero number, received 1e\+39, which is Infinity as a float32/],
      ['scale', -1e39, /received -1e\+39/], ['temperature', 1e-46, /temperature must be a finite number > 0, received 1e-46, which is 0 as a float32/],
      ['temperature', 1e39, /temperature must be a finite number > 0, received 1e\+39/], ['temperature', -1, /received -1$/]]) {
      assert.throws(() => qkv.attention({ ...small(), [name]: value }), contract(RangeError, 'ERR_QKV_OUT_OF_RANGE', shown));
    }
    for (const [name, value] of [['returnWeights', 'no'], ['returnScores', 1], ['returnLogits', 'true'], ['causal', 'true'], ['causal', 0]]) {
      assert.throws(() => qkv.attention({ ...small(), [name]: value }), contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', new RegExp(`${name} must be true or false`)));
    }
    const { loadModel } = await model();
    const tiny = await loadModel(undefined, { attention: qkv });
    assert.throws(() => tiny.run('the cat', { truncate: 'yes' }), contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /truncate must be true or false/));
    assert.throws(() => tiny.run('the cat', { topK: '3' }), contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /topK must be a whole number/));
    assert.throws(() => tiny.run('the cat', { topK: 2.5 }), contract(RangeError, 'ERR_QKV_OUT_OF_RANGE', /topK must be a whole number/));
    tiny.free();
    // Values at the float32 edge that are fine are still accepted.
    assert.equal(qkv.attention({ ...small(), scale: 1e-30, temperature: 3e38 }).output.length, 4);
  });

  test(`${backend}: #10 Tensor.set with too much data says so`, async () => {
    const qkv = await load(backend);
    const t = qkv.tensor(4);
    assert.throws(() => t.set([1, 2, 3, 4, 5]), contract(RangeError, 'ERR_QKV_OUT_OF_RANGE', /Tensor.set: data of 5 numbers from offset 0 does not fit in this Tensor of 4 numbers/));
    assert.throws(() => t.set([1, 2], 3), contract(RangeError, 'ERR_QKV_OUT_OF_RANGE', /data of 2 numbers from offset 3 does not fit/));
    assert.throws(() => t.set([1], -1), contract(RangeError, 'ERR_QKV_OUT_OF_RANGE', /offset must be a whole number/));
    assert.deepEqual([...t.set([1, 2], 2).array], [0, 0, 1, 2]);
    t.free();
  });
}

test('#10 a failed fetch names the URL and the option to set; a missing file too', async (t) => {
  const { loadAttention } = await import(new URL('index.js', lib));
  const { loadModel, loadEmbeddings } = await model();
  const server = createServer((req, res) => { res.writeHead(404); res.end(); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${server.address().port}/somewhere/`;
  const hint = /set the `assets` option \(the element's `src` attribute\)/;
  await assert.rejects(loadAttention({ backend: 'scalar', assets: base }), (e) => {
    contract(Error, 'ERR_QKV_ASSET', new RegExp(`could not load qkv-scalar.wasm from ${base}dist/qkv-scalar.wasm \\(HTTP 404`))(e);
    assert.equal(e.name, 'AssetError');
    assert.equal(e.url, `${base}dist/qkv-scalar.wasm`);
    assert.match(e.message, hint);
    return true;
  });
  await assert.rejects(loadAttention({ backend: 'scalar', assets: { 'qkv-scalar.wasm': `${base}x.wasm` } }),
    contract(Error, 'ERR_QKV_ASSET', /could not load qkv-scalar.wasm from http:.*\/somewhere\/x.wasm \(HTTP 404/));
  await assert.rejects(loadEmbeddings(undefined, { assets: base }), contract(Error, 'ERR_QKV_ASSET', /loadEmbeddings: could not load glove-10k.qkv from .*\/somewhere\/models\/glove-10k.qkv \(HTTP 404/));
  await assert.rejects(loadModel(`${base}mine.qkv`, { backend: 'scalar' }), contract(Error, 'ERR_QKV_ASSET', /loadModel: could not load http:.*\/somewhere\/mine.qkv \(HTTP 404/));
  // Nothing listens on a port that was just closed: the network error is named too.
  const closed = createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  await assert.rejects(loadAttention({ backend: 'scalar', assets: `http://127.0.0.1:${port}/` }),
    contract(Error, 'ERR_QKV_ASSET', new RegExp(`could not load qkv-scalar.wasm from http://127.0.0.1:${port}/dist/qkv-scalar.wasm \\(fetch failed: ECONNREFUSED\\)`)));
  await assert.rejects(loadAttention({ assets: 'javascript:alert(1)' }), contract(TypeError, 'ERR_QKV_INVALID_ARGUMENT', /assets must be an http\(s\) URL/));
});

test('#10 garbage wasmBinary is a clear error, and nothing is printed', () => {
  const script = `
    import { loadAttention } from ${JSON.stringify(fileURLToPath(new URL('index.js', lib)))};
    const out = [];
    for (const wasmBinary of [new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8]), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])]) {
      try { await loadAttention({ backend: 'scalar', wasmBinary }); out.push('loaded'); } catch (e) { out.push(e.name + ' ' + e.code + ' ' + e.message); }
    }
    process.stdout.write(JSON.stringify(out));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.stderr, '', 'nothing on stderr');
  const [garbage, empty] = JSON.parse(child.stdout);
  assert.match(garbage, /^AssetError ERR_QKV_ASSET loadAttention: wasmBinary is not a WebAssembly module \(.*\); expected the bytes of qkv-scalar.wasm$/);
  assert.match(empty, /^AssetError ERR_QKV_ASSET loadAttention: wasmBinary is WebAssembly but not this package's qkv-scalar.wasm/);
});
