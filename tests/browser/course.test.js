// What a course author builds with <qkv-attention>, in headless Chromium under the page's CSP:
// lessons (buttons, keys, captions as text, a broken lesson that says where), two texts
// (cross-attention against the package in Node), attention from a file (picker, drop, URL; bad files
// rejected with a message), any script (Chinese in characters, Arabic right to left, words without
// an English vector), the page and an embedded element agreeing, and inputs that must not freeze or
// hang the page (a permalink of 1,000 words, a javascript: src).
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser, watchPage, closeCleanPages, ARTIFACTS } from './chromium.js';
import { loadAttention } from '../../lib/index.js';
import { loadEmbeddings, loadModel } from '../../lib/model.js';
import { modelMounts, REAL_MODEL } from './stand-in-model.js';
import { stepNumbers, embeddingsReference, assertStepMatches, XSS_PAYLOADS, inkedFraction } from './page-helpers.js';

let browser, origin, qkv, embeddings, dir;
const pages = [];

const LESSON = {
  title: 'A test lesson',
  steps: [
    { caption: `Plain words, **strong words**, \`code\` and α_{ij}. ${XSS_PAYLOADS[0]} ${XSS_PAYLOADS[1]}`, sentence: 'The queen spoke to the king.', view: 'heatmap step', query: 'king', stage: 'scores' },
    { caption: 'Four heads, causal.', heads: 4, head: 2, causal: true, stage: 'mask' },
    { caption: 'Two texts.', sentence: 'Where is the king?', context: 'The king is in the castle by the river.', heads: 1, head: 1, causal: false, stage: null },
  ],
};
const BROKEN = { title: 'Broken', steps: [{ caption: 'fine' }, { caption: 'not fine', temperature: 'warm' }] };

// Attention in HuggingFace's format: 2 layers × 3 heads over 4 tokens, rows summing to 1.
const TOKENS = ['[CLS]', 'the', 'cat', '[SEP]'];
const hfRow = (l, h, i) => {
  const raw = Array.from({ length: 4 }, (_, j) => 1 + ((l * 7 + h * 5 + i * 3 + j * 11) % 13));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((x) => x / sum);
};
const HF = { tokens: TOKENS, attentions: Array.from({ length: 2 }, (_, l) => Array.from({ length: 3 }, (_, h) => Array.from({ length: 4 }, (_, i) => hfRow(l, h, i)))) };
const BAD_HF = { tokens: TOKENS, attentions: [[[[1, 0, 0, 0], [0.5, 0.2, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]]]] };

const PAGES = {
  'inline.html': `<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="/favicon.svg"><title>lesson</title>
    <script type="module" src="/qkv-attention-element.js"></script>
    <qkv-attention id="l" editable><script type="application/json">${JSON.stringify(LESSON).replace(/</g, '\\u003c')}</script></qkv-attention>`,
  'broken.html': `<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="/favicon.svg"><title>broken</title>
    <script type="module" src="/qkv-attention-element.js"></script>
    <qkv-attention id="b" lesson="/t/broken.json" view="heatmap"></qkv-attention>`,
  'cross.html': `<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="/favicon.svg"><title>cross</title>
    <script type="module" src="/qkv-attention-element.js"></script>
    <qkv-attention id="c" sentence="Where did the cat sleep" context="The cat was sleeping on the warm bed ." view="heatmap lines step" query="cat" key="bed" heads="2" head="2"></qkv-attention>`,
  'file.html': `<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="/favicon.svg"><title>file</title>
    <script type="module" src="/qkv-attention-element.js"></script>
    <qkv-attention id="f" attention="/t/hf.json" view="heatmap overview step" layer="2" head="3"></qkv-attention>
    <qkv-attention id="g" attention="/t/bad.json" view="heatmap"></qkv-attention>`,
};

async function open(path, { context } = {}) {
  const page = await (context ?? browser.context).newPage();
  const seen = await watchPage(page, origin);
  await page.goto(browser.url + path);
  pages.push({ page, seen });
  return { page, seen };
}
const elementReady = (page, selector) => page.waitForFunction((s) => document.querySelector(s)?.ready?.then(() => true), selector);
const pageReady = async (page) => { await page.waitForSelector('body[data-ready="true"]'); await page.waitForSelector('body[data-stale=""]'); };

before(async () => {
  qkv = await loadAttention();
  embeddings = await loadEmbeddings();
  dir = mkdtempSync(join(tmpdir(), 'qkv-course-'));
  for (const [name, html] of Object.entries(PAGES)) writeFileSync(join(dir, name), html);
  writeFileSync(join(dir, 'broken.json'), JSON.stringify(BROKEN));
  writeFileSync(join(dir, 'hf.json'), JSON.stringify(HF));
  writeFileSync(join(dir, 'bad.json'), JSON.stringify(BAD_HF));
  browser = await openBrowser({ extraMounts: [...modelMounts(embeddings.vocab), ['/t/', dir]] });
  origin = browser.url.replace(/\/$/, '');
});

// After each test, on every page it opened: no CSP violation, no error, no request outside the origin.
afterEach(() => closeCleanPages(pages));

after(async () => {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lessons', () => {
  test('steps forward and back by button and key; captions are text, a small markup subset built as nodes', async () => {
    const { page } = await open('t/inline.html');
    await page.evaluate(() => { window.__xss = 0; });
    page.on('dialog', () => assert.fail('a dialog opened'));
    await elementReady(page, '#l');
    const lessonState = () => page.$eval('#l', (e) => ({
      count: e.shadowRoot.querySelector('.lesson-count').textContent, step: e.state.step, heads: e.state.knobs.heads,
      causal: e.state.knobs.causal, text: e.state.text, context: e.state.context, stage: e.shadowRoot.querySelector('.step-panel')?.dataset.stage ?? null,
    }));
    assert.deepEqual(await lessonState(), { count: 'Step 1 of 3', step: 0, heads: 1, causal: false, text: 'The queen spoke to the king.', context: null, stage: 'scores' });
    const caption = await page.$eval('#l', (e) => {
      const c = e.shadowRoot.querySelector('.lesson-caption');
      return { text: c.textContent, strong: c.querySelector('strong')?.textContent, code: c.querySelector('code')?.textContent, sub: c.querySelector('sub')?.textContent, tags: [...c.querySelectorAll('*')].map((x) => x.tagName) };
    });
    assert.ok(caption.text.includes(XSS_PAYLOADS[0]) && caption.text.includes(XSS_PAYLOADS[1]), 'the payloads are shown as text');
    assert.deepEqual([caption.strong, caption.code, caption.sub], ['strong words', 'code', 'ij']);
    assert.deepEqual([...new Set(caption.tags)].sort(), ['CODE', 'P', 'STRONG', 'SUB']);
    const shown = await stepNumbers(page, '#l .step-panel');
    assert.equal(shown.query, 5, 'query "king"');
    assertStepMatches(shown, embeddingsReference(qkv, embeddings, 'The queen spoke to the king.'));
    await page.screenshot({ path: join(ARTIFACTS, 'lesson-step.png'), fullPage: true });
    // Next (button), then the arrow keys on the lesson bar, then Back.
    await page.click('#l .lesson-next');
    assert.deepEqual(await lessonState(), { count: 'Step 2 of 3', step: 1, heads: 4, causal: true, text: 'The queen spoke to the king.', context: null, stage: 'mask' });
    assertStepMatches(await stepNumbers(page, '#l .step-panel'), embeddingsReference(qkv, embeddings, 'The queen spoke to the king.', { heads: 4, causal: true }), 1);
    await page.focus('#l .lesson-caption');
    await page.keyboard.press('ArrowRight');
    const third = await lessonState();
    assert.deepEqual([third.count, third.heads, third.context], ['Step 3 of 3', 1, 'The king is in the castle by the river.']);
    assert.equal(await page.$eval('#l .lesson-next', (b) => b.disabled), true, 'no step after the last');
    await page.keyboard.press('ArrowLeft');
    assert.equal((await lessonState()).count, 'Step 2 of 3');
    await page.click('#l .lesson-back');
    assert.deepEqual(await lessonState(), { count: 'Step 1 of 3', step: 0, heads: 1, causal: false, text: 'The queen spoke to the king.', context: null, stage: 'scores' });
    assert.equal(await page.$eval('#l .lesson-back', (b) => b.disabled), true);
    assert.equal(await page.$eval('#l', (e) => e.shadowRoot.querySelectorAll('img, script, iframe, svg').length), 0);
    assert.equal(await page.evaluate(() => window.__xss), 0);
  });

  test('a broken lesson names its step and field, and the views still work', async () => {
    const { page } = await open('t/broken.html');
    await elementReady(page, '#b');
    const error = await page.$eval('#b', (e) => e.shadowRoot.querySelector('.lesson-error').textContent);
    assert.match(error, /step 2: "temperature" must be a number from 0\.05 to 20, received "warm"/);
    assert.equal(await page.isVisible('#b .lesson-error'), true);
    assert.ok(await inkedFraction(page, '#b .view-host canvas') > 0.05, 'the heatmap is drawn all the same');
  });

  test('the page: a shipped lesson from its picker, the step in the permalink; embed.html by parameter', async () => {
    const { page } = await open('#lesson=attention-from-scratch&step=4');
    await pageReady(page);
    await page.waitForFunction(() => document.getElementById('widget').lesson?.step === 3);
    assert.equal(await page.inputValue('#lesson'), 'attention-from-scratch');
    assert.equal(await page.textContent('.lesson-count'), 'Step 4 of 11');
    assert.equal(await page.$eval('#step', (s) => s.dataset.stage), 'softmax');
    await page.click('.lesson-next');
    await page.waitForFunction(() => location.hash.includes('step=5'));
    assert.equal(await page.$eval('#widget', (e) => e.state.knobs.scaling), false, 'step 5 turns the scaling off');
    assert.equal(await page.isChecked('#scaling'), false, 'and the knobs panel follows');
    // The heads lesson finds its heads by what they do on the step's sentence.
    await page.selectOption('#lesson', 'model-heads');
    await page.waitForFunction(() => document.getElementById('widget').lesson?.steps === 7);
    await page.click('.lesson-next');
    await page.waitForFunction(() => /Shown: layer/.test(document.getElementById('widget').shadowRoot.querySelector('.lesson-found').textContent));
    assert.match(await page.textContent('.lesson-found'), /Shown: layer 1, head [14], the head that scores highest for “itself” on this sentence \(0\.\d\d: the mean weight it puts there\); its name on this sentence: itself\./);
    const found = await page.$eval('#widget', (e) => e.state);
    assert.equal(found.mode, 'model');
    assert.equal(await page.inputValue('#layer'), String(found.layer), 'the knobs panel shows the head found');
    const { page: embed } = await open('embed.html?lesson=lessons/attention-from-scratch.json&step=3&view=heatmap');
    await embed.waitForSelector('body[data-ready="true"]');
    assert.equal(await embed.textContent('.lesson-count'), 'Step 3 of 11');
    assert.equal(await embed.$eval('#step', (s) => s.dataset.stage), 'scaling');
  });
});

describe('two texts: cross-attention', () => {
  test('5 queries × 9 keys: every view and the step panel on the package’s rectangular numbers', async () => {
    const { page } = await open('t/cross.html');
    await elementReady(page, '#c');
    const text = 'Where did the cat sleep', context = 'The cat was sleeping on the warm bed .';
    // The reference: qkv.attention in Node on the GloVe vectors, queries from the sentence, keys and
    // values from the second text, two heads of 50.
    const q = embeddings.lookup(text).vectors, kv = embeddings.lookup(context).vectors;
    const split = (x, rows) => { const out = new Float32Array(rows * 100); for (let h = 0; h < 2; ++h) for (let i = 0; i < rows; ++i) out.set(x.subarray(i * 100 + h * 50, i * 100 + h * 50 + 50), (h * rows + i) * 50); return out; };
    const ref = qkv.attention({ q: split(q, 5), k: split(kv, 9), v: split(kv, 9), heads: 2, dim: 50, queries: 5, keys: 9, returnWeights: true, returnScores: true, returnLogits: true });
    const run = await page.$eval('#c', (e) => ({ n: e.run.n, m: e.run.m, w: e.run.layers[0].heads.map((h) => Array.from(h.weights)), keys: e.run.keyUnits.map((u) => u.text) }));
    assert.deepEqual([run.n, run.m], [5, 9]);
    assert.deepEqual(run.keys, ['The', 'cat', 'was', 'sleeping', 'on', 'the', 'warm', 'bed', '.']);
    run.w.forEach((head, h) => head.forEach((w, at) => assert.ok(Math.abs(w - ref.weights[h * 45 + at]) < 1e-6, `head ${h} weight ${at}`)));
    const shown = await stepNumbers(page, '#c .step-panel');
    assert.deepEqual([shown.head, shown.query, shown.key, shown.rows.length], [1, 3, 7, 9], 'query "cat" of the question, key "bed" of the passage');
    for (const row of shown.rows) assert.ok(Math.abs(row.weight - ref.weights[45 + 3 * 9 + row.key]) < 1e-6);
    assert.deepEqual(await page.$$eval('#c .key-tokens .tok', (b) => b.map((x) => x.textContent)), run.keys);
    assert.equal(await page.$eval('#c .key-tokens .tok.is-key', (b) => b.textContent), 'bed');
    for (const view of ['heatmap', 'lines']) assert.ok(await inkedFraction(page, `#c .view-${view}`) > 0.02, `${view} drawn`);
    // The heatmap is 5 rows × 9 columns: its cell under a point is (row, column) of that matrix.
    assert.match(await page.$eval('#c', (e) => e.shadowRoot.querySelector('.view-heatmap').getAttribute('aria-label')), /5 queries and 9 keys/);
  });

  test('the page: a second text box, a question attending to a passage, the model off with a reason', async () => {
    const { page } = await open('');
    await pageReady(page);
    await page.check('#attend-cross');
    await page.waitForFunction(() => document.getElementById('widget').run?.m !== document.getElementById('widget').run?.n);
    assert.equal(await page.isVisible('#context'), true, 'the second text box');
    assert.equal(await page.inputValue('#sentence'), 'Where did the cat sleep?');
    assert.match(await page.inputValue('#context'), /^The cat was sleeping/);
    assert.match(await page.textContent('#knob-note'), /trained model is self-attention only/);
    assert.equal(await page.isDisabled('#causal'), true);
    await page.fill('#context', 'The cat slept.');
    await page.waitForFunction(() => document.getElementById('widget').run?.m === 4);
    await page.waitForSelector('body[data-stale=""]'); // the step panel below is drawn once typing pauses
    assert.equal(await page.$eval('#step', (s) => s.dataset.m), '4');
    await page.screenshot({ path: join(ARTIFACTS, 'page-cross-attention.png'), fullPage: true });
    const json = JSON.parse(await page.$eval('#widget', async (e) => e.exportMatrix('json').text()));
    assert.equal(json.keyTokens.length, 4);
    assert.equal(json.weights[0].length, 4);
    await page.check('#attend-self');
    await page.waitForFunction(() => document.getElementById('widget').run?.m === document.getElementById('widget').run?.n);
    assert.equal(await page.isVisible('#context'), false);
  });
});

describe('your own attention', () => {
  test('a HuggingFace file by URL: every view shows its numbers; a malformed one says why', async () => {
    const { page } = await open('t/file.html');
    await elementReady(page, '#f');
    const run = await page.$eval('#f', (e) => ({ mode: e.run.mode, n: e.run.n, layers: e.run.layers.length, heads: e.run.layers[0].heads.length }));
    assert.deepEqual(run, { mode: 'given', n: 4, layers: 2, heads: 3 });
    const shown = await page.$eval('#f .step-panel', (s) => ({ layer: Number(s.dataset.layer), head: Number(s.dataset.head), query: Number(s.dataset.query), weights: [...s.querySelectorAll('tbody td[data-kind="weight"]')].map((td) => Number(td.dataset.value)) }));
    assert.deepEqual([shown.layer, shown.head, shown.query], [1, 2, 3]);
    shown.weights.forEach((w, j) => assert.ok(Math.abs(w - HF.attentions[1][2][3][j]) < 1e-6, `weight ${j}`));
    assert.deepEqual(await page.$$eval('#f .tok', (b) => b.map((x) => x.textContent)), TOKENS);
    assert.ok(await inkedFraction(page, '#f .view-overview') > 0.05);
    await elementReady(page, '#g');
    assert.match(await page.$eval('#g', (e) => e.shadowRoot.querySelector('.qkv-notes').textContent), /attentions\[0\]\[0\]\[1\] sums to 0\.7000/);
    assert.equal(await page.$eval('#g', (e) => e.run.mode), 'embeddings', 'the sentence is shown instead');
  });

  test('the page: the file picker and a drop; a bad file is rejected with a message', async () => {
    const { page } = await open('');
    await pageReady(page);
    await page.setInputFiles('#attention-file', { name: 'bert.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(HF)) });
    await page.waitForFunction(() => document.getElementById('widget').run?.mode === 'given');
    assert.equal(await page.isChecked('#mode-given'), true);
    assert.match(await page.textContent('#page-note'), /bert\.json/);
    assert.deepEqual(await page.$$eval('#tokens .tok', (b) => b.map((x) => x.textContent)), TOKENS);
    await page.selectOption('#layer', '1');
    await page.selectOption('#head', '2');
    const weights = await page.$eval('#widget', (e) => Array.from(e.run.layers[1].heads[2].weights));
    weights.forEach((w, at) => assert.ok(Math.abs(w - HF.attentions[1][2][Math.floor(at / 4)][at % 4]) < 1e-6));
    // A bad file dropped on the page: a message, and what was shown stays.
    await page.evaluate((text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], 'bad.json', { type: 'application/json' }));
      document.querySelector('main').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, JSON.stringify(BAD_HF));
    await page.waitForFunction(() => /bad\.json cannot be shown/.test(document.getElementById('page-note').textContent));
    assert.match(await page.textContent('#page-note'), /sums to 0\.7000; each row must be a query's weights/);
    assert.equal(await page.$eval('#widget', (e) => e.run.mode), 'given');
    // Back to the sentence.
    await page.check('#mode-embeddings');
    await page.waitForFunction(() => document.getElementById('widget').run?.mode === 'embeddings');
  });
});

describe('any script', () => {
  test('Chinese splits into characters; Arabic is laid out right to left; words without a GloVe vector get an estimated one, marked', async () => {
    const { page } = await open('');
    await pageReady(page);
    await page.fill('#sentence', '我喜欢猫');
    await page.waitForFunction(() => document.body.dataset.n === '4');
    assert.deepEqual(await page.$$eval('#tokens .tok', (b) => b.map((x) => x.textContent)), ['我', '喜', '欢', '猫']);
    const arabic = 'القطة تنام على السرير';
    await page.fill('#sentence', arabic);
    await page.waitForFunction(() => document.body.dataset.n === '4');
    const strip = await page.$eval('#tokens', (t) => ({ dir: t.dir, direction: getComputedStyle(t).direction, xs: [...t.querySelectorAll('.tok')].map((b) => b.getBoundingClientRect().x) }));
    assert.equal(strip.dir, 'rtl');
    assert.equal(strip.direction, 'rtl');
    assert.ok(strip.xs.every((x, i) => i === 0 || x < strip.xs[i - 1]), `each token left of the one before: ${strip.xs}`);
    // GloVe has no Arabic: each word's vector is estimated from its pieces, and the page says so.
    assert.equal(await page.$$eval('#tokens .tok.estimated', (b) => b.length), 4, 'every word marked as estimated');
    assert.equal(await page.$$eval('#tokens .tok.unk', (b) => b.length), 0, 'none marked as having no vector');
    assert.match(await page.$eval('#tokens .tok', (b) => b.title), /not among the GloVe words: its vector is estimated from the pieces of the word/);
    assert.match(await page.textContent('#status'), /4 are not among the English words GloVe has vectors for: their vectors are estimated from the pieces of each word, dotted/);
    const reference = embeddings.lookup(arabic);
    assert.deepEqual(reference.estimated, [true, true, true, true]);
    const vectorsShown = await page.$eval('#widget', (e) => Array.from(e.run.layers[0].heads[0].q.subarray(0, 5)));
    vectorsShown.forEach((x, t) => assert.ok(Math.abs(x - reference.vectors[t]) < 1e-6, 'the estimated vector is the one computed'));
    await page.waitForSelector('body[data-stale=""]');
    const heat = async () => page.evaluate(async () => {
      const { heatmap } = await import('/views.js');
      const { weightPosition, sequential } = await import('/palette.js');
      const e = document.getElementById('widget');
      const host = e.shadowRoot.getElementById('host-heatmap'), c = host.querySelector('canvas');
      const L = heatmap.layout(e.run, host.clientWidth);
      const ratio = c.width / c.getBoundingClientRect().width, ctx = c.getContext('2d');
      const px = (x, y) => Array.from(ctx.getImageData(Math.floor(x * ratio), Math.floor(y * ratio), 1, 1).data.slice(0, 3));
      return {
        rtl: L.rtl, firstRight: heatmap.colX(L, 0) > heatmap.colX(L, 3),
        cells: [0, 1, 2].flatMap((i) => [0, 1, 2, 3].map((j) => px(heatmap.colX(L, j) + 3, L.top + i * L.cs + 3))),
        quarter: sequential(weightPosition(0.25)), top: sequential(1),
      };
    });
    const rtl = await heat();
    assert.equal(rtl.rtl, true);
    assert.equal(rtl.firstRight, true, 'key 1 is the rightmost column');
    await page.screenshot({ path: join(ARTIFACTS, 'page-rtl.png'), fullPage: true });
    // One word four times: four equal vectors, so every weight is 1/4: one colour, the colour of 0.25
    // on the scale, not the top of the scale.
    await page.fill('#sentence', 'cat cat cat cat');
    await page.waitForFunction(() => document.getElementById('widget').run?.text === 'cat cat cat cat');
    await page.waitForSelector('body[data-stale=""]');
    const equal = await heat();
    for (const cell of equal.cells) {
      assert.deepEqual(cell, equal.cells[0], 'equal weights, equal colours');
      cell.forEach((v, ch) => assert.ok(Math.abs(v - equal.quarter[ch]) <= 2, `the colour of 0.25 (${cell} vs ${equal.quarter})`));
    }
    assert.notDeepEqual(equal.cells[0], equal.top, 'not the colour of the largest weight');
  });
});

describe('the page and the element agree; nothing a link says can freeze or hang them', () => {
  test('the page and an embedded element show the same numbers for the same state', async () => {
    const sentence = 'Paris is the capital of France and Rome is the capital of Italy.';
    const { page } = await open(`#${new URLSearchParams({ s: sentence, m: 'emb', h: '2', heads: '4', t: '0.7', causal: '1', q: '9', k: '3' })}`);
    await pageReady(page);
    const { page: embed } = await open(`embed.html?${new URLSearchParams({ sentence, head: '2', heads: '4', temperature: '0.7', causal: '', query: '9', key: '3', view: 'heatmap step' })}`);
    await embed.waitForSelector('body[data-ready="true"]');
    const weights = (p) => p.$eval('qkv-attention', (e) => e.run.layers[0].heads.map((h) => Array.from(h.weights)));
    assert.deepEqual(await weights(page), await weights(embed));
    const a = await stepNumbers(page, '#step'), b = await stepNumbers(embed, '#widget .step-panel');
    assert.deepEqual(a, b);
    assert.deepEqual([a.head, a.query, a.key], [1, 8, 2]);
    assertStepMatches(a, embeddingsReference(qkv, embeddings, sentence, { heads: 4, causal: true, temperature: 0.7 }), 1);
  });

  test("a permalink of 'a ' × 1000 draws the first 256 tokens at once and says how many were left out", async () => {
    const { page } = await open(`#s=${'a+'.repeat(1000)}`);
    await pageReady(page);
    assert.equal(await page.$eval('body', (b) => b.dataset.n), '256');
    assert.equal(await page.$$eval('#tokens .tok', (b) => b.length), 256);
    assert.match(await page.textContent('#status'), /Left out: 744 tokens past the first 256 \(the page computes at most 256 tokens\)/);
    // A sentence longer than the page reads is cut where the link is read, and the page says so.
    const { page: long } = await open(`#s=${'word+'.repeat(1200)}`);
    await pageReady(long);
    assert.equal((await long.inputValue('#sentence')).length, 4000);
    assert.match(await long.textContent('#page-note'), /longer than 4,000 characters: the rest was left out/);
  });

  test('model mode past the model’s context says how many tokens were left out', async () => {
    const words = Array.from({ length: 300 }, (_, i) => ['the', 'king', 'spoke', 'to', 'the', 'people'][i % 6]).join(' ');
    const model = await loadModel(REAL_MODEL);
    const context = model.config.max_positions, total = model.encode(words).ids.length;
    assert.ok(total > context, 'the sentence is longer than the model reads');
    const { page } = await open(`#${new URLSearchParams({ s: words, m: 'model' })}`);
    await pageReady(page);
    await page.waitForFunction(() => document.getElementById('widget').run?.mode === 'model');
    assert.equal(await page.$eval('body', (b) => b.dataset.n), String(context));
    assert.match(await page.textContent('#status'), new RegExp(`Left out: ${total - context} tokens past the first ${context} \\(the model reads ${context} tokens, <bos> included\\)`));
  });

  test('embed.html with a javascript: or data: src falls back to the package’s files and says so', async () => {
    for (const src of ['javascript:alert(1)', 'data:text/html,<script>alert(2)</script>', 'JAVASCRIPT:alert(3)']) {
      const { page } = await open(`embed.html?${new URLSearchParams({ src, sentence: 'The cat sat.', view: 'heatmap' })}`);
      page.on('dialog', () => assert.fail('a dialog opened'));
      await page.waitForSelector('body[data-ready="true"]');
      assert.equal(await page.$eval('#widget', (e) => e.run.n), 4, 'drawn from the package’s own files');
      assert.match(await page.$eval('#widget', (e) => e.shadowRoot.querySelector('.qkv-notes').textContent), /is not an http\(s\) or relative URL, so it is not used: the package’s own files are/);
      assert.ok(await inkedFraction(page, '#widget .view-host canvas') > 0.05);
    }
  });
});

describe('small things', () => {
  test('labels: the chosen one drawn once, long ones cut to fit; repeated words numbered; JSON counts from 1', async () => {
    const long = 'Supercalifragilisticexpialidocious';
    const sentence = `The ${long} cat saw the ${long} dog.`;
    const { page } = await open(`#${new URLSearchParams({ s: sentence, q: '3', k: '3' })}`);
    await pageReady(page);
    const svgOf = async (view) => {
      const text = await page.$eval('#widget', async (e, v) => (await e.exportView(v, 'svg')).text(), view);
      return page.evaluate((t) => {
        const holder = document.createElement('div');
        holder.append(new DOMParser().parseFromString(t, 'image/svg+xml').documentElement);
        document.body.append(holder);
        const svg = holder.firstChild;
        const texts = [...svg.querySelectorAll('text')].map((x) => { const b = x.getBBox(); return { text: x.textContent, x: b.x, right: b.x + b.width, bold: x.getAttribute('font-weight') === '600' }; });
        const width = Number(svg.getAttribute('width'));
        holder.remove();
        return { texts, width };
      }, text);
    };
    const heat = await svgOf('heatmap');
    // "cat" is the chosen query and key: one row label and one column label, both bold.
    const cats = heat.texts.filter((t) => t.text === 'cat');
    assert.equal(cats.length, 2, 'the chosen label once per axis');
    assert.ok(cats.every((t) => t.bold));
    const lines = await svgOf('lines');
    const cut = lines.texts.filter((t) => t.text.startsWith('Supercali'));
    assert.equal(cut.length, 4, 'the long word on both sides, twice');
    for (const t of cut) {
      assert.ok(t.text.endsWith('…') && t.text.length < long.length, `cut with an ellipsis: ${t.text}`);
      assert.ok(t.x >= 0 && t.right <= lines.width + 0.5, `inside the drawing: ${t.x}…${t.right} of ${lines.width}`);
    }
    // The step table numbers its keys; “the” (twice) and the long word (twice) are told apart.
    const positions = await page.$$eval('#step tbody th', (ths) => ths.map((th) => th.querySelector('.pos')?.textContent + ' ' + th.querySelector('button').textContent));
    assert.deepEqual(positions.slice(0, 3), ['1 The', `2 ${long.slice(0, 23)}…`, '3 cat']);
    assert.ok(positions.includes('5 the'));
    await page.click('#step tbody tr[data-key="5"] button');
    assert.match(await page.textContent('#step .by-hand h4'), /By hand: “cat” → “Supercalifragilisticexp…” \(#6\)/);
    const json = JSON.parse(await page.$eval('#widget', async (e) => e.exportMatrix('json').text()));
    assert.deepEqual([json.layer, json.head, json.tokens[0].position, json.tokens.at(-1).position], [1, 1, 1, json.tokens.length]);
    assert.match(json.numbering, /count from 1/);
  });
});
