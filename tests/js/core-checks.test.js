// The core's own checks, in both wasm builds, where size_t has 32 bits (issue 12, items 2 and 4).
// The package validates first, so these call the module's frames directly, as the JavaScript wrapper
// does, with what a bug or a hostile caller could put there: sizes that wrap 32 bits, NaN and
// +Infinity in an additive mask. Each must be an error status and lastError(), never a trap, an
// overrun or a silently wrong result, and the module keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeOf } from '../../lib/attention.js';
import { BACKENDS, load } from './backends.js';

const OUT_OF_MEMORY = 3, NON_FINITE = 4; // qkv::Code (src/status.h)

// Fills a call frame from { field: value } (types from the module's own frame layout), calls
// `run(frame)`, frees what it allocated and returns the status code.
function callFrame(m, layoutText, fields, run) {
  const layout = layoutText.split(',').filter(Boolean).map((e) => e.split(':'));
  const frame = m._malloc(4 * layout.length), owned = [frame];
  m.HEAP32.fill(0, frame >> 2, (frame >> 2) + layout.length);
  for (const [name, value] of Object.entries(fields)) {
    const i = layout.findIndex(([n]) => n === name);
    assert.ok(i >= 0, `frame field ${name}`);
    let word = value;
    if (ArrayBuffer.isView(value)) { // data: copied into wasm memory, the field gets its address
      word = m._malloc(value.byteLength);
      owned.push(word);
      m.HEAPU8.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), word);
    }
    if (layout[i][1] === 'f32') m.HEAPF32[(frame >> 2) + i] = word;
    else m.HEAP32[(frame >> 2) + i] = word;
  }
  try {
    return run(frame);
  } finally {
    for (const p of owned) m._free(p);
  }
}

const attention = (m, fields) => callFrame(m, m.attentionFrameLayout(), fields, (f) => m._qkv_run_attention(f));
// call: 'modelTensorLayout' (embind, returns text), 'run' or 'check' (the plain exports).
const model = (m, fields, call) => callFrame(m, m.modelFrameLayout(), fields,
  (f) => (call === 'modelTensorLayout' ? m.modelTensorLayout(f) : m[`_qkv_${call}_model`](f)));

for (const backend of BACKENDS) {
  test(`${backend}: issue 12.2: the model layout of d_model 4097 × d_ff 2^20 is refused, not wrapped to 2^20`, async () => {
    const m = bridgeOf(await load(backend)).module;
    const config = { vocabSize: 2, dModel: 4097, layers: 1, heads: 1, dFF: 2 ** 20, maxPositions: 1, normEps: 1e-5 };
    assert.equal(model(m, config, 'modelTensorLayout'), '');
    assert.match(m.lastError(), /^model config: tensor layers\.0\.mlp\.w1 holds more numbers than the address space$/);
    // d_model 65537: d_model² wraps to 131073.
    assert.equal(model(m, { ...config, dModel: 65537, dFF: 1 }, 'check'), OUT_OF_MEMORY);
    assert.match(m.lastError(), /tensor layers\.0\.attn\.wq holds more numbers than the address space/);
    // What fits is listed with shapes, in packed order.
    const small = JSON.parse(model(m, { ...config, dModel: 4, dFF: 8, heads: 2 }, 'modelTensorLayout'));
    assert.deepEqual(small.slice(0, 3), [['tok_emb', [2, 4]], ['pos_emb', [1, 4]], ['layers.0.ln1.weight', [4]]]);
    assert.deepEqual(small.find(([name]) => name === 'layers.0.mlp.w1'), ['layers.0.mlp.w1', [4, 8]]);
  });

  test(`${backend}: issue 12.2: a forward pass whose scratch n·d_ff wraps 32 bits is refused, not overrun`, async () => {
    const qkv = await load(backend), m = bridgeOf(qkv).module;
    // d_model 1, d_ff 2^20, 4,097 tokens: n·(3·d_model + d_ff) = 4097·1048579 floats, which a 32-bit
    // size_t wrapped to about 1 M, and the MLP then wrote 4 G floats into it.
    const config = { vocabSize: 2, dModel: 1, layers: 1, heads: 1, dFF: 2 ** 20, maxPositions: 4097, normEps: 1e-5 };
    const layout = JSON.parse(model(m, config, 'modelTensorLayout'));
    const count = layout.reduce((a, [, shape]) => a + shape.reduce((x, y) => x * y, 1), 0);
    const params = new Float32Array(count).fill(0.01);
    const fields = { ...config, params, paramCount: count, ids: new Int32Array(4097), n: 4097 };
    const before = qkv.memoryBytes;
    assert.equal(model(m, fields, 'run'), OUT_OF_MEMORY);
    assert.match(m.lastError(), /^model: 4097 tokens need more memory than the address space has$/);
    assert.equal(model(m, { ...fields, paramCount: count - 1 }, 'run'), 1);
    assert.match(m.lastError(), new RegExp(`expected ${count} numbers for this config, received ${count - 1}`));
    assert.equal(model(m, { ...fields, ids: new Int32Array(8), n: 8 }, 'run'), 0, 'a short input runs');
    assert.ok(qkv.memoryBytes - before < 64 * 2 ** 20, 'no scratch of the wrapped size was taken');
  });

  test(`${backend}: attention shapes larger than the 32-bit address space are refused before any read`, async () => {
    const qkv = await load(backend), m = bridgeOf(qkv).module;
    const one = new Float32Array([0.5]);
    const w = 2 ** 16, big = 2 ** 31 - 1;
    // batch, heads, queries, keys, dim, valueDim: q, k, v, output or the weights plane past 2^30 floats.
    for (const [batch, heads, queries, keys, dim, valueDim] of [[w, w, 1, 1, 1, 1], [1, 1, big, 1, 2, 1], [1, 1, 2, big, 1, 1],
      [1, 1, 1, 2 ** 15, 1, 2 ** 15], [1, 1, 2 ** 15, 2 ** 15, 1, 1]]) {
      const code = attention(m, { batch, heads, queries, keys, dim, valueDim, q: one, k: one, v: one, output: one, weights: one, scale: 1, temperature: 1, scoring: 1 });
      assert.equal(code, OUT_OF_MEMORY, `${[batch, heads, queries, keys, dim, valueDim]}: ${m.lastError()}`);
      assert.match(m.lastError(), /larger than the address space/);
    }
    assert.equal(qkv.attention({ q: [1], k: [1], v: [2], dim: 1 }).output[0], 2);
  });

  test(`${backend}: issue 12.4: the core refuses NaN and +Infinity in an additive mask, on both paths`, async () => {
    const qkv = await load(backend), m = bridgeOf(qkv).module;
    const q = new Float32Array([1, 0]), k = new Float32Array([1, 0, 0, 1]), v = new Float32Array([1, 2, 3, 4]);
    const base = { batch: 1, heads: 1, queries: 1, keys: 2, dim: 2, valueDim: 2, q, k, v, scoring: 1, scale: 0, temperature: 1,
      additiveMaskBatch: 1, additiveMaskHeads: 1, output: new Float32Array(2) };
    for (const weights of [undefined, new Float32Array(2)]) { // output only (online), and materialised
      for (const [bad, name] of [[NaN, 'NaN'], [Infinity, '\\+Infinity']]) {
        const code = attention(m, { ...base, weights, additiveMask: new Float32Array([0, bad]) });
        assert.equal(code, NON_FINITE, m.lastError());
        assert.match(m.lastError(), new RegExp(`^additiveMask must hold finite numbers or -Infinity \\(to mask a key\\), received ${name} at index 1$`));
      }
      assert.equal(attention(m, { ...base, weights, additiveMask: new Float32Array([0, -Infinity]) }), 0, '-Infinity masks');
    }
    // Through the package: a RangeError naming the mask (the wrapper may catch it before the core does).
    for (const bad of [NaN, Infinity]) {
      assert.throws(() => qkv.attention({ q, k, v, dim: 2, additiveMask: [0, bad] }), (e) => e instanceof RangeError && /additiveMask/.test(e.message));
    }
    const masked = qkv.attention({ q, k, v, dim: 2, additiveMask: [-Infinity, 0], returnWeights: true });
    assert.deepEqual([...masked.weights], [0, 1]);
    assert.deepEqual([...masked.output], [3, 4]);
  });
}
