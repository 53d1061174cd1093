// `npm run bench:page`: the demo page's targets, measured in headless Chromium (Debian's, through
// playwright-core) on the page served by scripts/serve.mjs. Reports, never asserts:
//   - keystroke → repaint for a 64-token sentence in model mode, p50/p95 over 120 keystrokes, both the
//     page's own work (keydown until the input handler has recomputed and drawn everything) and until
//     the next frame has been produced (what a learner sees; includes waiting for the frame);
//   - cold load to the first heatmap (fresh browser profile each time, median of 5), of the page and
//     of embed.html;
//   - every byte the page transfers (wasm, glue, scripts, word vectors, model), raw and gzipped.
// Uses models/tiny-lm.qkv when it exists, else the tests' stand-in model of the same format (and says so).
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';
import { loadAttention } from '../bindings/index.js';
import { modelMounts, REAL_MODEL } from '../tests/browser/stand-in-model.js';

const KEYSTROKES = 120;
const COLD_RUNS = 5;
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

const loadAtStart = loadavg()[0];
const realModel = existsSync(REAL_MODEL);
const qkv = await loadAttention();
const embeddings = await qkv.loadEmbeddings();
const extraMounts = realModel ? [] : modelMounts(embeddings.vocab);
const { server, url } = await startServer({ extraMounts });

async function freshContext() {
  const profile = mkdtempSync(join(tmpdir(), 'qkv-bench-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1200, height: 900 }, args: FLAGS });
  return { context, close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); } };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const median = (xs) => quantile(xs, 0.5);
const ms = (x) => `${x.toFixed(1)} ms`;
const kb = (x) => `${(x / 1024).toFixed(1)} KB`;

// A sentence of exactly 64 tokens in model mode (<bos> included), all of them words the model knows.
const WORDS = 'the cat sat on the mat because it was tired and the dog watched from the door while birds sang outside'.split(' ');
function sentenceOf(tokens) {
  const words = Array.from({ length: tokens - 2 }, (_, i) => WORDS[i % WORDS.length]);
  return `${words.join(' ')}.`;
}

// ---- cold load -------------------------------------------------------------------------------------
// `path` in a fresh profile (nothing cached): ms from navigation to body[data-ready] (set once the
// first heatmap is drawn), and with `bytes` every response, raw and gzipped, once `settled` is there.
async function coldLoad(path, { bytes = false, settled = null } = {}) {
  const { context, close } = await freshContext();
  const page = await context.newPage();
  const responses = [];
  page.on('response', (r) => responses.push(r));
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.body?.dataset.ready === 'true') { window.__firstHeatmap = performance.now(); observer.disconnect(); }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-ready'] });
  });
  await page.goto(url + path);
  await page.waitForSelector('body[data-ready="true"]');
  const result = { ms: await page.evaluate(() => window.__firstHeatmap) };
  if (bytes) {
    if (settled) await page.waitForSelector(settled);
    result.transfer = [];
    for (const r of responses) {
      const body = await r.body().catch(() => Buffer.alloc(0));
      result.transfer.push({ path: new URL(r.url()).pathname, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length });
    }
  }
  await close();
  return result;
}

const cold = [], coldEmbed = [];
let transfer = null, transferEmbed = null;
for (let run = 0; run < COLD_RUNS; ++run) {
  const r = await coldLoad('', { bytes: run === 0, settled: 'body[data-model="ready"], body[data-model="unavailable"]' });
  cold.push(r.ms);
  transfer ??= r.transfer;
}
for (let run = 0; run < 3; ++run) {
  const r = await coldLoad('embed.html?view=heatmap', { bytes: run === 0 });
  coldEmbed.push(r.ms);
  transferEmbed ??= r.transfer;
}

// ---- keystroke → repaint in model mode --------------------------------------------------------------
const { context, close } = await freshContext();
const page = await context.newPage();
const sentence = sentenceOf(64);
await page.goto(`${url}#${new URLSearchParams({ s: sentence, m: 'model', l: '1', h: '1' })}`);
await page.waitForSelector('body[data-ready="true"]');
await page.waitForFunction(() => document.getElementById('mode-model').checked);
const tokens = Number(await page.$eval('body', (b) => b.dataset.n));
const backend = await page.$eval('#status', (s) => s.textContent.match(/with (\S+)/)?.[1] ?? '?');
await page.evaluate(() => {
  // keydown → the page's input handler (registered before this one, so it has run) → next frame.
  const el = document.getElementById('sentence');
  window.__keys = [];
  let pending = null;
  el.addEventListener('keydown', (e) => { pending = { down: e.timeStamp }; });
  el.addEventListener('input', () => {
    const key = pending;
    if (!key) return;
    pending = null;
    key.work = performance.now() - key.down;
    key.compute = Number(document.getElementById('status').textContent.match(/computed in ([\d.]+) ms/)?.[1]);
    requestAnimationFrame(() => {
      // A message posted from the frame callback arrives after that frame has been produced.
      const channel = new MessageChannel();
      channel.port1.onmessage = () => { key.frame = performance.now() - key.down; window.__keys.push(key); };
      channel.port2.postMessage(0);
    });
  });
});
await page.focus('#sentence');
await page.keyboard.press('End');
await page.keyboard.press('ArrowLeft');
for (let k = 0; k < KEYSTROKES; ++k) {
  // Delete and retype the last letter of the last word (before the full stop): 64 or 63 tokens.
  await page.keyboard.press(k % 2 === 0 ? 'Backspace' : sentence.at(-2));
  await page.waitForFunction((count) => window.__keys.length >= count, k + 1);
}
const keys = await page.evaluate(() => window.__keys);
await close();
await new Promise((r) => server.close(r));

// ---- report ------------------------------------------------------------------------------------------
const work = keys.map((k) => k.work), frame = keys.map((k) => k.frame), compute = keys.map((k) => k.compute);
const sum = (files, key) => files.reduce((t, f) => t + f[key], 0);
const total = sum(transfer, 'bytes'), totalGzip = sum(transfer, 'gzip');
const coldMs = cold;
const modelName = realModel ? 'models/tiny-lm.qkv'
  : 'STAND-IN model (models/tiny-lm.qkv is not there yet): random f32 weights of the real shape, 3 layers × 4 heads, d_model 100; its bytes are not the real file’s';

console.log(`\nqkv-attention demo page in headless Chromium (${backend}); ${cpus().length} cores, load average ${loadAtStart.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after (this run's own browser included)`);
console.log(`model: ${modelName}\n`);
const rows = [
  ['measure', 'p50 / median', 'p95 / range', 'target'],
  [`keystroke → page work done (${tokens} tokens, model mode, ${keys.length} keys)`, ms(median(work)), ms(quantile(work, 0.95)), '—'],
  ['  of which computing (model forward pass + package attention)', ms(median(compute)), ms(quantile(compute, 0.95)), '—'],
  [`keystroke → next frame (${tokens} tokens, model mode, ${keys.length} keys)`, ms(median(frame)), ms(quantile(frame, 0.95)), 'p95 ≤ 16 ms'],
  [`cold load → first heatmap (${COLD_RUNS} fresh profiles)`, ms(median(coldMs)), `${ms(Math.min(...coldMs))} … ${ms(Math.max(...coldMs))}`, '≤ 300 ms'],
  ['everything transferred (incl. model)', kb(total), `${kb(totalGzip)} gzip`, '≤ 2 MB gzip'],
  ['embed.html cold load → first heatmap (3 fresh profiles)', ms(median(coldEmbed)), `${ms(Math.min(...coldEmbed))} … ${ms(Math.max(...coldEmbed))}`, '—'],
  ['embed.html transferred (embeddings mode, no model)', kb(sum(transferEmbed, 'bytes')), `${kb(sum(transferEmbed, 'gzip'))} gzip`, '—'],
];
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const [i, r] of rows.entries()) {
  console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log('\nfile                                   bytes       gzip');
for (const f of [...transfer].sort((a, b) => b.bytes - a.bytes)) {
  console.log(`${f.path.padEnd(36)} ${String(f.bytes).padStart(9)}  ${String(f.gzip).padStart(9)}`);
}
console.log(`\nsummary: keystroke→frame p95 ${ms(quantile(frame, 0.95))} (work p95 ${ms(quantile(work, 0.95))}) at ${tokens} tokens in model mode` +
  `${realModel ? '' : ' (stand-in model of the real shape)'}; cold load to first heatmap ${ms(median(coldMs))} median; ` +
  `${kb(total)} transferred, ${kb(totalGzip)} gzipped.`);
