// The trained model in a Web Worker, for long sentences (see model-source.js): loads the package and
// the model, then answers each { type: 'run', text, knobs } with the run compute.js makes of it. The
// run's arrays are transferred, not copied, to the page.
import { loadAttention } from '../lib/index.js';
import { loadModel } from '../lib/model.js';
import { modelRun } from './compute.js';

let ready = null;

function buffersOf(run) {
  const buffers = new Set();
  for (const layer of run.layers) {
    for (const head of layer.heads) {
      for (const a of [head.q, head.k, head.v, head.scores, head.logits, head.weights, head.output]) if (a) buffers.add(a.buffer);
    }
  }
  return [...buffers];
}

self.addEventListener('message', async ({ data }) => {
  if (data.type === 'load') {
    ready = (async () => {
      const assets = data.assets ?? undefined;
      const qkv = await loadAttention({ assets });
      const model = await loadModel(undefined, { attention: qkv, assets });
      return { qkv, model };
    })();
    try {
      const { model } = await ready;
      self.postMessage({ type: 'loaded', config: model.config });
    } catch (error) {
      self.postMessage({ type: 'failed', message: error.message });
    }
  } else if (data.type === 'run') {
    try {
      const { qkv, model } = await ready;
      const t0 = performance.now();
      const run = modelRun(qkv, model, data.text, data.knobs);
      const ms = performance.now() - t0;
      self.postMessage({ type: 'run', id: data.id, run, ms }, buffersOf(run));
    } catch (error) {
      self.postMessage({ type: 'run', id: data.id, error: error.message });
    }
  }
});
