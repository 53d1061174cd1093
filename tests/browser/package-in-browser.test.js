// The package itself in Chromium, under the demo's CSP: imported by a page and by a module Worker,
// on both builds, and with SIMD switched off in the engine (the scalar build is picked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

const PAGE = `<!doctype html><meta charset="utf-8"><title>package test</title><link rel="icon" href="/favicon.svg"><script type="module" src="main.js"></script>`;
const COMPUTE = `
  const qkv = await loadAttention(opts);
  const { output, weights } = qkv.attention({ q: [1, 0], k: [1, 0, 0, 1], v: [1, 2, 3, 4], dim: 2, returnWeights: true });
  let error = null;
  try { qkv.attention({ q: [1, 0], k: [1], v: [1], dim: 2 }); } catch (e) { error = e.constructor.name + ': ' + e.message; }
  return { backend: qkv.backend, output: [...output], weights: [...weights], error };`;

async function withBrowser(t, extraArgs, fn) {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-pkg-page-'));
  writeFileSync(join(dir, 'index.html'), PAGE);
  writeFileSync(join(dir, 'main.js'), `import { loadAttention } from '/lib/index.js';
    window.compute = async (opts) => { ${COMPUTE} };
    window.inWorker = (opts) => new Promise((resolve, reject) => {
      const w = new Worker('/pkg-test/worker.js', { type: 'module' });
      w.onmessage = (e) => resolve(e.data); w.onerror = (e) => reject(new Error(e.message)); w.postMessage(opts);
    });
    document.body.dataset.ready = 'true';`);
  writeFileSync(join(dir, 'worker.js'), `import { loadAttention } from '/lib/index.js';
    self.onmessage = async (e) => { const opts = e.data; self.postMessage(await (async () => { ${COMPUTE} })()); };`);
  const { server, url } = await startServer({ extraMounts: [['/pkg-test/', dir]] });
  const profile = mkdtempSync(join(tmpdir(), 'qkv-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: [...FLAGS, ...extraArgs] });
  t.after(async () => {
    await context.close();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });
  const page = await context.newPage();
  const violations = [];
  page.on('console', (m) => { if (m.type() === 'error') violations.push(m.text()); });
  await page.goto(`${url}pkg-test/`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  await fn(page);
  assert.deepEqual(violations, [], 'no console errors (CSP violations show up there)');
}

const e = Math.exp(1 / Math.sqrt(2));
function checkResult(r, backend) {
  assert.equal(r.backend, backend);
  assert.ok(Math.abs(r.weights[0] - e / (e + 1)) < 1e-6);
  assert.ok(Math.abs(r.output[0] - (e + 3) / (e + 1)) < 1e-6);
  assert.match(r.error, /^RangeError: qkv.attention: cannot infer keys: k has 1 numbers/);
}

test('in a page and in a module Worker, every build, under the CSP', async (t) => {
  await withBrowser(t, [], async (page) => {
    checkResult(await page.evaluate(() => window.compute({})), 'wasm-relaxed-simd');
    checkResult(await page.evaluate(() => window.compute({ backend: 'simd' })), 'wasm-simd128');
    checkResult(await page.evaluate(() => window.compute({ backend: 'scalar' })), 'wasm-scalar');
    checkResult(await page.evaluate(() => window.inWorker({})), 'wasm-relaxed-simd');
    checkResult(await page.evaluate(() => window.inWorker({ backend: 'scalar' })), 'wasm-scalar');
  });
});

test('a browser without WebAssembly SIMD gets the scalar build', async (t) => {
  await withBrowser(t, ['--js-flags=--no-enable-sse4-1'], async (page) => {
    checkResult(await page.evaluate(() => window.compute({})), 'wasm-scalar');
  });
});
