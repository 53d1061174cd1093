// qkv-attention: the package entry. Picks the SIMD or scalar WebAssembly build, loads it in Node,
// browsers, workers and bundlers, and gives the core names, defaults, checks and clear errors.
// The wasm side sees only call frames (see bindings/frames.h): JavaScript validates every argument first, so
// that a bad call throws here, names the argument, and leaves the module working.

import { INTERNAL, parseLayout } from './internal.js';
import { loadModelInto, loadEmbeddingsFrom } from './model.js';

export { WeightsFormatError } from './weights.js';
export { tokenize, encode } from './tokenizer.js';
export { headScores, headLabel, HEAD_LABELS } from './heads.js';

const SCORING = { dot: 0, scaled_dot: 1, additive: 2 };
const STATUS = ['ok', 'invalid_argument', 'out_of_range', 'out_of_memory', 'non_finite'];
const MAX_MEMORY = 2 ** 31; // -sMAXIMUM_MEMORY in CMakeLists.txt

// (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt): valid only where SIMD128 is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10,
  1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** True when this engine runs WebAssembly SIMD128. */
export function simdSupported() {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string' &&
  typeof window === 'undefined';

async function readNodeFile(url) {
  const fs = typeof process.getBuiltinModule === 'function'
    ? process.getBuiltinModule('node:fs')
    // Node < 20.16: a computed specifier keeps bundlers from trying to resolve node:fs for browsers.
    : await import(/* webpackIgnore: true */ ['node', 'fs'].join(':'));
  return fs.readFileSync(url);
}

const GLUE = {
  simd: () => import('../dist/qkv-simd.js'),
  scalar: () => import('../dist/qkv-scalar.js'),
};

const loaded = new Map();

/**
 * Loads the WebAssembly module once per backend and resolves to an {@link Attention} instance.
 * Later calls with the same backend return the same instance.
 */
export function loadAttention(options = {}) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`loadAttention: options must be an object, received ${describe(options)}`);
  }
  const { backend = 'auto', wasmUrl, wasmBinary } = options;
  if (!['auto', 'simd', 'scalar'].includes(backend)) {
    throw new TypeError(`loadAttention: backend must be 'auto', 'simd' or 'scalar', received ${describe(backend)}`);
  }
  const flavour = backend === 'auto' ? (simdSupported() ? 'simd' : 'scalar') : backend;
  if (flavour === 'simd' && !simdSupported()) {
    return Promise.reject(new Error('loadAttention: backend \'simd\' was asked for, but this engine has no WebAssembly SIMD128'));
  }
  const key = wasmUrl || wasmBinary ? null : flavour; // custom sources are not memoised
  if (key && loaded.has(key)) return loaded.get(key);
  const promise = instantiate(flavour, wasmUrl, wasmBinary);
  if (key) {
    loaded.set(key, promise);
    promise.catch(() => loaded.delete(key));
  }
  return promise;
}

async function instantiate(flavour, wasmUrl, wasmBinary) {
  const { default: factory } = await GLUE[flavour]();
  const moduleArgs = {};
  if (wasmBinary) {
    moduleArgs.wasmBinary = wasmBinary;
  } else if (wasmUrl) {
    moduleArgs.locateFile = () => String(wasmUrl);
    if (isNode && String(wasmUrl).startsWith('file:')) moduleArgs.wasmBinary = await readNodeFile(new URL(String(wasmUrl)));
  } else if (isNode) {
    // Node 20 has fetch, but not for file: URLs; hand the glue the bytes instead.
    moduleArgs.wasmBinary = await readNodeFile(new URL(`../dist/qkv-${flavour}.wasm`, import.meta.url));
  }
  const module = await factory(moduleArgs);
  return new Attention(module, flavour === 'simd' ? 'wasm-simd128' : 'wasm-scalar');
}

function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${value.length}`;
  if (value instanceof Tensor) return `a Tensor of length ${value.length}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`;
  return `a ${typeof value}`;
}

/**
 * A Float32Array that lives in WebAssembly memory, for callers who run attention in a loop: passing
 * Tensors in and out copies nothing. Call free() when done.
 */
export class Tensor {
  #owner;
  #ptr;
  /** @internal */
  constructor(owner, ptr, length) {
    this.#owner = owner;
    this.#ptr = ptr;
    /** Number of float32 elements. */
    this.length = length;
  }
  /** @internal */
  static ptrOf(tensor, owner, fn, name) {
    if (tensor.#owner !== owner) throw new TypeError(`${fn}: ${name}: this Tensor belongs to another loaded module`);
    if (!tensor.#ptr) throw new TypeError(`${fn}: ${name}: this Tensor was freed`);
    return tensor.#ptr;
  }
  /** A Float32Array view of the tensor's memory. Take a new one after any call that may grow memory. */
  get array() {
    if (!this.#ptr) throw new TypeError('Tensor.array: this Tensor was freed');
    return new Float32Array(this.#owner.heap.buffer, this.#ptr, this.length);
  }
  /** Copies `data` (length ≤ this.length) into the tensor, from `offset`. */
  set(data, offset = 0) {
    this.array.set(toFloat32('Tensor.set', 'data', data), offset);
    return this;
  }
  /** A copy of the contents as a new Float32Array. */
  toFloat32Array() {
    return this.array.slice();
  }
  /** Returns the memory to the module. Using the tensor afterwards throws. */
  free() {
    if (this.#ptr) this.#owner.free(this.#ptr);
    this.#ptr = 0;
  }
  get freed() {
    return this.#ptr === 0;
  }
}

function toFloat32(fn, name, value) {
  if (value instanceof Float32Array) return value;
  if (Array.isArray(value) || value instanceof Float64Array) {
    for (let i = 0; i < value.length; ++i) {
      if (typeof value[i] !== 'number') {
        throw new TypeError(`${fn}: ${name}[${i}] must be a number, received ${describe(value[i])}`);
      }
    }
    return Float32Array.from(value);
  }
  throw new TypeError(`${fn}: ${name} must be a Float32Array, a Float64Array, an array of numbers or a Tensor, received ${describe(value)}`);
}

const isInt = (v) => typeof v === 'number' && Number.isInteger(v);

function positiveInt(fn, name, value, fallback) {
  if (value === undefined) return fallback;
  if (!isInt(value) || value < 1) {
    throw new (typeof value === 'number' ? RangeError : TypeError)(
      `${fn}: ${name} must be a positive integer, received ${describe(value)}`);
  }
  return value;
}

const isFiniteNonZero = (v) => Number.isFinite(v) && v !== 0;
const isFinitePositive = (v) => Number.isFinite(v) && v > 0;

function optionalNumber(fn, name, value, check, expected) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new TypeError(`${fn}: ${name} must be a number, received ${describe(value)}`);
  if (!check(value)) throw new RangeError(`${fn}: ${name} must be ${expected}, received ${value}`);
  return value;
}

function optionalBool(fn, name, value) {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${fn}: ${name} must be true or false, received ${describe(value)}`);
  return value;
}

function lengthOf(fn, name, value) {
  if (value instanceof Tensor) return value.length;
  if (value instanceof Float32Array || value instanceof Float64Array || Array.isArray(value)) return value.length;
  if (value === undefined) throw new TypeError(`${fn}: ${name} is required (a Float32Array, an array of numbers or a Tensor)`);
  throw new TypeError(`${fn}: ${name} must be a Float32Array, a Float64Array, an array of numbers or a Tensor, received ${describe(value)}`);
}

// The error for a tensor whose length is not the product of `dims`, e.g.
// [['batch', 2], ['heads', 1], ['queries', 3], ['dim', 4]]. Callers compare lengths first and build
// the dimension list only on this error path, so that a correct call allocates nothing for checks.
function lengthError(fn, name, value, dims) {
  const expected = dims.reduce((p, [, n]) => p * n, 1);
  return new RangeError(`${fn}: ${name} must hold ${dims.map(([d]) => d).join('×')} = ` +
    `${dims.map(([, n]) => n).join('×')} = ${expected} numbers, received ${lengthOf(fn, name, value)}`);
}

function expectLength(fn, name, value, dims) {
  if (lengthOf(fn, name, value) !== dims.reduce((p, [, n]) => p * n, 1)) throw lengthError(fn, name, value, dims);
}

// Infers a dimension that was not given from a tensor's length; throws when it does not divide.
// `otherNames` ('batch×heads×dim') name the factors of `other`, the product of the other dimensions.
function inferDim(fn, dimName, given, tensorName, tensor, otherNames, other) {
  if (given !== undefined) return given;
  const len = lengthOf(fn, tensorName, tensor);
  if (len === 0 || len % other !== 0) {
    throw new RangeError(`${fn}: cannot infer ${dimName}: ${tensorName} has ${len} numbers, which is not a positive ` +
      `multiple of ${otherNames} = ${other}; pass ${dimName} explicitly`);
  }
  return len / other;
}

const F32 = 0, U8 = 1, I32 = 2;

// One input or output of a call, reused from call to call (no per-call objects for arguments).
class Slot {
  constructor() {
    this.field = 0; // index in the call frame
    this.name = '';
    this.value = null; // input data, a Tensor, or the output's Tensor / Float32Array target (or null)
    this.length = 0;
    this.kind = F32;
    this.output = false;
    this.ptr = 0;
  }
}

/** The loaded module: attention, multi-head attention and resident tensors. */
export class Attention {
  #m;
  #attnFrame;
  #mhaFrame;
  #attnIndex;
  #mhaIndex;
  #staging = 0;
  #stagingBytes = 0;
  #slots = [];
  #used = 0;
  #frame = 0;
  #base = 0;

  /** @internal */
  constructor(module, backend) {
    this.#m = module;
    /** 'wasm-simd128' or 'wasm-scalar'. */
    this.backend = backend;
    /** Name of the kernel set in use inside the module. */
    this.kernels = module.kernelName();
    this.#attnIndex = parseLayout(module.attentionFrameLayout());
    this.#mhaIndex = parseLayout(module.mhaFrameLayout());
    this.#attnFrame = module._malloc(4 * this.#attnIndex.count);
    this.#mhaFrame = module._malloc(4 * this.#mhaIndex.count);
  }

  /** @internal */
  [INTERNAL]() {
    return this.#m;
  }

  /** Loads the trained model (the bundled one by default) into this module. */
  loadModel(source, options) {
    return loadModelInto(this, source, options);
  }

  /** Loads a word-vector table (the bundled GloVe table by default). */
  loadEmbeddings(source, options) {
    return loadEmbeddingsFrom(source, options);
  }

  /** @internal */
  get heap() {
    return this.#m.HEAPU8;
  }

  /** @internal */
  free(ptr) {
    this.#m._free(ptr);
  }

  /** Bytes of WebAssembly memory in use by the module (it grows on demand up to 2 GiB). */
  get memoryBytes() {
    return this.#m.HEAPU8.buffer.byteLength;
  }

  /** Allocates a resident tensor: from data (copied in) or a length (zero-filled). */
  tensor(dataOrLength) {
    const fn = 'qkv.tensor';
    const length = typeof dataOrLength === 'number' ? positiveInt(fn, 'length', dataOrLength) : lengthOf(fn, 'data', dataOrLength);
    if (length < 1) throw new RangeError(`${fn}: data must hold at least one number, received 0`);
    const ptr = this.#alloc(fn, length * 4);
    const t = new Tensor(this, ptr, length);
    if (typeof dataOrLength === 'number') t.array.fill(0);
    else t.set(dataOrLength instanceof Tensor ? dataOrLength.array : dataOrLength);
    return t;
  }

  #alloc(fn, bytes) {
    const ptr = bytes > MAX_MEMORY ? 0 : this.#m._malloc(bytes);
    if (!ptr) {
      throw new RangeError(`${fn}: needs ${(bytes / 2 ** 20).toFixed(1)} MiB more WebAssembly memory, ` +
        `which is over the ${MAX_MEMORY / 2 ** 20} MiB limit or not available`);
    }
    return ptr;
  }

  /**
   * Scaled dot-product attention (see index.d.ts for every option).
   * @returns {{output: Float32Array, weights?: Float32Array, scores?: Float32Array, logits?: Float32Array, shape: object}}
   */
  attention(options) {
    const fn = 'qkv.attention';
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object, received ${describe(options)}`);
    const o = options;
    const batch = positiveInt(fn, 'batch', o.batch, 1);
    const heads = positiveInt(fn, 'heads', o.heads, 1);
    const scoring = o.scoring ?? 'scaled_dot';
    if (!(scoring in SCORING)) throw new TypeError(`${fn}: scoring must be 'dot', 'scaled_dot' or 'additive', received ${describe(scoring)}`);
    let queries = positiveInt(fn, 'queries', o.queries);
    let dim = positiveInt(fn, 'dim', o.dim);
    if (dim === undefined && queries === undefined) {
      throw new TypeError(`${fn}: pass dim (the query/key vector length) or queries (the number of query rows)`);
    }
    const bh = batch * heads;
    dim = inferDim(fn, 'dim', dim, 'q', o.q, 'batch×heads×queries', bh * (queries ?? 1));
    queries = inferDim(fn, 'queries', queries, 'q', o.q, 'batch×heads×dim', bh * dim);
    const keys = inferDim(fn, 'keys', positiveInt(fn, 'keys', o.keys), 'k', o.k, 'batch×heads×dim', bh * dim);
    const valueDim = inferDim(fn, 'valueDim', positiveInt(fn, 'valueDim', o.valueDim), 'v', o.v, 'batch×heads×keys', bh * keys);
    const qLength = bh * queries * dim, kLength = bh * keys * dim, vLength = bh * keys * valueDim;
    if (lengthOf(fn, 'q', o.q) !== qLength) throw lengthError(fn, 'q', o.q, [['batch', batch], ['heads', heads], ['queries', queries], ['dim', dim]]);
    if (lengthOf(fn, 'k', o.k) !== kLength) throw lengthError(fn, 'k', o.k, [['batch', batch], ['heads', heads], ['keys', keys], ['dim', dim]]);
    if (lengthOf(fn, 'v', o.v) !== vLength) throw lengthError(fn, 'v', o.v, [['batch', batch], ['heads', heads], ['keys', keys], ['valueDim', valueDim]]);
    const shape = { batch, heads, queries, keys, dim, valueDim };

    const F = this.#attnIndex;
    this.#begin(this.#attnFrame);
    this.#input(F.q, 'q', o.q, qLength, F32);
    this.#input(F.k, 'k', o.k, kLength, F32);
    this.#input(F.v, 'v', o.v, vLength, F32);
    this.#commonOptions(fn, o, F, batch, heads, queries, keys);
    let additiveDim = 0;
    if (scoring === 'additive') {
      const a = o.additive;
      if (!a || typeof a !== 'object') throw new TypeError(`${fn}: scoring 'additive' needs additive: { wq, wk, va }`);
      additiveDim = lengthOf(fn, 'additive.va', a.va);
      if (additiveDim < 1) throw new RangeError(`${fn}: additive.va must hold at least one number, received 0`);
      expectLength(fn, 'additive.wq', a.wq, [['dim', dim], ['additiveDim', additiveDim]]);
      expectLength(fn, 'additive.wk', a.wk, [['dim', dim], ['additiveDim', additiveDim]]);
      this.#input(F.wq, 'additive.wq', a.wq, dim * additiveDim, F32);
      this.#input(F.wk, 'additive.wk', a.wk, dim * additiveDim, F32);
      this.#input(F.va, 'additive.va', a.va, additiveDim, F32);
    }
    this.#checkOut(fn, o.out);
    const plane = bh * queries * keys;
    this.#output(fn, o.out, F.output, 'output', bh * queries * valueDim);
    if (o.returnWeights) this.#output(fn, o.out, F.weights, 'weights', plane);
    if (o.returnScores) this.#output(fn, o.out, F.scores, 'scores', plane);
    if (o.returnLogits) this.#output(fn, o.out, F.logits, 'logits', plane);
    const i32 = this.#m.HEAP32, base = this.#base;
    i32[base + F.batch] = batch; i32[base + F.heads] = heads; i32[base + F.queries] = queries; i32[base + F.keys] = keys;
    i32[base + F.dim] = dim; i32[base + F.valueDim] = valueDim; i32[base + F.scoring] = SCORING[scoring];
    i32[base + F.additiveDim] = additiveDim;
    return this.#run(fn, this.#m._qkv_run_attention(this.#place(fn)), shape);
  }

  /**
   * Multi-head attention with projections (see index.d.ts).
   */
  multiHeadAttention(options) {
    const fn = 'qkv.multiHeadAttention';
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object, received ${describe(options)}`);
    const o = options;
    const p = o.params;
    if (!p || typeof p !== 'object') throw new TypeError(`${fn}: params must be an object { wq, wk, wv, wo, bq?, bk?, bv?, bo? }, received ${describe(p)}`);
    const batch = positiveInt(fn, 'batch', o.batch, 1);
    const heads = positiveInt(fn, 'heads', o.heads, 1);
    const scoring = o.scoring ?? 'scaled_dot';
    if (scoring !== 'dot' && scoring !== 'scaled_dot') throw new TypeError(`${fn}: scoring must be 'dot' or 'scaled_dot', received ${describe(scoring)}`);
    let dModel = positiveInt(fn, 'dModel', o.dModel);
    if (dModel === undefined) {
      const len = lengthOf(fn, 'params.wq', p.wq);
      dModel = Math.round(Math.sqrt(len));
      if (dModel < 1 || dModel * dModel !== len) throw new RangeError(`${fn}: params.wq must be dModel×dModel; its length ${len} is not a square`);
    }
    if (dModel % heads !== 0) throw new RangeError(`${fn}: heads must divide dModel: dModel ${dModel} is not a multiple of heads ${heads}`);
    const n = inferDim(fn, 'the sequence length', positiveInt(fn, 'length', o.length), 'x', o.x, 'batch×dModel', batch * dModel);
    const cross = o.context !== undefined && o.context !== null;
    const dContext = cross ? inferDim(fn, 'dContext', positiveInt(fn, 'dContext', o.dContext), 'params.wk', p.wk, 'dModel', dModel) : dModel;
    const m = cross ? inferDim(fn, 'the context length', positiveInt(fn, 'contextLength', o.contextLength), 'context', o.context, 'batch×dContext', batch * dContext) : n;
    expectLength(fn, 'x', o.x, [['batch', batch], ['length', n], ['dModel', dModel]]);
    if (cross) expectLength(fn, 'context', o.context, [['batch', batch], ['contextLength', m], ['dContext', dContext]]);
    expectLength(fn, 'params.wq', p.wq, [['dModel', dModel], ['dModel', dModel]]);
    expectLength(fn, 'params.wk', p.wk, [['dContext', dContext], ['dModel', dModel]]);
    expectLength(fn, 'params.wv', p.wv, [['dContext', dContext], ['dModel', dModel]]);
    expectLength(fn, 'params.wo', p.wo, [['dModel', dModel], ['dModel', dModel]]);
    const F = this.#mhaIndex;
    this.#begin(this.#mhaFrame);
    this.#input(F.x, 'x', o.x, batch * n * dModel, F32);
    this.#input(F.wq, 'wq', p.wq, dModel * dModel, F32);
    this.#input(F.wk, 'wk', p.wk, dContext * dModel, F32);
    this.#input(F.wv, 'wv', p.wv, dContext * dModel, F32);
    this.#input(F.wo, 'wo', p.wo, dModel * dModel, F32);
    if (cross) this.#input(F.context, 'context', o.context, batch * m * dContext, F32);
    for (const b of ['bq', 'bk', 'bv', 'bo']) {
      if (p[b] === undefined || p[b] === null) continue;
      expectLength(fn, `params.${b}`, p[b], [['dModel', dModel]]);
      this.#input(F[b], b, p[b], dModel, F32);
    }
    const dHead = dModel / heads;
    const shape = { batch, heads, length: n, contextLength: m, dModel, dContext, dHead };
    this.#commonOptions(fn, o, F, batch, heads, n, m);
    const want = intermediatesOf(fn, o.intermediates);
    const plane = batch * heads * n * m;
    this.#checkOut(fn, o.out);
    this.#output(fn, o.out, F.output, 'output', batch * n * dModel);
    const sizes = { q: batch * heads * n * dHead, k: batch * heads * m * dHead, v: batch * heads * m * dHead,
      scores: plane, logits: plane, weights: plane, headOutputs: batch * heads * n * dHead, concat: batch * n * dModel };
    for (const name of INTERMEDIATES) if (want.has(name)) this.#output(fn, o.out, F[name], name, sizes[name]);
    const i32 = this.#m.HEAP32, base = this.#base;
    i32[base + F.batch] = batch; i32[base + F.n] = n; i32[base + F.m] = m; i32[base + F.dModel] = dModel;
    i32[base + F.dContext] = dContext; i32[base + F.heads] = heads; i32[base + F.scoring] = SCORING[scoring];
    return this.#run(fn, this.#m._qkv_run_mha(this.#place(fn)), shape);
  }

  // A call: #begin clears the frame, #input/#output/#commonOptions record slots and scalar fields,
  // #place copies inputs in and writes the pointers, #run checks the status and collects outputs.
  #begin(frame) {
    this.#used = 0;
    this.#frame = frame;
    this.#base = frame >> 2;
    this.#m.HEAP32.fill(0, this.#base, this.#base + (frame === this.#attnFrame ? this.#attnIndex : this.#mhaIndex).count);
  }

  #slot(field, name, value, length, kind, output) {
    if (this.#used === this.#slots.length) this.#slots.push(new Slot());
    const s = this.#slots[this.#used++];
    s.field = field; s.name = name; s.value = value; s.length = length; s.kind = kind; s.output = output; s.ptr = 0;
    return s;
  }

  #input(field, name, value, length, kind) {
    this.#slot(field, name, value, length, kind, false);
  }

  #checkOut(fn, out) {
    if (out !== undefined && (out === null || typeof out !== 'object')) throw new TypeError(`${fn}: out must be an object of Tensors or Float32Arrays, received ${describe(out)}`);
  }

  #output(fn, out, field, name, length) {
    const target = out === undefined ? undefined : out[name];
    if (target !== undefined) {
      if (!(target instanceof Tensor || target instanceof Float32Array)) throw new TypeError(`${fn}: out.${name} must be a Tensor or a Float32Array, received ${describe(target)}`);
      if (target.length !== length) throw new RangeError(`${fn}: out.${name} must hold ${length} numbers, received ${target.length}`);
    }
    this.#slot(field, name, target ?? null, length, F32, true);
  }

  // Places every input and output of a call: Tensors stay where they are, the rest share one grow-only
  // staging block, so steady-state calls allocate nothing. Returns the frame's address.
  #place(fn) {
    const slots = this.#slots, used = this.#used;
    let bytes = 0;
    for (let i = 0; i < used; ++i) {
      const s = slots[i];
      if (s.value instanceof Tensor) {
        s.ptr = Tensor.ptrOf(s.value, this, fn, s.name);
        continue;
      }
      if (!s.output && s.kind === F32) s.value = toFloat32(fn, s.name, s.value);
      s.ptr = bytes; // an offset until the staging block is known
      bytes += Math.ceil((s.length * (s.kind === U8 ? 1 : 4)) / 16) * 16;
    }
    if (bytes > this.#stagingBytes) {
      if (this.#staging) this.#m._free(this.#staging);
      this.#staging = 0;
      this.#stagingBytes = 0;
      this.#staging = this.#alloc(fn, bytes);
      this.#stagingBytes = bytes;
    }
    const m = this.#m, i32 = m.HEAP32, base = this.#base; // views taken after any growth
    for (let i = 0; i < used; ++i) {
      const s = slots[i];
      if (!(s.value instanceof Tensor)) {
        s.ptr += this.#staging;
        if (!s.output) {
          if (s.kind === U8) m.HEAPU8.set(s.value, s.ptr);
          else if (s.kind === I32) i32.set(s.value, s.ptr >> 2);
          else m.HEAPF32.set(s.value, s.ptr >> 2);
        }
      }
      i32[base + s.field] = s.ptr;
    }
    return this.#frame;
  }

  #run(fn, code, shape) {
    if (code !== 0) {
      const message = `${fn}: ${this.#m.lastError()}`;
      const err = STATUS[code] === 'invalid_argument' ? new TypeError(message) : new RangeError(message);
      err.code = STATUS[code] ?? 'unknown';
      throw err;
    }
    const result = { shape };
    const slots = this.#slots, used = this.#used;
    for (let i = 0; i < used; ++i) {
      const s = slots[i];
      if (!s.output) continue;
      if (s.value instanceof Tensor) {
        result[s.name] = s.value;
        continue;
      }
      const view = this.#m.HEAPF32.subarray(s.ptr >> 2, (s.ptr >> 2) + s.length);
      if (s.value) s.value.set(view);
      result[s.name] = s.value ?? view.slice();
    }
    for (let i = 0; i < used; ++i) slots[i].value = null; // hold no caller data between calls
    return result;
  }

  // Scale, temperature and masks: the options attention and multiHeadAttention share. Writes their
  // scalar fields to the frame and records the masks as inputs.
  #commonOptions(fn, o, F, batch, heads, queries, keys) {
    // No closures here: each would be a new object on every call.
    const scale = optionalNumber(fn, 'scale', o.scale, isFiniteNonZero, 'a finite non-zero number') ?? 0;
    const temperature = optionalNumber(fn, 'temperature', o.temperature, isFinitePositive, 'a finite number > 0') ?? 1;
    const causal = optionalBool(fn, 'causal', o.causal);
    const i32 = this.#m.HEAP32, f32 = this.#m.HEAPF32, base = this.#base;
    f32[base + F.scale] = scale;
    f32[base + F.temperature] = temperature;
    i32[base + F.causal] = causal ? 1 : 0;
    if (o.mask !== undefined && o.mask !== null) {
      const v = o.mask;
      if (!(v instanceof Uint8Array || Array.isArray(v))) {
        throw new TypeError(`${fn}: mask must be a Uint8Array or an array of booleans (true = may attend), received ${describe(v)}`);
      }
      this.#maskDims(fn, 'mask', v.length, F.maskBatch, F.maskHeads, batch, heads, queries, keys);
      const bytes = v instanceof Uint8Array ? v : Uint8Array.from(v, (x, i) => {
        if (typeof x !== 'boolean' && typeof x !== 'number') throw new TypeError(`${fn}: mask[${i}] must be a boolean or 0/1, received ${describe(x)}`);
        return x ? 1 : 0;
      });
      this.#input(F.mask, 'mask', bytes, bytes.length, U8);
    }
    if (o.additiveMask !== undefined && o.additiveMask !== null) {
      const len = lengthOf(fn, 'additiveMask', o.additiveMask);
      this.#maskDims(fn, 'additiveMask', len, F.additiveMaskBatch, F.additiveMaskHeads, batch, heads, queries, keys);
      this.#input(F.additiveMask, 'additiveMask', o.additiveMask, len, F32);
    }
    if (o.keyLengths !== undefined && o.keyLengths !== null) {
      const kl = o.keyLengths;
      if (!(Array.isArray(kl) || kl instanceof Int32Array)) throw new TypeError(`${fn}: keyLengths must be an Int32Array or an array of integers, received ${describe(kl)}`);
      if (kl.length !== batch) throw new RangeError(`${fn}: keyLengths must hold one length per batch item (${batch}), received ${kl.length}`);
      for (let i = 0; i < kl.length; ++i) {
        if (!isInt(kl[i]) || kl[i] < 0 || kl[i] > keys) throw new RangeError(`${fn}: keyLengths[${i}] must be an integer in [0, ${keys}], received ${describe(kl[i])}`);
      }
      this.#input(F.keyLengths, 'keyLengths', kl instanceof Int32Array ? kl : Int32Array.from(kl), batch, I32);
    }
  }

  // A mask's broadcast dimensions from its length: one queries×keys plane for every batch item and
  // head, or one per batch item and head.
  #maskDims(fn, name, len, batchField, headsField, batch, heads, queries, keys) {
    const i32 = this.#m.HEAP32, base = this.#base, plane = queries * keys;
    if (len === plane) {
      i32[base + batchField] = 1; i32[base + headsField] = 1;
    } else if (len === batch * heads * plane) {
      i32[base + batchField] = batch; i32[base + headsField] = heads;
    } else {
      throw new RangeError(`${fn}: ${name} must hold queries×keys = ${queries}×${keys} = ${plane} entries (shared by ` +
        `every batch item and head) or batch×heads×queries×keys = ${batch * heads * plane}, received ${len}`);
    }
  }

  /** Frees the module's internal scratch memory (it is regrown on the next call). */
  releaseScratch() {
    this.#m.releaseScratch();
    if (this.#staging) this.#m._free(this.#staging);
    this.#staging = 0;
    this.#stagingBytes = 0;
  }
}

const INTERMEDIATES = ['q', 'k', 'v', 'scores', 'logits', 'weights', 'headOutputs', 'concat'];

function intermediatesOf(fn, value) {
  if (value === undefined || value === false) return new Set();
  if (value === true) return new Set(INTERMEDIATES);
  if (!Array.isArray(value)) throw new TypeError(`${fn}: intermediates must be true or an array of names from ${INTERMEDIATES.join(', ')}, received ${describe(value)}`);
  for (const v of value) {
    if (!INTERMEDIATES.includes(v)) throw new TypeError(`${fn}: intermediates: unknown name ${describe(v)}; expected one of ${INTERMEDIATES.join(', ')}`);
  }
  return new Set(value);
}
