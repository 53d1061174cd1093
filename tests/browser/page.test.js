// The `npm start` page in headless Chromium: it loads under its CSP, a typed sentence gets weights
// computed in the browser, and those equal the package's own results in Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openBrowser, watchPage, ARTIFACTS } from './chromium.js';
import { loadAttention } from '../../bindings/index.js';
import { splitWords, placeholderMatrix, PLACEHOLDER_DIM } from '../../web/placeholder-vectors.js';

test('the demo page computes attention in the browser, equal to the package in Node', async (t) => {
  const browser = await openBrowser();
  t.after(() => browser.close());
  const page = await browser.context.newPage();
  const seen = await watchPage(page, browser.url.replace(/\/$/, ''));
  const response = await page.goto(browser.url);
  assert.match(response.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  await page.waitForSelector('body[data-ready="true"]');

  const sentence = 'Attention lets every word look at <b>every</b> other word.';
  await page.fill('#sentence', '');
  await page.type('#sentence', sentence, { delay: 5 });
  const tokens = splitWords(sentence);
  await page.waitForFunction((n) => document.querySelectorAll('#heatmap .cell').length === n * n, tokens.length);
  const shown = await page.$$eval('#heatmap .cell', (cells) => cells.map((c) => Number(c.dataset.weight)));
  const status = await page.textContent('#status');
  assert.match(status, new RegExp(`${tokens.length} tokens .* wasm-simd128`));
  assert.equal(await page.$('#heatmap b'), null, 'typed markup stays text');

  const qkv = await loadAttention();
  const x = placeholderMatrix(tokens);
  const { weights } = qkv.attention({ q: x, k: x, v: x, dim: PLACEHOLDER_DIM, returnWeights: true });
  assert.equal(shown.length, weights.length);
  for (let i = 0; i < weights.length; ++i) assert.ok(Math.abs(shown[i] - weights[i]) < 1e-6, `weight ${i}: ${shown[i]} vs ${weights[i]}`);

  await page.screenshot({ path: join(ARTIFACTS, 'page.png'), fullPage: true });
  assert.deepEqual(await seen.cspViolations(), []);
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.foreign, [], 'no request leaves the origin');
});
