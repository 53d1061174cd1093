// The data a course author hands to <qkv-attention>, read in Node: lessons (strict, errors that name
// the step and the field), attention files (HuggingFace's and BertViz's shapes, every weight
// checked), heads found by what they do, and the rectangular runs of cross-attention against the
// float64 reference. The element's use of them is tested in Chromium (tests/browser/course.test.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseLesson, settingsAt, LessonError } from '../../web/lesson.js';
import { readAttentionFile, AttentionFileError } from '../../web/attention-file.js';
import { findHead, headPattern, headName, headNameText, PATTERNS } from '../../web/heads.js';
import { headScores, headLabel, HEAD_LABELS, HEAD_KINDS } from '../../lib/model.js';
import { embeddingsRun, modelRun, MAX_TOKENS, MAX_TEXT } from '../../web/compute.js';
import { matrixJson } from '../../web/exports.js';
import { httpUrl, ATTRIBUTES } from '../../web/attributes.js';
import { loadAttention } from '../../lib/index.js';
import { loadEmbeddings, loadModel } from '../../lib/model.js';
import { attentionRef } from './reference.js';

const lessonFile = (name) => readFileSync(new URL(`../../web/lessons/${name}.json`, import.meta.url), 'utf8');

test('the shipped lessons read without error and every step says something', () => {
  for (const name of ['attention-from-scratch', 'model-heads']) {
    const lesson = parseLesson(lessonFile(name), name);
    assert.ok(lesson.title.length > 0);
    assert.ok(lesson.steps.length >= 6, `${name} has ${lesson.steps.length} steps`);
    for (const step of lesson.steps) assert.ok(step.caption.length > 40);
  }
  // The heads lesson names heads by what they do where a kind names them.
  const heads = parseLesson(lessonFile('model-heads'));
  assert.deepEqual(heads.steps.map((s) => s.head).filter((h) => typeof h === 'string'), ['self', 'start', 'induction']);
});

test('what the heads lesson says is true of the shipped model, on each step’s sentence', async () => {
  const qkv = await loadAttention();
  const model = await loadModel(undefined, { attention: qkv });
  const lesson = parseLesson(lessonFile('model-heads'));
  const at = (k) => settingsAt(lesson, k).settings;
  const runOf = (k) => modelRun(qkv, model, at(k).sentence);
  const name = (run, l, h) => run.layers[l].heads[h].pattern.label;
  // Step 2: the heads named "itself" are layer 1's heads 1 and 4; the one shown is one of them.
  let run = runOf(1);
  const self = findHead(run, 'self');
  assert.ok(self.layer === 0 && [0, 3].includes(self.head), JSON.stringify(self));
  assert.deepEqual([name(run, 0, 0), name(run, 0, 3)], ['self', 'self']);
  // Step 3: layer 2, head 3 looks at the start.
  run = runOf(2);
  assert.deepEqual([findHead(run, 'start').layer, findHead(run, 'start').head, name(run, 1, 2)], [1, 2, 'start']);
  // Step 4: layer 1, head 3 is broad.
  assert.deepEqual([at(3).layer, at(3).head, name(runOf(3), 0, 2)], [0, 2, 'broad']);
  // Step 5: no head reaches 0.4 on the previous token; every layer smears its keys, layer 1 head 2 mostly with the previous key.
  run = runOf(4);
  for (const layer of run.layers) for (const h of layer.heads) assert.ok(h.pattern.previous < 0.4);
  assert.ok(run.layers.every((layer) => layer.smear?.length === 4));
  assert.ok(run.layers[0].heads[1].smear < 0.5, `σ of layer 1, head 2 = ${run.layers[0].heads[1].smear}`);
  // Step 6: on the sentence typed twice, layer 1 head 2 is the induction head, and at the second
  // "old" it looks at "man", which came after the first.
  run = runOf(5);
  assert.deepEqual([findHead(run, 'induction').layer, findHead(run, 'induction').head, name(run, 0, 1)], [0, 1, 'induction']);
  const q = run.units.findIndex((u) => u.start === at(5).query.at), k = run.units.findIndex((u) => u.start === at(5).key.at);
  assert.deepEqual([run.units[q].text, run.units[k].text], ['old', 'man']);
  const row = run.layers[0].heads[1].weights.subarray(q * run.n, (q + 1) * run.n);
  assert.equal(row.indexOf(Math.max(...row)), k);
  model.free();
});

test('a lesson step keeps what earlier steps set; caption and stage are its own', () => {
  const lesson = parseLesson({
    title: 't', steps: [
      { caption: 'one', sentence: 'a b c', heads: 2, stage: 'scores', query: 2 },
      { caption: 'two', temperature: 0.5 },
      { caption: 'three', sentence: 'd e', context: 'f g h', query: 'e', head: 'previous' },
    ],
  });
  assert.deepEqual(settingsAt(lesson, 0), { settings: { sentence: 'a b c', heads: 2, query: 1 }, caption: 'one', stage: 'scores' });
  assert.deepEqual(settingsAt(lesson, 1), { settings: { sentence: 'a b c', heads: 2, query: 1, temperature: 0.5 }, caption: 'two', stage: null });
  assert.deepEqual(settingsAt(lesson, 2).settings, { sentence: 'd e', heads: 2, query: 'e', temperature: 0.5, context: 'f g h', head: 'previous' });
});

test('a broken lesson says which step and which field, and what it expected', () => {
  const bad = (steps, pattern) => assert.throws(() => parseLesson({ title: 'x', steps }), (e) => e instanceof LessonError && pattern.test(e.message), String(pattern));
  bad([{ caption: 'ok' }, { caption: 'ok', temperature: 'hot' }], /step 2: "temperature" must be a number from 0\.05 to 20, received "hot"/);
  bad([{ caption: 'ok', tempreture: 2 }], /step 1: unknown field "tempreture" \(did you mean "temperature"\?\)/);
  bad([{ caption: 'ok' }, { caption: 'ok' }, { sentence: 'no caption' }], /step 3: "caption" is missing/);
  bad([{ caption: 'ok', view: 'heatmap sideways' }], /step 1: "view" must name views among heatmap, lines, overview, next, step/);
  bad([{ caption: 'ok', head: 0 }], /step 1: "head" must be a head number from 1 or one of "previous", "start", "self", "punctuation", "duplicate", "induction"/);
  bad([{ caption: 'ok', heads: 3 }], /step 1: "heads" must be one of 1, 2, 4, 5, 10, received 3/);
  bad([{ caption: 'ok', causal: 'yes' }], /step 1: "causal" must be true or false/);
  bad([{ caption: 'ok', stage: 'magic' }], /step 1: "stage" must be one of "vectors", "scores"/);
  // Names are checked against the lists' own keys, not what every object inherits.
  bad([{ caption: 'ok', stage: 'constructor' }], /step 1: "stage" must be one of "vectors", "scores"/);
  bad([{ caption: 'ok', head: 'toString' }], /step 1: "head" must be a head number from 1 or one of "previous", "start", "self", "punctuation", "duplicate", "induction"/);
  bad([{ caption: 'ok', sentence: 'x'.repeat(MAX_TEXT + 1) }], /step 1: "sentence" must be at most 4,000 characters/);
  bad([{ caption: 'ok' }, 'just text'], /step 2: must be an object with a "caption", received "just text"/);
  bad([], /"steps" must be a list of 1 to 200 steps/);
  assert.throws(() => parseLesson('{"title": "x", "steps": [', 'lesson here.json'), /lesson here\.json: not valid JSON/);
  assert.throws(() => parseLesson({ title: 'x', stpes: [] }), /unknown field "stpes" \(did you mean "steps"\?\)/);
});

const uniform = (n, m = n) => Array.from({ length: n }, () => Array(m).fill(1 / m));

test('attention files: HuggingFace (with and without the batch dimension), BertViz, cross-attention', () => {
  const tokens = ['[CLS]', 'the', 'cat', '[SEP]'];
  const layer = [uniform(4), [[1, 0, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 1, 0], [0.25, 0.25, 0.25, 0.25]]];
  const run = readAttentionFile({ tokens, attentions: [layer, layer, layer] });
  assert.equal(run.mode, 'given');
  assert.equal(run.format, 'HuggingFace');
  assert.deepEqual([run.n, run.m, run.layers.length, run.layers[0].heads.length], [4, 4, 3, 2]);
  assert.deepEqual(Array.from(run.layers[2].heads[1].weights.subarray(4, 8)), [0.5, 0.5, 0, 0]);
  assert.deepEqual(run.units.map((u) => run.text.slice(u.start, u.end)), tokens, 'offsets point at each token in the text');
  assert.equal(run.keyUnits, run.units);
  // [layer][batch=1][head][query][key], as [a.tolist() for a in outputs.attentions] gives it.
  const batched = readAttentionFile(JSON.stringify({ tokens, attentions: [[layer], [layer]] }));
  assert.deepEqual([batched.layers.length, batched.layers[0].heads.length], [2, 2]);
  assert.deepEqual(Array.from(batched.layers[1].heads[1].weights), Array.from(run.layers[0].heads[1].weights));
  // BertViz: head_view's data, left_text ≠ right_text is rectangular.
  const bv = readAttentionFile({ attention: [{ name: null, attn: [[uniform(2, 3)]], left_text: ['a', 'b'], right_text: ['x', 'y', 'z'] }] });
  assert.equal(bv.format, 'BertViz');
  assert.deepEqual([bv.n, bv.m], [2, 3]);
  assert.deepEqual(bv.keyUnits.map((u) => u.text), ['x', 'y', 'z']);
  assert.deepEqual(readAttentionFile({ all: { attn: [[uniform(2)]], left_text: ['a', 'b'], right_text: ['a', 'b'] } }).n, 2);
  // Markup in a token is only ever text: it is kept as given.
  assert.equal(readAttentionFile({ tokens: ['<img src=x onerror=alert(1)>'], attentions: [[[[1]]]] }).units[0].text, '<img src=x onerror=alert(1)>');
});

test('attention files: every malformed shape or weight is rejected with where and why', () => {
  const tokens = ['a', 'b', 'c'];
  const bad = (data, pattern) => assert.throws(() => readAttentionFile(data), (e) => e instanceof AttentionFileError && pattern.test(e.message), String(pattern));
  bad('{"tokens": ', /not valid JSON/);
  bad([1, 2], /expected an object with "tokens" and "attentions"/);
  bad({ words: tokens }, /found neither "tokens" and "attentions"/);
  bad({ tokens: [], attentions: [] }, /"tokens" must be a non-empty list of tokens/);
  bad({ tokens: ['a', 2], attentions: [] }, /tokens\[1\] must be text/);
  bad({ tokens, attentions: [] }, /"attentions" must be a list of layers/);
  bad({ tokens, attentions: [[uniform(3)], [uniform(3), uniform(3)]] }, /attentions\[1\] must have 1 heads like attentions\[0\]/);
  bad({ tokens, attentions: [[uniform(2)]] }, /attentions\[0\]\[0\] must have 3 rows, one per token/);
  bad({ tokens, attentions: [[[[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]]] }, /attentions\[0\]\[0\]\[0\] must have 3 weights, one per key token/);
  bad({ tokens, attentions: [[[[1, 0, 0], [0.6, 0.6, 0], [1, 0, 0]]]] }, /attentions\[0\]\[0\]\[1\] sums to 1\.2000; each row must be a query's weights, which sum to 1/);
  bad({ tokens, attentions: [[[[1, 0, 0], [-0.5, 1.5, 0], [1, 0, 0]]]] }, /attentions\[0\]\[0\]\[1\]\[0\] must be a weight from 0 to 1, received -0\.5/);
  bad({ tokens, attentions: [[[[1, 0, 0], ['0.5', 0.5, 0], [1, 0, 0]]]] }, /attentions\[0\]\[0\]\[1\]\[0\] must be a weight from 0 to 1, received text/);
  bad({ tokens, attentions: [[[[1, 0, 0], [null, 1, 0], [1, 0, 0]]]] }, /must be a weight from 0 to 1, received null/);
  bad({ attn: [[uniform(2, 3)]], left_text: ['a', 'b'], right_text: ['x', 'y'] }, /attn\[0\]\[0\]\[0\] must have 2 weights/);
  bad({ tokens: Array(600).fill('t'), attentions: [] }, /"tokens" has 600 tokens; at most 512 can be shown/);
});

test('heads are found and named by the package’s head scores: a model run’s own, and computed for attention from a file', () => {
  const n = 6, texts = ['<bos>', 'the', 'cat', ',', 'the', 'cat'];
  const units = texts.map((text, i) => ({ text, vocab: text, start: i === 0 ? 0 : 4 * i, end: i === 0 ? 0 : 4 * i + text.length, word: i - 1 }));
  const head = (fill) => {
    const w = new Float32Array(n * n);
    for (let i = 0; i < n; ++i) fill(w, i);
    return { weights: w };
  };
  const previous = head((w, i) => { w[i * n + Math.max(0, i - 1)] = 1; });
  const start = head((w, i) => { w[i * n] = 1; });
  const self = head((w, i) => { w[i * n + i] = 1; });
  const induction = head((w, i) => { w[i * n + (i === 4 ? 2 : i === 5 ? 3 : 0)] = 1; }); // "the" → "cat" after the first "the"
  const run = { mode: 'given', n, m: n, units, keyUnits: units, layers: [{ heads: [start, self] }, { heads: [previous, induction] }] };
  assert.deepEqual(findHead(run, 'previous'), { layer: 1, head: 0, score: 1 });
  assert.deepEqual(findHead(run, 'start'), { layer: 0, head: 0, score: 1 });
  assert.deepEqual(findHead(run, 'self'), { layer: 0, head: 1, score: 1 });
  assert.deepEqual([findHead(run, 'induction').layer, findHead(run, 'induction').head], [1, 1]);
  // The same numbers as the package's headScores on ids made from the token texts.
  const ids = [0, 1, 2, 3, 1, 2], punct = [0, 0, 0, 1];
  for (const h of [start, self, previous, induction]) {
    const want = headScores(h.weights, n, ids, punct);
    assert.deepEqual(headPattern(run, h), { ...want, label: headLabel(want) });
  }
  assert.deepEqual(headName(headPattern(run, previous)), { label: 'previous', text: HEAD_LABELS.previous, score: 1, scoreName: 'weight' });
  assert.equal(headNameText(headPattern(run, induction)), `${HEAD_LABELS.induction} 1.00`);
  // A model run's heads carry the package's pattern: it is used as it is.
  const own = { weights: previous.weights, pattern: { ...headScores(previous.weights, n, ids, punct), label: 'previous' } };
  assert.equal(headPattern({ ...run, mode: 'model' }, own), own.pattern);
  assert.equal(findHead({ ...run, keyUnits: [] }, 'previous'), null, 'no pattern across two texts');
  assert.deepEqual(Object.keys(PATTERNS), [...HEAD_KINDS], 'a lesson names a head by the kinds the package scores');
});

test('cross-attention: 5 queries × 9 keys equal the float64 reference, with queries ≠ keys', async () => {
  const qkv = await loadAttention();
  const embeddings = await loadEmbeddings();
  const { embeddingSource } = await import('../../web/compute.js');
  const source = embeddingSource(embeddings);
  const text = 'Where did the cat sleep', context = 'The cat was sleeping on the warm bed .';
  for (const knobs of [{ heads: 1, scaling: true, temperature: 1, causal: true }, { heads: 4, scaling: false, temperature: 0.5, causal: false }]) {
    const run = embeddingsRun(qkv, source, text, knobs, context);
    assert.deepEqual([run.n, run.m], [5, 9]);
    assert.equal(run.knobs.causal, false, 'never causal across two texts');
    const q = embeddings.lookup(text).vectors, kv = embeddings.lookup(context).vectors;
    const d = 100 / knobs.heads;
    for (let h = 0; h < knobs.heads; ++h) {
      const part = (x, rows) => Float64Array.from({ length: rows * d }, (_, at) => x[Math.floor(at / d) * 100 + h * d + (at % d)]);
      const ref = attentionRef({ q: part(q, 5), k: part(kv, 9), v: part(kv, 9), queries: 5, keys: 9, dim: d, valueDim: d, scale: knobs.scaling ? 1 / Math.sqrt(d) : 1, temperature: knobs.temperature });
      const got = run.layers[0].heads[h];
      for (let at = 0; at < 45; ++at) assert.ok(Math.abs(got.weights[at] - ref.weights[at]) < 1e-5, `weight ${h} ${at}`);
      for (let at = 0; at < 5 * d; ++at) assert.ok(Math.abs(got.output[at] - ref.output[at]) < 1e-4 * Math.max(1, Math.abs(ref.output[at])), `output ${h} ${at}`);
    }
    const json = JSON.parse(matrixJson(run, 0, 0));
    assert.deepEqual([json.layer, json.head, json.tokens[0].position, json.keyTokens.length, json.weights[0].length], [1, 1, 1, 9, 9]);
  }
});

test('long input: at most MAX_TOKENS tokens computed, the rest counted; text read up to MAX_TEXT', async () => {
  const qkv = await loadAttention();
  const { embeddingSource } = await import('../../web/compute.js');
  const source = embeddingSource(await loadEmbeddings());
  const run = embeddingsRun(qkv, source, 'a '.repeat(1000));
  assert.deepEqual([run.n, run.leftOut, run.cut], [MAX_TOKENS, 1000 - MAX_TOKENS, false]);
  const long = embeddingsRun(qkv, source, 'b'.repeat(MAX_TEXT + 10));
  assert.equal(long.cut, true);
});

test('URLs an attribute may name: http(s) and relative only', () => {
  for (const ok of ['lessons/a.json', '/x/', 'https://example.com/m/', 'http://127.0.0.1:8080/', '../up', '?q=1']) assert.equal(httpUrl(ok), ok);
  assert.equal(ATTRIBUTES.stage('constructor'), null, 'stage="constructor" is no stage');
  assert.equal(ATTRIBUTES.stage(' softmax '), 'softmax');
  for (const bad of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,<b>x</b>', 'blob:http://x/1', 'file:///etc/passwd', 'vbscript:x', 'x:y', '', '   ']) assert.equal(httpUrl(bad), null, bad);
});
