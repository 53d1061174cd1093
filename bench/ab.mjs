// A/B of two builds in one process, for kernel work on a shared machine (not part of `npm test`):
// interleaved rounds, each sample timed by this process's CPU time (process.cpuUsage), which a busy
// neighbour inflates far less than wall time. Medians and best rounds (a neighbour on the same host
// core slows CPU time too, in bursts; the best round is the code alone); the peak is the best of the
// same CPU-time measure of bench/wasm_kernels.cpp's mul+add chains. Relaxed SIMD is switched on (V8 flag), so
// either side may be a relaxed-SIMD (FMA) build; each is loaded as what it holds.
//
//   node bench/ab.mjs attention A/qkv-simd.wasm B/qkv-simd-fma.wasm [1x512,12x512,1x2048] [rounds]
//       resident attention (heads×n, d = 64, output only) with each build (same JS glue: the two
//       builds must export the same functions); prints µs per call, GFLOP/s and % of the peak
//   node bench/ab.mjs tiles A/qkv-bench-kernels.wasm B/qkv-bench-kernels-fma.wasm [kindsA] [kindsB] [rounds]
//       qkv_tile kinds (see bench/wasm_kernels.cpp) of each kernel module; a kind is `kind` or
//       `kind@shape` (shape: an index into the module's tile shapes, printed with the results)
//
// Save a build before changing the code (cp dist/qkv-simd*.wasm build/wasm/qkv-bench-kernels.wasm
// somewhere), rebuild (bash scripts/build.sh bench), then compare.
import fs from 'node:fs';
import v8 from 'node:v8';
import { simdOpcodeCounts } from '../scripts/relax-simd.mjs';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const { loadAttention } = await import('../lib/index.js');

const [what, a, b, ...rest] = process.argv.slice(2);
if (!['attention', 'tiles'].includes(what) || !a || !b) {
  console.error('usage: node bench/ab.mjs attention|tiles A B [...] (see the top of bench/ab.mjs)');
  process.exit(2);
}
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
async function kernelModule(path) {
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(path), {
    env: { emscripten_notify_memory_growth() {} }, wasi_snapshot_preview1: { proc_exit(code) { throw new Error(`exit(${code})`); } },
  });
  instance.exports._initialize();
  return instance.exports;
}
const kernelPath = what === 'tiles' ? a : new URL('../build/wasm/qkv-bench-kernels.wasm', import.meta.url);
const K = await kernelModule(kernelPath);
const peakSamples = [];
const peak = () => {
  const iters = 1000000, t0 = cpuMs();
  K.qkv_peak(iters);
  peakSamples.push((K.qkv_peak_flops_per_iter() * iters) / ((cpuMs() - t0) * 1e6));
};
peak();

if (what === 'tiles') {
  const [ka = '0,1,2', kb = ka, rounds = '9'] = rest;
  const mods = [K, await kernelModule(b)];
  const kinds = [ka, kb].map((list) => list.split(',').map((k) => k.split('@').map(Number)).map(([kind, shape = 0]) => ({ kind, shape })));
  const shapeName = (M, i) => {
    const p = M.qkv_shape_name(i), bytes = new Uint8Array(M.memory.buffer, p);
    return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
  };
  const rate = (M, { kind, shape }) => { const it = 2000, t0 = cpuMs(); const per = M.qkv_tile(kind, it, shape); return (per * it) / ((cpuMs() - t0) * 1e6); };
  const res = kinds.map((ks) => ks.map(() => []));
  mods.forEach((M, m) => kinds[m].forEach((k) => rate(M, k))); // warm-up
  for (let r = 0; r < +rounds; ++r) {
    peak();
    for (const m of r % 2 ? [1, 0] : [0, 1]) kinds[m].forEach((k, i) => res[m][i].push(rate(mods[m], k)));
  }
  const P = Math.max(...peakSamples);
  console.log(`mul+add peak (CPU time) ${P.toFixed(1)} GFLOP/s`);
  kinds.forEach((ks, m) => ks.forEach((k, i) => {
    // kind 2 counts scores, 4 floats packed, 9 floats checked: shown as ns per item
    const fmt = (r) => ([2, 4, 9].includes(k.kind) ? `${(1 / r).toFixed(3)} ns per item` : `${r.toFixed(1)} GFLOP/s, ${((100 * r) / P).toFixed(1)}% of peak`);
    console.log(`${'AB'[m]} kind ${k.kind} ${shapeName(mods[m], k.shape)}: median ${fmt(median(res[m][i]))}; best ${fmt(Math.max(...res[m][i]))}`);
  }));
} else {
  const [sizes = '1x512,12x512,1x2048', rounds = '7'] = rest;
  const D = 64;
  const build = (path) => {
    const wasmBinary = fs.readFileSync(path);
    return loadAttention({ backend: simdOpcodeCounts(wasmBinary).get(0x105) ? 'fma' : 'simd', wasmBinary });
  };
  const mods = [await build(a), await build(b)];
  let seed = 1;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return (seed / 2147483648) * 2 - 1; };
  for (const size of sizes.split(',')) {
    const [h, n] = size.split('x').map(Number), len = h * n * D, flops = 4 * n * n * D * h;
    const data = [0, 1, 2].map(() => Float32Array.from({ length: len }, rnd));
    const runs = mods.map((qkv) => {
      const t = { q: qkv.tensor(data[0]), k: qkv.tensor(data[1]), v: qkv.tensor(data[2]), out: qkv.tensor(len) };
      const opts = { q: t.q, k: t.k, v: t.v, heads: h, dim: D, out: { output: t.out } };
      return { call: () => qkv.attention(opts), t, times: [] };
    });
    const outs = runs.map((r) => (r.call(), r.t.out.toFloat32Array()));
    let diff = 0;
    for (let i = 0; i < len; ++i) diff = Math.max(diff, Math.abs(outs[0][i] - outs[1][i]));
    const per = (r, calls) => { const t0 = cpuMs(); for (let i = 0; i < calls; ++i) r.call(); return (cpuMs() - t0) / calls; };
    const calls = Math.max(1, Math.round(60 / per(runs[0], 3)));
    for (const r of runs) per(r, calls);
    for (let i = 0; i < +rounds; ++i) {
      peak();
      for (const r of i % 2 ? [...runs].reverse() : runs) r.times.push(per(r, calls));
    }
    const P = Math.max(...peakSamples);
    const at = (m) => `${(m * 1000).toFixed(1)} µs ${(flops / (m * 1e6)).toFixed(1)} GFLOP/s ${((100 * flops) / (m * 1e6) / P).toFixed(1)}%`;
    const show = (r) => `median ${at(median(r.times))}, best ${at(Math.min(...r.times))}`;
    console.log(`h=${h} n=${n}: A ${show(runs[0])} | B ${show(runs[1])} | max |A−B| ${diff.toExponential(2)} | peak ${P.toFixed(1)}`);
    for (const r of runs) for (const x of Object.values(r.t)) x.free();
  }
}
