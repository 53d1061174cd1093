// The benchmark in Chromium: bench/harness.mjs with the peers and the kernel modules loaded from this
// machine's own server (node_modules and build/, no CDN), the package imported as it ships
// (lib/index.js, which finds its wasm beside itself), and the report posted line by line to the
// console, where bench/bench.mjs prints it. Bundled by bench/bench.mjs (esbuild) into
// build/bench/page.js, which bench/page.html loads.
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { KERNEL_IMPORTS, runBench, summarize } from './harness.mjs';

const params = new URLSearchParams(location.search);
const versions = JSON.parse(params.get('versions'));

async function kernelModule(path) {
  const { instance } = await WebAssembly.instantiate(await (await fetch(path)).arrayBuffer(), KERNEL_IMPORTS);
  instance.exports._initialize();
  return instance.exports;
}

async function main() {
  const log = (line) => console.log(line);
  // A computed specifier: the bundler leaves the package alone, so that it loads its wasm itself.
  const { loadAttention } = await import(new URL('/lib/index.js', location.href).href);
  const qkv = await loadAttention(), qkvSimd = await loadAttention({ backend: 'simd' });
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm did not load');
  await tf.ready();
  if (!tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) throw new Error('tfjs-backend-wasm runs without SIMD here');
  const kernels = { simd: await kernelModule('/build/wasm/qkv-bench-kernels.wasm') };
  if (qkv.backend === 'wasm-relaxed-simd') kernels.fma = await kernelModule('/build/wasm/relaxed/qkv-bench-kernels-fma.wasm');
  const result = await runBench({
    quick: params.has('quick'), qkv, qkvSimd, ort, tf, versions, kernels, log,
    title: `qkv-attention bench in Chromium ${navigator.userAgent.match(/Chrom\w+\/([\d.]+)/)?.[1] ?? '?'}, ` +
      `${navigator.hardwareConcurrency} cores, cross-origin isolated: ${crossOriginIsolated}`,
  });
  const summary = [];
  summarize(result, (line) => summary.push(line));
  return { summary };
}

window.benchDone = main().catch((e) => ({ error: String(e.stack ?? e) }));
