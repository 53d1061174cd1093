// The trained model as a source of runs: in this thread for short sentences, in a Web Worker for
// longer ones. Under 40 tokens the forward pass is short, and the hop to a worker and back would
// only make the frame later. From 40 tokens on it runs in the worker, so that typing
// never waits for it: at 64 tokens this thread's work per keystroke fell from 8.7-11.2 ms p95 to
// 3.8-4.7 ms, for frames ~9 ms later (interleaved bench:page runs, bench/README.md) — and on a phone,
// three or four times slower than this VM, the forward pass would otherwise block each keystroke.
// The worker starts the first time a sentence is long; until it is ready, and where none can start
// (the module is served from another origin than the page, or a CSP forbids workers), this thread
// computes.
import { loadModel } from '../lib/model.js';
import { modelRun, withOutputs } from './compute.js';

/** Past this many tokens (<bos> included) a run goes to the worker; back here below WORKER_BELOW. */
export const WORKER_FROM = 40;
const WORKER_BELOW = 32;

/**
 * Loads the model in this thread and resolves to the source the session computes with:
 * `{ config, wantsWorker(text), here(text, knobs), there(text, knobs), dropWorker() }`. `here` computes now;
 * `there` resolves from the worker. Both give `{ run, ms, where }`, with the heads' outputs
 * computed on first read here. `onProgress(fraction | null)` follows the download.
 */
export async function loadModelSource(qkv, { assets, onProgress = () => {} } = {}) {
  const model = await loadModel(undefined, { attention: qkv, assets, onProgress: (loaded, total) => onProgress(total > 0 ? loaded / total : null) });
  let worker = null, starting = null, failed = false, lastN = 0, long = false, lastOut;
  const startWorker = () => {
    starting ??= workerSource(assets).then((w) => { worker = w; }, () => { failed = true; });
  };
  const seen = (result) => { lastN = result.run.n; return result; };
  return {
    config: model.config,
    /** Whether `text` should be computed in the worker (starting it the first time it is wanted). */
    wantsWorker(text) {
      // The last run's length says how long this one is (a keystroke changes it by a token or so);
      // before any run, the length in characters.
      const n = lastN || text.length / 4;
      long = long ? n >= WORKER_BELOW : n > WORKER_FROM;
      if (!long || failed) return false;
      if (!worker) { startWorker(); return false; }
      return true;
    },
    /** Computes in this thread; the run computed here before is given up (its arrays are reused). */
    here(text, knobs) {
      const t0 = performance.now();
      const run = withOutputs(qkv, modelRun(qkv, model, text, knobs, lastOut));
      lastOut = run.modelOut;
      return seen({ run, ms: performance.now() - t0, where: 'main thread' });
    },
    /** Computes here from now on (the worker failed). */
    dropWorker() { failed = true; worker = null; },
    async there(text, knobs) {
      const { run, ms } = await worker.compute(text, knobs);
      return seen({ run: withOutputs(qkv, run), ms, where: 'worker' });
    },
  };
}

// Resolves to { compute(text, knobs) } once a worker has loaded the package and the model; rejects
// when no worker can run here, or the model cannot be read there.
function workerSource(assets) {
  if (typeof Worker !== 'function') return Promise.reject(new Error('no Worker'));
  let worker;
  try {
    worker = new Worker(new URL('./model-worker.js', import.meta.url), { type: 'module', name: 'qkv-attention model' });
  } catch (error) {
    return Promise.reject(error); // another origin than the page's: workers must be same-origin
  }
  const waiting = new Map();
  let next = 0;
  return new Promise((resolve, reject) => {
    // A worker whose script cannot be fetched or run reports an 'error' event and nothing else.
    worker.addEventListener('error', (e) => { e.preventDefault(); worker.terminate(); reject(new Error(e.message || 'the model worker did not start')); });
    worker.addEventListener('message', ({ data }) => {
      if (data.type === 'loaded') {
        resolve({
          compute: (text, knobs) => new Promise((done, failed) => {
            const id = ++next;
            waiting.set(id, { done, failed });
            worker.postMessage({ type: 'run', id, text, knobs });
          }),
        });
      } else if (data.type === 'failed') {
        worker.terminate();
        reject(new Error(data.message));
      } else if (data.type === 'run') {
        const w = waiting.get(data.id);
        waiting.delete(data.id);
        if (data.error) w?.failed(new Error(data.error)); else w?.done({ run: data.run, ms: data.ms });
      }
    });
    // A relative folder means the page's, and the worker would read it as its own script's.
    worker.postMessage({ type: 'load', assets: assets === undefined ? null : new URL(String(assets), document.baseURI).href });
  });
}
