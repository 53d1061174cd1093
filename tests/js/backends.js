// Every test file runs against every WebAssembly build. Node 20 validates relaxed SIMD only behind a
// V8 flag: it is set here, before anything compiles wasm, so that the relaxed-SIMD (FMA) build is
// tested in Node too; Chromium runs it by default.
import v8 from 'node:v8';
import { loadAttention } from '../../lib/index.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

export const BACKENDS = ['fma', 'simd', 'scalar'];
// What each reports as qkv.backend and as its kernel set's name.
export const BACKEND_NAMES = { fma: 'wasm-relaxed-simd', simd: 'wasm-simd128', scalar: 'wasm-scalar' };
export const KERNEL_NAMES = { fma: 'wasm-relaxed-simd', simd: 'wasm-simd128', scalar: 'scalar' };
export const load = (backend) => loadAttention({ backend });
