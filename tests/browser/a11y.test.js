// axe-core (npm, injected from node_modules: nothing is fetched) over the demo page and embed.html in
// the states a learner reaches: the first view, a lesson step, two texts, a file's attention, dark
// mode, a phone. No violation of any impact is allowed.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { openBrowser, watchPage, closeCleanPages } from './chromium.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let browser, origin;
const pages = [];

before(async () => { browser = await openBrowser(); origin = browser.url.replace(/\/$/, ''); });
afterEach(() => closeCleanPages(pages));
after(() => browser.close());

// Opens `path`, lets `prepare(page)` bring it to a state, then runs axe over the whole document
// (axe looks into open shadow roots). page.evaluate is not bound by the page's CSP.
async function violations(path, { prepare, dark = false, viewport } = {}) {
  const page = await browser.context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  if (dark) await page.emulateMedia({ colorScheme: 'dark' });
  const seen = await watchPage(page, origin);
  pages.push({ page, seen });
  await page.goto(browser.url + path);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForFunction(() => document.querySelector('qkv-attention').ready.then(() => true));
  await prepare?.(page);
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
}

test('index.html: no axe-core violations, first view, dark, phone', async () => {
  assert.deepEqual(await violations(''), []);
  assert.deepEqual(await violations('', { dark: true }), []);
  assert.deepEqual(await violations('', { viewport: { width: 375, height: 667 } }), []);
});

test('index.html: no violations in a lesson, with two texts, with a file’s attention', async () => {
  assert.deepEqual(await violations('#lesson=attention-from-scratch&step=2'), []);
  assert.deepEqual(await violations('', {
    prepare: async (page) => {
      await page.check('#attend-cross');
      await page.waitForFunction(() => document.getElementById('widget').run?.m !== document.getElementById('widget').run?.n);
    },
  }), []);
  assert.deepEqual(await violations('', {
    prepare: async (page) => {
      const hf = { tokens: ['a', 'b'], attentions: [[[[1, 0], [0.5, 0.5]]]] };
      await page.setInputFiles('#attention-file', { name: 'a.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(hf)) });
      await page.waitForFunction(() => document.getElementById('widget').run?.mode === 'given');
    },
  }), []);
});

test('embed.html: no axe-core violations (its three moderate findings are gone), with every view and a lesson', async () => {
  assert.deepEqual(await violations('embed.html'), []);
  assert.deepEqual(await violations('embed.html?view=heatmap+lines+overview+step&editable&context=The+cat+slept.&sentence=Where%3F'), []);
  assert.deepEqual(await violations('embed.html?lesson=lessons/attention-from-scratch.json&step=9&view=heatmap', { dark: true }), []);
});
