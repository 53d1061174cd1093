// `npm run bench`: the package against what a developer would pick instead — naive JavaScript loops,
// onnxruntime-web (wasm, one thread) and tfjs-backend-wasm (one matMul per head with an explicit
// transpose, and the batched form) — end to end from JS Float32Arrays, d = 64, with the single-core
// wasm peaks measured in the same run: first in Node, then the same cases in headless Chromium (the
// engine users have, relaxed SIMD on by default), on a page served from 127.0.0.1 that loads the
// package, onnxruntime-web and tfjs-backend-wasm from node_modules. The cases, the checks and the
// report are bench/harness.mjs, the same in both. Nothing here is part of `npm test`.
//
// Node runs with --experimental-wasm-relaxed-simd (the npm script passes it), so every engine in the
// process has relaxed SIMD alike and the package picks its FMA build, as Chromium does. Node's times
// are this process's CPU time (user + system, all its threads), which a busy neighbour on a shared
// machine inflates far less than wall time; Chromium's are wall time (a page has no CPU clock).
//
//   node --experimental-wasm-relaxed-simd bench/bench.mjs            the full run (a few minutes)
//   node --experimental-wasm-relaxed-simd bench/bench.mjs --quick    small sizes, few rounds: checks the harness
//   … --node or --chromium                                            one of the two only
//   … --wall                                                          Node by wall time too
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { chromium } from 'playwright-core';
import { loadAttention, relaxedSimdSupported } from '../lib/index.js';
import { D, KERNEL_IMPORTS, fmtTime, flopsOf, inputs, maxError, reference, runBench, setClock, summarize } from './harness.mjs';

const root = new URL('../', import.meta.url);
const quick = process.argv.includes('--quick');
const where = { node: !process.argv.includes('--chromium'), chromium: !process.argv.includes('--node') };
const versionOf = (pkg) => JSON.parse(fs.readFileSync(new URL(`node_modules/${pkg}/package.json`, root))).version;
const versions = { ort: versionOf('onnxruntime-web'), tf: versionOf('@tensorflow/tfjs-backend-wasm') };
const log = (line) => console.log(line);
const stamp = () => `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`;

async function kernelModule(file) {
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(new URL(file, root)), KERNEL_IMPORTS);
  instance.exports._initialize();
  return instance.exports;
}

async function setupNodePeers() {
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

// n = 32768, one head, output only, in a fresh module: the online-softmax path keeps O(n·d) memory.
async function longSequence(backend) {
  const n = quick ? 4096 : 32768, c = { heads: 1, n, causal: false };
  const file = backend === 'wasm-relaxed-simd' ? 'qkv-simd-fma.wasm' : 'qkv-simd.wasm';
  const fresh = await loadAttention({ backend: file.includes('fma') ? 'fma' : 'simd', wasmBinary: fs.readFileSync(new URL(`dist/${file}`, root)) });
  const before = fresh.memoryBytes;
  const data = inputs(c, 7);
  const t0 = performance.now();
  const out = fresh.attention({ q: data.q, k: data.k, v: data.v, dim: D }).output;
  const ms = performance.now() - t0;
  const err = maxError(c, reference(c, data), out);
  if (!(err <= 1e-4)) throw new Error(`qkv-attention is wrong at n=${n}: max |error| ${err}`);
  return { n, ms, before, after: fresh.memoryBytes, gflops: flopsOf(c) / (ms * 1e6) };
}

async function inNode() {
  if (!relaxedSimdSupported()) log('(Node without --experimental-wasm-relaxed-simd: the package and the peers run without relaxed SIMD)');
  const qkv = await loadAttention(), qkvSimd = await loadAttention({ backend: 'simd' });
  await setupNodePeers();
  const kernels = { simd: await kernelModule('build/wasm/qkv-bench-kernels.wasm') };
  if (relaxedSimdSupported()) kernels.fma = await kernelModule('build/wasm/relaxed/qkv-bench-kernels-fma.wasm');
  const wall = process.argv.includes('--wall');
  if (!wall) setClock(() => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; });
  const result = await runBench({
    quick, qkv, qkvSimd, ort, tf, versions, kernels, log, clockName: wall ? 'wall time' : "this process's CPU time",
    title: `qkv-attention bench in Node ${process.version}: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${stamp()}${quick ? ' (--quick)' : ''}`,
  });
  setClock(() => performance.now());
  const long = await longSequence(qkv.backend);
  log(`n=${long.n}, one head, output only, fresh module: ${fmtTime(long.ms)} (${long.gflops.toFixed(1)} GFLOP/s), ` +
    `wasm memory ${(long.before / 2 ** 20).toFixed(0)} MiB before, ${(long.after / 2 ** 20).toFixed(1)} MiB after ` +
    `(${long.after <= 64 * 2 ** 20 ? 'within' : 'OVER'} 64 MiB)`);
  const summary = [];
  summarize(result, (line) => summary.push(line));
  return summary;
}

// A static server for the bench page: the repository's lib/, dist/, bench/, build/ and node_modules/
// on 127.0.0.1, cross-origin isolated (COOP + COEP) so that performance.now() ticks in 5 µs instead
// of 100 µs; no CSP (the demo page's is tested elsewhere; the peers are not written for it).
function serve() {
  const base = fileURLToPath(root);
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
  const server = http.createServer((req, res) => {
    const rel = path.normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '');
    const file = path.join(base, rel);
    const allowed = /^(lib|dist|bench|build|node_modules)\//.test(rel) && file.startsWith(base) && fs.existsSync(file) && fs.statSync(file).isFile();
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' };
    if (!allowed) {
      res.writeHead(rel === 'favicon.ico' ? 204 : 404, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}/` })));
}

// Chromium's zygote starts its renderers at priority 0 whatever the priority of this process: give
// the browser's processes (those started with its profile folder) this process's own, so that a
// run under `nice` measures both engines alike.
function sharePriority(profile) {
  const mine = os.getPriority();
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(profile)) os.setPriority(Number(pid), mine);
    } catch { /* gone, or not ours */ }
  }
}

async function inChromium() {
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [fileURLToPath(new URL('bench/page.mjs', root))], bundle: true, format: 'esm', platform: 'browser',
    target: 'es2022', outfile: fileURLToPath(new URL('build/bench/page.js', root)), logLevel: 'warning' });
  const { server, url } = await serve();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'qkv-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'log') log(m.text());
      else if (!/Failed to load resource/.test(m.text())) log(`[chromium ${m.type()}] ${m.text()}`); // said with its URL below
    });
    page.on('pageerror', (e) => log(`[chromium page error] ${e}`));
    page.on('response', (r) => { if (r.status() >= 400) log(`[chromium] ${r.status()} ${r.url()}`); });
    log(`\n${'='.repeat(40)} Chromium (${stamp()})`);
    await page.goto(`${url}bench/page.html?versions=${encodeURIComponent(JSON.stringify(versions))}${quick ? '&quick' : ''}`);
    if (os.getPriority() !== 0) sharePriority(profile);
    const done = await page.evaluate(() => window.benchDone, null, { timeout: 0 });
    if (done.error) throw new Error(`the Chromium bench failed: ${done.error}`);
    return done.summary;
  } finally {
    await context.close();
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

execFileSync('bash', [fileURLToPath(new URL('scripts/build.sh', root)), 'bench'], { stdio: ['ignore', 'ignore', 'inherit'] });
const started = performance.now();
const summaries = [];
if (where.node) summaries.push(['Node', await inNode()]);
if (where.chromium) summaries.push(['Chromium', await inChromium()]);
log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s; ${stamp()} at the end`);
for (const [name, lines] of summaries) {
  log(`\n${name}:`);
  for (const line of lines) log(line);
}
