// Writes .qkv files for tests (f32 tensors only): lets the loader's checks be tried on files made
// to be wrong in one way each. The project's real writer is scripts/model/qkv.py.
import { crc32 } from '../../lib/weights.js';

export function writeQkv({ kind, config, vocab, tensors, headerPatch = {} }) {
  const entries = [];
  const chunks = [];
  let offset = 0;
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    const bytes = new Uint8Array(Float32Array.from(data).buffer);
    entries.push({ name, dtype: 'f32', shape, offset, nbytes: bytes.length });
    chunks.push(bytes, new Uint8Array((16 - (bytes.length % 16)) % 16));
    offset += Math.ceil(bytes.length / 16) * 16;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) { data.set(c, at); at += c.length; }
  const header = { format: 'qkv-attention-weights', version: 1, kind, config, vocab, tensors: entries,
    data_bytes: data.length, data_crc32: crc32(data).toString(16).padStart(8, '0'), ...headerPatch };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((12 + json.length) / 16) * 16;
  const out = new Uint8Array(start + data.length);
  out.set([0x51, 0x4b, 0x56, 0x4d]);
  new DataView(out.buffer).setUint32(4, 1, true);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(data, start);
  return out;
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
