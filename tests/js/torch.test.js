// Both wasm builds against numbers PyTorch computed in float64 (scripts/make_fixtures.py):
// scaled dot-product attention and nn.MultiheadAttention. Tolerance 1e-5, as the issue states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { maxAbsDiff } from './reference.js';
import { BACKENDS, load } from './backends.js';

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/torch-attention.json', import.meta.url)));
const TOL = 1e-5;

test('the fixtures cover SDPA and nn.MultiheadAttention', () => {
  assert.ok(fixtures.cases.filter((c) => c.kind === 'sdpa').length >= 5);
  assert.ok(fixtures.cases.filter((c) => c.kind === 'mha').length >= 4);
});

for (const backend of BACKENDS) {
  for (const c of fixtures.cases) {
    test(`${backend}: ${c.name} matches PyTorch within ${TOL}`, async () => {
      const qkv = await load(backend);
      let got;
      if (c.kind === 'sdpa') {
        const mask = c.mask ? Uint8Array.from(c.mask, Number) : undefined;
        got = qkv.attention({ q: c.q, k: c.k, v: c.v, batch: c.batch, heads: c.heads, dim: c.dim, causal: c.causal, mask, returnWeights: true });
      } else {
        got = qkv.multiHeadAttention({ x: c.x, context: c.context, params: c.params, batch: c.batch, heads: c.heads,
          causal: c.causal, keyLengths: c.keyLengths, intermediates: ['weights'] });
      }
      const dw = maxAbsDiff(got.weights, c.weights), dout = maxAbsDiff(got.output, c.output);
      assert.ok(dw < TOL, `weights differ by ${dw}`);
      assert.ok(dout < TOL, `output differs by ${dout}`);
    });
  }
}
