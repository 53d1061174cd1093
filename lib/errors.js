// The one error contract of the package. Everything it throws or rejects with is one of four classes,
// each with a string `code`:
//   TypeError          ERR_QKV_INVALID_ARGUMENT  wrong type, unknown option or option value
//   RangeError         ERR_QKV_OUT_OF_RANGE      wrong length or size, a number out of range
//                      ERR_QKV_NON_FINITE        NaN or an infinity where finite numbers are needed
//                      ERR_QKV_OUT_OF_MEMORY     over the 2 GiB WebAssembly memory
//   WeightsFormatError ERR_QKV_FORMAT            a corrupt, truncated or foreign .qkv file
//   AssetError         ERR_QKV_ASSET             a file (wasm, model, vectors) that could not be loaded
//                      ERR_QKV_UNSUPPORTED       this engine cannot run the requested build
// The same classes and codes whether a check fails in JavaScript or in the core (whose status values,
// src/status.h, map onto them here), for attention, multi-head attention, the model and the loaders.
// A status this file does not know (a core newer than it, or a bug) is a plain Error, ERR_QKV_INTERNAL.
import { WeightsFormatError } from './weights.js';

export { WeightsFormatError };

function withCode(error, code) {
  error.code = code;
  return error;
}

/** A wrong type, an unknown option or an unknown option value. */
export const invalidArgument = (message) => withCode(new TypeError(message), 'ERR_QKV_INVALID_ARGUMENT');
/** A wrong length or size, or a number out of its range. */
export const outOfRange = (message) => withCode(new RangeError(message), 'ERR_QKV_OUT_OF_RANGE');
/** NaN or an infinity where the call needs finite numbers. */
export const nonFinite = (message) => withCode(new RangeError(message), 'ERR_QKV_NON_FINITE');
/** More WebAssembly memory than the module may have. */
export const outOfMemory = (message) => withCode(new RangeError(message), 'ERR_QKV_OUT_OF_MEMORY');

/** Thrown when a file the package needs (a .wasm build, a model, word vectors) cannot be loaded. */
export class AssetError extends Error {
  constructor(message, { url = null, code = 'ERR_QKV_ASSET', cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'AssetError';
    this.code = code;
    /** The address that failed, when there was one. */
    this.url = url;
  }
}

// qkv::Code (src/status.h), in order.
const CORE_STATUS = [null, invalidArgument, outOfRange, outOfMemory, nonFinite];

/** The error for a non-zero status the core returned; `message` is the core's own. */
export function coreError(fn, status, message) {
  const make = CORE_STATUS[status];
  if (make) return make(`${fn}: ${message}`);
  return withCode(new Error(`${fn}: the core failed with status ${status}: ${message}`), 'ERR_QKV_INTERNAL');
}
