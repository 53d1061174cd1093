// Head scores and labels (lib/heads.js): on hand-made attention patterns whose answer is known, then
// against PyTorch's twin (scripts/model/head_scores.py, numbers in the model fixtures), and through
// model.run on both builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headScores, headLabel, HEAD_KINDS, isPunctuationPiece } from '../../lib/heads.js';
import { BACKENDS, load } from './backends.js';
import { loadModel } from '../../lib/model.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtureDir = join(root, 'tests/fixtures/model');
const index = JSON.parse(readFileSync(join(fixtureDir, 'index.json'), 'utf8'));

// A causal n×n pattern from a rule choosing the key of each query (row 0 always on key 0).
function pattern(n, keyOf) {
  const w = new Float64Array(n * n);
  w[0] = 1;
  for (let i = 1; i < n; ++i) w[i * n + keyOf(i)] = 1;
  return w;
}

test('hand-made patterns get their own name', () => {
  const ids = Int32Array.from([0, 5, 6, 7, 8, 5, 6, 7, 9, 4]); // 5 6 7 repeat; 4 is punctuation
  const punct = new Uint8Array(10); punct[4] = 1;
  const n = ids.length;
  const cases = {
    previous: pattern(n, (i) => i - 1), start: pattern(n, () => 0), self: pattern(n, (i) => i),
    // each repeated token looks at what followed its first copy: 5→6 (pos 2), 6→7 (pos 3), 7→8 (pos 4)
    induction: pattern(n, (i) => ({ 5: 2, 6: 3, 7: 4 }[i] ?? i)),
  };
  for (const [kind, w] of Object.entries(cases)) {
    const s = headScores(w, n, ids, punct);
    assert.equal(headLabel(s), kind, `${kind}: ${JSON.stringify(s)}`);
  }
  const ind = headScores(cases.induction, n, ids, punct);
  assert.equal(ind.induction, 1);
  assert.equal(ind.duplicate, 0);
  const uniform = new Float64Array(n * n);
  for (let i = 0; i < n; ++i) for (let j = 0; j <= i; ++j) uniform[i * n + j] = 1 / (i + 1);
  const u = headScores(uniform, n, ids, punct);
  assert.ok(Math.abs(u.entropy - 1) < 1e-12);
  assert.equal(headLabel(u), 'broad');
  assert.equal(headScores(cases.self, 2, Int32Array.from([0, 1]), punct).induction, null, 'no repeat: no induction score');
});

test('punctuation pieces', () => {
  for (const p of ['.', '\u2581,', '\u2581"', '\u2581...', '\u2581?!']) assert.ok(isPunctuationPiece(p), p);
  for (const p of ['\u2581the', '<bos>', '<0x2E>', '\u2581', '\u2581$', 'a.']) assert.ok(!isPunctuationPiece(p), p);
});

function lowerTriangleToSquare(tri, n) {
  const w = new Float64Array(n * n);
  let k = 0;
  for (let i = 0; i < n; ++i) for (let j = 0; j <= i; ++j) w[i * n + j] = tri[k++];
  return w;
}

test('JavaScript scores = PyTorch scores on the fixture sentences (same float64 weights)', () => {
  let compared = 0;
  for (const { file } of index.fixtures) {
    const fx = JSON.parse(readFileSync(join(fixtureDir, file), 'utf8'));
    const n = fx.ids.length, ids = Int32Array.from(fx.ids);
    const punct = new Uint8Array(Math.max(...fx.ids) + 1);
    fx.pieces.forEach((p) => { if (isPunctuationPiece(p.text)) punct[p.id] = 1; });
    fx.layers.forEach((layer, l) => layer.heads.forEach((head, h) => {
      const got = headScores(lowerTriangleToSquare(head.weights, n), n, ids, punct);
      for (const k of [...HEAD_KINDS, 'entropy']) {
        if (head.pattern[k] === null) assert.equal(got[k], null, `${fx.name} ${l}.${h} ${k}`);
        else assert.ok(Math.abs(got[k] - head.pattern[k]) < 1e-6, `${fx.name} ${l}.${h} ${k}: ${got[k]} vs ${head.pattern[k]}`);
        compared += 1;
      }
      assert.equal(headLabel(got), head.pattern.label, `${fx.name} ${l}.${h}`);
    }));
  }
  assert.ok(compared > 100);
});

for (const backend of BACKENDS) {
  test(`${backend}: model.run labels each head as PyTorch does on the fixtures`, async () => {
    const qkv = await load(backend);
    const model = await loadModel(join(root, 'models/tiny-lm.qkv'), { attention: qkv });
    try {
      for (const { file } of index.fixtures) {
        const fx = JSON.parse(readFileSync(join(fixtureDir, file), 'utf8'));
        const run = model.run(fx.text);
        fx.layers.forEach((layer, l) => layer.heads.forEach((head, h) => {
          const got = run.layers[l].heads[h].pattern;
          for (const k of [...HEAD_KINDS, 'entropy']) {
            if (head.pattern[k] !== null) assert.ok(Math.abs(got[k] - head.pattern[k]) < 1e-4, `${fx.name} ${l}.${h} ${k}`);
          }
          // labels can only differ where float32 moved a score across a threshold
          const near = [...HEAD_KINDS, 'entropy'].some((k) => head.pattern[k] !== null && (Math.abs(head.pattern[k] - 0.4) < 1e-4 || Math.abs(head.pattern[k] - 0.75) < 1e-4));
          if (!near) assert.equal(got.label, head.pattern.label, `${fx.name} ${l}.${h}`);
        }));
        if (model.smear.some(Boolean)) assert.ok(run.layers.some((L) => L.heads.every((hd) => hd.smear > 0 && hd.smear < 1)));
      }
    } finally {
      model.free();
    }
  });
}
