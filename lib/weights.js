// Reads the .qkv weights container (models/FORMAT.md) and checks it thoroughly, so that a corrupt,
// truncated, foreign or hostile file fails here with a message saying what is wrong — never inside
// the core. A file can claim any sizes in its header: every size is checked against the file's own
// length and fixed maxima (in doubles, exact to 2^53) before anything is allocated or the core is
// asked anything, so that what a load allocates is bounded by a small multiple of the file's size.

const MAGIC = [0x51, 0x4b, 0x56, 0x4d]; // "QKVM"
const VERSION = 1;
const MAX_RANK = 4;
const MAX_DIM = 2 ** 31 - 1; // a dimension the core reads as an int32
// The core's limit on each model dimension (kMaxModelDim in src/model.h).
export const MAX_MODEL_DIM = 2 ** 20;
const FLT_MAX = 3.4028234663852886e38;
const DTYPE_BYTES = { f32: 4, f16: 2, int8: 1 };

/** Thrown for a file that is not a valid .qkv weights file. */
export class WeightsFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WeightsFormatError';
    this.code = 'ERR_QKV_FORMAT';
  }
}

// CRC-32 (IEEE), the checksum the format records. Table-driven, four bytes a step ("slicing by 4":
// four 256-entry tables): checking the 1.1 MB word-vector table is on the page's path to its first
// heatmap, and byte-at-a-time took ~20 ms of it in a cold-load profile. A few lines, where a
// dependency would be larger than the code (browsers have no built-in CRC; Node's zlib.crc32 is
// Node >= 22).
let CRC_TABLES;
export function crc32(bytes) {
  if (!CRC_TABLES) {
    CRC_TABLES = new Uint32Array(4 * 256);
    for (let n = 0; n < 256; ++n) {
      let c = n;
      for (let k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLES[n] = c >>> 0;
    }
    for (let n = 0; n < 256; ++n) {
      for (let t = 1; t < 4; ++t) {
        const prev = CRC_TABLES[(t - 1) * 256 + n];
        CRC_TABLES[t * 256 + n] = (prev >>> 8) ^ CRC_TABLES[prev & 0xff];
      }
    }
  }
  const T = CRC_TABLES;
  let crc = 0xffffffff, i = 0;
  for (const end = bytes.length - 3; i < end; i += 4) {
    crc ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    crc = T[768 + (crc & 0xff)] ^ T[512 + ((crc >>> 8) & 0xff)] ^ T[256 + ((crc >>> 16) & 0xff)] ^ T[crc >>> 24];
  }
  for (; i < bytes.length; ++i) crc = T[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// A value from a file, for a message: short even when the file put a megabyte there.
function show(value) {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Parses a .qkv file. Returns { header, kind, config, vocab, tensor(name) → Float32Array (dequantised),
 * tensorInfo(name) }. `what` names the file in error messages.
 */
export function parseWeights(input, what = 'weights file') {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const fail = (msg) => { throw new WeightsFormatError(`${what}: ${msg}`); };
  if (bytes.length < 12) fail(`${bytes.length} bytes is too short for a .qkv file (truncated?)`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) fail('not a .qkv weights file (it does not start with "QKVM")');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== VERSION) fail(`format version ${version} is not supported (this package reads version ${VERSION})`);
  const headerLength = dv.getUint32(8, true);
  if (12 + headerLength > bytes.length) fail(`the header says ${headerLength} bytes but the file ends before that (truncated?)`);
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch (e) {
    fail(`the JSON header does not parse (${e.message})`);
  }
  if (!header || typeof header !== 'object' || header.format !== 'qkv-attention-weights') fail('the header is not a qkv-attention-weights header');
  if (header.kind !== 'model' && header.kind !== 'embeddings') fail(`unknown kind ${JSON.stringify(header.kind)}`);
  if (!Array.isArray(header.vocab) || !header.vocab.every((w) => typeof w === 'string')) fail('the vocabulary is missing or not a list of strings');
  if (!Array.isArray(header.tensors)) fail('the tensor table is missing');
  const dataStart = Math.ceil((12 + headerLength) / 16) * 16;
  const dataBytes = header.data_bytes;
  if (!Number.isInteger(dataBytes) || dataBytes < 0) fail('data_bytes is missing');
  if (dataStart + dataBytes > bytes.length) fail(`the data section needs ${dataBytes} bytes but the file has ${Math.max(0, bytes.length - dataStart)} (truncated?)`);
  if (dataStart + dataBytes < bytes.length) fail(`${bytes.length - dataStart - dataBytes} unexpected bytes after the data section`);
  const data = bytes.subarray(dataStart, dataStart + dataBytes);
  if (typeof header.data_crc32 === 'string') {
    const got = crc32(data).toString(16).padStart(8, '0');
    if (got !== header.data_crc32.toLowerCase()) fail(`checksum mismatch: the data is corrupt (CRC-32 ${got}, header says ${header.data_crc32})`);
  }

  const byName = new Map();
  for (const t of header.tensors) {
    if (!t || typeof t.name !== 'string') fail('a tensor entry has no name');
    const name = show(t.name).slice(1, -1);
    if (byName.has(t.name)) fail(`tensor ${name} is listed twice`);
    if (!Array.isArray(t.shape) || t.shape.length < 1 || t.shape.length > MAX_RANK) fail(`tensor ${name}: bad shape ${show(t.shape)} (1 to ${MAX_RANK} dimensions)`);
    // Every element takes at least a byte of the data section: a count past its length is a lie,
    // and checking as the product grows keeps it far below 2^53.
    let count = 1;
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 1 || d > MAX_DIM) fail(`tensor ${name}: bad shape ${show(t.shape)}`);
      count *= d;
      if (count > dataBytes) fail(`tensor ${name}: shape ${show(t.shape)} holds more numbers than the ${dataBytes}-byte data section`);
    }
    const size = typeof t.dtype === 'string' && Object.hasOwn(DTYPE_BYTES, t.dtype) ? DTYPE_BYTES[t.dtype] : 0;
    if (!size) fail(`tensor ${name}: unknown dtype ${show(t.dtype)}`);
    const inData = (off, n) => Number.isInteger(off) && off >= 0 && off % 16 === 0 && off + n <= dataBytes;
    if (t.nbytes !== count * size || !inData(t.offset, t.nbytes)) fail(`tensor ${name}: offset/size do not fit the data section`);
    if (t.dtype === 'int8' && (t.scales_nbytes !== t.shape[0] * 4 || !inData(t.scales_offset, t.scales_nbytes))) fail(`tensor ${name}: int8 scales do not fit the data section`);
    byName.set(t.name, { ...t, count });
  }
  // A file can be corrupt and still carry a matching (or no) checksum: every value must dequantise
  // to a finite float32, or the core would refuse it later with a less useful error.
  for (const t of byName.values()) {
    const bad = firstNonFinite(t, data);
    if (bad) fail(`tensor ${show(t.name).slice(1, -1)}: ${bad} (the data is corrupt)`);
  }

  // Rows [r0, r1) of tensor t, dequantised, into the Float32Array `out` from index `o`.
  function dequantise(t, r0, r1, out, o) {
    const width = t.count / t.shape[0], at = data.byteOffset + t.offset, n = (r1 - r0) * width;
    if (t.dtype === 'f32') {
      out.set(new Float32Array(data.buffer.slice(at + r0 * width * 4, at + r1 * width * 4)), o);
    } else if (t.dtype === 'f16') {
      const view = new DataView(data.buffer, at, t.nbytes);
      for (let i = 0; i < n; ++i) out[o + i] = halfToFloat(view.getUint16(2 * (r0 * width + i), true));
    } else {
      const q = new Int8Array(data.buffer, at, t.nbytes);
      const scales = new DataView(data.buffer, data.byteOffset + t.scales_offset, t.scales_nbytes);
      for (let r = r0; r < r1; ++r) {
        const s = scales.getFloat32(4 * r, true);
        for (let c = 0, i = r * width, j = o + (r - r0) * width; c < width; ++c) out[j + c] = q[i + c] * s;
      }
    }
  }

  function tensor(name) {
    const t = byName.get(name);
    if (!t) fail(`tensor ${name} is missing`);
    const out = new Float32Array(t.count);
    dequantise(t, 0, t.shape[0], out, 0);
    return out;
  }

  // Rows of a tensor (its first dimension) one at a time: `fill(r, out)` writes row r, dequantised,
  // into `out` (a Float32Array of the row's length). A word-vector table needs only the rows of the
  // words typed, and dequantising all of it up front was most of the time from download to first
  // heatmap.
  function rows(name) {
    const t = byName.get(name);
    if (!t) fail(`tensor ${name} is missing`);
    const count = t.shape[0], width = t.count / count;
    return { count, width, fill: (r, out) => dequantise(t, r, r + 1, out, 0) };
  }

  return { header, kind: header.kind, config: header.config ?? {}, vocab: header.vocab, tensor, rows, tensorInfo: (name) => byName.get(name) };
}

// What is wrong with the first value of tensor t that does not dequantise to a finite float32, or ''.
function firstNonFinite(t, data) {
  const view = new DataView(data.buffer, data.byteOffset + t.offset, t.nbytes);
  if (t.dtype === 'f32') {
    for (let i = 0; i < t.count; ++i) {
      const x = view.getFloat32(4 * i, true);
      if (!Number.isFinite(x)) return `${x} at index ${i}`;
    }
  } else if (t.dtype === 'f16') {
    for (let i = 0; i < t.count; ++i) {
      if ((view.getUint16(2 * i, true) & 0x7c00) === 0x7c00) return `${halfToFloat(view.getUint16(2 * i, true))} at index ${i}`;
    }
  } else {
    // int8 × scale: finite for every int8 exactly when |scale| ≤ FLT_MAX / 128.
    const scales = new DataView(data.buffer, data.byteOffset + t.scales_offset, t.scales_nbytes);
    for (let r = 0; r < t.shape[0]; ++r) {
      const s = scales.getFloat32(4 * r, true);
      if (!(Math.abs(s) <= FLT_MAX / 128)) return `the int8 scale of row ${r} is ${s}`;
    }
  }
  return '';
}

/**
 * Checks a model file's config against fixed maxima and its own tensor table, before the core is
 * asked for anything: each dimension an integer in [1, MAX_MODEL_DIM], and no more layers than the
 * file has tensors (each layer needs several), so that the layout the core lists is bounded by the
 * file's size. `fn` names the caller in messages.
 */
export function checkModelConfig(file, fn) {
  const c = file.config, fail = (msg) => { throw new WeightsFormatError(`${fn}: ${msg}`); };
  if (!c || typeof c !== 'object') fail('the file has no model config');
  for (const key of ['vocab_size', 'd_model', 'n_layers', 'n_heads', 'd_ff', 'max_positions']) {
    const v = c[key];
    if (!Number.isInteger(v) || v < 1 || v > MAX_MODEL_DIM) fail(`config.${key} must be an integer in [1, ${MAX_MODEL_DIM}], received ${show(v)}`);
  }
  if (c.vocab_size !== file.vocab.length) fail(`config.vocab_size ${c.vocab_size} does not match the ${file.vocab.length} vocabulary entries`);
  if (c.d_model % c.n_heads !== 0) fail(`n_heads ${c.n_heads} does not divide d_model ${c.d_model}`);
  const eps = c.norm_eps;
  if (eps !== undefined && !(typeof eps === 'number' && Math.fround(eps) > 0 && Math.fround(eps) < Infinity)) {
    fail(`config.norm_eps must be a number > 0 that float32 can hold, received ${show(eps)}`);
  }
  const tensors = file.header.tensors.length;
  if (c.n_layers > tensors) fail(`config.n_layers ${c.n_layers} is more layers than the file's ${tensors} tensors can hold`);
  if (!file.vocab.includes('<bos>') || !file.vocab.includes('<unk>')) fail('the vocabulary needs <bos> and <unk>');
}

/**
 * Checks the tensors the core lists for a config ([[name, shape], …], in packed order) against the
 * file: each present, with that shape. Returns the number of parameters (exact: each tensor was
 * checked against the file's length).
 */
export function checkModelTensors(file, layout, fn) {
  const fail = (msg) => { throw new WeightsFormatError(`${fn}: ${msg}`); };
  let total = 0;
  for (const [name, shape] of layout) {
    const info = file.tensorInfo(name);
    if (!info) fail(`tensor ${name} is missing`);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      fail(`tensor ${name} has shape [${info.shape.join(', ')}] (${info.count} numbers), the config needs [${shape.join(', ')}]`);
    }
    total += info.count;
  }
  return total;
}

/** Checks a word-vector file: a `vectors` tensor [vocabulary size][dim], and `<unk>` in the vocabulary. */
export function checkEmbeddingsFile(file, fn) {
  const info = file.tensorInfo('vectors');
  if (!info || info.shape.length !== 2 || info.shape[0] !== file.vocab.length) {
    throw new WeightsFormatError(`${fn}: the vectors tensor must be [vocabulary size][dim]`);
  }
  if (!file.vocab.includes('<unk>')) throw new WeightsFormatError(`${fn}: the vocabulary needs <unk> (the vector of words it does not know)`);
}
