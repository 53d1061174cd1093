// A key only the package's own modules know: lets model.js reach the loaded wasm module of an
// Attention instance without making it public API.
export const INTERNAL = Symbol('qkv-attention internal');
