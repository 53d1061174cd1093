// One test per kind of bad input: each throws a catchable TypeError or RangeError that names the
// argument, what was expected and what was received — and the next call works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAttention } from '../../lib/index.js';
import { BACKENDS, load } from './backends.js';

const good = () => ({ q: new Float32Array(6), k: new Float32Array(8), v: new Float32Array(8), dim: 2 });
const params = () => ({ wq: new Float32Array(16), wk: new Float32Array(16), wv: new Float32Array(16), wo: new Float32Array(16) });

const CASES = [
  ['options not an object', () => 'q', TypeError, /options must be an object, received the string "q"/],
  ['q missing', () => ({ ...good(), q: undefined }), TypeError, /q is required/],
  ['q of the wrong type', () => ({ ...good(), q: 'abc' }), TypeError, /q must be a Float32Array.*received the string "abc"/],
  ['q holding a string', () => ({ ...good(), q: [1, 2, 'x', 4, 5, 6] }), TypeError, /q\[2\] must be a number, received the string "x"/],
  ['k of the wrong length', () => ({ ...good(), k: new Float32Array(7) }), RangeError, /cannot infer keys: k has 7 numbers.*batch×heads×dim = 2/],
  ['v of the wrong length', () => ({ ...good(), valueDim: 3 }), RangeError, /v must hold batch×heads×keys×valueDim = 1×1×4×3 = 12 numbers, received 8/],
  ['neither dim nor queries', () => ({ ...good(), dim: undefined }), TypeError, /pass dim/],
  ['dim not an integer', () => ({ ...good(), dim: 1.5 }), RangeError, /dim must be a positive integer, received 1.5/],
  ['heads zero', () => ({ ...good(), heads: 0 }), RangeError, /heads must be a positive integer, received 0/],
  ['batch of the wrong type', () => ({ ...good(), batch: '2' }), TypeError, /batch must be a positive integer, received the string "2"/],
  ['temperature zero', () => ({ ...good(), temperature: 0 }), RangeError, /temperature must be a finite number > 0, received 0/],
  ['scale NaN', () => ({ ...good(), scale: NaN }), RangeError, /scale must be a finite non-zero number, received NaN/],
  ['causal not a boolean', () => ({ ...good(), causal: 'yes' }), TypeError, /causal must be true or false/],
  ['unknown scoring', () => ({ ...good(), scoring: 'cosine' }), TypeError, /scoring must be 'dot', 'scaled_dot' or 'additive', received the string "cosine"/],
  ['additive without weights', () => ({ ...good(), scoring: 'additive' }), TypeError, /needs additive: \{ wq, wk, va \}/],
  ['mask of the wrong length', () => ({ ...good(), mask: new Uint8Array(5) }), RangeError, /mask must hold queries×keys = 3×4 = 12 entries.*received 5/],
  ['mask of the wrong type', () => ({ ...good(), mask: new Float32Array(12) }), TypeError, /mask must be a Uint8Array or an array of booleans/],
  ['keyLengths out of range', () => ({ ...good(), keyLengths: [5] }), RangeError, /keyLengths\[0\] must be an integer in \[0, 4\], received 5/],
  ['keyLengths of the wrong count', () => ({ ...good(), keyLengths: [1, 2] }), RangeError, /keyLengths must hold one length per batch item \(1\), received 2/],
  ['NaN in q', () => ({ ...good(), q: Float32Array.of(0, 0, NaN, 0, 0, 0) }), RangeError, /q must hold finite numbers, received NaN at index 2/],
  ['Infinity in v', () => ({ ...good(), v: Float32Array.of(0, 0, 0, Infinity, 0, 0, 0, 0) }), RangeError, /v must hold finite numbers, received an infinity at index 3/],
  ['out of the wrong length', () => ({ ...good(), out: { output: new Float32Array(3) } }), RangeError, /out.output must hold 6 numbers, received 3/],
  ['too large for memory', () => ({ q: { length: 0 }, k: new Float32Array(2), v: new Float32Array(2), dim: 1 }), TypeError, /q must be a Float32Array/],
];

for (const backend of BACKENDS) {
  for (const [name, make, type, message] of CASES) {
    test(`${backend}: attention — ${name}`, async () => {
      const qkv = await load(backend);
      assert.throws(() => qkv.attention(make()), (e) => {
        assert.ok(e instanceof type, `expected ${type.name}, got ${e.constructor.name}: ${e.message}`);
        assert.match(e.message, message);
        assert.match(e.message, /^qkv\.attention: /);
        return true;
      });
      // The module still works after the error.
      const ok = qkv.attention({ ...good(), q: Float32Array.of(1, 0, 0, 1, 1, 1), returnWeights: true });
      assert.equal(ok.weights.length, 12);
      assert.ok(ok.weights.every(Number.isFinite));
    });
  }

  test(`${backend}: multiHeadAttention — bad params, heads and shapes`, async () => {
    const qkv = await load(backend);
    const x = new Float32Array(12);
    assert.throws(() => qkv.multiHeadAttention({ x, heads: 2 }), { name: 'TypeError', message: /params must be an object/ });
    assert.throws(() => qkv.multiHeadAttention({ x, heads: 3, params: params() }), { name: 'RangeError', message: /heads must divide dModel: dModel 4 is not a multiple of heads 3/ });
    assert.throws(() => qkv.multiHeadAttention({ x, heads: 2, params: { ...params(), wq: new Float32Array(15) } }), { name: 'RangeError', message: /params.wq must be dModel×dModel; its length 15 is not a square/ });
    assert.throws(() => qkv.multiHeadAttention({ x, heads: 2, params: { ...params(), bo: new Float32Array(3) } }), { name: 'RangeError', message: /params.bo must hold dModel = 4 = 4 numbers, received 3/ });
    assert.throws(() => qkv.multiHeadAttention({ x: new Float32Array(10), heads: 2, params: params() }), { name: 'RangeError', message: /cannot infer the sequence length: x has 10 numbers/ });
    assert.throws(() => qkv.multiHeadAttention({ x, heads: 2, params: params(), intermediates: ['attention'] }), { name: 'TypeError', message: /unknown name the string "attention"/ });
    assert.throws(() => qkv.multiHeadAttention({ x, heads: 2, params: params(), scoring: 'additive' }), { name: 'TypeError', message: /scoring must be 'dot' or 'scaled_dot'/ });
    const ok = qkv.multiHeadAttention({ x, heads: 2, params: params() });
    assert.equal(ok.output.length, 12);
  });

  test(`${backend}: a request over the memory limit is a RangeError, and the module lives on`, async () => {
    const qkv = await load(backend);
    // 40k × 40k weights = 6.4 GB: over the 2 GiB wasm limit.
    const n = 40000, q = new Float32Array(n), k = new Float32Array(n), v = new Float32Array(n);
    assert.throws(() => qkv.attention({ q, k, v, dim: 1, returnWeights: true }), (e) => e instanceof RangeError && /over the 2048 MiB limit|out of memory|larger than the address space/.test(e.message));
    assert.throws(() => qkv.tensor(2 ** 30), { name: 'RangeError', message: /qkv.tensor: needs 4096.0 MiB more WebAssembly memory/ });
    const ok = qkv.attention({ ...good(), returnWeights: true });
    assert.equal(ok.weights.length, 12);
  });
}

test('loadAttention rejects bad options clearly', async () => {
  await assert.rejects(loadAttention('simd'), { name: 'TypeError', code: 'ERR_QKV_INVALID_ARGUMENT', message: /options must be an object/ });
  await assert.rejects(loadAttention({ backend: 'gpu' }), { name: 'TypeError', message: /backend must be one of 'auto', 'fma', 'simd', 'scalar', received the string "gpu"/ });
});

test('many calls, errors among them, do not grow memory (nothing leaks per call)', async () => {
  const qkv = await load('simd');
  const q = new Float32Array(32 * 16).fill(0.1), k = new Float32Array(32 * 16).fill(0.2), v = new Float32Array(32 * 16).fill(0.3);
  const call = () => qkv.attention({ q, k, v, dim: 16, returnWeights: true, causal: true });
  for (let i = 0; i < 50; ++i) call(); // reach steady state
  const before = qkv.memoryBytes;
  for (let i = 0; i < 2000; ++i) {
    call();
    if (i % 10 === 0) assert.throws(() => qkv.attention({ q, k, v: new Float32Array(3), dim: 16 }), RangeError);
    qkv.tensor(65536).free(); // 256 KiB each: 2000 leaked would need 500 MiB more
  }
  assert.equal(qkv.memoryBytes, before);
});
