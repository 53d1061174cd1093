// Loading weights files: the bundled GloVe table, and one test per way a file can be wrong — each a
// clear WeightsFormatError (or read error), never a crash, and the module keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { loadAttention, WeightsFormatError } from '../../lib/index.js';
import { writeQkv, randomModel } from './qkv-writer.js';
import { rng } from './reference.js';
import { loadModel, loadEmbeddings } from '../../lib/model.js';

const glove = readFileSync(new URL('../../models/glove-10k.qkv', import.meta.url));

test('the committed weight files match models/SHA256SUMS', () => {
  const sums = readFileSync(new URL('../../models/SHA256SUMS', import.meta.url), 'utf8').trim().split('\n');
  assert.deepEqual(sums.map((line) => line.split(/\s+/)[1]).sort(), ['glove-10k.qkv', 'tiny-lm.qkv']);
  for (const line of sums) {
    const [sum, name] = line.split(/\s+/);
    const bytes = readFileSync(new URL(`../../models/${name}`, import.meta.url));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), sum, name);
  }
});

function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; ++i) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

test('the bundled GloVe table loads and keeps meaning: nearest neighbours', async () => {
  const qkv = await loadAttention();
  const emb = await loadEmbeddings();
  assert.equal(emb.dim, 100);
  assert.ok(emb.vocab.length >= 10000);
  const nearest = (word, k = 5) => {
    const v = emb.vector(emb.vocab.indexOf(word));
    return emb.vocab.map((w, id) => [w, cosine(v, emb.vector(id))]).filter(([w]) => w !== word)
      .sort((a, b) => b[1] - a[1]).slice(0, k).map(([w]) => w);
  };
  assert.ok(nearest('king').some((w) => ['queen', 'prince'].includes(w)), `king → ${nearest('king')}`);
  assert.ok(nearest('paris').some((w) => ['france', 'london'].includes(w)), `paris → ${nearest('paris')}`);
  assert.ok(nearest('cat').includes('dog'), `cat → ${nearest('cat')}`);
  const { tokens, vectors, unknown } = emb.lookup("It's a zzqxv day");
  assert.deepEqual(tokens.map((t) => t.text), ['it', "'s", 'a', '<unk>', 'day']);
  assert.deepEqual(unknown, [false, false, false, true, false]);
  assert.equal(vectors.length, 5 * 100);
});

test('rows dequantised one at a time equal the whole tensor dequantised (int8 and f32 files)', async () => {
  const { parseWeights } = await import('../../lib/weights.js');
  const check = (file, name) => {
    const whole = file.tensor(name), { count, width, fill } = file.rows(name);
    assert.equal(count * width, whole.length);
    const row = new Float32Array(width);
    for (const r of [0, 1, count >> 1, count - 1]) {
      fill(r, row);
      assert.deepEqual(row, whole.subarray(r * width, (r + 1) * width), `${name} row ${r}`);
    }
  };
  check(parseWeights(glove), 'vectors'); // int8 with per-row scales
  check(parseWeights(readFileSync(new URL('../../models/tiny-lm.qkv', import.meta.url))), 'pos_emb'); // int8
  // f32 and f16 (no shipped file uses f16), from the tests' writer.
  const vocab = ['<bos>', '<unk>', 'a', 'b', 'c'];
  const small = randomModel(rng(3), { vocab, d: 8, layers: 1, heads: 2, ff: 16, positions: 8 });
  check(parseWeights(writeQkv(small)), 'tok_emb');
  small.tensors.tok_emb.dtype = 'f16';
  const half = parseWeights(writeQkv(small));
  check(half, 'tok_emb');
  const exact = small.tensors.tok_emb.data;
  half.tensor('tok_emb').forEach((x, i) => assert.ok(Math.abs(x - exact[i]) <= 2 ** -11 * Math.abs(exact[i]) + 2 ** -24, `f16 ${i}`));
  // Embeddings hand out rows that are dequantised when first looked up: the same numbers.
  const qkv = await loadAttention();
  const emb = await loadEmbeddings(glove), table = parseWeights(glove).tensor('vectors');
  for (const id of [0, 5, 9999]) assert.deepEqual(emb.vector(id), table.subarray(id * 100, (id + 1) * 100));
});

test('model.run({ reuse }) writes a new run into an earlier result’s arrays and gives the same numbers', async () => {
  const qkv = await loadAttention();
  const model = await loadModel(readFileSync(new URL('../../models/tiny-lm.qkv', import.meta.url)), { attention: qkv });
  const first = model.run('The cat sat on the mat.');
  const fresh = model.run('The dog ran home.');
  const reused = model.run('The dog ran home.', { reuse: first });
  assert.equal(reused.nextLogits.buffer, first.nextLogits.buffer, 'the earlier result’s memory');
  assert.deepEqual(reused.layers.map((l) => l.heads.map((h) => [...h.weights, ...h.q])), fresh.layers.map((l) => l.heads.map((h) => [...h.weights, ...h.q])));
  assert.deepEqual(reused.next, fresh.next);
  const longer = model.run('The dog ran home because the cat sat on the mat all day long.', { reuse: first });
  assert.notEqual(longer.nextLogits.buffer, first.nextLogits.buffer, 'a spent result is not reused twice');
  assert.throws(() => model.run('x', { reuse: 3 }), /reuse must be an earlier result/);
  model.free();
});

const cases = [
  ['a truncated file', () => glove.subarray(0, glove.length - 1000), /truncated/],
  ['a file cut inside its header', () => glove.subarray(0, 40), /truncated/],
  ['a flipped data byte', () => { const b = Uint8Array.from(glove); b[b.length - 5000] ^= 0x40; return b; }, /checksum mismatch: the data is corrupt/],
  ['a foreign file', () => readFileSync(new URL('../../package.json', import.meta.url)), /not a \.qkv weights file/],
  ['an empty file', () => new Uint8Array(0), /0 bytes is too short/],
  ['another format version', () => { const b = Uint8Array.from(glove); b[4] = 2; return b; }, /format version 2 is not supported/],
  ['a broken JSON header', () => { const b = Uint8Array.from(glove); b[12] = 0x7d; return b; }, /JSON header does not parse/],
  ['trailing bytes', () => Uint8Array.from([...glove, 1, 2, 3]), /3 unexpected bytes after the data section/],
];

for (const [name, make, message] of cases) {
  test(`loadEmbeddings rejects ${name}`, async () => {
    const qkv = await loadAttention();
    await assert.rejects(loadEmbeddings(make()), (e) => e instanceof WeightsFormatError && message.test(e.message) && e.code === 'ERR_QKV_FORMAT');
    assert.equal(qkv.attention({ q: [1], k: [1], v: [2], dim: 1 }).output[0], 2, 'the module still works');
  });
}

test('loadModel rejects a file of the other kind, a missing file, and a bad source', async () => {
  const qkv = await loadAttention();
  await assert.rejects(loadModel(glove, { attention: qkv }), { name: 'WeightsFormatError', message: /holds embeddings, not a model/ });
  await assert.rejects(loadModel('/nonexistent/model.qkv', { attention: qkv }), { name: 'AssetError', code: 'ERR_QKV_ASSET', message: /loadModel: could not load \/nonexistent\/model.qkv \(ENOENT\)/ });
  await assert.rejects(loadModel(42, { attention: qkv }), { name: 'TypeError', message: /source must be a URL, a path, an ArrayBuffer or a Uint8Array, received 42/ });
});

test('loadModel checks the config and every tensor against what the core expects', async () => {
  const qkv = await loadAttention();
  const r = rng(5);
  const good = randomModel(r);
  const model = await loadModel(writeQkv(good), { attention: qkv });
  const run = model.run('the cat sat .');
  assert.deepEqual(run.tokens.map((t) => t.text), ['<bos>', 'the', 'cat', 'sat', '.']);
  assert.equal(run.layers.length, 2);
  assert.equal(run.layers[0].heads.length, 2);
  for (const layer of run.layers) {
    for (const h of layer.heads) {
      for (let i = 0; i < 5; ++i) {
        const row = h.weights.subarray(i * 5, i * 5 + 5);
        assert.ok(Math.abs(row.reduce((a, b) => a + b) - 1) < 1e-5);
        for (let j = i + 1; j < 5; ++j) assert.equal(row[j], 0, 'causal');
      }
    }
  }
  // Four ordinary words besides <bos> and <unk>: topK 5 gives those four, most probable first.
  assert.deepEqual(run.next.map((p) => p.token).sort(), ['.', 'cat', 'sat', 'the']);
  for (let i = 1; i < run.next.length; ++i) assert.ok(run.next[i - 1].probability >= run.next[i].probability);
  assert.ok(run.next.every((p) => p.probability > 0 && p.probability < 1));
  assert.throws(() => model.run('the cat '.repeat(10)), { name: 'RangeError', message: /the text has 20 tokens; the model reads at most 15/ });
  assert.equal(model.run('the cat '.repeat(10), { truncate: true }).tokens.length, 16);
  model.free();
  assert.throws(() => model.run('the'), { name: 'TypeError', message: /this model was freed/ });

  const missing = randomModel(r);
  delete missing.tensors['layers.1.mlp.w2'];
  await assert.rejects(loadModel(writeQkv(missing), { attention: qkv }), { name: 'WeightsFormatError', message: /tensor layers.1.mlp.w2 is missing/ });
  const wrongShape = randomModel(r);
  wrongShape.tensors['layers.0.attn.wq'].data = r.array(8 * 7);
  wrongShape.tensors['layers.0.attn.wq'].shape = [8, 7];
  await assert.rejects(loadModel(writeQkv(wrongShape), { attention: qkv }), { message: /tensor layers.0.attn.wq has shape \[8, 7\] \(56 numbers\), the config needs \[8, 8\]/ });
  const badHeads = randomModel(r, { heads: 3 });
  await assert.rejects(loadModel(writeQkv(badHeads), { attention: qkv }), { message: /n_heads 3 does not divide d_model 8/ });
  const nan = randomModel(r);
  nan.tensors['ln_f.bias'].data[2] = NaN;
  await assert.rejects(loadModel(writeQkv(nan), { attention: qkv }), { name: 'WeightsFormatError', message: /ln_f.bias: NaN at index 2/ });
  const noBos = randomModel(r, { vocab: ['<unk>', 'a', 'b'] });
  await assert.rejects(loadModel(writeQkv(noBos), { attention: qkv }), { message: /needs <bos> and <unk>/ });
  assert.equal(qkv.attention({ q: [1], k: [1], v: [3], dim: 1 }).output[0], 3);
});
