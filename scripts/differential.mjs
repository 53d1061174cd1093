// Differential run: random attention calls (shapes, scoring, scale, temperature, causal, masks,
// keyLengths, batch and heads, tails, resident tensors and out targets) on each wasm build, every one
// compared with the float64 reference (tests/js/differential.js). `npm test` runs a few hundred of the
// same cases (tests/js/differential.test.js); this runs as many as asked:
//
//   node --experimental-wasm-relaxed-simd scripts/differential.mjs [--cases 10000] [--backend fma|simd|scalar|all] [--seed 1]
//
// Prints the figures per build and exits 1 on the first difference (with the case and its seed).
import { parseArgs } from 'node:util';
import { loadAttention } from '../lib/index.js';
import { rng } from '../tests/js/reference.js';
import { randomCase, checkCase, describeCase } from '../tests/js/differential.js';

const { values: args } = parseArgs({ options: {
  cases: { type: 'string', default: '10000' }, backend: { type: 'string', default: 'all' }, seed: { type: 'string', default: '1' },
} });
const cases = Number(args.cases), seed = Number(args.seed);
const backends = args.backend === 'all' ? ['fma', 'simd', 'scalar'] : [args.backend];
let failed = false;
for (const backend of backends) {
  const qkv = await loadAttention({ backend });
  const r = rng(seed);
  const t0 = performance.now(), tally = {};
  for (let i = 0; i < cases; ++i) {
    const c = randomCase(r);
    const diff = checkCase(qkv, c);
    if (diff) {
      console.log(`${backend}: case ${i} (seed ${seed}) differs: ${diff}\n  ${describeCase(c)}`);
      failed = true;
      break;
    }
    for (const f of ['causal', 'keyLengths', 'mask', 'additiveMask', 'scale', 'temperature', 'returnWeights']) if (c.options[f] !== undefined && c.options[f] !== false) tally[f] = (tally[f] ?? 0) + 1;
    tally[c.options.scoring] = (tally[c.options.scoring] ?? 0) + 1;
    if (c.resident) tally.resident = (tally.resident ?? 0) + 1;
    if (c.options.batch * c.options.heads > 1) tally['batch×heads > 1'] = (tally['batch×heads > 1'] ?? 0) + 1;
  }
  if (failed) break;
  const s = (performance.now() - t0) / 1000;
  console.log(`${backend} (${qkv.kernels}): ${cases} cases agree with the float64 reference in ${s.toFixed(1)} s; ` +
    `wasm memory ${(qkv.memoryBytes / 2 ** 20).toFixed(1)} MiB\n  ${Object.entries(tally).map(([k, n]) => `${k} ${n}`).join(', ')}`);
}
process.exitCode = failed ? 1 : 0;
