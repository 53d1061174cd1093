// <qkv-attention> and embed.html in headless Chromium, under the CSP the server sends: the element
// draws what its attributes say and follows their changes; its numbers equal the package's results in
// Node; embed.html works in an iframe, configured by its URL; markup in a sentence stays text; the
// keyboard reaches every control; no CSP violation and no request outside the origin.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBrowser, watchPage, closeCleanPages, ARTIFACTS } from './chromium.js';
import { loadAttention } from '../../lib/index.js';
import { modelMounts, REAL_MODEL } from './stand-in-model.js';
import { stepNumbers, embeddingsReference, assertStepMatches, XSS_PAYLOADS, inkedFraction } from './page-helpers.js';
import { loadModel, loadEmbeddings } from '../../lib/model.js';

const folder = (name) => fileURLToPath(new URL(`../../${name}`, import.meta.url));
const SENTENCE = 'The queen spoke to the king, and he listened.';

// Lesson pages of the tests' own, served at /lesson/; no inline script or style (the CSP forbids them).
const LESSONS = {
  'element.html': `<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="/favicon.svg"><title>element</title>
    <script type="module" src="/qkv-attention-element.js"></script>
    <p><a href="#x" id="before">a link before the widget</a></p>
    <qkv-attention id="a" sentence="${SENTENCE}" view="heatmap step" heads="4" head="3" causal temperature="0.5" query="king" key="queen"></qkv-attention>
    <qkv-attention id="b" sentence="Paris is the capital of France." view="lines" editable compact></qkv-attention>
    <qkv-attention id="copy" sentence="A copy of the files elsewhere." view="heatmap" src="/copy/"></qkv-attention>`,
  'frame.html': `<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="/favicon.svg"><title>frame</title>
    <iframe id="f" title="attention" width="760" height="900"
      src="/embed.html?sentence=${encodeURIComponent(SENTENCE)}&view=step+heatmap&heads=2&head=2&temperature=2&scaling=off&causal&query=5"></iframe>`,
  'model.html': `<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="/favicon.svg"><title>model</title>
    <script type="module" src="/qkv-attention-element.js"></script>
    <qkv-attention id="m" mode="model" sentence="The president said that the war was over." view="heatmap overview step" layer="2" head="2"></qkv-attention>`,
};

let browser, origin, qkv, embeddings, model, lessonDir;
const pages = [];

const elementReady = (frame, selector) => frame.waitForFunction((s) => document.querySelector(s)?.ready?.then(() => true), selector);

async function open(path) {
  const page = await browser.context.newPage();
  const seen = await watchPage(page, origin);
  const response = await page.goto(browser.url + path);
  pages.push({ page, seen });
  return { page, seen, response };
}

const reference = (text, knobs) => embeddingsReference(qkv, embeddings, text, knobs);

before(async () => {
  qkv = await loadAttention();
  embeddings = await loadEmbeddings();
  const mounts = modelMounts(embeddings.vocab);
  model = await loadModel(readFileSync(mounts[0]?.[1] ?? REAL_MODEL), { attention: qkv });
  lessonDir = mkdtempSync(join(tmpdir(), 'qkv-lesson-'));
  for (const [name, html] of Object.entries(LESSONS)) writeFileSync(join(lessonDir, name), html);
  // /copy/ serves the package's dist/ and models/ again, for the `src` attribute; the stand-in model
  // (when the real one is not there yet) is mounted at both places.
  const copyModel = mounts.map(([, file]) => ['/copy/models/tiny-lm.qkv', file]);
  browser = await openBrowser({ extraMounts: [...mounts, ...copyModel, ['/lesson/', lessonDir], ['/copy/dist/', folder('dist')], ['/copy/models/', folder('models')]] });
  origin = browser.url.replace(/\/$/, '');
});

// After each test, on every page it opened: no CSP violation, no error, no request outside the origin.
afterEach(() => closeCleanPages(pages));

after(async () => {
  await browser.close();
  rmSync(lessonDir, { recursive: true, force: true });
});

describe('<qkv-attention>', () => {
  test('draws what its attributes say, with the package’s numbers', async () => {
    const { page } = await open('lesson/element.html');
    await elementReady(page, '#a');
    assert.ok(await inkedFraction(page, '#a .view-host canvas') > 0.05, 'the heatmap has drawn');
    assert.equal(await page.$$eval('#a .qkv-view', (v) => v.map((x) => x.className).join(' '), null), 'qkv-view qkv-heatmap qkv-view qkv-step');
    const ref = reference(SENTENCE, { heads: 4, causal: true, temperature: 0.5 });
    const words = await page.$$eval('#a .tok', (b) => b.map((x) => x.textContent));
    assert.deepEqual(words, ref.tokens.map((t) => SENTENCE.slice(t.start, t.end)));
    const shown = await stepNumbers(page, '#a .step-panel');
    assert.equal(shown.head, 2, 'head="3" counts from 1');
    assert.equal(shown.query, words.indexOf('king'), 'query="king" names a token');
    assert.equal(shown.key, words.indexOf('queen'));
    assertStepMatches(shown, ref, 2);
    // The whole matrix the element holds is the package's.
    const weights = await page.$eval('#a', (e) => Array.from(e.run.layers[0].heads[2].weights));
    weights.forEach((w, at) => assert.ok(Math.abs(w - ref.weights[2 * ref.n * ref.n + at]) < 1e-6));
    assert.match(await page.textContent('#a .qkv-caption'), /head 3 of 4 · d = 25 · scaled by 1\/√d · temperature 0\.5 · causal/);
    // Lines view, editable, compact.
    await elementReady(page, '#b');
    assert.ok(await inkedFraction(page, '#b .view-lines') > 0.01);
    assert.equal(await page.isVisible('#b textarea'), true);
    assert.equal(await page.isVisible('#a textarea'), false, 'not editable unless asked');
    await page.fill('#b textarea', 'Paris is the capital of Italy');
    // Typing is drawn in the next animation frame.
    await page.waitForFunction(() => document.querySelector('#b').run?.text === 'Paris is the capital of Italy');
    assert.deepEqual(await page.$$eval('#b .tok', (b) => b.map((x) => x.textContent)), ['Paris', 'is', 'the', 'capital', 'of', 'Italy']);
    // src: the files come from /copy/.
    await elementReady(page, '#copy');
    assert.ok(await inkedFraction(page, '#copy .view-host canvas') > 0.05);
    const fetched = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => new URL(r.name).pathname));
    assert.ok(fetched.includes('/copy/models/glove-10k.qkv') && fetched.some((p) => /^\/copy\/dist\/qkv-[\w-]+\.wasm$/.test(p)), fetched.join(' '));
    await page.screenshot({ path: join(ARTIFACTS, 'embed-element.png'), fullPage: true });
  });

  test('follows changes of its attributes', async () => {
    const { page } = await open('lesson/element.html');
    await elementReady(page, '#a');
    await page.$eval('#a', (e) => {
      e.setAttribute('sentence', 'Cats chase mice and dogs chase cats.');
      e.removeAttribute('causal');
      e.setAttribute('temperature', '1');
      e.setAttribute('heads', '2');
      e.setAttribute('head', '1');
      e.setAttribute('query', '2');
    });
    await page.waitForFunction(() => document.querySelector('#a').run.text.startsWith('Cats'));
    let shown = await stepNumbers(page, '#a .step-panel');
    assert.deepEqual([shown.head, shown.query, shown.key], [0, 1, 1], 'query="2" is the second token; the key follows it');
    assertStepMatches(shown, reference('Cats chase mice and dogs chase cats.', { heads: 2 }), 0);
    await page.$eval('#a', (e) => { e.setAttribute('scaling', 'off'); e.setAttribute('head', '2'); });
    await page.waitForFunction(() => document.querySelector('#a').shadowRoot.querySelector('.step-panel').dataset.head === '1');
    shown = await stepNumbers(page, '#a .step-panel');
    assertStepMatches(shown, reference('Cats chase mice and dogs chase cats.', { heads: 2, scaling: false }), 1);
    await page.$eval('#a', (e) => e.setAttribute('view', 'lines'));
    await page.waitForFunction(() => document.querySelector('#a').shadowRoot.querySelector('.qkv-lines canvas'));
    assert.equal(await page.$$eval('#a .step-panel', (s) => s.length), 0, 'the step panel went with view="lines"');
    assert.ok(await inkedFraction(page, '#a .qkv-lines canvas') > 0.01);
  });

  test('markup in the sentence attribute stays text', async () => {
    const { page } = await open('lesson/element.html');
    await elementReady(page, '#a');
    await page.evaluate(() => { window.__xss = 0; });
    page.on('dialog', () => assert.fail('a dialog opened'));
    for (const payload of XSS_PAYLOADS) {
      await page.$eval('#a', (e, p) => e.setAttribute('sentence', p), payload);
      await page.waitForFunction((p) => document.querySelector('#a').run?.text === p, payload);
      assert.equal(await page.$eval('#a .tokens', (t) => t.textContent), payload);
      const injected = await page.$eval('#a', (e) => [...e.shadowRoot.querySelectorAll('*')].filter((x) => /^(IMG|SCRIPT|SVG|IFRAME|A|STYLE)$/i.test(x.tagName)).length);
      assert.equal(injected, 0);
    }
    assert.equal(await page.evaluate(() => window.__xss), 0);
  });

  test('the keyboard reaches the sentence, the tokens, the views and the step table', async () => {
    const { page } = await open('lesson/element.html');
    await elementReady(page, '#a');
    await elementReady(page, '#b');
    await page.focus('#before');
    const focused = () => page.evaluate(() => {
      let e = document.activeElement;
      const path = [];
      while (e) { path.push(e.id || e.className || e.tagName); e = e.shadowRoot?.activeElement; }
      return path.join(' > ');
    });
    const stops = [];
    for (let i = 0; i < 8; ++i) { await page.keyboard.press('Tab'); stops.push(await focused()); }
    assert.match(stops[0], /^a > tok is-query/, 'the query token of the first widget is the first stop');
    assert.equal(stops[1], 'a > view-canvas view-heatmap');
    assert.ok(stops.slice(2).some((s) => s.startsWith('a > linkish')), `the step table's keys are reachable: ${stops.join(' | ')}`);
    // Arrow keys on the heatmap move the query and tell the event listeners.
    await page.focus('#a .view-heatmap');
    const selected = page.evaluate(() => new Promise((resolve) => document.querySelector('#a').addEventListener('qkv-select', (e) => resolve(e.detail), { once: true })));
    const before = await page.$eval('#a', (e) => e.selection.query);
    await page.keyboard.press('ArrowUp');
    assert.equal((await selected).query, before - 1);
    assert.match(await page.$eval('#a', (e) => e.shadowRoot.querySelector('[aria-live]').textContent), /→ .*weight \d\.\d{4}|masked/);
    // The editable widget: its textarea comes before its tokens.
    await page.focus('#b textarea');
    await page.keyboard.press('Tab');
    assert.match(await focused(), /^b > tok is-query/);
    await page.keyboard.press('Home');
    assert.equal(await page.$eval('#b', (e) => e.selection.query), 0);
  });

  test('its styles need nothing from style-src (a constructable stylesheet)', async () => {
    const page = await browser.context.newPage();
    const seen = await watchPage(page, origin);
    pages.push({ page, seen });
    await page.route('**/lesson/element.html', async (route) => {
      const response = await route.fetch();
      const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'none'";
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': csp } });
    });
    await page.goto(`${browser.url}lesson/element.html`);
    await elementReady(page, '#a');
    assert.equal(await page.$eval('#a .tok', (b) => getComputedStyle(b).borderTopLeftRadius), '4px', 'attention.css applies in the shadow root');
  });

  test('model mode: a progress bar, then the model’s own layer and head', async () => {
    const { page } = await open('lesson/model.html');
    await elementReady(page, '#m');
    const sentence = 'The president said that the war was over.';
    const out = model.run(sentence, { topK: 5 });
    const n = out.ids.length, layer = Math.min(1, model.config.n_layers - 1), head = Math.min(1, model.config.n_heads - 1);
    assert.equal(await page.$eval('#m', (e) => e.run.mode), 'model');
    assert.equal(await page.$eval('#m .tok', (b) => b.textContent), '<bos>');
    const shown = await stepNumbers(page, '#m .step-panel');
    assert.deepEqual([shown.layer, shown.head, shown.query], [layer, head, n - 1]);
    const h = out.layers[layer].heads[head];
    for (const row of shown.rows) assert.ok(Math.abs(row.weight - h.weights[(n - 1) * n + row.key]) < 1e-5, `weight ${row.key}`);
    assert.equal(await page.isHidden('#m .qkv-loading'), true, 'the progress bar has gone');
    assert.ok(await inkedFraction(page, '#m .view-overview') > 0.05);
    await page.screenshot({ path: join(ARTIFACTS, 'embed-model.png'), fullPage: true });
    // mode follows its attribute both ways; the model is not fetched again.
    await page.$eval('#m', (e) => e.setAttribute('mode', 'embeddings'));
    await page.waitForFunction(() => document.querySelector('#m').run.mode === 'embeddings');
    assert.equal(await page.$eval('#m .tok', (b) => b.textContent), 'The');
    await page.$eval('#m', (e) => e.setAttribute('mode', 'model'));
    await page.waitForFunction(() => document.querySelector('#m').run.mode === 'model');
    // The model is read in a Web Worker (off the main thread): count its fetches there too.
    const count = () => performance.getEntriesByType('resource').filter((r) => r.name.endsWith('/tiny-lm.qkv')).length;
    let fetched = await page.evaluate(count);
    for (const worker of page.workers()) fetched += await worker.evaluate(count);
    assert.equal(fetched, 1);
  });
});

describe('embed.html', () => {
  test('works in an iframe under the CSP, configured by its URL and then by its hash', async () => {
    const { page } = await open('lesson/frame.html');
    const frame = page.frameLocator('#f');
    await frame.locator('body[data-ready="true"]').waitFor();
    const inner = page.frame({ url: /embed\.html/ });
    const response = await page.request.get(`${browser.url}embed.html`);
    assert.match(response.headers()['content-security-policy'], /default-src 'self'; script-src 'self' 'wasm-unsafe-eval'/);
    assert.match(response.headers()['content-security-policy'], /frame-ancestors \*/);
    assert.equal(response.headers()['x-frame-options'], undefined, 'nothing blocks framing');
    const shown = await stepNumbers(inner, '#widget .step-panel');
    assert.deepEqual([shown.head, shown.query], [1, 4]);
    assertStepMatches(shown, reference(SENTENCE, { heads: 2, temperature: 2, scaling: false, causal: true }), 1);
    assert.ok(await inkedFraction(inner, '#widget .view-heatmap') > 0.05);
    await page.screenshot({ path: join(ARTIFACTS, 'embed-iframe.png'), fullPage: true });
    // The hash overrides the query string: a parent page can reconfigure the frame.
    await inner.evaluate(() => { location.hash = 'sentence=Birds%20sing.&view=heatmap&heads=1&head=1&scaling=on&temperature=1'; });
    await inner.waitForFunction(() => document.querySelector('#widget').run?.text === 'Birds sing.');
    assert.deepEqual(await inner.$$eval('#widget .tok', (b) => b.map((x) => x.textContent)), ['Birds', 'sing', '.']);
    const weights = await inner.$eval('#widget', (e) => Array.from(e.run.layers[0].heads[0].weights));
    const ref = reference('Birds sing.', { causal: true });
    weights.forEach((w, at) => assert.ok(Math.abs(w - ref.weights[at]) < 1e-6));
  });

  test('a sentence parameter with markup stays text', async () => {
    const { page } = await open(`embed.html?view=step&sentence=${encodeURIComponent(XSS_PAYLOADS.slice(0, 3).join(' '))}`);
    await page.evaluate(() => { window.__xss = 0; });
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.$eval('#widget .tokens', (t) => t.textContent), XSS_PAYLOADS.slice(0, 3).join(' '));
    assert.equal(await page.$eval('#widget', (e) => e.shadowRoot.querySelectorAll('img, script, svg, iframe').length), 0);
    assert.equal(await page.evaluate(() => window.__xss), 0);
  });

  test('the example lesson page', async () => {
    const { page } = await open('embed-example.html');
    await elementReady(page, '#lesson-heatmap');
    await elementReady(page, '#lesson-step');
    await page.frameLocator('iframe').locator('body[data-ready="true"]').waitFor();
    // The lesson's script fits the frame to the widget.
    await page.waitForFunction(() => Math.abs(document.querySelector('iframe').getBoundingClientRect().height - 34 * 16) > 20);
    await page.screenshot({ path: join(ARTIFACTS, 'embed-example.png'), fullPage: true });
    // A phone in dark mode: the widgets follow the colour scheme and fit the column.
    await page.setViewportSize({ width: 375, height: 740 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(() => document.querySelector('#lesson-heatmap').shadowRoot.querySelector('canvas').getBoundingClientRect().width <= 375);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 375, 'nothing wider than the phone');
    assert.equal(await page.$eval('#lesson-heatmap', (e) => getComputedStyle(e).backgroundColor), 'rgb(29, 29, 35)', 'the dark card colour');
    await page.screenshot({ path: join(ARTIFACTS, 'embed-example-phone-dark.png'), fullPage: true });
  });
});
