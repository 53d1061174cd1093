// The trained model run by the wasm core against PyTorch's float64 forward pass over the same
// dequantised weights (scripts/model/make_fixtures.py): tokens, every layer's and head's Q, K, V and
// weights, and the logits, within 1e-4; on every build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKENDS, load } from './backends.js';
import { loadModel } from '../../lib/model.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// QKV_MODEL_FIXTURES / QKV_MODEL let a developer point the test at another model and its fixtures.
const fixtureDir = process.env.QKV_MODEL_FIXTURES ?? join(root, 'tests/fixtures/model');
const modelPath = process.env.QKV_MODEL ?? join(root, 'models/tiny-lm.qkv');
const index = JSON.parse(readFileSync(join(fixtureDir, 'index.json'), 'utf8'));
const TOL = 1e-4;

test('the fixtures were made from this very model file', () => {
  const sha = createHash('sha256').update(readFileSync(modelPath)).digest('hex');
  assert.equal(sha, index.model_sha256);
  assert.ok(index.fixtures.length >= 4);
});

function maxDiff(got, want) {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < got.length; ++i) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst;
}

for (const backend of BACKENDS) {
  test(`${backend}: the model reproduces PyTorch for every fixture sentence`, async () => {
    const qkv = await load(backend);
    const model = await loadModel(modelPath, { attention: qkv });
    try {
      for (const { file } of index.fixtures) {
        const fx = JSON.parse(readFileSync(join(fixtureDir, file), 'utf8'));
        const run = model.run(fx.text, { topK: 5 });
        assert.deepEqual([...run.ids], fx.ids, `${fx.name}: token ids`);
        const T = fx.ids.length;
        fx.layers.forEach((layer, l) => layer.heads.forEach((head, h) => {
          const got = run.layers[l].heads[h];
          const tri = [];
          for (let i = 0; i < T; ++i) for (let j = 0; j <= i; ++j) tri.push(got.weights[i * T + j]);
          const where = `${fx.name} layer ${l} head ${h}`;
          assert.ok(maxDiff(tri, head.weights) < TOL, `${where}: weights`);
          for (const name of ['q', 'k', 'v']) assert.ok(maxDiff(got[name], head[name]) < TOL, `${where}: ${name}`);
          for (let i = 0; i < T; ++i) for (let j = i + 1; j < T; ++j) assert.equal(got.weights[i * T + j], 0, `${where}: causal`);
        }));
        const last = fx.top20[T - 1];
        last.ids.forEach((id, r) => assert.ok(Math.abs(run.nextLogits[id] - last.logits[r]) < TOL, `${fx.name}: logit of ${id}`));
        if (fx.last_logits) assert.ok(maxDiff(run.nextLogits, fx.last_logits) < TOL, `${fx.name}: all logits`);
        // the API leaves out special tokens, byte pieces and the bare word-start mark
        const wanted = fx.next_top5.filter((p) => !/^<([a-z]+|0x[0-9A-F]{2})>$/.test(p.word) && p.word !== '\u2581').map((p) => p.word);
        const got = run.next.map((p) => p.token).slice(0, wanted.length);
        assert.deepEqual(got, wanted, `${fx.name}: next-word predictions`);
      }
    } finally {
      model.free();
    }
  });
}
