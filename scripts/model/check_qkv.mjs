// Independent self-check: read a .qkv model with nothing but this file (no Python, no numpy),
// verify magic, version, alignment and CRC-32, dequantize, run the forward pass of FORMAT.md in
// float64, and compare with the PyTorch fixtures. Exit code 1 on any mismatch.
//
// usage: node scripts/model/check_qkv.mjs [models/tiny-lm.qkv] [tests/fixtures/model]
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const modelPath = process.argv[2] ?? join(root, 'models', 'tiny-lm.qkv');
const fixtureDir = process.argv[3] ?? join(root, 'tests', 'fixtures', 'model');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

export function readQkv(buf) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (new TextDecoder().decode(buf.subarray(0, 4)) !== 'QKVM') throw new Error('bad magic');
  if (dv.getUint32(4, true) !== 1) throw new Error('unsupported version');
  const hlen = dv.getUint32(8, true);
  const header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(12, 12 + hlen)));
  const start = Math.ceil((12 + hlen) / 16) * 16;
  const data = buf.subarray(start, start + header.data_bytes);
  if (data.length !== header.data_bytes) throw new Error('truncated data section');
  if (crc32(data) !== header.data_crc32) throw new Error('CRC mismatch');
  const ddv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tensors = {};
  for (const t of header.tensors) {
    if (t.offset % 16 !== 0) throw new Error(`${t.name}: offset not 16-aligned`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    const out = new Float64Array(n);
    if (t.dtype === 'int8') {
      if (t.scales_offset % 16 !== 0) throw new Error(`${t.name}: scales not 16-aligned`);
      const rowLen = n / t.shape[0];
      for (let i = 0; i < n; i++) {
        const scale = ddv.getFloat32(t.scales_offset + 4 * Math.floor(i / rowLen), true);
        out[i] = ddv.getInt8(t.offset + i) * scale;
      }
    } else if (t.dtype === 'f32') {
      for (let i = 0; i < n; i++) out[i] = ddv.getFloat32(t.offset + 4 * i, true);
    } else {
      throw new Error(`${t.name}: dtype ${t.dtype} not handled by this checker`);
    }
    tensors[t.name] = { shape: t.shape, data: out };
  }
  return { header, tensors };
}

function layerNorm(x, T, D, w, b, eps) {
  const y = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    let mean = 0;
    for (let d = 0; d < D; d++) mean += x[t * D + d];
    mean /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[t * D + d] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / D + eps);
    for (let d = 0; d < D; d++) y[t * D + d] = (x[t * D + d] - mean) * inv * w[d] + b[d];
  }
  return y;
}
function matmul(x, T, I, W, O, bias) { // x [T, I] · W [I, O] + bias
  const y = new Float64Array(T * O);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < O; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < I; i++) s += x[t * I + i] * W[i * O + o];
      y[t * O + o] = s;
    }
  }
  return y;
}
function erf(x) { // Abramowitz-Stegun 7.1.26 is too coarse; use a series / continued fraction
  const ax = Math.abs(x);
  let r;
  if (ax < 2.5) {
    let term = ax, sum = ax;
    for (let n = 1; n < 200; n++) { term *= -ax * ax / n; const add = term / (2 * n + 1); sum += add; if (Math.abs(add) < 1e-17) break; }
    r = 2 / Math.sqrt(Math.PI) * sum;
  } else {
    let f = 0; // continued fraction for erfc
    for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  }
  return x < 0 ? -r : r;
}

export function forward({ header, tensors }, ids) {
  const c = header.config;
  const D = c.d_model, H = c.n_heads, dh = D / H, F = c.d_ff, V = c.vocab_size, T = ids.length;
  const g = (n) => tensors[n].data;
  let x = new Float64Array(T * D);
  for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) x[t * D + d] = g('tok_emb')[ids[t] * D + d] + g('pos_emb')[t * D + d];
  const layers = [];
  for (let l = 0; l < c.n_layers; l++) {
    const p = `layers.${l}.`;
    const a = layerNorm(x, T, D, g(p + 'ln1.weight'), g(p + 'ln1.bias'), c.norm_eps);
    const Q = matmul(a, T, D, g(p + 'attn.wq'), D, g(p + 'attn.bq'));
    const K = matmul(a, T, D, g(p + 'attn.wk'), D, g(p + 'attn.bk'));
    if ((c.smear_layers ?? []).includes(l)) { // key_j = s·key_j + (1 − s)·key_{j−1}, s = sigmoid(logit), last row first
      for (let h = 0; h < H; h++) {
        const s = 1 / (1 + Math.exp(-g(p + 'attn.smear')[h]));
        for (let t = T - 1; t >= 1; t--) for (let e = 0; e < dh; e++) K[t * D + h * dh + e] = s * K[t * D + h * dh + e] + (1 - s) * K[(t - 1) * D + h * dh + e];
      }
    }
    const Vv = matmul(a, T, D, g(p + 'attn.wv'), D, g(p + 'attn.bv'));
    const concat = new Float64Array(T * D);
    const heads = [];
    for (let h = 0; h < H; h++) {
      const slice = (M) => { const o = []; for (let t = 0; t < T; t++) for (let j = 0; j < dh; j++) o.push(M[t * D + h * dh + j]); return o; };
      const weights = [];
      for (let i = 0; i < T; i++) {
        const s = [];
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let e = 0; e < dh; e++) dot += Q[i * D + h * dh + e] * K[j * D + h * dh + e];
          s.push(dot / Math.sqrt(dh));
        }
        const m = Math.max(...s);
        const ex = s.map((v) => Math.exp(v - m));
        const z = ex.reduce((u, v) => u + v, 0);
        const w = ex.map((v) => v / z);
        weights.push(...w);
        for (let e = 0; e < dh; e++) {
          let acc = 0;
          for (let j = 0; j <= i; j++) acc += w[j] * Vv[j * D + h * dh + e];
          concat[i * D + h * dh + e] = acc;
        }
      }
      heads.push({ q: slice(Q), k: slice(K), v: slice(Vv), weights });
    }
    layers.push({ heads });
    const o = matmul(concat, T, D, g(p + 'attn.wo'), D, g(p + 'attn.bo'));
    x = x.map((v, i) => v + o[i]);
    const a2 = layerNorm(x, T, D, g(p + 'ln2.weight'), g(p + 'ln2.bias'), c.norm_eps);
    const hdn = matmul(a2, T, D, g(p + 'mlp.w1'), F, g(p + 'mlp.b1')).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    const m = matmul(hdn, T, F, g(p + 'mlp.w2'), D, g(p + 'mlp.b2'));
    x = x.map((v, i) => v + m[i]);
  }
  const hf = layerNorm(x, T, D, g('ln_f.weight'), g('ln_f.bias'), c.norm_eps);
  const E = g('tok_emb');
  const logits = [];
  for (let t = 0; t < T; t++) {
    const row = new Float64Array(V);
    for (let v = 0; v < V; v++) { let s = 0; for (let d = 0; d < D; d++) s += hf[t * D + d] * E[v * D + d]; row[v] = s; }
    logits.push(row);
  }
  return { layers, logits };
}

function maxRelDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1e-3 + Math.abs(b[i])));
  return m;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const model = readQkv(readFileSync(modelPath));
  let worst = 0;
  let failures = 0;
  const files = JSON.parse(readFileSync(join(fixtureDir, 'index.json'), 'utf8')).fixtures.map((f) => f.file);
  for (const f of files) {
    const fx = JSON.parse(readFileSync(join(fixtureDir, f), 'utf8'));
    const run = forward(model, fx.ids);
    const diffs = [];
    run.layers.forEach((L, l) => L.heads.forEach((hd, h) => {
      for (const key of ['q', 'k', 'v', 'weights']) diffs.push(maxRelDiff(hd[key], fx.layers[l].heads[h][key]));
    }));
    fx.top20.forEach((p, t) => diffs.push(maxRelDiff(p.ids.map((id) => run.logits[t][id]), p.logits)));
    if (fx.last_logits) diffs.push(maxRelDiff(Array.from(run.logits[fx.ids.length - 1]), fx.last_logits));
    const lastTop = Array.from(run.logits[fx.ids.length - 1].keys()).sort((a, b) => run.logits[fx.ids.length - 1][b] - run.logits[fx.ids.length - 1][a]).slice(0, 5);
    const sameTop5 = lastTop.every((id, k) => id === fx.next_top5[k].id);
    const d = Math.max(...diffs);
    worst = Math.max(worst, d);
    const ok = d < 1e-5 && sameTop5;
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${f}: ${fx.ids.length} positions, max relative difference ${d.toExponential(2)}, top-5 ${sameTop5 ? 'same' : 'DIFFERENT'}`);
  }
  console.log(`${files.length - failures} passed, ${failures} failed`);
  process.exit(failures || files.length === 0 ? 1 : 0);
}
