// Argument checks shared by every call: options objects (unknown keys are refused with the nearest
// known one suggested), strict booleans, integers and float32 numbers, numeric inputs. Each failure
// is an error of errors.js naming the call, the argument, what was expected and what was received.
import { invalidArgument, outOfRange } from './errors.js';

/** A short description of a received value for error messages. */
export function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${typedLength(value) ?? value.byteLength}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    const name = proto === null ? 'no prototype' : proto.constructor?.name;
    return `an object (${typeof name === 'string' ? name : 'no constructor'})`;
  }
  return `a ${typeof value}`;
}

// The element count of a typed array from the engine itself: an own `length` property defined on the
// array (Object.defineProperty) would otherwise claim more numbers than the array holds.
const typedArrayLength = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'length').get;
export function typedLength(view) {
  return ArrayBuffer.isView(view) && !(view instanceof DataView) ? typedArrayLength.call(view) : undefined;
}

/** Known option names for {@link checkOptions}: a frozen object without a prototype. */
export function optionNames(...names) {
  return Object.freeze(Object.assign(Object.create(null), Object.fromEntries(names.map((n) => [n, true]))));
}

/**
 * Checks that `value` is an options object whose keys are all in `known` (from optionNames()).
 * `name` is how messages call it ('options', 'out', 'params'). A misspelt key is an error rather than
 * silently ignored: `casual: true` would otherwise run without the causal mask.
 */
export function checkOptions(fn, name, value, known) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(`${fn}: ${name} must be an object, received ${describe(value)}`);
  }
  for (const key in value) {
    if (known[key] !== true) throw unknownKey(fn, name, key, Object.keys(known));
  }
  return value;
}

function unknownKey(fn, name, key, known) {
  const near = nearest(key, known);
  const where = name === 'options' ? 'option' : `key in ${name}`;
  return invalidArgument(`${fn}: unknown ${where} ${JSON.stringify(key)}${near ? `; did you mean ${JSON.stringify(near)}?` : ''} ` +
    `(known: ${known.join(', ')})`);
}

// The known name closest to `word` (case-insensitive edit distance with transpositions), if it is
// close enough to be a misspelling of it.
export function nearest(word, known) {
  let best = null, bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) { best = candidate; bestDistance = d; }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a, b) {
  // Optimal string alignment: insertions, deletions, substitutions and swaps of neighbours.
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; ++j) rows[0][j] = j;
  for (let i = 1; i <= a.length; ++i) {
    for (let j = 1; j <= b.length; ++j) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}

/** `value` from an enumeration: a string that is an own key of `choices` (a prototype-less object). */
export function choice(fn, name, value, fallback, choices, expected) {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || choices[value] === undefined) {
    throw invalidArgument(`${fn}: ${name} must be ${expected}, received ${describe(value)}`);
  }
  return value;
}

/** true or false; undefined gives `fallback`. Nothing else: 'no' and 0 are not false. */
export function bool(fn, name, value, fallback = false) {
  if (value === undefined) return fallback;
  if (value !== true && value !== false) throw invalidArgument(`${fn}: ${name} must be true or false, received ${describe(value)}`);
  return value;
}

const I32_MAX = 2 ** 31 - 1;

/** A positive integer that fits the core's 32-bit sizes; undefined gives `fallback`. */
export function positiveInt(fn, name, value, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgument(`${fn}: ${name} must be a positive integer, received ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1) throw outOfRange(`${fn}: ${name} must be a positive integer, received ${value}`);
  if (value > I32_MAX) throw outOfRange(`${fn}: ${name} must be a positive integer below 2^31, received ${value}`);
  return value;
}

/** A whole number ≥ 0 (at most `max`); undefined gives `fallback`. */
export function count(fn, name, value, fallback, max = I32_MAX) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgument(`${fn}: ${name} must be a whole number, received ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0 || value > max) throw outOfRange(`${fn}: ${name} must be a whole number from 0 to ${max}, received ${value}`);
  return value;
}

/**
 * A number the core receives as a float32, checked as that float32: 1e-46 is 0 and 1e39 is an
 * infinity once rounded, so they are refused here as out of range rather than passed on.
 * `positive`: only > 0 (temperature); otherwise non-zero of either sign (scale).
 */
export function float32(fn, name, value, positive) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw invalidArgument(`${fn}: ${name} must be a number, received ${describe(value)}`);
  const f = Math.fround(value);
  if (!(Number.isFinite(f) && (positive ? f > 0 : f !== 0))) {
    const rounded = Number.isFinite(value) && f !== value ? `, which is ${f} as a float32` : '';
    throw outOfRange(`${fn}: ${name} must be a finite ${positive ? 'number > 0' : 'non-zero number'}, received ${value}${rounded}`);
  }
  return value;
}
