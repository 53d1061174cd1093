// A few hundred random calls per wasm build against the float64 reference (tests/js/differential.js);
// scripts/differential.mjs runs the same generator for as many cases as asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from './reference.js';
import { BACKENDS, load } from './backends.js';
import { randomCase, checkCase, describeCase } from './differential.js';

for (const backend of BACKENDS) {
  test(`${backend}: 300 random calls match the float64 reference`, async () => {
    const qkv = await load(backend);
    const r = rng(backend === 'simd' ? 1201 : 1202);
    for (let i = 0; i < 300; ++i) {
      const c = randomCase(r);
      const diff = checkCase(qkv, c);
      assert.equal(diff, '', `case ${i}: ${describeCase(c)}`);
    }
  });
}
