// Reads the .qkv weights container (models/FORMAT.md) and checks it thoroughly, so that a corrupt,
// truncated or foreign file fails here with a message saying what is wrong — never inside the core.

const MAGIC = [0x51, 0x4b, 0x56, 0x4d]; // "QKVM"
const VERSION = 1;

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
    const count = Array.isArray(t.shape) && t.shape.every((d) => Number.isInteger(d) && d > 0) ? t.shape.reduce((a, b) => a * b, 1) : -1;
    if (count < 0) fail(`tensor ${t.name}: bad shape ${JSON.stringify(t.shape)}`);
    const size = { f32: 4, f16: 2, int8: 1 }[t.dtype];
    if (!size) fail(`tensor ${t.name}: unknown dtype ${JSON.stringify(t.dtype)}`);
    const inData = (off, n) => Number.isInteger(off) && off >= 0 && off % 16 === 0 && off + n <= dataBytes;
    if (t.nbytes !== count * size || !inData(t.offset, t.nbytes)) fail(`tensor ${t.name}: offset/size do not fit the data section`);
    if (t.dtype === 'int8' && (t.scales_nbytes !== t.shape[0] * 4 || !inData(t.scales_offset, t.scales_nbytes))) fail(`tensor ${t.name}: int8 scales do not fit the data section`);
    byName.set(t.name, { ...t, count });
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
