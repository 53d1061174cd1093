// The benchmark itself, the same in Node (bench/bench.mjs) and in Chromium (bench/page.mjs): the
// cases, their inputs and float64 reference, the implementations (the package, naive JavaScript,
// onnxruntime-web, tfjs-backend-wasm), the timing, the peak probes and the report. What differs per
// environment — how the peers and the kernel modules are loaded — is passed in.
//
// FLOPs are counted as 4·n²·d per head (Q·Kᵀ and weights·V), causal cases included (nominal).
// Times are per call: warm-up, then interleaved rounds (each round times every implementation once,
// in a rotating order, so that drift of the machine hits all of them alike); median, min and max over
// the rounds. Every implementation's result is checked against a float64 reference before it is
// timed; a wrong result stops the run.
import { attentionModel } from './onnx.mjs';
import { softmaxRef } from '../tests/js/reference.js';

export const D = 64;
const TOLERANCE = 1e-4; // max |output − float64 reference|; inputs in [−1, 1], float32 everywhere

export function benchCases(quick) {
  const sizes = quick ? [8, 32, 128] : [8, 16, 32, 128, 512, 2048];
  const cases = [];
  for (const heads of [1, 12]) for (const n of sizes) cases.push({ heads, n, causal: false });
  cases.push({ heads: quick ? 2 : 12, n: quick ? 64 : 512, causal: true });
  return cases;
}

// Small cases get more rounds: a sample there is a batch of short calls that one GC pause (the peers
// leave garbage behind) or a neighbour on the machine can double, and rounds cost little. The largest
// (h = 12, n = 2048: one call per sample, ~0.4–0.9 s) get 5, so that the best of them means something.
const roundsFor = ({ heads, n }, quick) => (quick ? 3 : heads * n * n > 12 * 1024 * 1024 ? 5 : heads * n * n <= 64 * 1024 ? 21 : 7);
export const flopsOf = ({ heads, n }) => 4 * n * n * D * heads;

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

export function inputs({ heads, n }, seed) {
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
export function reference({ heads, n, causal }, { q, k, v }) {
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

export function maxError(c, ref, got) {
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

function tfCausalMask(tf, n) {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; ++i) m.fill(-Infinity, i * n + i + 1, (i + 1) * n);
  return tf.tensor2d(m, [n, n]);
}

function resident(qkv, name, extra = {}) {
  return {
    name, package: true, resident: true, ...extra,
    make(c, { q, k, v }) {
      const t = { q: qkv.tensor(q), k: qkv.tensor(k), v: qkv.tensor(v), out: qkv.tensor(q.length) };
      const opts = { q: t.q, k: t.k, v: t.v, heads: c.heads, dim: D, causal: c.causal, out: { output: t.out } };
      return {
        call() { qkv.attention(opts); return t.out; },
        output: () => t.out.toFloat32Array(),
        dispose() { for (const x of Object.values(t)) x.free(); },
      };
    },
  };
}

// qkv: the package as `auto` loads it; qkvSimd: its SIMD128 build, a reference row (resident) beside
// it when auto picked the relaxed-SIMD one. ort and tf: the peers, set up by the caller.
export function implementations({ qkv, qkvSimd, ort, tf, versions }) {
  const scale = 1 / Math.sqrt(D);
  return [
    {
      name: 'qkv-attention, copying in and out', package: true,
      make(c, { q, k, v }) {
        const opts = { q, k, v, heads: c.heads, dim: D, causal: c.causal };
        return { call: () => qkv.attention(opts).output, dispose() {} };
      },
    },
    resident(qkv, 'qkv-attention, resident Tensors'),
    ...(qkvSimd && qkvSimd !== qkv ? [resident(qkvSimd, `qkv-attention ${qkvSimd.backend}, resident`, { reference: true })] : []),
    {
      name: 'naive JavaScript loops',
      skip: (c) => flopsOf(c) > 1.1e9 && 'over 1 GFLOP per call: seconds per call in plain JS',
      make(c, { q, k, v }) {
        return { call: () => naiveAttention(c.heads, c.n, c.causal, q, k, v), dispose() {} };
      },
    },
    {
      name: `onnxruntime-web ${versions.ort} wasm, 1 thread`, async: true,
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
      name: `tfjs-backend-wasm ${versions.tf}, per-head matMul, transpose`,
      make(c, { q, k, v }) {
        const mask = c.causal ? tfCausalMask(tf, c.n) : null;
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
      name: `tfjs-backend-wasm ${versions.tf}, batched matMul`,
      make(c, { q, k, v }) {
        const mask = c.causal ? tfCausalMask(tf, c.n) : null;
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

// ---- the kernel modules: peaks and tiles --------------------------------------------------------

export const KERNEL_IMPORTS = {
  env: { emscripten_notify_memory_growth() {} },
  wasi_snapshot_preview1: { proc_exit(code) { throw new Error(`exit(${code})`); } },
};

// The clock every time is read from, in ms: wall time (performance.now()) by default; the Node run
// uses its process's CPU time, which neighbours on a shared machine inflate far less (setClock).
let now = () => performance.now();
export function setClock(clock) {
  now = clock;
}

// The single-core peaks from bench/wasm_kernels.cpp: 12 independent f32x4 mul+add chains (from the
// SIMD128 kernel module) and 12 relaxed_madd chains (from the relaxed-SIMD one), best of five.
export function measurePeaks({ simd, fma }) {
  const best = (run, perIter) => {
    const iters = 400000, flops = perIter * iters;
    let top = 0;
    for (let i = 0; i < 5; ++i) {
      const t0 = now();
      run(iters);
      top = Math.max(top, flops / ((now() - t0) * 1e6));
    }
    return top; // GFLOP/s
  };
  return {
    mulAdd: best(simd.qkv_peak, simd.qkv_peak_flops_per_iter()),
    fma: fma ? best(fma.qkv_peak_fma, fma.qkv_peak_fma_flops_per_iter()) : 0,
  };
}

// The kernels of one online-attention tile alone (32 queries × 128 keys, d = 64), cache-resident,
// from the kernel module of the flavour the package runs.
function measureTiles(kernels) {
  const rate = (kind) => {
    let best = 0;
    for (let i = 0; i < 5; ++i) {
      const t0 = now();
      const per = kernels.qkv_tile(kind, 2000, 0);
      best = Math.max(best, (per * 2000) / ((now() - t0) * 1e6));
    }
    return best;
  };
  // kind 2: the online softmax step (with its own max pass); kind 6: an unmasked tile as the online
  // path runs it (Q·Kᵀ and the step fused, then weights·V)
  return { qk: rate(0), pv: rate(1), softmax: rate(2), tile: rate(6) };
}

// ---- timing -------------------------------------------------------------------------------------

// Per-call time (ms) of `calls` calls in a row.
async function timeCalls(impl, run, calls) {
  const t0 = now();
  if (impl.async) for (let i = 0; i < calls; ++i) await run.call();
  else for (let i = 0; i < calls; ++i) run.call();
  return (now() - t0) / calls;
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function fmtTime(ms) {
  const us = ms * 1000;
  return us < 10 ? `${us.toFixed(2)} µs` : us < 1000 ? `${us.toFixed(1)} µs` : us < 1e6 ? `${(us / 1000).toFixed(2)} ms` : `${(us / 1e6).toFixed(2)} s`;
}

async function runCase(c, impls, { quick, sampleMs }) {
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
    for (let spent = perCall; spent < 3 * sampleMs;) {
      const calls = Math.max(1, Math.ceil(sampleMs / Math.max(perCall, 1e-4) / 4));
      perCall = await timeCalls(impl, run, calls);
      spent += perCall * calls;
    }
    runs.push({ impl, run, err, calls: Math.max(1, Math.round(sampleMs / perCall)), times: [] });
  }
  const live = runs.filter((r) => !r.skipped);
  for (let round = 0; round < roundsFor(c, quick); ++round) {
    for (let i = 0; i < live.length; ++i) {
      const r = live[(i + round) % live.length];
      r.times.push(await timeCalls(r.impl, r.run, r.calls));
    }
  }
  for (const r of live) r.run.dispose();
  const flops = flopsOf(c);
  for (const r of live) {
    r.median = median(r.times);
    r.best = Math.min(...r.times);
    r.gflops = flops / (r.median * 1e6);
  }
  const peers = live.filter((r) => !r.impl.package);
  const fastestPeer = peers.reduce((a, b) => (b.median < a.median ? b : a));
  const fastestPeerBest = peers.reduce((a, b) => (b.best < a.best ? b : a));
  return { c, runs, fastestPeer, fastestPeerBest };
}

const peakShare = (c, gflops, peak) => (c.causal ? '—' : `${((100 * gflops) / peak).toFixed(0)}%`);

function printCase({ c, runs, fastestPeer }, peak, log) {
  const title = `h=${c.heads} n=${c.n} d=${D}${c.causal ? ' causal' : ''}: ${(flopsOf(c) / 1e6).toFixed(c.n < 32 ? 3 : 1)} MFLOP per call` +
    (c.causal ? ' (nominal: about half is masked, so no share of the peak is given)' : '');
  log(`\n${title}`);
  log(`  ${'implementation'.padEnd(52)} ${'median'.padStart(10)} ${'min'.padStart(10)} ${'max'.padStart(10)} ${'GFLOP/s'.padStart(8)} ${'× fastest peer'.padStart(15)} ${'of peak'.padStart(8)}`);
  for (const r of runs) {
    if (r.skipped) {
      log(`  ${r.impl.name.padEnd(52)} skipped: ${r.skipped}`);
      continue;
    }
    const ratio = fastestPeer.median / r.median;
    log(`  ${r.impl.name.padEnd(52)} ${fmtTime(r.median).padStart(10)} ${fmtTime(Math.min(...r.times)).padStart(10)} ` +
      `${fmtTime(Math.max(...r.times)).padStart(10)} ${r.gflops.toFixed(2).padStart(8)} ${ratio.toFixed(2).padStart(15)} ` +
      `${peakShare(c, r.gflops, peak).padStart(8)}`);
  }
}

/**
 * Runs every case and reports through log(line). env: { quick, qkv, qkvSimd, ort, tf, versions,
 * kernels: { simd, fma } (the two kernel modules' exports), title }. Returns the summary's figures.
 */
export async function runBench({ quick = false, sampleMs = quick ? 2 : 10, kernels, log, title, clockName = 'wall time', ...env }) {
  const impls = implementations(env);
  measurePeaks(kernels); // warm-up: the first calls run in the engine's baseline compiler
  let peaks = measurePeaks(kernels);
  log(title);
  log(`every time below is ${clockName}`);
  log(`wasm peaks (one core, 12 independent f32x4 chains): mul+add ${peaks.mulAdd.toFixed(1)} GFLOP/s, ` +
    `fused multiply-add (relaxed SIMD) ${peaks.fma ? `${peaks.fma.toFixed(1)} GFLOP/s` : 'not available'}`);
  log(`the package runs ${env.qkv.backend} (kernels ${env.qkv.kernels}); every result below matched the float64 reference within ${TOLERANCE} before it was timed`);

  const results = [];
  for (const c of benchCases(quick)) {
    const p = measurePeaks(kernels); // the best the core reached during the run
    peaks = { mulAdd: Math.max(peaks.mulAdd, p.mulAdd), fma: Math.max(peaks.fma, p.fma) };
    results.push(await runCase(c, impls, { quick, sampleMs }));
  }
  const peak = peaks.mulAdd;
  for (const r of results) printCase(r, peak, log);
  log(`\nevery share of the peak is of the best mul+add peak measured in this run (before each case): ${peak.toFixed(1)} GFLOP/s`);

  const tileKernels = env.qkv.backend === 'wasm-relaxed-simd' && kernels.fma ? kernels.fma : kernels.simd;
  const tiles = measureTiles(tileKernels);
  log(`\none online-attention tile (32 queries × 128 keys, d=64, in cache, ${env.qkv.backend}): Q·Kᵀ ${tiles.qk.toFixed(1)} GFLOP/s ` +
    `(${((100 * tiles.qk) / peak).toFixed(0)}% of peak), weights·V ${tiles.pv.toFixed(1)} GFLOP/s ` +
    `(${((100 * tiles.pv) / peak).toFixed(0)}%), online softmax ${(1 / tiles.softmax).toFixed(2)} ns per score ` +
    `(the two products cost ${((4 * D) / ((tiles.qk + tiles.pv) / 2)).toFixed(2)} ns per score); the whole fused tile ` +
    `${tiles.tile.toFixed(1)} GFLOP/s (${((100 * tiles.tile) / peak).toFixed(0)}%)`);
  return { results, peaks };
}

/**
 * The summary: the package copying in and out (as every peer does) against the fastest peer at each
 * size; the resident package against the mul+add peak. Twice over: by medians, and by the best round
 * of each implementation (its fastest sample, against the peer with the fastest sample). On a shared
 * machine a neighbour only ever slows a sample down, and its bursts last from seconds to minutes, so
 * the medians of one run can hold a burst that the other implementations missed; the best rounds are
 * what each implementation does when it has the core (the same estimator for every implementation).
 */
export function summarize({ results, peaks }, log) {
  const shortName = (name) => name.replace(/ \d+\.\d+\.\d+| wasm, 1 thread|-backend-wasm/g, '');
  const peak = peaks.mulAdd;
  log(`\nwasm peaks, best of the run: mul+add ${peak.toFixed(1)} GFLOP/s, fused multiply-add ${peaks.fma ? `${peaks.fma.toFixed(1)} GFLOP/s` : '—'}`);
  log(`medians per call  ${'copying'.padStart(10)} ${'resident'.padStart(10)}   ${'fastest peer'.padEnd(44)} ${'× peer'.padStart(6)} ${'of peak'.padStart(7)} | best rounds: ${'× peer'.padStart(6)} ${'of peak'.padStart(7)}`);
  const slowest = { median: null, best: null };
  const lower = (key, ratio, c) => { if (!slowest[key] || ratio < slowest[key].ratio) slowest[key] = { ratio, c }; };
  for (const r of results) {
    const pkg = r.runs.find((x) => x.impl.package && !x.impl.resident), res = r.runs.find((x) => x.impl.resident && !x.impl.reference);
    const ratio = r.fastestPeer.median / pkg.median, bestRatio = r.fastestPeerBest.best / pkg.best;
    lower('median', ratio, r.c);
    lower('best', bestRatio, r.c);
    const peer = `${shortName(r.fastestPeer.impl.name)} ${fmtTime(r.fastestPeer.median)}`;
    log(`${`h=${r.c.heads} n=${r.c.n}${r.c.causal ? ' causal' : ''}`.padEnd(17)} ${fmtTime(pkg.median).padStart(10)} ` +
      `${fmtTime(res.median).padStart(10)}   ${peer.padEnd(44)} ${ratio.toFixed(2).padStart(6)} ${peakShare(r.c, res.gflops, peak).padStart(7)} |              ` +
      `${bestRatio.toFixed(2).padStart(6)} ${peakShare(r.c, flopsOf(r.c) / (res.best * 1e6), peak).padStart(7)}`);
  }
  const big = results.filter((r) => r.c.n >= 512 && !r.c.causal)
    .map((r) => ({ c: r.c, res: r.runs.find((x) => x.impl.resident && !x.impl.reference) }));
  const fraction = (gflops) => (big.length ? `${((100 * Math.min(...big.map(gflops))) / peak).toFixed(0)}%` : 'n/a');
  const where = ({ c }) => `h=${c.heads}, n=${c.n}${c.causal ? ' causal' : ''}`;
  log(`slowest ratio to the fastest peer: ${slowest.median.ratio.toFixed(2)} (${where(slowest.median)}); peak fraction at n>=512: ${fraction((x) => x.res.gflops)}`);
  log(`by best rounds: slowest ratio ${slowest.best.ratio.toFixed(2)} (${where(slowest.best)}); peak fraction at n>=512: ${fraction((x) => flopsOf(x.c) / (x.res.best * 1e6))}`);
}
