// Weights files made to hurt (issue 12, items 1, 2 and 10): sizes that claim more than the file
// holds, configs past the core's maxima, values that are not finite under a valid checksum. Each is a
// WeightsFormatError naming what is wrong, found before the core is asked anything, and the module's
// memory is exactly what it was; a failed download is an AssetError naming the URL and the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadAttention, WeightsFormatError } from '../../lib/index.js';
import { loadModel, loadEmbeddings } from '../../lib/model.js';
import { parseWeights } from '../../lib/weights.js';
import { writeQkv, randomModel, assemble, disassemble, withValidChecksum } from './qkv-writer.js';
import { rng } from './reference.js';

const glove = readFileSync(new URL('../../models/glove-10k.qkv', import.meta.url));
const MiB = 2 ** 20;

// A model file whose header claims `config`, with no tensors at all (or `tensors`).
const claim = (config, tensors = {}) => writeQkv({
  kind: 'model', vocab: ['<bos>', '<unk>'], tensors,
  config: { vocab_size: 2, d_model: 1, n_layers: 1, n_heads: 1, d_ff: 1, max_positions: 1, norm_eps: 1e-5, ...config },
});

// Rejects with a WeightsFormatError whose message matches, and leaves the module's memory as it was.
async function rejectsCleanly(qkv, load, message) {
  const before = qkv.memoryBytes;
  await assert.rejects(load(), (e) => {
    assert.ok(e instanceof WeightsFormatError, `expected WeightsFormatError, got ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, message);
    return true;
  });
  assert.equal(qkv.memoryBytes, before, 'wasm memory unchanged');
  assert.equal(qkv.attention({ q: [1], k: [1], v: [2], dim: 1 }).output[0], 2, 'the module still works');
}

test('issue 12.1: a 256-byte model claiming 1,048,576 layers is refused at once, memory untouched', async () => {
  // A fresh module (a custom wasmBinary is not memoised): its memory is this test's alone.
  const wasmBinary = readFileSync(new URL('../../dist/qkv-simd.wasm', import.meta.url));
  const qkv = await loadAttention({ backend: 'simd', wasmBinary });
  const file = claim({ n_layers: 2 ** 20 });
  assert.ok(file.length < 384);
  await rejectsCleanly(qkv, () => loadModel(file, { attention: qkv }), /^loadModel: config\.n_layers 1048576 is more layers than the file's 0 tensors can hold$/);
  // The file used to take 1.7 GiB of the 2 GiB: a 512 MiB tensor could not be had afterwards.
  const big = qkv.tensor(128 * MiB);
  assert.equal(big.length, 128 * MiB);
  big.free();
});

test('issue 12.2: d_model 4097 × d_ff 2^20 (2^32 + 2^20 numbers) is refused by the loader', async () => {
  const qkv = await loadAttention();
  await rejectsCleanly(qkv, () => loadModel(claim({ d_model: 4097, d_ff: 2 ** 20, n_heads: 1 }), { attention: qkv }), /config\.n_layers 1 is more layers/);
  // With a tensor table that claims the shapes: each claim is checked against the data section.
  const header = randomModel(rng(1), { vocab: ['<bos>', '<unk>'], d: 1, layers: 1, heads: 1, ff: 1, positions: 1 });
  const { header: json, data } = disassemble(writeQkv({ ...header, config: { ...header.config, d_model: 4097, d_ff: 2 ** 20 } }));
  json.tensors.find((t) => t.name === 'layers.0.mlp.w1').shape = [4097, 2 ** 20];
  await rejectsCleanly(qkv, () => loadModel(assemble(json, data), { attention: qkv }),
    /tensor layers\.0\.mlp\.w1: shape \[4097,1048576\] holds more numbers than the \d+-byte data section/);
});

test('config values past the maxima, or that float32 cannot hold, are refused before the core is asked', async () => {
  const qkv = await loadAttention();
  const cases = [
    [{ d_model: 2 ** 20 + 1 }, /config\.d_model must be an integer in \[1, 1048576\], received 1048577/],
    [{ vocab_size: 2 ** 31 }, /config\.vocab_size must be an integer in \[1, 1048576\], received 2147483648/],
    [{ n_heads: 1.5 }, /config\.n_heads must be an integer/],
    [{ max_positions: '7' }, /config\.max_positions must be an integer in \[1, 1048576\], received "7"/],
    [{ norm_eps: 1e-50 }, /config\.norm_eps must be a number > 0 that float32 can hold, received 1e-50/],
    [{ norm_eps: 1e39 }, /config\.norm_eps/],
    [{ n_heads: 3, d_model: 4 }, /n_heads 3 does not divide d_model 4/],
  ];
  for (const [config, message] of cases) await rejectsCleanly(qkv, () => loadModel(claim(config), { attention: qkv }), message);
});

test('issue 12.10: corrupt numbers under a valid checksum are a WeightsFormatError naming the tensor', async () => {
  const qkv = await loadAttention();
  const r = rng(5);
  const nan = randomModel(r);
  nan.tensors['ln_f.bias'].data[2] = NaN;
  await rejectsCleanly(qkv, () => loadModel(writeQkv(nan), { attention: qkv }), /tensor ln_f\.bias: NaN at index 2 \(the data is corrupt\)/);
  const inf = randomModel(r);
  inf.tensors['layers.1.attn.wk'].data[7] = -Infinity;
  await rejectsCleanly(qkv, () => loadModel(writeQkv(inf), { attention: qkv }), /tensor layers\.1\.attn\.wk: -Infinity at index 7/);
  const half = randomModel(r);
  half.tensors['pos_emb'].dtype = 'f16';
  half.tensors['pos_emb'].data[5] = 70000; // past f16's largest, 65504: written as +Infinity
  await rejectsCleanly(qkv, () => loadModel(writeQkv(half), { attention: qkv }), /tensor pos_emb: Infinity at index 5/);
  // The GloVe table is int8 with a float32 scale per row: an infinite scale, or one so large that
  // 127 × scale overflows float32, makes a row of infinities.
  const vectors = parseWeights(glove).tensorInfo('vectors');
  for (const [scale, message] of [[Infinity, /the int8 scale of row 3 is Infinity/], [3e36, /the int8 scale of row 3 is 3\.0\d*e\+36/], [NaN, /row 3 is NaN/]]) {
    const { header, data } = disassemble(Uint8Array.from(glove));
    new DataView(data.buffer, data.byteOffset).setFloat32(vectors.scales_offset + 4 * 3, scale, true);
    await rejectsCleanly(qkv, () => loadEmbeddings(withValidChecksum(header, data)), message);
  }
});

test('issue 12.10: loadEmbeddings refuses NaN vectors and a vocabulary without <unk>', async () => {
  const qkv = await loadAttention();
  const table = (vocab, data) => writeQkv({ kind: 'embeddings', config: { dim: 2 }, vocab, tensors: { vectors: { shape: [vocab.length, 2], data } } });
  await rejectsCleanly(qkv, () => loadEmbeddings(table(['<unk>', 'a'], [0, 1, NaN, 2])), /tensor vectors: NaN at index 2/);
  await rejectsCleanly(qkv, () => loadEmbeddings(table(['a', 'b'], [0, 1, 2, 3])), /the vocabulary needs <unk>/);
  const emb = await loadEmbeddings(table(['<unk>', 'a'], [0, 1, 2, 3]));
  assert.deepEqual([...emb.lookup('a zz').vectors], [2, 3, 0, 1]);
});

test('tensor tables that lie: duplicates, odd dtypes, shapes past the data, too many dimensions', async () => {
  const qkv = await loadAttention();
  const { header: json, data } = disassemble(writeQkv(randomModel(rng(9), { layers: 1 })));
  const mutate = (change) => { const j = structuredClone(json); change(j); return assemble(j, data); };
  const cases = [
    [(j) => j.tensors.push({ ...j.tensors[0] }), /tensor tok_emb is listed twice/],
    [(j) => { j.tensors[0].dtype = 'constructor'; }, /tensor tok_emb: unknown dtype "constructor"/],
    [(j) => { j.tensors[0].shape = [2 ** 31, 2 ** 31, 2 ** 31]; }, /tensor tok_emb: bad shape/],
    [(j) => { j.tensors[0].shape = [2 ** 30, 2 ** 30]; }, /tensor tok_emb: shape \[1073741824,1073741824\] holds more numbers than the \d+-byte data section/],
    [(j) => { j.tensors[0].shape = [1, 1, 1, 1, 1]; }, /tensor tok_emb: bad shape \[1,1,1,1,1\] \(1 to 4 dimensions\)/],
    [(j) => { j.tensors[0].shape = Array(100000).fill(1); }, /tensor tok_emb: bad shape \[1,1,1,.*…/],
    [(j) => { j.tensors[0].name = 'x'.repeat(100000); }, /tensor xxxx.*… is missing|tensor tok_emb is missing/],
  ];
  for (const [change, message] of cases) await rejectsCleanly(qkv, () => loadModel(mutate(change), { attention: qkv }), message);
});

test('model.run refuses a sentence whose results would pass the 2 GiB memory limit, before allocating', async () => {
  const qkv = await loadAttention();
  // 1 layer, 1 head, max_positions 32768: 20,001 tokens make three 20001² planes of 4.8 GB, which
  // used to be passed to _malloc as a 32-bit size (about 505 MiB) and then overrun.
  const model = await loadModel(writeQkv(randomModel(rng(2), { d: 2, layers: 1, heads: 1, ff: 2, positions: 32768 })), { attention: qkv });
  const before = qkv.memoryBytes;
  assert.throws(() => model.run('the '.repeat(20000)), { name: 'RangeError', code: 'ERR_QKV_OUT_OF_MEMORY', message: /^model\.run: needs \d+\.\d MiB more WebAssembly memory, which is over the 2048 MiB limit/ });
  assert.equal(qkv.memoryBytes, before);
  assert.equal(model.run('the cat').tokens.length, 3);
  model.free();
});

test('issue 12.10: a failed download names the URL and the reason', async () => {
  const qkv = await loadAttention();
  const server = createServer((req, res) => { res.writeHead(404, 'Not Found'); res.end(); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/models/missing.qkv`;
  try {
    await assert.rejects(loadModel(url, { attention: qkv }), { name: 'AssetError', message: `loadModel: could not load ${url} (HTTP 404 Not Found).` });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  // Nothing listens there any more.
  await assert.rejects(loadEmbeddings(url), (e) => {
    assert.equal(e.name, 'AssetError');
    assert.match(e.message, new RegExp(`^loadEmbeddings: could not load ${url.replace(/[.]/g, '\\.')} \\(.*ECONNREFUSED.*\\)`));
    return true;
  });
});
