// The page and <qkv-attention> on the trained model of issue 13, in Debian's Chromium: a word cut into
// pieces reads as one word ("t·ir·ed") in the token strip and in every view's labels; each head is
// named by what it does on the sentence shown, with the score behind the name (the package's
// headScores, also for attention from a file); the step panel shows each head's smear σ and the
// mixed key with the live numbers; the chosen word stays chosen across sources, edits and a
// permalink; past the model's context the strip says how many tokens were left out. Every number is
// compared with the package's own, computed here in Node from the same files.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, watchPage, closeCleanPages, ARTIFACTS } from './chromium.js';
import { join } from 'node:path';
import { loadAttention } from '../../lib/index.js';
import { loadModel, headScores, headLabel, isPunctuationPiece, HEAD_LABELS } from '../../lib/model.js';

const SENTENCE = "The animal didn't cross the street because it was too tired";
let browser, qkv, model;
const pages = [];

async function open(path) {
  const page = await browser.context.newPage();
  const seen = await watchPage(page, browser.url.replace(/\/$/, ''));
  // What the first drawing showed chosen (the page loads the model only after it).
  await page.addInitScript(() => document.addEventListener('qkv-draw', (e) => {
    const w = e.target, u = w.run?.units[w.state.query];
    window.__first ??= u ? { text: u.text, start: u.start, mode: w.run.mode } : null;
  }));
  await page.goto(browser.url + path);
  pages.push({ page, seen });
  return page;
}
const pageReady = async (page) => { await page.waitForSelector('body[data-ready="true"]'); await page.waitForSelector('body[data-stale=""]'); };
const shownMode = (page, mode) => page.waitForFunction((m) => document.getElementById('widget').run?.mode === m, mode);
const modelPage = async (sentence = SENTENCE, extra = '') => {
  const page = await open(`#${new URLSearchParams({ s: sentence, m: 'model' })}${extra}`);
  await pageReady(page);
  await shownMode(page, 'model');
  await page.waitForSelector('body[data-stale=""]');
  return page;
};
// The chosen query as the learner sees it: the token's text and where it is in the sentence.
const chosen = (page) => page.$eval('#widget', (e) => {
  const u = e.run.units[e.state.query];
  return { text: u.text, start: u.start, mode: e.run.mode };
});
const headText = (pattern) => {
  const label = pattern.label, kinds = ['previous', 'start', 'self', 'punctuation', 'duplicate', 'induction'];
  const score = label === 'broad' ? pattern.entropy : label === 'mixed' ? Math.max(...kinds.map((k) => pattern[k] ?? 0)) : pattern[label];
  return `${HEAD_LABELS[label]} ${score.toFixed(2)}`;
};

before(async () => {
  qkv = await loadAttention();
  model = await loadModel(undefined, { attention: qkv });
  browser = await openBrowser();
});
afterEach(() => closeCleanPages(pages));
after(async () => { model.free(); await browser.close(); });

describe('the page on the trained model', () => {
  test('a word cut into pieces reads as one word, in the strip and in the labels of every view; offsets hold', async () => {
    const page = await modelPage();
    const out = model.run(SENTENCE);
    // "tired" is three pieces of one word: three buttons with a dot between them.
    const strip = await page.$$eval('#tokens > *', (nodes) => nodes.map((x) => (x.classList.contains('join') ? '·' : x.textContent)));
    const at = strip.indexOf('t', strip.indexOf('too'));
    assert.deepEqual(strip.slice(at, at + 5), ['t', '·', 'ir', '·', 'ed']);
    assert.equal(out.tokens.filter((p) => p.token === out.words.findIndex((w) => w.text === 'tired')).length, 3);
    // Without its dots the strip is the sentence: every piece sits on its own characters.
    const plain = await page.$eval('#tokens', (t) => [...t.childNodes].filter((x) => !x.classList?.contains('join') && !x.classList?.contains('special')).map((x) => x.textContent).join(''));
    assert.equal(plain, SENTENCE);
    const units = await page.$eval('#widget', (e) => e.run.units.map((u) => ({ start: u.start, end: u.end })));
    assert.deepEqual(units, out.tokens.map((p) => ({ start: p.start, end: p.end })));
    const ir = await page.$$eval('#tokens .tok.join-before.join-after', (b) => b.filter((x) => x.textContent === 'ir').map((x) => x.title));
    assert.deepEqual(ir, ['piece 2 of 3 of the word “tired”']);
    // Every view labels the pieces with their joins: the heatmap and lines (as their SVG, drawn by
    // the code that draws the canvas), the step panel's keys, the hover text.
    for (const view of ['heatmap', 'lines']) {
      const svg = await page.evaluate(async (v) => (await document.getElementById('widget').exportView(v, 'svg')).text(), view);
      for (const label of ['t·', '·ir·', '·ed']) assert.ok(svg.includes(`>${label}<`), `${view} labels ${label}`);
    }
    const ed = out.tokens.length - 1;
    await page.evaluate((i) => document.getElementById('widget').setState({ query: i, key: i }), ed);
    assert.equal(await page.$eval('#step h3', (h) => h.textContent.startsWith('Query “·ed”')), true);
    assert.ok(await page.$$eval('#step table.steps th .linkish', (b) => b.map((x) => x.textContent).includes('·ir·')));
    await page.screenshot({ path: join(ARTIFACTS, 'model-pieces.png'), fullPage: true });
  });

  test('each head is named by what it does on this sentence, with its score, in the picker, the overview and the caption', async () => {
    const page = await modelPage();
    const out = model.run(SENTENCE);
    for (let l = 0; l < out.layers.length; ++l) {
      await page.selectOption('#layer', String(l));
      const options = await page.$$eval('#head option', (o) => o.map((x) => x.textContent));
      assert.deepEqual(options, out.layers[l].heads.map((h, i) => `head ${i + 1}: ${headText(h.pattern)}`));
    }
    await page.selectOption('#layer', '0');
    await page.selectOption('#head', '1');
    assert.match(await page.textContent('.qkv-caption'), new RegExp(`trained model, layer 1 of 2, head 2 of 4 \\(${headText(out.layers[0].heads[1].pattern).replace(/[()]/g, '\\$&')}\\)`));
    const svg = await page.evaluate(async () => (await document.getElementById('widget').exportView('overview', 'svg')).text());
    for (const layer of out.layers) {
      for (const h of layer.heads) {
        const name = HEAD_LABELS[h.pattern.label];
        assert.ok(svg.includes(`>${name}<`) || svg.includes(`>${name.slice(0, 8)}`), `the overview names a head “${name}”`);
      }
    }
    // The names follow the sentence: typed twice, layer 1 head 2 is named an induction head.
    const twice = `${SENTENCE}. ${SENTENCE}.`;
    await page.fill('#sentence', twice);
    await page.waitForFunction((t) => document.getElementById('widget').run?.text === t && document.getElementById('widget').run.mode === 'model', twice);
    const again = model.run(twice);
    assert.equal(again.layers[0].heads[1].pattern.label, 'induction');
    assert.equal(await page.$eval('#head option:nth-child(2)', (o) => o.textContent), `head 2: ${headText(again.layers[0].heads[1].pattern)}`);
  });

  test('attention from a file gets the same names, from the package’s headScores on its weights', async () => {
    const page = await open('');
    await pageReady(page);
    // Two heads over a sentence typed twice: one on the previous token, one on the token after the earlier copy.
    const tokens = ['[CLS]', 'a', 'b', 'c', ',', 'a', 'b', 'c'];
    const n = tokens.length;
    const rows = (pick) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (j === pick(i) ? 1 : 0)));
    const previous = rows((i) => Math.max(0, i - 1));
    const induction = rows((i) => (i >= 5 ? i - 3 : i));
    await page.evaluate((file) => document.getElementById('widget').showAttention(file), { tokens, attentions: [[previous, induction]] });
    const ids = [0, 1, 2, 3, 4, 1, 2, 3], punct = tokens.map((t) => (isPunctuationPiece(t) ? 1 : 0)).slice(0, 5);
    const names = [previous, induction].map((m) => {
      const s = headScores(m.flat(), n, ids, punct);
      return headText({ ...s, label: headLabel(s) });
    });
    assert.deepEqual(names.map((x) => x.split(' ')[0]), ['previous', 'induction']);
    assert.deepEqual(await page.$$eval('#head option', (o) => o.map((x) => x.textContent)), names.map((x, i) => `head ${i + 1}: ${x}`));
  });

  test('the step panel shows each head’s smear σ and the mixed key, with the live numbers', async () => {
    const page = await modelPage();
    const out = model.run(SENTENCE);
    await page.selectOption('#layer', '0');
    await page.selectOption('#head', '1');
    const street = out.tokens.findIndex((p) => p.text === '▁street');
    await page.evaluate((i) => document.getElementById('widget').setState({ query: i, key: i }), street);
    const sigma = out.layers[0].smear[1];
    const box = await page.$eval('#step .smear', (b) => ({ sigma: Number(b.dataset.sigma), text: b.textContent }));
    assert.ok(Math.abs(box.sigma - sigma) < 1e-6);
    assert.ok(box.text.includes(`σ = ${sigma.toFixed(3)}`));
    assert.ok(box.text.includes(`K_j = σ·k_j + (1 − σ)·k_{j−1} = ${sigma.toFixed(3)}·k_j + ${(1 - sigma).toFixed(3)}·k_{j−1}`));
    assert.ok(box.text.includes(`the key of “street” is ${(sigma * 100).toFixed(1)} % its own and ${((1 - sigma) * 100).toFixed(1)} % the key of “the”`), box.text);
    // The K strip and the scores are the mixed keys: Q·K of the panel is the model's own score.
    const shown = await page.$eval('#step tr.chosen td.col-score', (td) => Number(td.dataset.value));
    assert.ok(Math.abs(shown - out.layers[0].heads[1].scores[street * out.tokens.length + street]) < 1e-5);
    // Another head shows its own σ; word vectors do not smear.
    await page.selectOption('#head', '3');
    assert.equal(await page.$eval('#step .smear', (b) => Number(b.dataset.sigma)), out.layers[0].smear[3]);
    await page.check('#mode-embeddings');
    await shownMode(page, 'embeddings');
    assert.equal(await page.$$eval('#step .smear', (b) => b.length), 0);
  });

  test('the chosen word stays chosen: across sources, after an edit before it, and through a permalink', async () => {
    const page = await open(`#${new URLSearchParams({ s: SENTENCE })}`);
    await pageReady(page);
    // Word vectors: choose "street" (no <bos>, whole words).
    await page.click('#tokens .tok >> text=street');
    assert.deepEqual(await chosen(page), { text: 'street', start: 28, mode: 'embeddings' });
    await page.waitForSelector('body[data-model="ready"]');
    await page.check('#mode-model');
    await shownMode(page, 'model');
    assert.deepEqual(await chosen(page), { text: 'street', start: 28, mode: 'model' }, 'the model adds <bos>: same word, not the same index');
    // A piece of a word: "ir" of "tired"; back to word vectors it is the word "tired".
    await page.click('#tokens .tok >> text=ir');
    assert.equal((await chosen(page)).text, 'ir');
    await page.check('#mode-embeddings');
    await shownMode(page, 'embeddings');
    assert.deepEqual(await chosen(page), { text: 'tired', start: 54, mode: 'embeddings' });
    await page.check('#mode-model');
    await shownMode(page, 'model');
    // Back in the model, a piece of the same word: its last, as "tired" ends the sentence and a query
    // on the last token stays on the last token.
    assert.deepEqual(await chosen(page), { text: 'ed', start: 57, mode: 'model' });
    // Typing before the chosen word moves it: it stays chosen.
    await page.click('#tokens .tok >> text=street');
    await page.focus('#sentence');
    await page.keyboard.press('Home');
    await page.keyboard.type('Yesterday ');
    await page.waitForFunction(() => document.getElementById('widget').run?.text.startsWith('Yesterday ') && document.getElementById('widget').run.mode === 'model');
    assert.deepEqual(await chosen(page), { text: 'street', start: 38, mode: 'model' });
    // The permalink names the word by its place; reloading it (word vectors first, while the model
    // loads, then the model) keeps it.
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('q') === '@38');
    const url = page.url();
    const again = await open(url.slice(url.indexOf('#')));
    await pageReady(again);
    assert.deepEqual(await again.evaluate(() => window.__first), { text: 'street', start: 38, mode: 'embeddings' });
    await shownMode(again, 'model');
    assert.deepEqual(await chosen(again), { text: 'street', start: 38, mode: 'model' });
  });

  test('a lesson step that names a head by what it does finds it among the model’s heads, also opened cold in embed.html', async () => {
    // Word vectors are shown while the model loads: the head is looked for once the model's run is there.
    const page = await open('embed.html?lesson=lessons/model-heads.json&step=6&view=heatmap+overview');
    await page.waitForSelector('body[data-ready="true"]');
    await shownMode(page, 'model');
    await page.waitForFunction(() => /Shown: layer/.test(document.getElementById('widget').shadowRoot.querySelector('.lesson-found').textContent));
    assert.deepEqual(await page.$eval('#widget', (e) => [e.state.layer, e.state.head]), [0, 1]);
    assert.match(await page.textContent('.lesson-found'), /^Shown: layer 1, head 2, the head that scores highest for “induction \(what came next last time\)” on this sentence \(0\.\d\d: the mean weight it puts there\); its name on this sentence: induction \(what came next last time\)\.$/);
    assert.deepEqual(await chosen(page), { text: 'old', start: 37, mode: 'model' }, '"query": "@37" is the second "old"');
    await page.screenshot({ path: join(ARTIFACTS, 'embed-lesson-induction.png'), fullPage: true });
  });

  test('past the model’s context the strip and the status line say how many tokens were left out', async () => {
    const long = Array.from({ length: 80 }, (_, i) => ['the', 'king', 'spoke', 'to', 'his', 'people'][i % 6]).join(' ') + ' and homework tired';
    const page = await modelPage(long.repeat(2));
    const out = model.run(long.repeat(2), { truncate: true });
    assert.ok(out.leftOut > 0);
    assert.equal(await page.$eval('body', (b) => b.dataset.n), String(model.config.max_positions));
    assert.equal(await page.$eval('#tokens .left-out', (m) => m.textContent), `+${out.leftOut} left out`);
    assert.match(await page.textContent('#status'), new RegExp(`Left out: ${out.leftOut} tokens past the first ${model.config.max_positions}`));
  });
});
