// Rewrites the relaxed-SIMD multiply-adds that clang 14 (Debian's emscripten 3.1.6) emits with their
// old prototype opcodes into the final ones that engines run:
//   0xfd 0xaf 0x01 (prototype f32x4.fma, a·b + c)  →  0xfd 0x85 0x02 (f32x4.relaxed_madd)
//   0xfd 0xb0 0x01 (prototype f32x4.fms, -a·b + c) →  0xfd 0x86 0x02 (f32x4.relaxed_nmadd)
// Both keep their byte width, so the module is patched in place. The code section is decoded
// instruction by instruction, so that bytes inside immediates (a v128.const, a shuffle's lanes, an
// i32.const) are never mistaken for opcodes; an opcode this file does not know, and any other
// prototype relaxed-SIMD opcode (swizzle, trunc, laneselect, min/max, f64x2 fma…), is refused. The
// result is written only once `wasm-validate --enable-relaxed-simd` (Debian's wabt) accepts it.
//
//   node scripts/relax-simd.mjs in.wasm out.wasm
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const REWRITE = new Map([[0xaf, 0x105], [0xb0, 0x106]]);
// The gaps of the final SIMD128 opcode space (0x00 … 0xff): where clang 14 put its relaxed-SIMD
// prototypes. Opcodes from 0x100 on are final relaxed SIMD, which clang 14 cannot emit.
const SIMD_GAPS = new Set([0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0,
  0xd2, 0xd3, 0xd4, 0xe2, 0xee]);
const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

export class RelaxSimdError extends Error {}

class Reader {
  constructor(bytes, pos = 0) { this.b = bytes; this.pos = pos; }
  byte() {
    if (this.pos >= this.b.length) throw new RelaxSimdError('unexpected end of the module');
    return this.b[this.pos++];
  }
  u32() {
    let result = 0, shift = 0, byte;
    do {
      byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  }
  signed() { let byte; do byte = this.byte(); while (byte & 0x80); } // skipped, not decoded
  skip(n) { this.pos += n; if (this.pos > this.b.length) throw new RelaxSimdError('unexpected end of the module'); }
  memarg() { this.u32(); this.u32(); }
}

// Walks one function body's instructions from r.pos to `end`, calling simd(sub, subAt) for every
// SIMD instruction (sub: its opcode after the 0xfd prefix; subAt: where that opcode is encoded).
function walkBody(r, end, simd) {
  while (r.pos < end) {
    const at = r.pos, op = r.byte();
    if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0xd1) continue;
    if (op >= 0x02 && op <= 0x04) { // block, loop, if: a block type
      const t = r.b[r.pos];
      if (t === 0x40 || VALTYPES.has(t)) r.skip(1);
      else r.signed();
    } else if (op === 0x0c || op === 0x0d || op === 0x10 || (op >= 0x20 && op <= 0x26) || op === 0xd2) {
      r.u32();
    } else if (op === 0x0e) { // br_table
      for (let n = r.u32(); n > 0; --n) r.u32();
      r.u32();
    } else if (op === 0x11) { r.u32(); r.u32(); } // call_indirect
    else if (op === 0x1c) { for (let n = r.u32(); n > 0; --n) r.skip(1); } // select t*
    else if (op >= 0x28 && op <= 0x3e) r.memarg();
    else if (op === 0x3f || op === 0x40) r.skip(1);
    else if (op === 0x41 || op === 0x42) r.signed();
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op >= 0x45 && op <= 0xc4) continue;
    else if (op === 0xd0) r.skip(1);
    else if (op === 0xfc) {
      const sub = r.u32();
      if (sub <= 7) continue;
      if (sub === 8) { r.u32(); r.skip(1); } else if (sub === 10) r.skip(2);
      else if (sub === 11) r.skip(1);
      else if (sub === 12 || sub === 14) { r.u32(); r.u32(); } else if (sub <= 17) r.u32();
      else throw new RelaxSimdError(`unknown instruction 0xfc ${sub} at byte ${at}`);
    } else if (op === 0xfd) {
      const subAt = r.pos, sub = r.u32();
      simd(sub, subAt, r.pos - subAt);
      if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) r.memarg();
      else if (sub === 0x0c || sub === 0x0d) r.skip(16);
      else if (sub >= 0x15 && sub <= 0x22) r.skip(1);
      else if (sub >= 0x54 && sub <= 0x5b) { r.memarg(); r.skip(1); }
    } else {
      throw new RelaxSimdError(`unknown instruction 0x${op.toString(16)} at byte ${at}`);
    }
  }
  if (r.pos !== end) throw new RelaxSimdError(`a function body overran its size at byte ${end}`);
}

// Calls simd(sub, subAt, width) for every SIMD instruction of every function of the module.
function forEachSimd(bytes, simd) {
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d || bytes[4] !== 1) {
    throw new RelaxSimdError('not a WebAssembly module (version 1)');
  }
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const id = r.byte(), size = r.u32(), end = r.pos + size;
    if (id === 10) {
      for (let n = r.u32(); n > 0; --n) {
        const bodySize = r.u32(), bodyEnd = r.pos + bodySize;
        for (let groups = r.u32(); groups > 0; --groups) { r.u32(); r.skip(1); } // locals: count, type
        walkBody(r, bodyEnd, simd);
      }
      if (r.pos !== end) throw new RelaxSimdError('the code section overran its size');
    }
    r.pos = end;
  }
}

/** Rewrites `bytes` (a Uint8Array holding a wasm module) in place; returns { madd, nmadd }. */
export function relaxSimd(bytes) {
  const counts = { madd: 0, nmadd: 0 };
  forEachSimd(bytes, (sub, at, width) => {
    if (REWRITE.has(sub)) {
      if (width !== 2) throw new RelaxSimdError(`a non-canonical opcode encoding at byte ${at}`);
      const to = REWRITE.get(sub);
      bytes[at] = 0x80 | (to & 0x7f);
      bytes[at + 1] = to >> 7;
      counts[sub === 0xaf ? 'madd' : 'nmadd'] += 1;
    } else if (sub > 0xff || SIMD_GAPS.has(sub)) {
      throw new RelaxSimdError(`instruction 0xfd 0x${sub.toString(16)} at byte ${at - 1} is not SIMD128 nor a multiply-add ` +
        'this rewriter knows (another relaxed-SIMD prototype?): refusing to guess its final form');
    }
  });
  return counts;
}

/** How many times each SIMD opcode (after the 0xfd prefix) occurs in the module: a Map. */
export function simdOpcodeCounts(bytes) {
  const counts = new Map();
  forEachSimd(bytes, (sub) => counts.set(sub, (counts.get(sub) ?? 0) + 1));
  return counts;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: node scripts/relax-simd.mjs in.wasm out.wasm');
    process.exit(2);
  }
  try {
    const bytes = new Uint8Array(fs.readFileSync(input));
    const { madd, nmadd } = relaxSimd(bytes);
    if (madd + nmadd === 0) throw new RelaxSimdError('no relaxed-SIMD multiply-add to rewrite');
    const unchecked = `${output}.unchecked`;
    fs.writeFileSync(unchecked, bytes);
    try {
      execFileSync('wasm-validate', ['--enable-relaxed-simd', unchecked], { stdio: ['ignore', 'inherit', 'inherit'] });
    } catch (e) {
      fs.rmSync(unchecked, { force: true });
      throw new RelaxSimdError(e.code === 'ENOENT' ? 'wasm-validate not found (Debian package wabt)' : 'wasm-validate rejected the result');
    }
    fs.renameSync(unchecked, output);
    console.log(`relax-simd: ${output}: ${madd} f32x4.relaxed_madd, ${nmadd} f32x4.relaxed_nmadd, validated`);
  } catch (e) {
    console.error(`relax-simd: ${input}: ${e.message}`);
    process.exit(1);
  }
}
