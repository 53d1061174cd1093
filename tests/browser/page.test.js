// The demo page (web/) in headless Chromium under its CSP: typing, clicking and the keyboard; the
// numbers shown equal the package's own results computed here in Node; every view renders; exports are
// valid files; the permalink restores the state; phone, dark mode, XSS payloads, and no request
// leaving the origin. One browser for the whole file keeps it quick. The page is built on
// <qkv-attention id="widget">: the sentence, tokens, views and step panel are in its shadow root
// (playwright's selectors pierce it; scripts run in the page reach it through its shadowRoot).
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser, watchPage, ARTIFACTS } from './chromium.js';
import { loadAttention } from '../../lib/index.js';
import { modelMounts, REAL_MODEL } from './stand-in-model.js';
import { stepNumbers as readStep, embeddingsReference, assertStepMatches, XSS_PAYLOADS, inkedFraction } from './page-helpers.js';
import { loadModel, loadEmbeddings } from '../../lib/model.js';

let browser, origin, qkv, embeddings, model;
const pages = [];

// A page with its watchers; `hash` is appended to the URL.
async function open(hash = '', { dark = false, context } = {}) {
  const page = await (context ?? browser.context).newPage();
  if (dark) await page.emulateMedia({ colorScheme: 'dark' });
  const seen = await watchPage(page, origin);
  const response = await page.goto(browser.url + hash);
  await page.waitForSelector('body[data-ready="true"]');
  // The parts below the fold (step panel, next words, some views) are drawn just after the first
  // heatmap: the tests read them, so they wait until nothing is left to draw.
  await page.waitForSelector('body[data-stale=""]');
  pages.push({ page, seen });
  return { page, seen, response };
}

const stepNumbers = (page) => readStep(page, '#step');
const reference = (text, knobs) => embeddingsReference(qkv, embeddings, text, knobs);

async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: file.suggestedFilename(), bytes: readFileSync(await file.path()) };
}

before(async () => {
  qkv = await loadAttention();
  embeddings = await loadEmbeddings();
  const extraMounts = modelMounts(embeddings.vocab);
  model = await loadModel(readFileSync(extraMounts[0]?.[1] ?? REAL_MODEL), { attention: qkv });
  browser = await openBrowser({ extraMounts });
  origin = browser.url.replace(/\/$/, '');
});

// After each test, on every page it opened: no CSP violation, no error, no request outside the origin.
afterEach(async () => {
  for (const { page, seen } of pages.splice(0)) {
    assert.deepEqual(await seen.cspViolations(), [], 'no CSP violation');
    assert.deepEqual(seen.errors, [], 'no console or page errors');
    assert.deepEqual(seen.foreign, [], 'no request leaves the origin');
    await page.close();
  }
});

after(() => browser.close());

describe('demo page', () => {
  test('starts at once in embeddings mode under its CSP and draws every view', async () => {
    const { page, response } = await open();
    assert.match(response.headers()['content-security-policy'], /default-src 'self'; script-src 'self' 'wasm-unsafe-eval'/);
    assert.equal(await page.isChecked('#mode-embeddings'), true);
    for (const view of ['heatmap', 'lines', 'overview']) {
      const inked = await inkedFraction(page, `#host-${view} canvas`);
      assert.ok(inked > 0.05, `${view} has drawn something (${inked})`);
    }
    assert.ok(await page.$$eval('#step canvas', (c) => c.length) >= 4, 'Q, K, V and output strips');
    // Every script and wasm file the page fetched is named in index.html (the bundled page script or
    // a preload), so that nothing waits for an import level or a script to ask for it.
    const { fetched, named } = await page.evaluate(() => ({
      fetched: performance.getEntriesByType('resource').map((e) => e.name).filter((u) => /\.(m?js|wasm)$/.test(new URL(u).pathname)),
      named: [...document.querySelectorAll('script[src], link[rel="modulepreload"], link[rel="preload"]')].map((e) => e.src || e.href),
    }));
    // The model's worker (and what it loads) starts after the first heatmap, on purpose: not preloaded.
    assert.deepEqual(fetched.filter((u) => !named.includes(u) && !u.endsWith('/dist/model-worker.js')), [], 'scripts and wasm not preloaded by index.html');
    await page.screenshot({ path: join(ARTIFACTS, 'page-desktop.png'), fullPage: true });
  });

  test('typing recomputes on each keystroke; the numbers shown equal the package in Node', async () => {
    const { page } = await open();
    const sentence = 'The queen spoke to the king, and he listened.';
    await page.fill('#sentence', '');
    await page.type('#sentence', sentence, { delay: 2 });
    const ref = reference(sentence);
    await page.waitForFunction((n) => document.body.dataset.n === String(n), ref.n);
    // The step panel is below the fold: drawn in idle time after the keystroke's frame.
    await page.waitForFunction((n) => document.getElementById('widget').shadowRoot.getElementById('step').dataset.n === String(n), ref.n);
    const words = await page.$$eval('#tokens .tok', (b) => b.map((x) => x.textContent));
    assert.deepEqual(words, ref.tokens.map((t) => sentence.slice(t.start, t.end)));
    const shown = await stepNumbers(page);
    assert.equal(shown.query, ref.n - 1, 'the last token is the default query');
    assert.equal(shown.rows.length, ref.n);
    assertStepMatches(shown, ref);
    const sum = await page.$eval('#step td[data-kind="weight-sum"]', (td) => td.textContent);
    assert.equal(sum, '1.0000');
  });

  test('knobs: heads, causal mask, temperature and scaling change the numbers as the package does', async () => {
    const { page } = await open();
    const sentence = await page.inputValue('#sentence');
    await page.selectOption('#heads', '4');
    await page.check('#causal');
    await page.$eval('#temperature', (el) => { el.value = '0.5'; el.dispatchEvent(new Event('input', { bubbles: true })); });
    await page.selectOption('#head', '2');
    let ref = reference(sentence, { heads: 4, causal: true, temperature: 0.5 });
    let shown = await stepNumbers(page);
    assert.equal(shown.head, 2);
    assertStepMatches(shown, ref, 2);
    await page.uncheck('#scaling');
    ref = reference(sentence, { heads: 4, causal: true, temperature: 0.5, scaling: false });
    shown = await stepNumbers(page);
    assertStepMatches(shown, ref, 2);
    // Causal: the first token may look only at itself.
    await page.click('#tokens .tok >> nth=0');
    shown = await stepNumbers(page);
    assert.equal(shown.query, 0);
    assert.equal(shown.rows.find((r) => r.key === 0).weight, 1);
    assert.ok(shown.rows.filter((r) => r.key > 0).every((r) => r.weight === 0 && r.logit === -Infinity));
  });

  test('click and keyboard choose the query and key across views, with text for screen readers', async () => {
    const { page } = await open();
    await page.click('#tokens .tok >> nth=1');
    let s = await stepNumbers(page);
    assert.equal(s.query, 1);
    assert.equal(await page.$eval('#tokens .tok.is-query', (b) => b.dataset.i), '1');
    // Click a heatmap cell: row 3, column 2.
    const cell = await page.evaluate(() => {
      const c = document.getElementById('widget').shadowRoot.querySelector('#host-heatmap canvas');
      return { w: c.getBoundingClientRect().width };
    });
    assert.ok(cell.w > 100);
    const box = await page.$('#host-heatmap canvas');
    // Walk with the keyboard from a known cell instead of guessing pixel positions for labels.
    await box.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    s = await stepNumbers(page);
    assert.equal(s.query, 2);
    assert.equal(s.key, 2);
    const announced = await page.textContent('#announce');
    assert.match(announced, /“sat” → “sat”: weight \d\.\d{4}/);
    const label = await page.$eval('#host-heatmap canvas', (c) => c.getAttribute('aria-label'));
    assert.match(label, /Arrow keys/);
    // A row of the step table chooses the key worked out by hand.
    await page.click('#step tbody tr[data-key="0"] button');
    s = await stepNumbers(page);
    assert.equal(s.key, 0);
    assert.match(await page.textContent('#step .by-hand'), /α = \d\.\d{4} ÷ \d+\.\d{4}/);
    // Token buttons: one tab stop, arrows move.
    await page.focus('#tokens .tok[tabindex="0"]');
    await page.keyboard.press('ArrowRight');
    s = await stepNumbers(page);
    assert.equal(s.query, 3);
    // Overview: Enter-free keyboard choice of a head.
    await page.selectOption('#heads', '5');
    await page.focus('#host-overview canvas');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.inputValue('#head'), '1');
    // Pointer over the heatmap shows the value.
    const r = await box.boundingBox();
    await page.mouse.move(r.x + r.width * 0.6, r.y + r.height * 0.6);
    assert.match(await page.textContent('#host-heatmap .view-tip'), /weight \d\.\d{4}/);
  });

  test('exports: PNG and SVG of each view, CSV and JSON equal to the matrix', async () => {
    const { page } = await open();
    const sentence = await page.inputValue('#sentence');
    const ref = reference(sentence);
    for (const view of ['heatmap', 'lines', 'overview']) {
      const png = await download(page, `button[data-export="${view}"][data-format="png"]`);
      assert.deepEqual([...png.bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], `${view}.png signature`);
      const svg = await download(page, `button[data-export="${view}"][data-format="svg"]`);
      const parsed = await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
        return { error: doc.querySelector('parsererror') !== null, root: doc.documentElement.nodeName, texts: [...doc.querySelectorAll('text')].map((t) => t.textContent) };
      }, svg.bytes.toString('utf8'));
      assert.equal(parsed.error, false, `${view}.svg parses`);
      assert.equal(parsed.root, 'svg');
      if (view !== 'overview') assert.ok(parsed.texts.includes('cat'), `${view}.svg has the token labels`);
    }
    const csv = await download(page, '#export-csv');
    const lines = csv.bytes.toString('utf8').trim().split('\r\n');
    assert.equal(lines.length, ref.n + 1);
    lines.slice(1).forEach((line, i) => {
      const values = line.split(',').slice(-ref.n).map(Number);
      values.forEach((v, j) => assert.ok(Math.abs(v - ref.weights[i * ref.n + j]) < 1e-6));
    });
    await page.selectOption('#matrix', 'scores');
    const scores = (await download(page, '#export-csv')).bytes.toString('utf8').trim().split('\r\n');
    assert.ok(Math.abs(Number(scores[1].split(',').at(-1)) - ref.scores[ref.n - 1]) < 1e-3);
    const json = JSON.parse((await download(page, '#export-json')).bytes.toString('utf8'));
    assert.equal(json.sentence, sentence);
    assert.equal(json.weights.length, ref.n);
    json.weights.forEach((row, i) => row.forEach((w, j) => assert.ok(Math.abs(w - ref.weights[i * ref.n + j]) < 1e-6)));
    assert.equal(json.tokens.length, ref.n);
    assert.equal(json.output[0].length, 100);
  });

  test('the permalink restores sentence, heads, head, knobs and query', async () => {
    const { page } = await open();
    await page.fill('#sentence', 'Paris is the capital of France.');
    await page.selectOption('#heads', '2');
    await page.selectOption('#head', '1');
    await page.check('#causal');
    await page.uncheck('#scaling');
    await page.$eval('#temperature', (el) => { el.value = '2'; el.dispatchEvent(new Event('input', { bubbles: true })); });
    await page.click('#tokens .tok >> nth=3');
    // The permalink names the chosen token by where it is in the text: "capital" starts at 13.
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('q') === '@13');
    const url = page.url();
    const { page: again } = await open(url.slice(url.indexOf('#')));
    assert.equal(await again.inputValue('#sentence'), 'Paris is the capital of France.');
    assert.equal(await again.inputValue('#heads'), '2');
    assert.equal(await again.inputValue('#head'), '1');
    assert.equal(await again.isChecked('#causal'), true);
    assert.equal(await again.isChecked('#scaling'), false);
    assert.equal(await again.inputValue('#temperature'), '2');
    const s = await stepNumbers(again);
    assert.equal(s.query, 3);
    assertStepMatches(s, reference('Paris is the capital of France.', { heads: 2, causal: true, temperature: 2, scaling: false }), 1);
  });

  test('model mode: progress while loading, layer and head picker, the model’s own numbers, next words', async () => {
    const sentence = 'The president said that the war was over.';
    const { page } = await open(`#s=${encodeURIComponent(sentence)}`);
    await page.waitForSelector('body[data-model="ready"]');
    assert.equal(await page.isHidden('#model-loading'), true, 'the progress indicator goes away');
    await page.check('#mode-model');
    // The model runs in a worker: its numbers arrive a moment after the click.
    await page.waitForFunction(() => document.getElementById('widget').run?.mode === 'model');
    const last = model.config.n_layers - 1, head = model.config.n_heads - 1;
    await page.selectOption('#layer', String(last));
    await page.selectOption('#head', String(head));
    const out = model.run(sentence, { topK: 5 });
    const n = out.ids.length;
    assert.equal(await page.$eval('body', (b) => b.dataset.n), String(n));
    assert.equal(await page.$eval('#tokens .tok', (b) => b.textContent), '<bos>');
    assert.equal(await page.isChecked('#causal'), true);
    assert.equal(await page.isDisabled('#causal'), true);
    const shown = await stepNumbers(page);
    assert.deepEqual([shown.layer, shown.head, shown.query], [last, head, n - 1]);
    const h = out.layers[last].heads[head];
    for (const row of shown.rows) {
      const at = (n - 1) * n + row.key;
      assert.ok(Math.abs(row.weight - h.weights[at]) < 1e-5, `weight ${row.key}: ${row.weight} vs ${h.weights[at]}`);
      assert.ok(Math.abs(row.score - h.scores[at]) < 1e-4 * Math.max(1, Math.abs(h.scores[at])));
    }
    const next = await page.$$eval('#next li .next-word', (w) => w.map((x) => x.textContent));
    // Each next piece as read, without the word-start mark; one that goes on with the last word joined to it.
    assert.deepEqual(next, out.next.map((p) => (p.startsWord ? p.text : `·${p.text}`)));
    // The overview has every layer × head; clicking the first selects layer 1, head 1.
    const box = await (await page.$('#host-overview canvas')).boundingBox();
    assert.ok(box.height > 2 * 40, 'one row of small heatmaps per layer');
    await page.screenshot({ path: join(ARTIFACTS, 'page-model.png'), fullPage: true });
    // The permalink brings back model mode with this layer and head once the model has loaded.
    await page.waitForFunction(() => location.hash.includes('m=model'));
    const url = page.url();
    const { page: again } = await open(url.slice(url.indexOf('#')));
    await again.waitForFunction(() => document.getElementById('mode-model').checked);
    assert.equal(await again.inputValue('#layer'), String(last));
    assert.equal(await again.inputValue('#head'), String(head));
  });

  test('typed markup and script stay text', async () => {
    const { page } = await open();
    await page.evaluate(() => { window.__xss = 0; });
    page.on('dialog', () => assert.fail('a dialog opened'));
    for (const p of XSS_PAYLOADS) {
      await page.fill('#sentence', p);
      // Typing is drawn in the next animation frame: wait for the strip to show this text.
      await page.waitForFunction((text) => document.getElementById('widget').shadowRoot.getElementById('tokens').textContent === text, p);
      const shownText = await page.$eval('#tokens', (el) => el.textContent);
      assert.equal(shownText, p, 'the token strip shows the text exactly');
      const injected = await page.$$eval('#tokens *, #step *, .qkv-views *', (els) => els.filter((e) => /^(IMG|SCRIPT|SVG|IFRAME|A|STYLE)$/i.test(e.tagName)).length);
      assert.equal(injected, 0);
    }
    const svg = await download(page, 'button[data-export="heatmap"][data-format="svg"]');
    assert.doesNotMatch(svg.bytes.toString('utf8'), /<script|onerror=|onload=/i);
    assert.equal(await page.evaluate(() => window.__xss), 0);
  });

  test('256 tokens stay responsive', async () => {
    const { page } = await open();
    const words = 'the cat sat on the mat while a dog watched from the door and birds sang outside'.split(' ');
    const long = Array.from({ length: 256 }, (_, i) => words[i % words.length]).join(' ');
    await page.fill('#sentence', long.slice(0, -2));
    const ms = await page.evaluate(async (text) => {
      const el = document.getElementById('widget').shadowRoot.getElementById('sentence');
      el.value = text;
      const t0 = performance.now();
      el.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise(requestAnimationFrame);
      return performance.now() - t0;
    }, long);
    assert.equal(await page.$eval('body', (b) => b.dataset.n), '256');
    assert.ok(ms < 500, `one keystroke at 256 tokens took ${ms.toFixed(0)} ms`);
    assert.ok(await page.$$eval('#step tbody tr', (r) => r.length) <= 25, 'long inputs list the largest weights');
    await page.screenshot({ path: join(ARTIFACTS, 'page-256.png') });
  });

  test('phone: 375×667 with touch, nothing wider than the screen', async () => {
    const phone = await openBrowser({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
    try {
      const page = await phone.context.newPage();
      const seen = await watchPage(page, phone.url.replace(/\/$/, ''));
      await page.goto(phone.url);
      await page.waitForSelector('body[data-ready="true"]');
      await page.tap('#tokens .tok >> nth=2');
      assert.equal((await stepNumbers(page)).query, 2);
      const box = await (await page.$('#host-heatmap canvas')).boundingBox();
      await page.touchscreen.tap(box.x + box.width - 30, box.y + box.height * 0.5);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(overflow <= 375, `page is ${overflow} px wide`);
      // The step panel is rendered only near the viewport (content-visibility: auto): bring it there.
      await page.$eval('.qkv-step', (card) => card.scrollIntoView());
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      await page.screenshot({ path: join(ARTIFACTS, 'page-phone.png'), fullPage: true });
      assert.deepEqual(await seen.cspViolations(), []);
      assert.deepEqual(seen.foreign, []);
    } finally {
      await phone.close();
    }
  });

  test('dark mode and reduced motion', async () => {
    const { page } = await open('', { dark: true });
    await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(20, 20, 24)');
    assert.equal(await page.$eval('.tok', (b) => getComputedStyle(b).transitionDuration), '0s');
    await page.screenshot({ path: join(ARTIFACTS, 'page-dark.png'), fullPage: true });
  });
});
