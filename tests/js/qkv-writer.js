// Writes .qkv files for tests: lets the loader's checks be tried on files made to be wrong in one way
// each. Tensors are f32 unless they say `dtype: 'f16'` or `'int8'` (symmetric, a float32 scale per
// row, as scripts/model/qkv.py writes them). The project's real writer is scripts/model/qkv.py.
import { crc32 } from '../../lib/weights.js';

const pad16 = (n) => Math.ceil(n / 16) * 16;

// float32 → IEEE half, round to nearest (enough for test data).
function toHalf(x) {
  const f = new Float32Array([x]), u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000, exp = ((u >>> 23) & 0xff) - 127 + 15, mant = u & 0x7fffff;
  if (((u >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) return exp < -10 ? sign : sign | ((mant | 0x800000) >> (14 - exp));
  return sign | (exp << 10) | Math.round(mant / 8192);
}

// The bytes of one tensor (and, for int8, its row scales).
function encodeTensor({ shape, data, dtype = 'f32' }) {
  const values = Float32Array.from(data);
  if (dtype === 'f16') return { bytes: new Uint8Array(Uint16Array.from(values, toHalf).buffer) };
  if (dtype !== 'int8') return { bytes: new Uint8Array(values.buffer) };
  const rows = shape[0], width = values.length / rows, q = new Int8Array(values.length), scales = new Float32Array(rows);
  for (let r = 0; r < rows; ++r) {
    let max = 0;
    for (let c = 0; c < width; ++c) max = Math.max(max, Math.abs(values[r * width + c]));
    scales[r] = max / 127 || 1;
    for (let c = 0; c < width; ++c) q[r * width + c] = Math.round(values[r * width + c] / scales[r]);
  }
  return { bytes: new Uint8Array(q.buffer), scales: new Uint8Array(scales.buffer) };
}

export function writeQkv({ kind, config, vocab, tensors, headerPatch = {} }) {
  const entries = [];
  const chunks = [];
  let offset = 0;
  const place = (bytes) => {
    const at = offset;
    chunks.push(bytes, new Uint8Array(pad16(bytes.length) - bytes.length));
    offset += pad16(bytes.length);
    return at;
  };
  for (const [name, t] of Object.entries(tensors)) {
    const { bytes, scales } = encodeTensor(t);
    const entry = { name, dtype: t.dtype ?? 'f32', shape: t.shape, offset: place(bytes), nbytes: bytes.length };
    if (scales) Object.assign(entry, { scales_offset: place(scales), scales_nbytes: scales.length });
    entries.push(entry);
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) { data.set(c, at); at += c.length; }
  const header = { format: 'qkv-attention-weights', version: 1, kind, config, vocab, tensors: entries,
    data_bytes: data.length, data_crc32: crc32(data).toString(16).padStart(8, '0'), ...headerPatch };
  return assemble(header, data);
}

// A .qkv file from its JSON header and data section (FORMAT.md: magic, version, header length,
// header, padding to 16, data).
export function assemble(header, data) {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = pad16(12 + json.length);
  const out = new Uint8Array(start + data.length);
  out.set([0x51, 0x4b, 0x56, 0x4d]);
  new DataView(out.buffer).setUint32(4, 1, true);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(data, start);
  return out;
}

// The JSON header and the data section of a .qkv file, or null where they cannot be read.
export function disassemble(bytes) {
  if (bytes.length < 12) return null;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + length > bytes.length) return null;
  try {
    return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))), data: bytes.subarray(pad16(12 + length)) };
  } catch {
    return null;
  }
}

// The same file with its checksum set to what its data section now holds.
export function withValidChecksum(header, data) {
  return assemble({ ...header, data_crc32: crc32(data).toString(16).padStart(8, '0') }, data);
}

// A random model in the FORMAT.md layout.
export function randomModel(r, { vocab = ['<bos>', '<unk>', 'the', 'cat', 'sat', '.'], d = 8, layers = 2, heads = 2, ff = 12, positions = 16 } = {}) {
  const V = vocab.length;
  const t = {};
  const add = (name, shape) => { t[name] = { shape, data: r.array(shape.reduce((a, b) => a * b, 1), -0.5, 0.5) }; };
  add('tok_emb', [V, d]);
  add('pos_emb', [positions, d]);
  for (let i = 0; i < layers; ++i) {
    for (const n of ['ln1.weight', 'ln1.bias', 'attn.bq', 'attn.bk', 'attn.bv', 'attn.bo', 'ln2.weight', 'ln2.bias', 'mlp.b2']) add(`layers.${i}.${n}`, [d]);
    for (const n of ['attn.wq', 'attn.wk', 'attn.wv', 'attn.wo']) add(`layers.${i}.${n}`, [d, d]);
    add(`layers.${i}.mlp.w1`, [d, ff]);
    add(`layers.${i}.mlp.b1`, [ff]);
    add(`layers.${i}.mlp.w2`, [ff, d]);
  }
  add('ln_f.weight', [d]);
  add('ln_f.bias', [d]);
  const config = { vocab_size: V, d_model: d, n_layers: layers, n_heads: heads, d_ff: ff, max_positions: positions, norm_eps: 1e-5, bos_id: 0, unk_id: 1 };
  return { kind: 'model', config, vocab, tensors: t };
}
