// A key only the package's own modules know: lets model.js reach the loaded wasm module of an
// Attention instance without making it public API.
export const INTERNAL = Symbol('qkv-attention internal');

// { field: index in the frame, …, count } from "name:type,…". Built through JSON.parse: an object
// whose 30 properties are added one by one by computed name falls into V8's dictionary mode (slow
// properties after 12 such stores), and every F.name read of every call was then a hash lookup.
export function parseLayout(text) {
  const names = text.split(',').filter(Boolean).map((entry) => entry.split(':')[0]);
  return JSON.parse(`{${names.map((name, i) => `${JSON.stringify(name)}:${i}`).join(',')},"count":${names.length}}`);
}
