// `npm run bench`: the package against what a developer would pick instead, in one process —
// naive JavaScript loops, onnxruntime-web (wasm, one thread) and tfjs-backend-wasm (one matMul per
// head with an explicit transpose, and the batched form) — end to end from JS Float32Arrays, d = 64,
// with the single-core wasm SIMD peak measured in the same run. Every implementation's result is
// checked against a float64 reference before it is timed; a wrong result stops the run.
//
// FLOPs are counted as 4·n²·d per head (Q·Kᵀ and weights·V), causal cases included (nominal).
// Times are per call: warm-up, then interleaved rounds (each round times every implementation once,
// in a rotating order, so that drift of the machine hits all of them alike); median, min and max over
// the rounds. Nothing here is part of `npm test`.
//
//   node bench/bench.mjs            the full run (about two minutes on a 2-core machine)
//   node bench/bench.mjs --quick    small sizes and few rounds: checks the harness itself
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadAttention } from '../lib/index.js';
import { attentionModel } from './onnx.mjs';
import { softmaxRef } from '../tests/js/reference.js';

const root = new URL('../', import.meta.url);
const quick = process.argv.includes('--quick');
const D = 64;
const TOLERANCE = 1e-4; // max |output − float64 reference|; inputs in [−1, 1], float32 everywhere
const SAMPLE_MS = quick ? 2 : 10; // calls per sample are chosen to last about this long
const versionOf = (pkg) => JSON.parse(fs.readFileSync(new URL(`node_modules/${pkg}/package.json`, root))).version;

// ---- the cases ----------------------------------------------------------------------------------

const SIZES = quick ? [8, 32, 128] : [8, 16, 32, 128, 512, 2048];
const CASES = [];
for (const heads of [1, 12]) for (const n of SIZES) CASES.push({ heads, n, causal: false });
CASES.push({ heads: quick ? 2 : 12, n: quick ? 64 : 512, causal: true });
// Small cases get more rounds: a sample there is a batch of short calls that one GC pause (the peers
// leave garbage behind) or a neighbour on the machine can double, and rounds cost little.
const roundsFor = ({ heads, n }) => (quick ? 3 : heads * n * n > 12 * 1024 * 1024 ? 3 : heads * n * n <= 64 * 1024 ? 21 : 7);
const flopsOf = ({ heads, n }) => 4 * n * n * D * heads;

// ---- inputs and the float64 reference -----------------------------------------------------------

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function inputs({ heads, n }, seed) {
  const r = rng(seed), len = heads * n * D;
  const make = () => Float32Array.from({ length: len }, () => 2 * r() - 1);
  return { q: make(), k: make(), v: make() };
}

// Rows checked per head: all of them up to n = 128, else the first and last eight and 16 between
// (the float64 reference of every row at n = 2048, h = 12 would take longer than the benchmark).
function checkedRows(n) {
  if (n <= 128) return Array.from({ length: n }, (_, i) => i);
  const rows = new Set();
  for (let i = 0; i < 8; ++i) rows.add(i).add(n - 1 - i);
  for (let i = 1; i <= 16; ++i) rows.add(Math.floor((i * n) / 17));
  return [...rows].sort((a, b) => a - b);
}

// Float64 reference of the checked rows of every head, { rows, out: Float64Array[heads][rows][D] },
// with the test suite's float64 softmax.
function reference({ heads, n, causal }, { q, k, v }) {
  const rows = checkedRows(n), scale = 1 / Math.sqrt(D);
  const out = new Float64Array(heads * rows.length * D);
  for (let h = 0; h < heads; ++h) {
    const row = (m, i) => m.subarray((h * n + i) * D, (h * n + i + 1) * D);
    rows.forEach((i, ri) => {
      const qi = row(q, i);
      const logits = Array.from({ length: n }, (_, j) => (causal && j > i ? -Infinity : scale * row(k, j).reduce((s, x, c) => s + x * qi[c], 0)));
      const o = out.subarray((h * rows.length + ri) * D, (h * rows.length + ri + 1) * D);
      softmaxRef(logits).forEach((w, j) => row(v, j).forEach((x, c) => { o[c] += w * x; }));
    });
  }
  return { rows, out };
}

function maxError(c, ref, got) {
  let worst = 0;
  for (let h = 0; h < c.heads; ++h) {
    ref.rows.forEach((i, ri) => {
      for (let x = 0; x < D; ++x) {
        const e = Math.abs(got[(h * c.n + i) * D + x] - ref.out[(h * ref.rows.length + ri) * D + x]);
        if (!(e <= worst)) worst = e; // NaN propagates
      }
    });
  }
  return worst;
}

// ---- the implementations ------------------------------------------------------------------------
// Each make(c, data) resolves to { call() → output Float32Array (or a promise of it), dispose() }.

function naiveAttention(heads, n, causal, q, k, v) {
  const out = new Float32Array(heads * n * D), s = new Float64Array(n), scale = 1 / Math.sqrt(D);
  for (let h = 0; h < heads; ++h) {
    const base = h * n * D;
    for (let i = 0; i < n; ++i) {
      const end = causal ? i + 1 : n;
      let mx = -Infinity;
      for (let j = 0; j < end; ++j) {
        let dot = 0;
        for (let c = 0; c < D; ++c) dot += q[base + i * D + c] * k[base + j * D + c];
        s[j] = dot * scale;
        if (s[j] > mx) mx = s[j];
      }
      let sum = 0;
      for (let j = 0; j < end; ++j) sum += (s[j] = Math.exp(s[j] - mx));
      for (let j = 0; j < end; ++j) {
        const w = s[j] / sum;
        for (let c = 0; c < D; ++c) out[base + i * D + c] += w * v[base + j * D + c];
      }
    }
  }
  return out;
}

async function setupPeers() {
  const ortDist = new URL('node_modules/onnxruntime-web/dist/', root);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = ortDist.href;
  ort.env.wasm.wasmBinary = fs.readFileSync(new URL('ort-wasm-simd-threaded.wasm', ortDist));
  setWasmPaths(fileURLToPath(new URL('node_modules/@tensorflow/tfjs-backend-wasm/dist/', root)));
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm did not load');
  await tf.ready();
  if (!tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) throw new Error('tfjs-backend-wasm runs without SIMD here');
}

function tfCausalMask(n) {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; ++i) m.fill(-Infinity, i * n + i + 1, (i + 1) * n);
  return tf.tensor2d(m, [n, n]);
}

function implementations(qkv) {
  const scale = 1 / Math.sqrt(D);
  return [
    {
      name: 'qkv-attention, copying in and out', package: true,
      make(c, { q, k, v }) {
        const opts = { q, k, v, heads: c.heads, dim: D, causal: c.causal };
        return { call: () => qkv.attention(opts).output, dispose() {} };
      },
    },
    {
      name: 'qkv-attention, resident Tensors', package: true, resident: true,
      make(c, { q, k, v }) {
        const t = { q: qkv.tensor(q), k: qkv.tensor(k), v: qkv.tensor(v), out: qkv.tensor(q.length) };
        const opts = { q: t.q, k: t.k, v: t.v, heads: c.heads, dim: D, causal: c.causal, out: { output: t.out } };
        return {
          call() { qkv.attention(opts); return t.out; },
          output: () => t.out.toFloat32Array(),
          dispose() { for (const x of Object.values(t)) x.free(); },
        };
      },
    },
    {
      name: 'naive JavaScript loops',
      skip: (c) => flopsOf(c) > 1.1e9 && 'over 1 GFLOP per call: seconds per call in plain JS',
      make(c, { q, k, v }) {
        return { call: () => naiveAttention(c.heads, c.n, c.causal, q, k, v), dispose() {} };
      },
    },
    {
      name: `onnxruntime-web ${versionOf('onnxruntime-web')} wasm, 1 thread`, async: true,
      async make(c, { q, k, v }) {
        const session = await ort.InferenceSession.create(attentionModel({ heads: c.heads, n: c.n, d: D, causal: c.causal }),
          { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
        const dims = [c.heads, c.n, D];
        return {
          async call() {
            const r = await session.run({
              Q: new ort.Tensor('float32', q, dims), K: new ort.Tensor('float32', k, dims), V: new ort.Tensor('float32', v, dims),
            });
            return r.O.data;
          },
          dispose: () => session.release(),
        };
      },
    },
    {
      name: `tfjs-backend-wasm ${versionOf('@tensorflow/tfjs-backend-wasm')}, per-head matMul, transpose`,
      make(c, { q, k, v }) {
        const mask = c.causal ? tfCausalMask(c.n) : null;
        const per = c.n * D;
        return {
          call() {
            const out = new Float32Array(c.heads * per);
            for (let h = 0; h < c.heads; ++h) {
              const o = tf.tidy(() => {
                const qh = tf.tensor2d(q.subarray(h * per, (h + 1) * per), [c.n, D]);
                const kh = tf.tensor2d(k.subarray(h * per, (h + 1) * per), [c.n, D]);
                const vh = tf.tensor2d(v.subarray(h * per, (h + 1) * per), [c.n, D]);
                let logits = tf.mul(tf.matMul(qh, tf.transpose(kh)), scale);
                if (mask) logits = tf.add(logits, mask);
                return tf.matMul(tf.softmax(logits), vh);
              });
              out.set(o.dataSync(), h * per);
              o.dispose();
            }
            return out;
          },
          dispose: () => mask?.dispose(),
        };
      },
    },
    {
      name: `tfjs-backend-wasm ${versionOf('@tensorflow/tfjs-backend-wasm')}, batched matMul`,
      make(c, { q, k, v }) {
        const mask = c.causal ? tfCausalMask(c.n) : null;
        const dims = [c.heads, c.n, D];
        return {
          call() {
            const o = tf.tidy(() => {
              let logits = tf.mul(tf.matMul(tf.tensor3d(q, dims), tf.tensor3d(k, dims), false, true), scale);
              if (mask) logits = tf.add(logits, mask);
              return tf.matMul(tf.softmax(logits), tf.tensor3d(v, dims));
            });
            const out = o.dataSync();
            o.dispose();
            return out;
          },
          dispose: () => mask?.dispose(),
        };
      },
    },
  ];
}

// ---- timing -------------------------------------------------------------------------------------

const now = () => performance.now();

// Per-call time (ms) of `calls` calls in a row.
async function timeCalls(impl, run, calls) {
  const t0 = now();
  if (impl.async) for (let i = 0; i < calls; ++i) await run.call();
  else for (let i = 0; i < calls; ++i) run.call();
  return (now() - t0) / calls;
}

// The single-core wasm SIMD128 peak from bench/wasm_kernels.cpp: independent f32x4 mul+add chains.
async function loadKernelModule() {
  const bytes = fs.readFileSync(new URL('build/wasm/qkv-bench-kernels.wasm', root));
  const { instance } = await WebAssembly.instantiate(bytes, { env: { emscripten_notify_memory_growth() {} } });
  instance.exports._initialize();
  return instance.exports;
}

function measurePeak(kernels) {
  const iters = 400000, flops = kernels.qkv_peak_flops_per_iter() * iters;
  let best = 0;
  for (let i = 0; i < 5; ++i) {
    const t0 = now();
    kernels.qkv_peak(iters);
    best = Math.max(best, flops / ((now() - t0) * 1e6));
  }
  return best; // GFLOP/s
}

// The kernels of one online-attention tile alone (32 queries × 128 keys, d = 64), cache-resident.
function measureTiles(kernels) {
  const rate = (kind) => {
    let best = 0;
    for (let i = 0; i < 5; ++i) {
      const t0 = now();
      const per = kernels.qkv_tile(kind, 2000);
      best = Math.max(best, (per * 2000) / ((now() - t0) * 1e6));
    }
    return best;
  };
  // kind 8: the online path's base-2 softmax step (with its own max pass); kind 6: an unmasked tile
  // as the online path runs it (Q·Kᵀ and the step fused, then weights·V)
  return { qk: rate(0), pv: rate(1), softmax: rate(8), tile: rate(6) };
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function fmtTime(ms) {
  const us = ms * 1000;
  return us < 10 ? `${us.toFixed(2)} µs` : us < 1000 ? `${us.toFixed(1)} µs` : us < 1e6 ? `${(us / 1000).toFixed(2)} ms` : `${(us / 1e6).toFixed(2)} s`;
}

async function runCase(c, impls, kernels, peak) {
  const data = inputs(c, 1000 + c.n + c.heads);
  const ref = reference(c, data);
  const runs = [];
  for (const impl of impls) {
    const why = impl.skip?.(c);
    if (why) { runs.push({ impl, skipped: why }); continue; }
    const run = await impl.make(c, data);
    // Verify (and warm up) before timing: the first result must match the reference.
    let out = await run.call();
    if (run.output) out = run.output();
    const err = maxError(c, ref, out);
    if (!(err <= TOLERANCE)) {
      throw new Error(`${impl.name} is wrong at h=${c.heads} n=${c.n}${c.causal ? ' causal' : ''}: ` +
        `max |error| ${err} against the float64 reference (tolerance ${TOLERANCE})`);
    }
    // Warm-up: enough calls for the engines to tier up, and the number of calls per sample.
    let perCall = await timeCalls(impl, run, 1);
    for (let spent = perCall; spent < 3 * SAMPLE_MS;) {
      const calls = Math.max(1, Math.ceil(SAMPLE_MS / Math.max(perCall, 1e-4) / 4));
      perCall = await timeCalls(impl, run, calls);
      spent += perCall * calls;
    }
    runs.push({ impl, run, err, calls: Math.max(1, Math.round(SAMPLE_MS / perCall)), times: [] });
  }
  const live = runs.filter((r) => !r.skipped);
  for (let round = 0; round < roundsFor(c); ++round) {
    for (let i = 0; i < live.length; ++i) {
      const r = live[(i + round) % live.length];
      r.times.push(await timeCalls(r.impl, r.run, r.calls));
    }
  }
  for (const r of live) r.run.dispose();
  const flops = flopsOf(c);
  for (const r of live) {
    r.median = median(r.times);
    r.gflops = flops / (r.median * 1e6);
  }
  const peers = live.filter((r) => !r.impl.package);
  const fastestPeer = peers.reduce((a, b) => (b.median < a.median ? b : a));
  return { c, runs, fastestPeer, peak };
}

const peakShare = (c, gflops, peak) => (c.causal ? '—' : `${((100 * gflops) / peak).toFixed(0)}%`);

function printCase({ c, runs, fastestPeer, peak }) {
  const title = `h=${c.heads} n=${c.n} d=${D}${c.causal ? ' causal' : ''}: ${(flopsOf(c) / 1e6).toFixed(c.n < 32 ? 3 : 1)} MFLOP per call` +
    (c.causal ? ' (nominal: about half is masked, so no share of the peak is given)' : '');
  console.log(`\n${title}`);
  console.log(`  ${'implementation'.padEnd(52)} ${'median'.padStart(10)} ${'min'.padStart(10)} ${'max'.padStart(10)} ${'GFLOP/s'.padStart(8)} ${'× fastest peer'.padStart(15)} ${'of peak'.padStart(8)}`);
  for (const r of runs) {
    if (r.skipped) {
      console.log(`  ${r.impl.name.padEnd(52)} skipped: ${r.skipped}`);
      continue;
    }
    const ratio = fastestPeer.median / r.median;
    console.log(`  ${r.impl.name.padEnd(52)} ${fmtTime(r.median).padStart(10)} ${fmtTime(Math.min(...r.times)).padStart(10)} ` +
      `${fmtTime(Math.max(...r.times)).padStart(10)} ${r.gflops.toFixed(2).padStart(8)} ${ratio.toFixed(2).padStart(15)} ` +
      `${peakShare(c, r.gflops, peak).padStart(8)}`);
  }
}

// n = 32768, one head, output only, in a fresh module: the online-softmax path keeps O(n·d) memory.
async function longSequence() {
  const n = quick ? 4096 : 32768, c = { heads: 1, n, causal: false };
  const wasmBinary = fs.readFileSync(new URL('dist/qkv-simd.wasm', root));
  const fresh = await loadAttention({ backend: 'simd', wasmBinary });
  const before = fresh.memoryBytes;
  const data = inputs(c, 7);
  const t0 = now();
  const out = fresh.attention({ q: data.q, k: data.k, v: data.v, dim: D }).output;
  const ms = now() - t0;
  const err = maxError(c, reference(c, data), out);
  if (!(err <= TOLERANCE)) throw new Error(`qkv-attention is wrong at n=${n}: max |error| ${err}`);
  return { n, ms, before, after: fresh.memoryBytes, gflops: flopsOf(c) / (ms * 1e6) };
}

// ---- main ---------------------------------------------------------------------------------------

execFileSync('bash', [fileURLToPath(new URL('scripts/build.sh', root)), 'bench'], { stdio: ['ignore', 'ignore', 'inherit'] });
const started = now();
const qkv = await loadAttention({ backend: 'simd' });
await setupPeers();
const kernels = await loadKernelModule();
const impls = implementations(qkv);
measurePeak(kernels); // warm-up: the first calls run in V8's baseline compiler
let peak = measurePeak(kernels);

console.log(`qkv-attention bench: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}, ` +
  `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${quick ? ' (--quick)' : ''}`);
console.log(`wasm SIMD128 peak (one core, independent f32x4 mul+add chains): ${peak.toFixed(1)} GFLOP/s`);
console.log(`every result below matched the float64 reference within ${TOLERANCE} before it was timed`);

const results = [];
for (const c of CASES) {
  peak = Math.max(peak, measurePeak(kernels)); // the best the core reached during the run
  results.push(await runCase(c, impls, kernels, peak));
}
for (const r of results) r.peak = peak;
for (const r of results) printCase(r);
console.log(`\nevery share of the peak is of the best peak measured in this run (before each case): ${peak.toFixed(1)} GFLOP/s`);

const tiles = measureTiles(kernels);
console.log(`\none online-attention tile (32 queries × 128 keys, d=64, in cache): Q·Kᵀ ${tiles.qk.toFixed(1)} GFLOP/s ` +
  `(${((100 * tiles.qk) / peak).toFixed(0)}% of peak), weights·V ${tiles.pv.toFixed(1)} GFLOP/s ` +
  `(${((100 * tiles.pv) / peak).toFixed(0)}%), online softmax ${(1 / tiles.softmax).toFixed(2)} ns per score ` +
  `(the two products cost ${((4 * D) / ((tiles.qk + tiles.pv) / 2)).toFixed(2)} ns per score); the whole fused tile ` +
  `${tiles.tile.toFixed(1)} GFLOP/s (${((100 * tiles.tile) / peak).toFixed(0)}%)`);

const long = await longSequence();
console.log(`n=${long.n}, one head, output only, fresh module: ${fmtTime(long.ms)} (${long.gflops.toFixed(1)} GFLOP/s), ` +
  `wasm memory ${(long.before / 2 ** 20).toFixed(0)} MiB before, ${(long.after / 2 ** 20).toFixed(1)} MiB after ` +
  `(${long.after <= 64 * 2 ** 20 ? 'within' : 'OVER'} 64 MiB)`);
console.log(`total ${((now() - started) / 1000).toFixed(0)} s`);

// Summary: the package copying in and out (as every peer does) against the fastest peer at each size;
// the resident package against the peak at n >= 512. One line per case first (medians).
const shortName = (name) => name.replace(/ \d+\.\d+\.\d+| wasm, 1 thread|-backend-wasm/g, '');
console.log(`\nwasm SIMD128 peak, best of the run: ${peak.toFixed(1)} GFLOP/s`);
console.log(`medians per call  ${'copying'.padStart(10)} ${'resident'.padStart(10)}   ${'fastest peer'.padEnd(44)} ${'× peer'.padStart(6)} ${'resident of peak'.padStart(16)}`);
let slowest = null;
for (const r of results) {
  const pkg = r.runs.find((x) => x.impl.package && !x.impl.resident), res = r.runs.find((x) => x.impl.resident);
  const ratio = r.fastestPeer.median / pkg.median;
  if (!slowest || ratio < slowest.ratio) slowest = { ratio, c: r.c };
  const peer = `${shortName(r.fastestPeer.impl.name)} ${fmtTime(r.fastestPeer.median)}`;
  console.log(`${`h=${r.c.heads} n=${r.c.n}${r.c.causal ? ' causal' : ''}`.padEnd(17)} ${fmtTime(pkg.median).padStart(10)} ` +
    `${fmtTime(res.median).padStart(10)}   ${peer.padEnd(44)} ${ratio.toFixed(2).padStart(6)} ${peakShare(r.c, res.gflops, peak).padStart(16)}`);
}
const big = results.filter((r) => r.c.n >= 512 && !r.c.causal)
  .map((r) => r.runs.find((x) => x.impl.resident).gflops / peak);
const fraction = big.length ? `${(100 * Math.min(...big)).toFixed(0)}%` : 'n/a';
console.log(`slowest ratio to the fastest peer: ${slowest.ratio.toFixed(2)} (h=${slowest.c.heads}, n=${slowest.c.n}); peak fraction at n>=512: ${fraction}`);
