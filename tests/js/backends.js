// Every test file runs against both WebAssembly builds.
import { loadAttention } from '../../lib/index.js';

export const BACKENDS = ['simd', 'scalar'];
export const load = (backend) => loadAttention({ backend });
