// qkv-attention: the package entry. Picks the SIMD or scalar WebAssembly build, loads it in Node,
// browsers, workers and bundlers, and gives the core names, defaults, checks and clear errors.
// The wasm side sees only call frames (see frames.h): JavaScript validates every argument first, so
// that a bad call throws here, names the argument, and leaves the module working.

import { INTERNAL } from './internal.js';
import { loadModelInto, loadEmbeddingsFrom } from './model.js';

export { WeightsFormatError } from './weights.js';
export { tokenize, encode } from './tokenizer.js';

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

function parseLayout(text) {
  const index = {};
  text.split(',').filter(Boolean).forEach((entry, i) => { index[entry.split(':')[0]] = i; });
  index.count = Object.keys(index).length;
  return index;
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
  static ptrOf(tensor, owner, name) {
    if (tensor.#owner !== owner) throw new TypeError(`${name}: this Tensor belongs to another loaded module`);
    if (!tensor.#ptr) throw new TypeError(`${name}: this Tensor was freed`);
    return tensor.#ptr;
  }
  /** A Float32Array view of the tensor's memory. Take a new one after any call that may grow memory. */
  get array() {
    if (!this.#ptr) throw new TypeError('Tensor.array: this Tensor was freed');
    return new Float32Array(this.#owner.heap.buffer, this.#ptr, this.length);
  }
  /** Copies `data` (length ≤ this.length) into the tensor, from `offset`. */
  set(data, offset = 0) {
    this.array.set(toFloat32('Tensor.set: data', data), offset);
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

function toFloat32(name, value) {
  if (value instanceof Float32Array) return value;
  if (Array.isArray(value) || value instanceof Float64Array) {
    for (let i = 0; i < value.length; ++i) {
      if (typeof value[i] !== 'number') {
        throw new TypeError(`${name}[${i}] must be a number, received ${describe(value[i])}`);
      }
    }
    return Float32Array.from(value);
  }
  throw new TypeError(`${name} must be a Float32Array, a Float64Array, an array of numbers or a Tensor, received ${describe(value)}`);
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

// `dims` names the dimensions, e.g. [['batch', 2], ['heads', 1], ['queries', 3], ['dim', 4]].
function expectLength(fn, name, value, dims) {
  const expected = dims.reduce((p, [, n]) => p * n, 1);
  const got = lengthOf(fn, name, value);
  if (got !== expected) {
    throw new RangeError(`${fn}: ${name} must hold ${dims.map(([d]) => d).join('×')} = ` +
      `${dims.map(([, n]) => n).join('×')} = ${expected} numbers, received ${got}`);
  }
}

// Infers a dimension that was not given from a tensor's length; throws when it does not divide.
function inferDim(fn, dimName, given, tensorName, tensor, otherDims) {
  if (given !== undefined) return given;
  const len = lengthOf(fn, tensorName, tensor);
  const other = otherDims.reduce((p, [, n]) => p * n, 1);
  if (len === 0 || len % other !== 0) {
    throw new RangeError(`${fn}: cannot infer ${dimName}: ${tensorName} has ${len} numbers, which is not a positive ` +
      `multiple of ${otherDims.map(([d]) => d).join('×')} = ${other}; pass ${dimName} explicitly`);
  }
  return len / other;
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

  // Places every input and output of a call: Tensors stay where they are, the rest share one grow-only
  // staging block, so steady-state calls allocate nothing.
  #place(fn, items) {
    let bytes = 0;
    for (const it of items) {
      if (it.value instanceof Tensor) continue;
      it.offset = bytes;
      bytes += Math.ceil((it.length * (it.size ?? 4)) / 16) * 16;
    }
    if (bytes > this.#stagingBytes) {
      if (this.#staging) this.#m._free(this.#staging);
      this.#staging = 0;
      this.#stagingBytes = 0;
      this.#staging = this.#alloc(fn, bytes);
      this.#stagingBytes = bytes;
    }
    const m = this.#m;
    for (const it of items) {
      if (it.value instanceof Tensor) {
        it.ptr = Tensor.ptrOf(it.value, this, `${fn}: ${it.name}`);
        continue;
      }
      it.ptr = this.#staging + it.offset;
      if (!it.input) continue;
      if (it.size === 1) m.HEAPU8.set(it.value, it.ptr);
      else if (it.int) m.HEAP32.set(it.value, it.ptr >> 2);
      else m.HEAPF32.set(it.value, it.ptr >> 2);
    }
  }

  #check(fn, code) {
    if (code === 0) return;
    const message = `${fn}: ${this.#m.lastError()}`;
    const err = STATUS[code] === 'invalid_argument' ? new TypeError(message) : new RangeError(message);
    err.code = STATUS[code] ?? 'unknown';
    throw err;
  }

  #readOut(item, target) {
    if (item.value instanceof Tensor) return item.value;
    const view = this.#m.HEAPF32.subarray(item.ptr >> 2, (item.ptr >> 2) + item.length);
    if (target) {
      target.set(view);
      return target;
    }
    return view.slice();
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
    dim = inferDim(fn, 'dim', dim, 'q', o.q, [['batch', batch], ['heads', heads], ['queries', queries ?? 1]]);
    queries = inferDim(fn, 'queries', queries, 'q', o.q, [['batch', batch], ['heads', heads], ['dim', dim]]);
    const keys = inferDim(fn, 'keys', positiveInt(fn, 'keys', o.keys), 'k', o.k, [['batch', batch], ['heads', heads], ['dim', dim]]);
    const valueDim = inferDim(fn, 'valueDim', positiveInt(fn, 'valueDim', o.valueDim), 'v', o.v, [['batch', batch], ['heads', heads], ['keys', keys]]);
    expectLength(fn, 'q', o.q, [['batch', batch], ['heads', heads], ['queries', queries], ['dim', dim]]);
    expectLength(fn, 'k', o.k, [['batch', batch], ['heads', heads], ['keys', keys], ['dim', dim]]);
    expectLength(fn, 'v', o.v, [['batch', batch], ['heads', heads], ['keys', keys], ['valueDim', valueDim]]);
    const shape = { batch, heads, queries, keys, dim, valueDim };

    const items = [
      { name: 'q', value: o.q, length: queries * dim * batch * heads },
      { name: 'k', value: o.k, length: keys * dim * batch * heads },
      { name: 'v', value: o.v, length: keys * valueDim * batch * heads },
    ];
    const common = this.#commonOptions(fn, o, shape, items);
    let additiveDim = 0;
    if (scoring === 'additive') {
      const a = o.additive;
      if (!a || typeof a !== 'object') throw new TypeError(`${fn}: scoring 'additive' needs additive: { wq, wk, va }`);
      additiveDim = lengthOf(fn, 'additive.va', a.va);
      if (additiveDim < 1) throw new RangeError(`${fn}: additive.va must hold at least one number, received 0`);
      expectLength(fn, 'additive.wq', a.wq, [['dim', dim], ['additiveDim', additiveDim]]);
      expectLength(fn, 'additive.wk', a.wk, [['dim', dim], ['additiveDim', additiveDim]]);
      items.push({ name: 'additive.wq', value: a.wq, length: dim * additiveDim },
        { name: 'additive.wk', value: a.wk, length: dim * additiveDim },
        { name: 'additive.va', value: a.va, length: additiveDim });
    }
    const outs = this.#outputs(fn, o, items, {
      output: batch * heads * queries * valueDim,
      weights: o.returnWeights ? batch * heads * queries * keys : 0,
      scores: o.returnScores ? batch * heads * queries * keys : 0,
      logits: o.returnLogits ? batch * heads * queries * keys : 0,
    });
    return this.#invoke(fn, o, items, shape, this.#attnFrame, this.#attnIndex, this.#m.runAttention, (F, put, putF, ptr) => {
      put(F.batch, batch); put(F.heads, heads); put(F.queries, queries); put(F.keys, keys); put(F.dim, dim); put(F.valueDim, valueDim);
      put(F.scoring, SCORING[scoring]);
      put(F.wq, ptr('additive.wq')); put(F.wk, ptr('additive.wk')); put(F.va, ptr('additive.va')); put(F.additiveDim, additiveDim);
      for (const name of ['q', 'k', 'v', 'output', 'weights', 'scores', 'logits']) put(F[name], ptr(name));
      this.#writeCommon(F, put, putF, common, ptr);
    });
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
    const n = inferDim(fn, 'the sequence length', positiveInt(fn, 'length', o.length), 'x', o.x, [['batch', batch], ['dModel', dModel]]);
    const cross = o.context !== undefined && o.context !== null;
    const dContext = cross ? inferDim(fn, 'dContext', positiveInt(fn, 'dContext', o.dContext), 'params.wk', p.wk, [['dModel', dModel]]) : dModel;
    const m = cross ? inferDim(fn, 'the context length', positiveInt(fn, 'contextLength', o.contextLength), 'context', o.context, [['batch', batch], ['dContext', dContext]]) : n;
    expectLength(fn, 'x', o.x, [['batch', batch], ['length', n], ['dModel', dModel]]);
    if (cross) expectLength(fn, 'context', o.context, [['batch', batch], ['contextLength', m], ['dContext', dContext]]);
    expectLength(fn, 'params.wq', p.wq, [['dModel', dModel], ['dModel', dModel]]);
    expectLength(fn, 'params.wk', p.wk, [['dContext', dContext], ['dModel', dModel]]);
    expectLength(fn, 'params.wv', p.wv, [['dContext', dContext], ['dModel', dModel]]);
    expectLength(fn, 'params.wo', p.wo, [['dModel', dModel], ['dModel', dModel]]);
    const items = [
      { name: 'x', value: o.x, length: batch * n * dModel },
      { name: 'wq', value: p.wq, length: dModel * dModel },
      { name: 'wk', value: p.wk, length: dContext * dModel },
      { name: 'wv', value: p.wv, length: dContext * dModel },
      { name: 'wo', value: p.wo, length: dModel * dModel },
    ];
    if (cross) items.push({ name: 'context', value: o.context, length: batch * m * dContext });
    for (const b of ['bq', 'bk', 'bv', 'bo']) {
      if (p[b] === undefined || p[b] === null) continue;
      expectLength(fn, `params.${b}`, p[b], [['dModel', dModel]]);
      items.push({ name: b, value: p[b], length: dModel });
    }
    const dHead = dModel / heads;
    const shape = { batch, heads, length: n, contextLength: m, dModel, dContext, dHead };
    const common = this.#commonOptions(fn, o, { batch, heads, queries: n, keys: m }, items);
    const want = intermediatesOf(fn, o.intermediates);
    const plane = batch * heads * n * m;
    const outs = {
      output: batch * n * dModel,
      q: want.has('q') ? batch * heads * n * dHead : 0,
      k: want.has('k') ? batch * heads * m * dHead : 0,
      v: want.has('v') ? batch * heads * m * dHead : 0,
      scores: want.has('scores') ? plane : 0,
      logits: want.has('logits') ? plane : 0,
      weights: want.has('weights') ? plane : 0,
      headOutputs: want.has('headOutputs') ? batch * heads * n * dHead : 0,
      concat: want.has('concat') ? batch * n * dModel : 0,
    };
    this.#outputs(fn, o, items, outs);
    return this.#invoke(fn, o, items, shape, this.#mhaFrame, this.#mhaIndex, this.#m.runMultiHeadAttention, (F, put, putF, ptr) => {
      put(F.batch, batch); put(F.n, n); put(F.m, m); put(F.dModel, dModel); put(F.dContext, dContext); put(F.heads, heads);
      put(F.scoring, SCORING[scoring]);
      for (const name of ['x', 'context', 'wq', 'wk', 'wv', 'wo', 'bq', 'bk', 'bv', 'bo', ...Object.keys(outs)]) put(F[name], ptr(name));
      this.#writeCommon(F, put, putF, common, ptr);
    });
  }

  // The shared second half of every call: copy inputs in, fill the frame, run, check, read results.
  #invoke(fn, o, items, shape, frame, F, run, write) {
    for (const it of items) {
      if (it.output) continue;
      it.input = true;
      if (!(it.value instanceof Tensor) && !it.size) it.value = toFloat32(`${fn}: ${it.name}`, it.value);
    }
    this.#place(fn, items);
    const base = frame >> 2;
    const i32 = this.#m.HEAP32, f32 = this.#m.HEAPF32;
    i32.fill(0, base, base + F.count);
    const ptr = (name) => items.find((it) => it.name === name)?.ptr ?? 0;
    write(F, (field, value) => { i32[base + field] = value; }, (field, value) => { f32[base + field] = value; }, ptr);
    this.#check(fn, run(frame));
    const result = { shape };
    for (const it of items) {
      if (it.output) result[it.name] = this.#readOut(it, o.out?.[it.name] instanceof Float32Array ? o.out[it.name] : null);
    }
    return result;
  }

  // Scale, temperature and masks: the options attention and multiHeadAttention share.
  #commonOptions(fn, o, { batch, heads, queries, keys }, items) {
    const scale = optionalNumber(fn, 'scale', o.scale, (v) => Number.isFinite(v) && v !== 0, 'a finite non-zero number') ?? 0;
    const temperature = optionalNumber(fn, 'temperature', o.temperature, (v) => Number.isFinite(v) && v > 0, 'a finite number > 0') ?? 1;
    const causal = optionalBool(fn, 'causal', o.causal);
    const plane = queries * keys;
    const maskDims = (name, len) => {
      if (len === plane) return [1, 1];
      if (len === batch * heads * plane) return [batch, heads];
      throw new RangeError(`${fn}: ${name} must hold queries×keys = ${queries}×${keys} = ${plane} entries (shared by ` +
        `every batch item and head) or batch×heads×queries×keys = ${batch * heads * plane}, received ${len}`);
    };
    let mask = null, additiveMask = null;
    if (o.mask !== undefined && o.mask !== null) {
      const v = o.mask;
      if (!(v instanceof Uint8Array || Array.isArray(v))) {
        throw new TypeError(`${fn}: mask must be a Uint8Array or an array of booleans (true = may attend), received ${describe(v)}`);
      }
      const dims = maskDims('mask', v.length);
      const bytes = v instanceof Uint8Array ? v : Uint8Array.from(v, (x, i) => {
        if (typeof x !== 'boolean' && typeof x !== 'number') throw new TypeError(`${fn}: mask[${i}] must be a boolean or 0/1, received ${describe(x)}`);
        return x ? 1 : 0;
      });
      items.push({ name: 'mask', value: bytes, length: bytes.length, size: 1 });
      mask = dims;
    }
    if (o.additiveMask !== undefined && o.additiveMask !== null) {
      additiveMask = maskDims('additiveMask', lengthOf(fn, 'additiveMask', o.additiveMask));
      items.push({ name: 'additiveMask', value: o.additiveMask, length: lengthOf(fn, 'additiveMask', o.additiveMask) });
    }
    if (o.keyLengths !== undefined && o.keyLengths !== null) {
      const kl = o.keyLengths;
      if (!(Array.isArray(kl) || kl instanceof Int32Array)) throw new TypeError(`${fn}: keyLengths must be an Int32Array or an array of integers, received ${describe(kl)}`);
      if (kl.length !== batch) throw new RangeError(`${fn}: keyLengths must hold one length per batch item (${batch}), received ${kl.length}`);
      for (let i = 0; i < kl.length; ++i) {
        if (!isInt(kl[i]) || kl[i] < 0 || kl[i] > keys) throw new RangeError(`${fn}: keyLengths[${i}] must be an integer in [0, ${keys}], received ${describe(kl[i])}`);
      }
      items.push({ name: 'keyLengths', value: kl instanceof Int32Array ? kl : Int32Array.from(kl), length: batch, size: 4, int: true });
    }
    return { scale, temperature, causal, mask, additiveMask };
  }

  #writeCommon(F, put, putF, common, ptr) {
    putF(F.scale, common.scale);
    putF(F.temperature, common.temperature);
    put(F.causal, common.causal ? 1 : 0);
    put(F.keyLengths, ptr('keyLengths'));
    put(F.mask, ptr('mask'));
    put(F.additiveMask, ptr('additiveMask'));
    if (common.mask) { put(F.maskBatch, common.mask[0]); put(F.maskHeads, common.mask[1]); }
    if (common.additiveMask) { put(F.additiveMaskBatch, common.additiveMask[0]); put(F.additiveMaskHeads, common.additiveMask[1]); }
  }

  #outputs(fn, o, items, sizes) {
    if (o.out !== undefined && (o.out === null || typeof o.out !== 'object')) throw new TypeError(`${fn}: out must be an object of Tensors or Float32Arrays, received ${describe(o.out)}`);
    for (const [name, length] of Object.entries(sizes)) {
      if (!length) continue;
      const target = o.out?.[name];
      if (target !== undefined) {
        if (!(target instanceof Tensor || target instanceof Float32Array)) throw new TypeError(`${fn}: out.${name} must be a Tensor or a Float32Array, received ${describe(target)}`);
        if (target.length !== length) throw new RangeError(`${fn}: out.${name} must hold ${length} numbers, received ${target.length}`);
      }
      items.push({ name, value: target instanceof Tensor ? target : null, length, output: true });
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
