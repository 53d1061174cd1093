// Tensor: float32 data resident in a loaded module's WebAssembly memory, passed in and out of calls
// without a copy. Its address and length are private fields, and the object is frozen: nothing a
// caller does to it can make a call read or write outside its block (issue 12: a writable `length`
// once let a faked Tensor read a neighbour's memory and an `out` overwrite one).
import { describe, typedLength, count } from './checks.js';
import { invalidArgument, outOfRange } from './errors.js';

// Only this package makes Tensors: a Tensor built by hand could name any address.
const MAKE = Symbol('qkv-attention Tensor');

let placeOf, hasBrand;

/**
 * A Float32Array that lives in WebAssembly memory, for callers who run attention in a loop: passing
 * Tensors in and out copies nothing. Call free() when done.
 */
export class Tensor {
  #owner;
  #ptr;
  #length;

  /** @internal Use qkv.tensor(dataOrLength). */
  constructor(token, owner, ptr, length) {
    if (token !== MAKE) throw invalidArgument('Tensor: use qkv.tensor(dataOrLength) to make a Tensor');
    this.#owner = owner;
    this.#ptr = ptr;
    this.#length = length;
    Object.freeze(this);
  }

  static {
    // A private-field brand check: an object made with Tensor.prototype by hand does not pass.
    hasBrand = (value) => #ptr in value;
    // The block of `tensor` in the memory of `owner`, for the call layer (call.js) only.
    placeOf = (tensor, owner, fn, name) => {
      if (tensor.#owner !== owner) throw invalidArgument(`${fn}: ${name}: this Tensor belongs to another loaded module`);
      if (!tensor.#ptr) throw invalidArgument(`${fn}: ${name}: this Tensor was freed`);
      return tensor.#ptr;
    };
  }

  /** Number of float32 elements. */
  get length() {
    return this.#length;
  }

  /** A Float32Array view of the tensor's memory. Take a new one after any call that may grow memory. */
  get array() {
    if (!this.#ptr) throw invalidArgument('Tensor.array: this Tensor was freed');
    return new Float32Array(this.#owner.heapBuffer(), this.#ptr, this.#length);
  }

  /** Copies `data` into the tensor from element `offset` (default 0); it must fit. */
  set(data, offset = 0) {
    const start = count('Tensor.set', 'offset', offset, 0);
    const values = toFloat32('Tensor.set', 'data', data);
    const n = values instanceof Tensor ? values.#length : typedLength(values);
    if (start + n > this.#length) {
      throw outOfRange(`Tensor.set: data of ${n} numbers from offset ${start} does not fit in this Tensor of ${this.#length} numbers`);
    }
    const target = this.array; // after the checks: a freed tensor throws here, before anything is written
    target.set(values instanceof Tensor ? values.array : values, start);
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

  /** True after free(). */
  get freed() {
    return this.#ptr === 0;
  }
}

/** A Tensor of `length` floats at `ptr` in `owner`'s memory (the call layer's allocation). */
export const makeTensor = (owner, ptr, length) => new Tensor(MAKE, owner, ptr, length);

/** True for a Tensor this package made. */
export const isTensor = (value) => typeof value === 'object' && value !== null && hasBrand(value);

/** The address of `tensor`'s block in `owner`, or a clear error (freed, or another module's). */
export const tensorPlace = (tensor, owner, fn, name) => placeOf(tensor, owner, fn, name);

/**
 * A numeric input as the call layer takes it: a Float32Array or a Tensor as they are, a Float64Array
 * or an array of numbers copied into a new Float32Array (read once: element getters run here, before
 * any call state is touched). Anything else is a TypeError naming the argument.
 */
export function toFloat32(fn, name, value) {
  if (value instanceof Float32Array || isTensor(value)) return value;
  if (value instanceof Float64Array) return new Float32Array(value);
  if (Array.isArray(value)) {
    const n = value.length, out = new Float32Array(n);
    for (let i = 0; i < n; ++i) {
      const x = value[i];
      if (typeof x !== 'number') throw invalidArgument(`${fn}: ${name}[${i}] must be a number, received ${describe(x)}`);
      out[i] = x;
    }
    return out;
  }
  if (value === undefined) throw invalidArgument(`${fn}: ${name} is required (a Float32Array, a Float64Array, an array of numbers or a Tensor)`);
  throw invalidArgument(`${fn}: ${name} must be a Float32Array, a Float64Array, an array of numbers or a Tensor, received ${describe(value)}`);
}
