// The trained model as a source of runs, computed off the main thread where the browser allows it.
// The model's forward pass over 256 tokens takes ~25 ms here, longer than a frame: in a Web Worker
// (model-worker.js) typing never waits for it, and the page only draws what comes back. Where no
// worker can start (the module is served from another origin than the page, or a CSP forbids
// workers) the same code runs in this thread instead.
import { modelRun, withOutputs } from './compute.js';

/**
 * Loads the model and resolves to `{ config, where, compute(text, knobs) }`; `compute` resolves to
 * `{ run, ms }` (the run's heads get their outputs on first read, computed here with `qkv`).
 * `onProgress(fraction | null)` follows the download.
 */
export async function loadModelSource(qkv, { modelUrl, wasmUrl, onProgress = () => {} } = {}) {
  let remote = null;
  try {
    remote = await workerSource({ modelUrl, wasmUrl, onProgress });
  } catch (error) {
    if (error.fatal) throw error; // the model itself cannot be read: the same here
  }
  if (remote) return { ...remote, compute: async (text, knobs) => { const r = await remote.compute(text, knobs); withOutputs(qkv, r.run); return r; } };
  const model = await qkv.loadModel(modelUrl, { onProgress: (loaded, total) => onProgress(total > 0 ? loaded / total : null) });
  return {
    config: model.config, where: 'main thread',
    async compute(text, knobs) {
      const t0 = performance.now();
      const run = modelRun(qkv, model, text, knobs);
      return { run: withOutputs(qkv, run), ms: performance.now() - t0 };
    },
  };
}

// Rejects when no worker can run here (then the caller computes in this thread); a worker that runs
// but cannot load the model rejects with the model's error through `loaded`.
function workerSource({ modelUrl, wasmUrl, onProgress }) {
  if (typeof Worker !== 'function') return Promise.reject(new Error('no Worker'));
  const worker = new Worker(new URL('./model-worker.js', import.meta.url), { type: 'module', name: 'qkv-attention model' });
  const waiting = new Map();
  let next = 0;
  return new Promise((resolve, reject) => {
    const fail = (error) => { worker.terminate(); reject(error); };
    // A worker whose script cannot be fetched or run reports an 'error' event and nothing else.
    worker.addEventListener('error', (e) => { e.preventDefault(); fail(new Error(e.message || 'the model worker did not start')); });
    worker.addEventListener('message', ({ data }) => {
      if (data.type === 'progress') onProgress(data.fraction);
      else if (data.type === 'loaded') {
        resolve({
          config: data.config, where: 'worker',
          compute: (text, knobs) => new Promise((done, failed) => {
            const id = ++next;
            waiting.set(id, { done, failed });
            worker.postMessage({ type: 'run', id, text, knobs });
          }),
        });
      } else if (data.type === 'failed') {
        // The model itself is unusable: no point in trying it again in this thread.
        worker.terminate();
        reject(Object.assign(new Error(data.message), { fatal: true }));
      } else if (data.type === 'run') {
        const w = waiting.get(data.id);
        waiting.delete(data.id);
        if (data.error) w?.failed(new Error(data.error)); else w?.done({ run: data.run, ms: data.ms });
      }
    });
    worker.postMessage({ type: 'load', modelUrl: modelUrl ? String(modelUrl) : null, wasmUrl: wasmUrl ? String(wasmUrl) : null });
  });
}
