// The one way into WebAssembly. Every call (attention, multi-head attention, the model's forward pass
// and its weight check) fills a small frame of 32-bit words in wasm memory and calls one exported
// function with its address (bindings/frames.h defines each frame's fields; the module reports the
// layout at load time, so the two sides cannot drift). The function returns a status; a non-zero one
// becomes an error of errors.js with the core's message.
//
// A call, once its arguments are checked and read (call sites read every option exactly once, before
// they start a call here, so that no getter of theirs runs while a frame is half written):
//   begin(kind) → int/float/pointer fields, input(…) and output(…) slots → run(fn, entry) → result()
// Inputs and outputs that already live in wasm memory (a Tensor, or a typed array over the module's
// memory) are used where they are; the rest share one grow-only staging block, so that calls in a
// loop allocate nothing. An output whose block overlaps an input's is computed into the staging block
// and copied over afterwards, so that `out: { output: q }` gives the right numbers.
import { coreError, invalidArgument, outOfMemory } from './errors.js';
import { tensorPlace } from './tensor.js';

export const F32 = 0, U8 = 1, I32 = 2;
const MAX_MEMORY = 2 ** 31; // -sMAXIMUM_MEMORY in CMakeLists.txt

// { field: index in the frame, …, count } from "name:type,…". Built through JSON.parse: an object
// whose 30 properties are added one by one by computed name falls into V8's dictionary mode (slow
// properties after 12 such stores), and every F.name read of every call was then a hash lookup.
function parseLayout(text) {
  const names = text.split(',').filter(Boolean).map((entry) => entry.split(':')[0]);
  return JSON.parse(`{${names.map((name, i) => `${JSON.stringify(name)}:${i}`).join(',')},"count":${names.length}}`);
}

// One input or output of a call, reused from call to call (no per-call objects for arguments).
class Slot {
  constructor() {
    this.field = 0; // index in the call frame
    this.name = '';
    this.value = null; // input data, or the output's target (Tensor, Float32Array) or null
    this.length = 0; // elements
    this.kind = F32;
    this.output = false;
    this.ptr = 0; // byte address once placed
    this.resident = false; // already in wasm memory
    this.copyTo = 0; // an overlapping resident output: its own address, the result is copied there
  }
}

const BYTES = [4, 1, 4];

/** A loaded module's memory and entry points, shared by Attention, its Tensors and its Models. */
export class Bridge {
  #m;
  #layouts;
  #frames;
  #slots = [];
  #used = 0;
  #frame = 0;
  #base = 0;
  #staging = 0;
  #stagingBytes = 0;
  #i32;
  #f32;
  #buffer;

  constructor(module) {
    this.#m = module;
    this.#views();
    this.#layouts = {
      attention: parseLayout(module.attentionFrameLayout()),
      mha: parseLayout(module.mhaFrameLayout()),
      model: parseLayout(module.modelFrameLayout()),
    };
    this.#frames = {};
    for (const [kind, layout] of Object.entries(this.#layouts)) this.#frames[kind] = this.alloc('loadAttention', 4 * layout.count);
    /** The embind functions and exports of the module (names of bindings/bindings.cpp). */
    this.module = module;
  }

  // Views of the memory, read from the module again after it grew (the old ones then have length 0):
  // a property of Emscripten's Module object costs a hash lookup on every read.
  #views() {
    this.#i32 = this.#m.HEAP32;
    this.#f32 = this.#m.HEAPF32;
    this.#buffer = this.#i32.buffer; // reading .buffer on every call cost more than the rest of #place
  }

  /** The module's memory (a new ArrayBuffer after every growth). */
  heapBuffer() {
    return this.#m.HEAPU8.buffer;
  }

  /** Allocates `bytes` of wasm memory, or throws the out-of-memory RangeError naming `fn`. */
  alloc(fn, bytes) {
    const ptr = bytes > MAX_MEMORY ? 0 : this.#m._malloc(bytes);
    if (!ptr) {
      throw outOfMemory(`${fn}: needs ${(bytes / 2 ** 20).toFixed(1)} MiB more WebAssembly memory, ` +
        `which is over the ${MAX_MEMORY / 2 ** 20} MiB limit or not available`);
    }
    return ptr;
  }

  free(ptr) {
    this.#m._free(ptr);
  }

  /** Frees the staging block (it is regrown by the next call). */
  releaseStaging() {
    if (this.#staging) this.#m._free(this.#staging);
    this.#staging = 0;
    this.#stagingBytes = 0;
  }

  /** Starts a call of `kind` ('attention', 'mha', 'model'): a zeroed frame; returns its field indices. */
  begin(kind) {
    for (let i = 0; i < this.#used; ++i) this.#slots[i].value = null;
    this.#used = 0;
    this.#frame = this.#frames[kind];
    this.#base = this.#frame >> 2;
    const F = this.#layouts[kind];
    if (this.#i32.length === 0) this.#views();
    // A loop, not fill(): TypedArray.prototype.fill is a call into the engine's C++ (1–2% of a
    // call at n = 8), where a JIT-compiled loop over ~30 words is not.
    const w = this.#i32;
    for (let i = this.#base, end = i + F.count; i < end; ++i) w[i] = 0;
    return F;
  }

  /** The memory as 32-bit words, and the call frame's first word in it: for a caller writing many fields. */
  get words() {
    return this.#i32;
  }

  get base() {
    return this.#base;
  }

  /** The frame's address, for the embind helpers that read a frame (modelTensorLayout). */
  get frame() {
    return this.#frame;
  }

  int(field, value) {
    this.#i32[this.#base + field] = value;
  }

  float(field, value) {
    this.#f32[this.#base + field] = value;
  }

  /** A field holding an address the caller owns (a model's parameters). */
  pointer(field, ptr) {
    this.#i32[this.#base + field] = ptr;
  }

  #slot(field, name, value, length, kind, output) {
    if (this.#used === this.#slots.length) this.#slots.push(new Slot());
    const s = this.#slots[this.#used++];
    s.field = field; s.name = name; s.value = value; s.length = length; s.kind = kind; s.output = output;
    s.ptr = 0; s.resident = false; s.copyTo = 0;
    return s;
  }

  /** An input of `length` elements: a Float32Array, Uint8Array or Int32Array (by `kind`) or a Tensor. */
  input(field, name, value, length, kind = F32) {
    this.#slot(field, name, value, length, kind, false);
  }

  /** An output of `length` floats, written into `target` (a Tensor or a Float32Array) or a new array. */
  output(field, name, target, length) {
    this.#slot(field, name, target, length, F32, true);
  }

  /** Places the slots, calls `entry(frame)` and turns a failure status into an error naming `fn`. */
  run(fn, entry) {
    this.#place(fn);
    const status = entry(this.#frame);
    if (status !== 0) throw coreError(fn, status, this.#m.lastError());
  }

  #place(fn) {
    if (this.#i32.length === 0) this.#views();
    const slots = this.#slots, used = this.#used, heap = this.#buffer;
    // Resident inputs span [low, high); only a resident output inside that span can overlap one.
    let bytes = 0, low = Infinity, high = 0, residentOutputs = 0, overlapping = false;
    for (let i = 0; i < used; ++i) {
      const s = slots[i], v = s.value;
      if (v === null) {
        // a new output array: staging
      } else if (!ArrayBuffer.isView(v)) {
        s.ptr = tensorPlace(v, this, fn, s.name); // callers pass typed arrays and Tensors only
        s.resident = true;
      } else if (v.buffer === heap) {
        s.ptr = v.byteOffset; // a view of the module's own memory: used in place, like a Tensor
        s.resident = true;
      }
      if (s.resident) {
        if (s.output) {
          ++residentOutputs;
        } else {
          low = Math.min(low, s.ptr);
          high = Math.max(high, s.ptr + s.length * BYTES[s.kind]);
        }
        continue;
      }
      s.ptr = bytes; // an offset until the staging block is known
      bytes += Math.ceil((s.length * BYTES[s.kind]) / 16) * 16;
    }
    for (let i = 0; residentOutputs && i < used; ++i) {
      const s = slots[i];
      if (s.output && s.resident && s.ptr < high && s.ptr + s.length * 4 > low) overlapping = true;
    }
    // Outputs overlapping each other are refused in #separate too: checked whenever two are resident.
    if (overlapping || residentOutputs > 1) bytes = this.#separate(fn, bytes);
    if (bytes > this.#stagingBytes) {
      this.releaseStaging();
      this.#staging = this.alloc(fn, bytes);
      this.#stagingBytes = bytes;
    }
    if (this.#i32.length === 0) this.#views(); // the allocation may have grown memory
    const i32 = this.#i32, f32 = this.#f32, base = this.#base;
    for (let i = 0; i < used; ++i) {
      const s = slots[i];
      if (!s.resident) {
        s.ptr += this.#staging;
        if (!s.output) {
          if (s.kind === U8) this.#m.HEAPU8.set(s.value, s.ptr);
          else if (s.kind === I32) i32.set(s.value, s.ptr >> 2);
          else f32.set(s.value, s.ptr >> 2);
        }
      }
      i32[base + s.field] = s.ptr;
    }
  }

  // Outputs that live in wasm memory and overlap an input are computed into staging instead and
  // copied to their place after the call; two outputs that overlap each other are refused (the
  // result would depend on the order the core writes them). Returns the staging bytes needed.
  #separate(fn, bytes) {
    const slots = this.#slots, used = this.#used;
    for (let i = 0; i < used; ++i) {
      const o = slots[i];
      if (!o.output || !o.resident) continue;
      const oEnd = o.ptr + o.length * 4;
      for (let j = 0; j < used; ++j) {
        const s = slots[j];
        if (j === i || !s.resident || s.ptr >= oEnd || o.ptr >= s.ptr + s.length * BYTES[s.kind]) continue;
        if (s.output) {
          throw invalidArgument(`${fn}: out.${o.name} and out.${s.name} share memory; give each output its own Tensor or array`);
        }
        o.copyTo = o.ptr;
      }
    }
    for (let i = 0; i < used; ++i) {
      const o = slots[i];
      if (!o.copyTo) continue;
      o.resident = false;
      o.ptr = bytes;
      bytes += Math.ceil((o.length * 4) / 16) * 16;
    }
    return bytes;
  }

  /** The address an output slot (by its index among the call's slots) was written to. */
  addressOf(slotIndex) {
    return this.#slots[slotIndex].ptr;
  }

  /** Number of slots so far in this call: the index the next input() or output() gets. */
  get slotCount() {
    return this.#used;
  }

  /**
   * The call's outputs by name, as the caller asked for them: its own Tensor or array (now holding
   * the numbers) or a new Float32Array; plus `shape`.
   */
  result(shape) {
    const result = { shape };
    const slots = this.#slots, used = this.#used;
    if (this.#i32.length === 0) this.#views(); // the call may have grown memory
    const f32 = this.#f32;
    for (let i = 0; i < used; ++i) {
      const s = slots[i];
      if (!s.output) continue;
      if (s.copyTo) f32.copyWithin(s.copyTo >> 2, s.ptr >> 2, (s.ptr >> 2) + s.length);
      if (s.resident || s.copyTo) {
        result[s.name] = s.value;
        continue;
      }
      const view = f32.subarray(s.ptr >> 2, (s.ptr >> 2) + s.length);
      if (s.value) s.value.set(view);
      result[s.name] = s.value ?? view.slice();
    }
    for (let i = 0; i < used; ++i) slots[i].value = null; // hold no caller data between calls
    this.#used = 0;
    return result;
  }
}
