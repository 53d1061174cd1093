// Fuzzes the weights-file loaders through the public API: loadModel and loadEmbeddings on random and
// mutated .qkv files (bytes flipped, cut or inserted; header fields set to hostile values; corrupt
// numbers under a recomputed checksum), on both wasm builds. A finding is any failure that is not a
// WeightsFormatError, TypeError or RangeError, a call slower than --slow-ms, or a failed load that
// changes the module's wasm memory. Findings are written to --out (one .qkv and one .txt each).
//
//   node tests/fuzz/loaders.mjs [--seconds 60] [--seed 1] [--out build/fuzz/loaders-findings]
//
// Seeds: tests/fuzz/corpus/loaders/*.qkv, and small models and tables written here with
// tests/js/qkv-writer.js (f32, f16 and int8).
import { readdirSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAttention, WeightsFormatError } from '../../lib/index.js';
import { loadModel, loadEmbeddings } from '../../lib/model.js';
import { writeQkv, randomModel, assemble, disassemble, withValidChecksum } from '../js/qkv-writer.js';
import { rng } from '../js/reference.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values: args } = parseArgs({ options: {
  seconds: { type: 'string', default: '60' }, seed: { type: 'string', default: String(Date.now() % 1e9) },
  out: { type: 'string', default: join(root, 'build/fuzz/loaders-findings') }, 'slow-ms': { type: 'string', default: '1000' },
} });
const seconds = Number(args.seconds), seed = Number(args.seed), slowMs = Number(args['slow-ms']);
const r = rng(seed);
const pick = (list) => list[Math.floor(r() * list.length)];

// --- seeds
const seeds = [];
const corpus = join(root, 'tests/fuzz/corpus/loaders');
for (const name of readdirSync(corpus).filter((n) => n.endsWith('.qkv')).sort()) seeds.push(readFileSync(join(corpus, name)));
for (const dtype of ['f32', 'f16', 'int8']) {
  const m = randomModel(r, { d: 4, layers: 1, heads: 2, ff: 6, positions: 8 });
  for (const [name, t] of Object.entries(m.tensors)) if (t.shape.length === 2) t.dtype = dtype;
  seeds.push(writeQkv(m));
  const vocab = ['<unk>', 'the', 'cat', 'sat'];
  seeds.push(writeQkv({ kind: 'embeddings', config: { dim: 3, unk_id: 0 }, vocab,
    tensors: { vectors: { shape: [4, 3], data: r.array(12), dtype } } }));
}

const HOSTILE = [0, -1, 1, 2, 3, 7, 16, 4097, 65535, 65536, 65537, 2 ** 20, 2 ** 20 + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32,
  2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 0.5, 1e-50, '7', '', null, true, [], [1], {}, 'NaN', 'constructor', '__proto__'];
const hostile = () => (r() < 0.7 ? structuredClone(pick(HOSTILE)) : Math.floor(r() * 2 ** (1 + Math.floor(r() * 40))));

// One field of the header set to a hostile value.
function mutateHeader(h) {
  if (!h || typeof h !== 'object') return;
  const where = Math.floor(r() * 6);
  if (where === 0 && h.config && typeof h.config === 'object') {
    const keys = ['vocab_size', 'd_model', 'n_layers', 'n_heads', 'd_ff', 'max_positions', 'norm_eps', 'dim', 'unk_id', 'bos_id'];
    h.config[pick(keys)] = hostile();
  } else if (where === 1 && Array.isArray(h.tensors) && h.tensors.length) {
    const t = pick(h.tensors);
    if (!t || typeof t !== 'object') return;
    const field = pick(['shape', 'shape', 'dtype', 'offset', 'nbytes', 'scales_offset', 'scales_nbytes', 'name']);
    if (field === 'shape' && Array.isArray(t.shape)) {
      const s = [...t.shape];
      const op = Math.floor(r() * 4);
      if (op === 0 && s.length) s[Math.floor(r() * s.length)] = hostile();
      else if (op === 1) s.push(hostile());
      else if (op === 2) s.pop();
      else s.reverse();
      t.shape = s;
    } else if (field === 'dtype') t.dtype = pick(['f32', 'f16', 'int8', 'f64', 'constructor', 'toString', 1, null]);
    else if (field === 'name') t.name = pick(['tok_emb', 'vectors', 'layers.0.attn.wq', 'ln_f.bias', 'x'.repeat(1000), 7]);
    else t[field] = hostile();
  } else if (where === 2 && Array.isArray(h.tensors)) {
    const op = Math.floor(r() * 3);
    if (op === 0 && h.tensors.length) h.tensors.splice(Math.floor(r() * h.tensors.length), 1);
    else if (op === 1 && h.tensors.length) h.tensors.push(structuredClone(pick(h.tensors)));
    else h.tensors = pick([[], null, {}, 'x', h.tensors]);
  } else if (where === 3 && Array.isArray(h.vocab)) {
    const op = Math.floor(r() * 4);
    if (op === 0) h.vocab = h.vocab.filter((w) => w !== pick(['<unk>', '<bos>']));
    else if (op === 1) h.vocab.push(pick([7, null, '<unk>', 'the']));
    else if (op === 2) h.vocab = h.vocab.slice(0, Math.floor(r() * h.vocab.length));
    else h.vocab = Array.from({ length: 1 + Math.floor(r() * 3000) }, (_, i) => `w${i}`);
  } else if (where === 4) {
    h.kind = pick(['model', 'embeddings', 'Model', null, 'constructor']);
  } else {
    const key = pick(['data_bytes', 'data_crc32', 'format', 'version', 'config', 'provenance']);
    h[key] = key === 'data_crc32' ? pick([undefined, 'zz', '00000000', 7]) : hostile();
  }
}

// Values that are not finite (or whose int8 scale would overflow) written into the data.
function corruptData(data) {
  const out = Uint8Array.from(data);
  if (out.length < 4) return out;
  const view = new DataView(out.buffer);
  for (let n = 1 + Math.floor(r() * 3); n > 0; --n) {
    const at = Math.floor(r() * Math.floor(out.length / 4)) * 4;
    view.setFloat32(at, pick([NaN, Infinity, -Infinity, 3.4e38, 1e37, -0]), true);
  }
  return out;
}

function mutate(seedBytes) {
  const kind = Math.floor(r() * 10);
  if (kind <= 3) { // header-aware, checksum recomputed (most of them) so that the numbers are read
    const parts = disassemble(seedBytes);
    if (!parts) return seedBytes;
    const header = structuredClone(parts.header);
    for (let n = 1 + Math.floor(r() * 3); n > 0; --n) mutateHeader(header);
    return header && typeof header === 'object' && r() < 0.8 ? withValidChecksum(header, parts.data) : assemble(header, parts.data);
  }
  if (kind <= 5) { // corrupt numbers, valid checksum
    const parts = disassemble(seedBytes);
    if (!parts || !parts.header || typeof parts.header !== 'object') return seedBytes;
    return withValidChecksum(parts.header, corruptData(parts.data));
  }
  if (kind === 6) { // random bytes after a valid magic and version
    const out = new Uint8Array(12 + Math.floor(r() * 600));
    for (let i = 0; i < out.length; ++i) out[i] = Math.floor(r() * 256);
    out.set([0x51, 0x4b, 0x56, 0x4d, 1, 0, 0, 0]);
    return out;
  }
  // bytes flipped, cut, inserted or repeated
  let out = Uint8Array.from(seedBytes);
  for (let n = 1 + Math.floor(r() * 4); n > 0; --n) {
    const op = Math.floor(r() * 4), at = Math.floor(r() * out.length);
    if (op === 0 && out.length) out[at] ^= 1 << Math.floor(r() * 8);
    else if (op === 1) out = out.slice(0, at);
    else if (op === 2) out = Uint8Array.from([...out.subarray(0, at), Math.floor(r() * 256), ...out.subarray(at)]);
    else out = Uint8Array.from([...out, ...out.subarray(at, at + 64)]);
  }
  return out;
}

// --- the run
const modules = await Promise.all(['simd', 'scalar'].map((backend) => loadAttention({ backend })));
const stats = { calls: 0, loaded: 0, rejected: {}, findings: 0, slowestMs: 0, slowest: '' };
const heapStart = process.memoryUsage().heapUsed;
const wasmStart = modules.map((m) => m.memoryBytes);
mkdirSync(args.out, { recursive: true });

function finding(bytes, what) {
  stats.findings += 1;
  const name = `finding-${seed}-${stats.calls}`;
  writeFileSync(join(args.out, `${name}.qkv`), bytes);
  writeFileSync(join(args.out, `${name}.txt`), `${what}\n`);
  console.log(`FINDING ${name}: ${what}`);
}

async function attempt(qkv, loader, bytes) {
  const before = qkv.memoryBytes;
  const t0 = performance.now();
  let outcome = 'loaded';
  try {
    const loaded = await (loader === 'loadModel' ? loadModel(bytes, { attention: qkv }) : loadEmbeddings(bytes));
    stats.loaded += 1;
    try { // use what was loaded: only the documented error kinds may come out
      if (loader === 'loadModel') loaded.run('the cat sat on the mat', { truncate: true });
      else loaded.lookup('the cat sat');
    } catch (e) {
      if (!(e instanceof RangeError || e instanceof TypeError)) finding(bytes, `${loader} then use: ${e?.constructor?.name}: ${e?.message}`);
    } finally {
      loaded.free?.();
    }
  } catch (e) {
    outcome = e?.constructor?.name ?? typeof e;
    if (!(e instanceof WeightsFormatError || e instanceof TypeError || e instanceof RangeError)) {
      finding(bytes, `${loader} (${qkv.backend}): ${outcome}: ${e?.message}`);
    } else if (qkv.memoryBytes !== before) {
      finding(bytes, `${loader} (${qkv.backend}) failed with ${outcome} but wasm memory went from ${before} to ${qkv.memoryBytes}`);
    }
    const key = `${loader} ${outcome}`;
    stats.rejected[key] = (stats.rejected[key] ?? 0) + 1;
  }
  const ms = performance.now() - t0;
  if (ms > stats.slowestMs) Object.assign(stats, { slowestMs: ms, slowest: `${loader} → ${outcome}` });
  if (ms > slowMs) finding(bytes, `${loader} (${qkv.backend}) took ${ms.toFixed(0)} ms (${outcome})`);
  stats.calls += 1;
}

const end = Date.now() + seconds * 1000;
const pool = [...seeds];
while (Date.now() < end) {
  const bytes = mutate(pick(pool));
  const qkv = pick(modules);
  await attempt(qkv, 'loadModel', bytes);
  await attempt(qkv, 'loadEmbeddings', bytes);
  // Keep some mutants that still parse as seeds for further mutation (a small, bounded pool).
  if (disassemble(bytes) && pool.length < 400 && r() < 0.05) pool.push(bytes);
}

const mib = (b) => (b / 2 ** 20).toFixed(1);
console.log(`loaders fuzz: seed ${seed}, ${seconds} s, ${stats.calls} loads (${(stats.calls / seconds).toFixed(0)}/s), ${stats.loaded} loaded, ` +
  `${stats.findings} findings; slowest ${stats.slowestMs.toFixed(1)} ms (${stats.slowest})`);
console.log(`  rejections: ${Object.entries(stats.rejected).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
console.log(`  wasm memory MiB: ${modules.map((m, i) => `${m.backend} ${mib(wasmStart[i])} → ${mib(m.memoryBytes)}`).join(', ')}; ` +
  `JS heap ${mib(heapStart)} → ${mib(process.memoryUsage().heapUsed)} MiB`);
process.exitCode = stats.findings ? 1 : 0;
