// The relaxed-SIMD (FMA) build: how it is made (scripts/relax-simd.mjs rewrites clang 14's prototype
// multiply-add opcodes to the final ones, decoding instruction by instruction), what it holds, that
// `auto` picks it where relaxed SIMD validates, and that it agrees with the SIMD128 build. Its results
// against the float64 and PyTorch references are checked with every other build's (BACKENDS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadAttention, relaxedSimdSupported } from '../../lib/index.js';
import { relaxSimd, simdOpcodeCounts } from '../../scripts/relax-simd.mjs';
import { load } from './backends.js'; // sets --experimental-wasm-relaxed-simd before anything compiles
import { rng } from './reference.js';

const dist = (name) => new Uint8Array(readFileSync(new URL(`../../dist/${name}`, import.meta.url)));

// A module with one exported memory and one function `f` whose body is `code` (then `end`): f stores
// its results to memory, so that v128 never crosses into JavaScript.
function moduleWith(code) {
  const body = [0, ...code, 0x0b];
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    1, 4, 1, 0x60, 0, 0, // type 0: [] → []
    3, 2, 1, 0, // func 0: type 0
    5, 3, 1, 0, 1, // memory: min 1 page
    7, 9, 2, 1, 0x66, 0, 0, 1, 0x6d, 2, 0, // exports f, m
    10, body.length + 2, 1, body.length, ...body]);
}
const f32x4 = (...v) => [...new Uint8Array(new Float32Array(v).buffer)];
const vconst = (bytes) => [0xfd, 0x0c, ...bytes];
const store0 = (code) => [0x41, 0, ...code, 0xfd, 0x0b, 4, 0]; // i32.const 0, …, v128.store align 4 offset 0

test('the rewriter turns prototype f32x4.fma/fms into relaxed_madd/nmadd, which compute a·b + c and -a·b + c', async () => {
  const a = f32x4(2, 3, 4, 5), b = f32x4(10, 100, 1000, 1e4), c = f32x4(1, 1, 1, 1);
  for (const [proto, want] of [[0xaf, [21, 301, 4001, 50001]], [0xb0, [-19, -299, -3999, -49999]]]) {
    const bytes = moduleWith(store0([...vconst(a), ...vconst(b), ...vconst(c), 0xfd, proto, 1]));
    assert.equal(WebAssembly.validate(bytes), false, 'no engine accepts the prototype opcode');
    const counts = relaxSimd(bytes);
    assert.deepEqual(counts, proto === 0xaf ? { madd: 1, nmadd: 0 } : { madd: 0, nmadd: 1 });
    const { instance } = await WebAssembly.instantiate(bytes);
    instance.exports.f();
    assert.deepEqual([...new Float32Array(instance.exports.m.buffer, 0, 4)], want);
  }
});

test('the rewriter leaves bytes inside immediates alone and refuses what it does not know', () => {
  // 0xfd 0xaf 0x01 inside a v128.const, a shuffle's lanes and an i32.const is data, not an opcode.
  const hidden = [0xfd, 0xaf, 0x01, 0xfd, 0xb0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const code = store0([...vconst(hidden), ...vconst(hidden), 0xfd, 0x0d, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  const bytes = moduleWith([0x41, 0xfd, 0xaf, 0x01, 0x1a, ...code]);
  const before = bytes.slice();
  assert.deepEqual(relaxSimd(bytes), { madd: 0, nmadd: 0 });
  assert.deepEqual(bytes, before);
  assert.ok(WebAssembly.validate(bytes));
  // Another relaxed-SIMD prototype (0xa2: relaxed swizzle), f64x2 fma (0xcf), and an unknown prefix.
  for (const op of [[0xfd, 0xa2, 0x01], [0xfd, 0xcf, 0x01], [0xfe, 0x00]]) {
    assert.throws(() => relaxSimd(moduleWith(store0([...vconst(hidden), ...vconst(hidden), ...op]))), /refusing|unknown instruction/);
  }
});

test('the FMA build holds relaxed_madd and no prototype opcode; the SIMD128 build holds neither', () => {
  const fma = simdOpcodeCounts(dist('qkv-simd-fma.wasm')), simd = simdOpcodeCounts(dist('qkv-simd.wasm'));
  assert.ok(fma.get(0x105) > 50, `f32x4.relaxed_madd in the FMA build: ${fma.get(0x105)}`);
  for (const proto of [0xaf, 0xb0]) assert.equal(fma.get(proto), undefined);
  assert.equal(simd.get(0x105), undefined);
  assert.ok(simd.get(0xe6) > 50 && simd.get(0xe4) > 50, 'the SIMD128 build multiplies and adds');
});

test('auto picks the FMA build where relaxed SIMD validates', async () => {
  assert.equal(relaxedSimdSupported(), true, 'Node 20 with --experimental-wasm-relaxed-simd');
  assert.equal((await loadAttention()).backend, 'wasm-relaxed-simd');
});

// Agreement within 1e-6 relative to each quantity's scale: outputs (convex combinations of rows of V,
// here in [-1, 1]) within 1e-6 of each other, weights (each row sums to 1) within 1e-6.
test('the FMA and SIMD128 builds agree within 1e-6, output only and with weights', async () => {
  const [fma, simd] = await Promise.all([load('fma'), load('simd')]);
  const r = rng(31);
  for (let trial = 0; trial < 24; ++trial) {
    const heads = r.int(1, 3), queries = r.int(1, 70), keys = r.int(1, 300), dim = r.int(1, 128), valueDim = r.int(1, 40);
    const q = r.array(heads * queries * dim), k = r.array(heads * keys * dim), v = r.array(heads * keys * valueDim);
    const opts = { q, k, v, heads, dim, valueDim, causal: trial % 3 === 0 };
    for (const returnWeights of [false, true]) {
      const a = fma.attention({ ...opts, returnWeights }), b = simd.attention({ ...opts, returnWeights });
      for (let i = 0; i < a.output.length; ++i) assert.ok(Math.abs(a.output[i] - b.output[i]) <= 1e-6, `trial ${trial} output ${i}`);
      if (returnWeights) for (let i = 0; i < a.weights.length; ++i) assert.ok(Math.abs(a.weights[i] - b.weights[i]) <= 1e-6, `trial ${trial} weight ${i}`);
    }
  }
});
