// The loaded module as callers see it: attention, multi-head attention and resident tensors. Each
// call reads and checks every option once, into local variables (so an option's getter runs once,
// before anything is written to wasm memory, and a call it makes cannot disturb this one), then
// passes them through the one call layer (call.js).
import { Bridge, F32, U8, I32 } from './call.js';
import { checkOptions, optionNames, choice, bool, positiveInt, float32, describe, typedLength } from './checks.js';
import { invalidArgument, outOfRange, nonFinite } from './errors.js';
import { makeTensor, isTensor, toFloat32 } from './tensor.js';

const SCORING = Object.freeze({ __proto__: null, dot: 0, scaled_dot: 1, additive: 2 });
const DOT_SCORING = Object.freeze({ __proto__: null, dot: 0, scaled_dot: 1 });

const MASK_OPTIONS = ['scale', 'temperature', 'causal', 'keyLengths', 'mask', 'additiveMask'];
const ATTENTION_OPTIONS = optionNames('q', 'k', 'v', 'dim', 'queries', 'keys', 'valueDim', 'batch', 'heads', 'scoring',
  'additive', 'returnWeights', 'returnScores', 'returnLogits', 'out', ...MASK_OPTIONS);
const ATTENTION_OUTPUTS = optionNames('output', 'weights', 'scores', 'logits');
const ADDITIVE_KEYS = optionNames('wq', 'wk', 'va');
const INTERMEDIATES = ['q', 'k', 'v', 'scores', 'logits', 'weights', 'headOutputs', 'concat'];
const MHA_OPTIONS = optionNames('x', 'context', 'params', 'heads', 'batch', 'dModel', 'length', 'dContext', 'contextLength',
  'scoring', 'intermediates', 'out', ...MASK_OPTIONS);
const MHA_OUTPUTS = optionNames('output', ...INTERMEDIATES);
const PARAM_KEYS = optionNames('wq', 'wk', 'wv', 'wo', 'bq', 'bk', 'bv', 'bo');

let bridgeOf;

/** The loaded module: attention, multi-head attention and resident tensors. */
export class Attention {
  #bridge;
  #m;
  #backend;

  /** @internal Made by loadAttention(). */
  constructor(module, backend) {
    this.#m = module;
    this.#bridge = new Bridge(module);
    this.#backend = backend;
  }

  static {
    // For model.js: the call layer of a loaded module.
    bridgeOf = (qkv) => qkv.#bridge;
  }

  /** 'wasm-simd128' or 'wasm-scalar'. */
  get backend() {
    return this.#backend;
  }

  /** Name of the kernel set in use inside the module. */
  get kernels() {
    return this.#m.kernelName();
  }

  /** Bytes of WebAssembly memory in use by the module (it grows on demand up to 2 GiB). */
  get memoryBytes() {
    return this.#m.HEAPU8.buffer.byteLength;
  }

  /** Allocates a resident tensor: from data (copied in) or a length (zero-filled). */
  tensor(dataOrLength) {
    const fn = 'qkv.tensor';
    const data = typeof dataOrLength === 'number' ? null : toFloat32(fn, 'data', dataOrLength);
    const length = data === null ? positiveInt(fn, 'length', dataOrLength) : lengthOf(data);
    if (length < 1) throw outOfRange(`${fn}: data must hold at least one number, received 0`);
    const t = makeTensor(this.#bridge, this.#bridge.alloc(fn, length * 4), length);
    if (data === null) t.array.fill(0);
    else t.set(data);
    return t;
  }

  /**
   * Scaled dot-product attention (see index.d.ts for every option).
   * @returns {{output: Float32Array, weights?: Float32Array, scores?: Float32Array, logits?: Float32Array, shape: object}}
   */
  attention(options) {
    const fn = 'qkv.attention';
    const o = checkOptions(fn, 'options', options, ATTENTION_OPTIONS);
    const q = toFloat32(fn, 'q', o.q), k = toFloat32(fn, 'k', o.k), v = toFloat32(fn, 'v', o.v);
    const batch = positiveInt(fn, 'batch', o.batch, 1);
    const heads = positiveInt(fn, 'heads', o.heads, 1);
    const scoring = choice(fn, 'scoring', o.scoring, 'scaled_dot', SCORING, "'dot', 'scaled_dot' or 'additive'");
    const givenQueries = positiveInt(fn, 'queries', o.queries);
    const givenDim = positiveInt(fn, 'dim', o.dim);
    const givenKeys = positiveInt(fn, 'keys', o.keys);
    const givenValueDim = positiveInt(fn, 'valueDim', o.valueDim);
    const m = readMaskOptions(fn, o);
    const returnWeights = bool(fn, 'returnWeights', o.returnWeights);
    const returnScores = bool(fn, 'returnScores', o.returnScores);
    const returnLogits = bool(fn, 'returnLogits', o.returnLogits);
    let wq = null, wk = null, va = null;
    if (scoring === 'additive') {
      if (o.additive === undefined) throw invalidArgument(`${fn}: scoring 'additive' needs additive: { wq, wk, va }`);
      const a = checkOptions(fn, 'additive', o.additive, ADDITIVE_KEYS);
      wq = toFloat32(fn, 'additive.wq', a.wq); wk = toFloat32(fn, 'additive.wk', a.wk); va = toFloat32(fn, 'additive.va', a.va);
    } else if (o.additive !== undefined) {
      throw invalidArgument(`${fn}: additive weights are given but scoring is ${JSON.stringify(scoring)}; pass scoring: 'additive'`);
    }
    // `out` into locals (no object per call: this is the path of calls in a loop).
    let outOutput = null, outWeights = null, outScores = null, outLogits = null;
    const out = o.out;
    if (out !== undefined) {
      if (out === null || typeof out !== 'object' || Array.isArray(out)) checkOptions(fn, 'out', out, ATTENTION_OUTPUTS); // throws
      for (const name in out) {
        const target = outTarget(fn, out, name, ATTENTION_OUTPUTS);
        if (name === 'output') outOutput = target;
        else if (name === 'weights') outWeights = askedFor(fn, name, target, returnWeights, 'returnWeights');
        else if (name === 'scores') outScores = askedFor(fn, name, target, returnScores, 'returnScores');
        else outLogits = askedFor(fn, name, target, returnLogits, 'returnLogits');
      }
    }

    // Shapes: every size from the options or inferred from the lengths, then every length checked.
    if (givenDim === undefined && givenQueries === undefined) {
      throw invalidArgument(`${fn}: pass dim (the query/key vector length) or queries (the number of query rows)`);
    }
    const bh = batch * heads;
    const qn = lengthOf(q), kn = lengthOf(k), vn = lengthOf(v); // once each: a typed array's costs a getter call
    const dim = inferDim(fn, 'dim', givenDim, 'q', qn, 'batch×heads×queries', bh * (givenQueries ?? 1));
    const queries = inferDim(fn, 'queries', givenQueries, 'q', qn, 'batch×heads×dim', bh * dim);
    const keys = inferDim(fn, 'keys', givenKeys, 'k', kn, 'batch×heads×dim', bh * dim);
    const valueDim = inferDim(fn, 'valueDim', givenValueDim, 'v', vn, 'batch×heads×keys', bh * keys);
    const qLength = bh * queries * dim, kLength = bh * keys * dim, vLength = bh * keys * valueDim;
    if (qn !== qLength) throw lengthError(fn, 'q', qn, [['batch', batch], ['heads', heads], ['queries', queries], ['dim', dim]]);
    if (kn !== kLength) throw lengthError(fn, 'k', kn, [['batch', batch], ['heads', heads], ['keys', keys], ['dim', dim]]);
    if (vn !== vLength) throw lengthError(fn, 'v', vn, [['batch', batch], ['heads', heads], ['keys', keys], ['valueDim', valueDim]]);
    let additiveDim = 0;
    if (scoring === 'additive') {
      additiveDim = lengthOf(va);
      if (additiveDim < 1) throw outOfRange(`${fn}: additive.va must hold at least one number, received 0`);
      expectLength(fn, 'additive.wq', lengthOf(wq), [['dim', dim], ['additiveDim', additiveDim]]);
      expectLength(fn, 'additive.wk', lengthOf(wk), [['dim', dim], ['additiveDim', additiveDim]]);
    }
    const plane = bh * queries * keys;
    checkMaskShapes(fn, m, batch, heads, queries, keys);
    if (outOutput) checkOutLength(fn, 'output', outOutput, bh * queries * valueDim);
    if (outWeights) checkOutLength(fn, 'weights', outWeights, plane);
    if (outScores) checkOutLength(fn, 'scores', outScores, plane);
    if (outLogits) checkOutLength(fn, 'logits', outLogits, plane);

    const b = this.#bridge, F = b.begin('attention'), w = b.words, at = b.base;
    w[at + F.batch] = batch; w[at + F.heads] = heads; w[at + F.queries] = queries; w[at + F.keys] = keys;
    w[at + F.dim] = dim; w[at + F.valueDim] = valueDim; w[at + F.scoring] = SCORING[scoring]; w[at + F.additiveDim] = additiveDim;
    b.input(F.q, 'q', q, qLength);
    b.input(F.k, 'k', k, kLength);
    b.input(F.v, 'v', v, vLength);
    if (scoring === 'additive') {
      b.input(F.wq, 'additive.wq', wq, dim * additiveDim);
      b.input(F.wk, 'additive.wk', wk, dim * additiveDim);
      b.input(F.va, 'additive.va', va, additiveDim);
    }
    passMaskOptions(b, F, m, batch, heads, queries, keys);
    b.output(F.output, 'output', outOutput, bh * queries * valueDim);
    if (returnWeights) b.output(F.weights, 'weights', outWeights, plane);
    if (returnScores) b.output(F.scores, 'scores', outScores, plane);
    if (returnLogits) b.output(F.logits, 'logits', outLogits, plane);
    b.run(fn, this.#m._qkv_run_attention);
    return b.result({ batch, heads, queries, keys, dim, valueDim });
  }

  /**
   * Multi-head attention with projections (see index.d.ts).
   */
  multiHeadAttention(options) {
    const fn = 'qkv.multiHeadAttention';
    const o = checkOptions(fn, 'options', options, MHA_OPTIONS);
    if (o.params === undefined) throw invalidArgument(`${fn}: params must be an object { wq, wk, wv, wo, bq?, bk?, bv?, bo? }, received undefined`);
    const p = checkOptions(fn, 'params', o.params, PARAM_KEYS);
    const x = toFloat32(fn, 'x', o.x);
    const contextValue = o.context;
    const cross = contextValue !== undefined && contextValue !== null;
    const context = cross ? toFloat32(fn, 'context', contextValue) : null;
    const wq = toFloat32(fn, 'params.wq', p.wq), wk = toFloat32(fn, 'params.wk', p.wk);
    const wv = toFloat32(fn, 'params.wv', p.wv), wo = toFloat32(fn, 'params.wo', p.wo);
    const biases = {};
    for (const name of ['bq', 'bk', 'bv', 'bo']) {
      const value = p[name];
      if (value !== undefined && value !== null) biases[name] = toFloat32(fn, `params.${name}`, value);
    }
    const batch = positiveInt(fn, 'batch', o.batch, 1);
    const heads = positiveInt(fn, 'heads', o.heads, 1);
    const scoring = choice(fn, 'scoring', o.scoring, 'scaled_dot', DOT_SCORING, "'dot' or 'scaled_dot'");
    const givenDModel = positiveInt(fn, 'dModel', o.dModel);
    const givenLength = positiveInt(fn, 'length', o.length);
    const givenDContext = positiveInt(fn, 'dContext', o.dContext);
    const givenContextLength = positiveInt(fn, 'contextLength', o.contextLength);
    const m = readMaskOptions(fn, o);
    const want = intermediatesOf(fn, o.intermediates);
    const wanted = {};
    for (const name of INTERMEDIATES) wanted[name] = want.has(name);
    const out = readOut(fn, o.out, MHA_OUTPUTS, wanted, 'intermediates');

    let dModel = givenDModel;
    if (dModel === undefined) {
      const len = lengthOf(wq);
      dModel = Math.round(Math.sqrt(len));
      if (dModel < 1 || dModel * dModel !== len) throw outOfRange(`${fn}: params.wq must be dModel×dModel; its length ${len} is not a square`);
    }
    if (dModel % heads !== 0) throw outOfRange(`${fn}: heads must divide dModel: dModel ${dModel} is not a multiple of heads ${heads}`);
    const n = inferDim(fn, 'the sequence length', givenLength, 'x', lengthOf(x), 'batch×dModel', batch * dModel);
    const dContext = cross ? inferDim(fn, 'dContext', givenDContext, 'params.wk', lengthOf(wk), 'dModel', dModel) : dModel;
    const len = cross ? inferDim(fn, 'the context length', givenContextLength, 'context', lengthOf(context), 'batch×dContext', batch * dContext) : n;
    expectLength(fn, 'x', lengthOf(x), [['batch', batch], ['length', n], ['dModel', dModel]]);
    if (cross) expectLength(fn, 'context', lengthOf(context), [['batch', batch], ['contextLength', len], ['dContext', dContext]]);
    expectLength(fn, 'params.wq', lengthOf(wq), [['dModel', dModel], ['dModel', dModel]]);
    expectLength(fn, 'params.wk', lengthOf(wk), [['dContext', dContext], ['dModel', dModel]]);
    expectLength(fn, 'params.wv', lengthOf(wv), [['dContext', dContext], ['dModel', dModel]]);
    expectLength(fn, 'params.wo', lengthOf(wo), [['dModel', dModel], ['dModel', dModel]]);
    for (const name in biases) expectLength(fn, `params.${name}`, lengthOf(biases[name]), [['dModel', dModel]]);
    const dHead = dModel / heads;
    checkMaskShapes(fn, m, batch, heads, n, len);
    const plane = batch * heads * n * len;
    const sizes = { output: batch * n * dModel, q: batch * heads * n * dHead, k: batch * heads * len * dHead, v: batch * heads * len * dHead,
      scores: plane, logits: plane, weights: plane, headOutputs: batch * heads * n * dHead, concat: batch * n * dModel };
    if (out !== undefined) for (const name in out) checkOutLength(fn, name, out[name], sizes[name]);

    const b = this.#bridge, F = b.begin('mha');
    b.int(F.batch, batch); b.int(F.n, n); b.int(F.m, len); b.int(F.dModel, dModel);
    b.int(F.dContext, dContext); b.int(F.heads, heads); b.int(F.scoring, SCORING[scoring]);
    b.input(F.x, 'x', x, batch * n * dModel);
    b.input(F.wq, 'params.wq', wq, dModel * dModel);
    b.input(F.wk, 'params.wk', wk, dContext * dModel);
    b.input(F.wv, 'params.wv', wv, dContext * dModel);
    b.input(F.wo, 'params.wo', wo, dModel * dModel);
    if (cross) b.input(F.context, 'context', context, batch * len * dContext);
    for (const name in biases) b.input(F[name], `params.${name}`, biases[name], dModel);
    passMaskOptions(b, F, m, batch, heads, n, len);
    b.output(F.output, 'output', out?.output ?? null, sizes.output);
    for (const name of INTERMEDIATES) if (wanted[name]) b.output(F[name], name, out?.[name] ?? null, sizes[name]);
    b.run(fn, this.#m._qkv_run_mha);
    return b.result({ batch, heads, length: n, contextLength: len, dModel, dContext, dHead });
  }

  /** Frees the module's internal scratch memory (it is regrown on the next call). */
  releaseScratch() {
    this.#m.releaseScratch();
    this.#bridge.releaseStaging();
  }
}

export { bridgeOf };

// A Tensor's length is its own (private, the object frozen); a typed array's comes from the engine.
const lengthOf = (value) => (ArrayBuffer.isView(value) ? typedLength(value) : value.length);

// The error for a tensor of `length` numbers, not the product of `dims`, e.g.
// [['batch', 2], ['heads', 1], ['queries', 3], ['dim', 4]]. Built only on this error path, so that a
// correct call allocates nothing for its checks.
function lengthError(fn, name, length, dims) {
  const expected = dims.reduce((p, [, n]) => p * n, 1);
  return outOfRange(`${fn}: ${name} must hold ${dims.map(([d]) => d).join('×')} = ` +
    `${dims.map(([, n]) => n).join('×')} = ${expected} numbers, received ${length}`);
}

function expectLength(fn, name, length, dims) {
  if (length !== dims.reduce((p, [, n]) => p * n, 1)) throw lengthError(fn, name, length, dims);
}

// Infers a dimension that was not given from a tensor's length `len`; throws when it does not divide.
// `otherNames` ('batch×heads×dim') name the factors of `other`, the product of the other dimensions.
function inferDim(fn, dimName, given, tensorName, len, otherNames, other) {
  if (given !== undefined) return given;
  if (len === 0 || len % other !== 0) {
    throw outOfRange(`${fn}: cannot infer ${dimName}: ${tensorName} has ${len} numbers, which is not a positive ` +
      `multiple of ${otherNames} = ${other}; pass ${dimName} explicitly`);
  }
  return len / other;
}

// out[name], read once: a Tensor or a Float32Array (or undefined), for an output the call has.
function outTarget(fn, out, name, names) {
  if (names[name] !== true) checkOptions(fn, 'out', out, names); // throws, naming the key
  const target = out[name];
  if (target === undefined || target instanceof Float32Array || isTensor(target)) return target ?? null;
  throw invalidArgument(`${fn}: out.${name} must be a Tensor or a Float32Array, received ${describe(target)}`);
}

function askedFor(fn, name, target, asked, how) {
  if (target && !asked) throw invalidArgument(`${fn}: out.${name} is given, but ${name} is not asked for (${how})`);
  return target;
}

// multiHeadAttention's `out`: { name: target } for the targets given.
function readOut(fn, value, names, returned, how) {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) checkOptions(fn, 'out', value, names); // throws
  const targets = {};
  for (const name in value) {
    const target = outTarget(fn, value, name, names);
    if (target && name !== 'output') askedFor(fn, name, target, returned[name], how);
    if (target) targets[name] = target;
  }
  return targets;
}

function checkOutLength(fn, name, target, length) {
  const n = lengthOf(target);
  if (n !== length) throw outOfRange(`${fn}: out.${name} must hold ${length} numbers, received ${n}`);
}

function intermediatesOf(fn, value) {
  if (value === undefined || value === false) return new Set();
  if (value === true) return new Set(INTERMEDIATES);
  if (!Array.isArray(value)) throw invalidArgument(`${fn}: intermediates must be true or an array of names from ${INTERMEDIATES.join(', ')}, received ${describe(value)}`);
  const names = [...value];
  for (const v of names) {
    if (!INTERMEDIATES.includes(v)) throw invalidArgument(`${fn}: intermediates: unknown name ${describe(v)}; expected one of ${INTERMEDIATES.join(', ')}`);
  }
  return new Set(names);
}

// Scale, temperature, causal and the masks: the options attention and multiHeadAttention share,
// read once and checked for what does not depend on the shapes.
function readMaskOptions(fn, o) {
  const scale = float32(fn, 'scale', o.scale, false);
  const temperature = float32(fn, 'temperature', o.temperature, true);
  const causal = bool(fn, 'causal', o.causal);
  const maskValue = o.mask, additiveValue = o.additiveMask, keyLengthsValue = o.keyLengths;
  let mask = null, additiveMask = null, keyLengths = null;
  if (maskValue !== undefined && maskValue !== null) {
    if (maskValue instanceof Uint8Array) mask = maskValue;
    else if (Array.isArray(maskValue)) {
      const n = maskValue.length;
      mask = new Uint8Array(n);
      for (let i = 0; i < n; ++i) {
        const x = maskValue[i];
        if (typeof x !== 'boolean' && typeof x !== 'number') throw invalidArgument(`${fn}: mask[${i}] must be a boolean or 0/1, received ${describe(x)}`);
        mask[i] = x ? 1 : 0;
      }
    } else {
      throw invalidArgument(`${fn}: mask must be a Uint8Array or an array of booleans (true = may attend), received ${describe(maskValue)}`);
    }
  }
  if (additiveValue !== undefined && additiveValue !== null) {
    additiveMask = toFloat32(fn, 'additiveMask', additiveValue);
    // −Infinity masks a key; NaN and +Infinity have no meaning as a score offset (the SIMD and scalar
    // kernels once gave different rows for them).
    const values = isTensor(additiveMask) ? additiveMask.array : additiveMask;
    for (let i = 0, n = values.length; i < n; ++i) {
      const a = values[i];
      if (a !== a || a === Infinity) throw nonFinite(`${fn}: additiveMask must hold finite numbers or -Infinity, received ${a} at index ${i}`);
    }
  }
  if (keyLengthsValue !== undefined && keyLengthsValue !== null) {
    if (keyLengthsValue instanceof Int32Array) keyLengths = keyLengthsValue;
    else if (Array.isArray(keyLengthsValue)) {
      const n = keyLengthsValue.length;
      keyLengths = new Int32Array(n);
      for (let i = 0; i < n; ++i) {
        const x = keyLengthsValue[i];
        if (!Number.isInteger(x) || x < 0 || x > 2 ** 31 - 1) throw outOfRange(`${fn}: keyLengths[${i}] must be a whole number, received ${describe(x)}`);
        keyLengths[i] = x;
      }
    } else {
      throw invalidArgument(`${fn}: keyLengths must be an Int32Array or an array of integers, received ${describe(keyLengthsValue)}`);
    }
  }
  if (scale === undefined && temperature === undefined && !causal && mask === null && additiveMask === null && keyLengths === null) return NO_MASKS;
  return { scale: scale ?? 0, temperature: temperature ?? 1, causal, mask, additiveMask, keyLengths };
}

// The defaults, shared: most calls pass none of these options, and need no object of their own.
const NO_MASKS = Object.freeze({ scale: 0, temperature: 1, causal: false, mask: null, additiveMask: null, keyLengths: null });

function checkMaskShapes(fn, m, batch, heads, queries, keys) {
  if (m.mask) maskBroadcast(fn, 'mask', lengthOf(m.mask), batch, heads, queries, keys);
  if (m.additiveMask) maskBroadcast(fn, 'additiveMask', lengthOf(m.additiveMask), batch, heads, queries, keys);
  const kl = m.keyLengths;
  if (kl) {
    if (kl.length !== batch) throw outOfRange(`${fn}: keyLengths must hold one length per batch item (${batch}), received ${kl.length}`);
    for (let i = 0; i < kl.length; ++i) {
      if (kl[i] < 0 || kl[i] > keys) throw outOfRange(`${fn}: keyLengths[${i}] must be an integer in [0, ${keys}], received ${kl[i]}`);
    }
  }
}

// A mask's broadcast over batch items and heads from its length: one queries×keys plane shared by
// all (1), or one per batch item and head (0 = not broadcast). Throws for any other length.
function maskBroadcast(fn, name, len, batch, heads, queries, keys) {
  const plane = queries * keys;
  if (len === plane) return 1;
  if (len === batch * heads * plane) return 0;
  throw outOfRange(`${fn}: ${name} must hold queries×keys = ${queries}×${keys} = ${plane} entries (shared by ` +
    `every batch item and head) or batch×heads×queries×keys = ${batch * heads * plane}, received ${len}`);
}

function passMaskOptions(b, F, m, batch, heads, queries, keys) {
  b.float(F.scale, m.scale);
  b.float(F.temperature, m.temperature);
  b.int(F.causal, m.causal ? 1 : 0);
  if (m.mask) {
    const shared = maskBroadcast('', 'mask', lengthOf(m.mask), batch, heads, queries, keys);
    b.int(F.maskBatch, shared ? 1 : batch); b.int(F.maskHeads, shared ? 1 : heads);
    b.input(F.mask, 'mask', m.mask, lengthOf(m.mask), U8);
  }
  if (m.additiveMask) {
    const shared = maskBroadcast('', 'additiveMask', lengthOf(m.additiveMask), batch, heads, queries, keys);
    b.int(F.additiveMaskBatch, shared ? 1 : batch); b.int(F.additiveMaskHeads, shared ? 1 : heads);
    b.input(F.additiveMask, 'additiveMask', m.additiveMask, lengthOf(m.additiveMask), F32);
  }
  if (m.keyLengths) b.input(F.keyLengths, 'keyLengths', m.keyLengths, batch, I32);
}
