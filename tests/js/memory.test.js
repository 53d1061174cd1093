// Long sequences: the output-only path (online softmax) keeps O(n·d) memory, so one head of
// n = 32768, d = 64 runs within 64 MiB of wasm memory in a fresh module, where n×n weights alone
// would take 4 GiB. SIMD build only: the scalar build needs about a minute for these 275 GFLOP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { loadAttention } from '../../lib/index.js';
import { rng } from './reference.js';

const MiB = 2 ** 20;

// Float64 reference of one query row (single head, scaled dot product, no mask).
function referenceRow(i, q, k, v, n, d) {
  const s = new Float64Array(n);
  let mx = -Infinity;
  for (let j = 0; j < n; ++j) {
    let dot = 0;
    for (let c = 0; c < d; ++c) dot += q[i * d + c] * k[j * d + c];
    s[j] = dot / Math.sqrt(d);
    mx = Math.max(mx, s[j]);
  }
  let sum = 0;
  for (let j = 0; j < n; ++j) sum += (s[j] = Math.exp(s[j] - mx));
  const out = new Float64Array(d);
  for (let j = 0; j < n; ++j) for (let c = 0; c < d; ++c) out[c] += (s[j] / sum) * v[j * d + c];
  return out;
}

test('simd: n = 32768, d = 64, one head, output only runs within 64 MiB of wasm memory', async () => {
  const wasmBinary = fs.readFileSync(new URL('../../dist/qkv-simd.wasm', import.meta.url));
  const qkv = await loadAttention({ backend: 'simd', wasmBinary }); // a custom source: a fresh module
  const n = 32768, d = 64, r = rng(32768);
  const q = r.array(n * d), k = r.array(n * d), v = r.array(n * d);
  const { output } = qkv.attention({ q, k, v, dim: d });
  assert.ok(qkv.memoryBytes <= 64 * MiB, `wasm memory ${(qkv.memoryBytes / MiB).toFixed(1)} MiB`);
  for (const i of [0, 1, 12345, n - 1]) {
    const ref = referenceRow(i, q, k, v, n, d);
    for (let c = 0; c < d; ++c) assert.ok(Math.abs(output[i * d + c] - ref[c]) < 1e-5, `row ${i}, column ${c}`);
  }
});
