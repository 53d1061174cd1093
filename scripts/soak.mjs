// Soak run: many attention calls and model runs in one process, printing wasm memory and the JS heap
// at the start, the middle and the end of each phase, so that a leak shows as growth. Calls mix
// copied and resident inputs, out targets, masks, multi-head attention and bad calls that must throw.
//
//   node --experimental-wasm-relaxed-simd --expose-gc scripts/soak.mjs [--calls 100000] [--runs 20000] [--backend fma|simd|scalar|all]
//
// Exits 1 if wasm memory grows after the warm-up, or the JS heap grows by more than 32 MiB.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadAttention } from '../lib/index.js';
import { loadModel } from '../lib/model.js';
import { rng } from '../tests/js/reference.js';

const { values: args } = parseArgs({ options: {
  calls: { type: 'string', default: '100000' }, runs: { type: 'string', default: '20000' }, backend: { type: 'string', default: 'all' },
} });
const MiB = 2 ** 20;
const heap = () => {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
};
const sentences = readFileSync(new URL('../models/MODEL_CARD.md', import.meta.url), 'utf8')
  .split(/(?<=[.!?])\s+/).map((s) => s.replace(/[`*|#_[\]()]/g, ' ').trim()).filter((s) => s.length > 10 && s.length < 200);
let failed = false;

// Runs `count` steps of `step(i)`, reporting memory at the start, the middle and the end.
function phase(name, qkv, count, step) {
  const warm = Math.min(1000, count >> 3);
  for (let i = 0; i < warm; ++i) step(i); // reach the steady state: scratch and staging at their size
  const marks = [];
  const mark = (label) => marks.push({ label, wasm: qkv.memoryBytes, heap: heap() });
  const t0 = performance.now();
  mark('start');
  for (let i = 0; i < count; ++i) {
    step(i);
    if (i === count >> 1) mark('middle');
  }
  mark('end');
  const s = (performance.now() - t0) / 1000;
  console.log(`${qkv.backend} ${name}: ${count} in ${s.toFixed(1)} s; ` +
    marks.map((m) => `${m.label} wasm ${(m.wasm / MiB).toFixed(1)} MiB, heap ${(m.heap / MiB).toFixed(1)} MiB`).join('; '));
  const [start, , end] = marks;
  if (end.wasm !== start.wasm || end.heap - start.heap > 32 * MiB) {
    console.log(`  GROWTH: wasm ${start.wasm} → ${end.wasm} bytes, heap ${(start.heap / MiB).toFixed(1)} → ${(end.heap / MiB).toFixed(1)} MiB`);
    failed = true;
  }
}

for (const backend of args.backend === 'all' ? ['fma', 'simd', 'scalar'] : [args.backend]) {
  const qkv = await loadAttention({ backend });
  const r = rng(7);
  const resident = { q: qkv.tensor(64 * 32), k: qkv.tensor(64 * 32), v: qkv.tensor(64 * 32), out: qkv.tensor(64 * 32) };
  const inputs = Array.from({ length: 16 }, () => ({ n: r.int(1, 64), d: r.int(1, 32) }))
    .map(({ n, d }) => ({ n, d, q: r.array(n * d), k: r.array(n * d), v: r.array(n * d) }));
  const mha = { x: r.array(2 * 9 * 8), params: { wq: r.array(64), wk: r.array(64), wv: r.array(64), wo: r.array(64) } };
  const out = new Float32Array(64 * 32);
  phase('attention calls', qkv, Number(args.calls), (i) => {
    const c = inputs[i % inputs.length];
    switch (i % 8) {
      case 0: qkv.attention({ q: c.q, k: c.k, v: c.v, dim: c.d, returnWeights: true }); break;
      case 1: qkv.attention({ q: c.q, k: c.k, v: c.v, dim: c.d, causal: true }); break;
      case 2: qkv.attention({ q: c.q, k: c.k, v: c.v, dim: c.d, out: { output: out.subarray(0, c.n * c.d) } }); break;
      case 3: qkv.attention({ q: resident.q, k: resident.k, v: resident.v, dim: 32, out: { output: resident.out } }); break;
      case 4: qkv.attention({ q: c.q, k: c.k, v: c.v, dim: c.d, keyLengths: [c.n >> 1], additiveMask: new Float32Array(c.n * c.n) }); break;
      case 5: qkv.multiHeadAttention({ ...mha, heads: 2, batch: 2, causal: true, intermediates: ['weights'] }); break;
      case 6: try { qkv.attention({ q: c.q, k: c.k, v: c.v.subarray(1), dim: c.d }); } catch (e) { if (!(e instanceof RangeError)) throw e; } break;
      default: qkv.tensor(c.n * c.d).free();
    }
  });
  const model = await loadModel(undefined, { attention: qkv });
  let last = null;
  phase('model runs', qkv, Number(args.runs), (i) => {
    const text = sentences[i % sentences.length];
    last = model.run(text, { truncate: true, ...(i % 2 ? { reuse: last } : {}) });
  });
  model.free();
  for (const t of Object.values(resident)) t.free();
}
process.exitCode = failed ? 1 : 0;
