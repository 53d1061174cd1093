// What a learner meets on the page: the shipped model run through the package (wasm, as the page runs
// it) on everyday sentences written for this purpose (everyday.txt). Prints, as JSON: unknown tokens
// and characters outside every token (both must be 0), and for each head the mean of its scores
// (lib/heads.js) over the sentences and how often each label is its name. Also, on the same sentences
// each said twice in a row, the induction scores (a repeat is where an induction head shows itself).
//
// usage: node scripts/model/everyday.mjs [models/tiny-lm.qkv] [scripts/model/everyday.txt]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../lib/model.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const modelPath = process.argv[2] ?? `${root}/models/tiny-lm.qkv`;
const sentences = readFileSync(process.argv[3] ?? `${root}/scripts/model/everyday.txt`, 'utf8').split('\n').filter((l) => l.trim());

const model = await loadModel(modelPath);
const { n_layers: L, n_heads: H } = model.config;
const KINDS = ['previous', 'start', 'self', 'punctuation', 'duplicate', 'induction', 'entropy'];

function survey(texts) {
  const sums = {}, counts = {}, labels = {};
  let tokens = 0, unknown = 0, uncovered = 0;
  for (const text of texts) {
    const run = model.run(text);
    tokens += run.tokens.length - 1;
    unknown += run.unknown.filter(Boolean).length + run.tokens.filter((t) => t.text === '<unk>').length;
    const covered = new Uint8Array(text.length);
    for (const t of run.tokens.slice(1)) covered.fill(1, t.start, t.end);
    for (let i = 0; i < text.length; ++i) if (!covered[i] && !/\s/u.test(text[i])) uncovered += 1;
    run.layers.forEach((layer, l) => layer.heads.forEach((head, h) => {
      const key = `${l + 1}.${h + 1}`;
      sums[key] ??= {}; counts[key] ??= {}; labels[key] ??= {};
      for (const k of KINDS) {
        if (head.pattern[k] === null) continue;
        sums[key][k] = (sums[key][k] ?? 0) + head.pattern[k];
        counts[key][k] = (counts[key][k] ?? 0) + 1;
      }
      labels[key][head.pattern.label] = (labels[key][head.pattern.label] ?? 0) + 1;
    }));
  }
  const heads = {};
  for (const key of Object.keys(sums)) {
    heads[key] = { mean: Object.fromEntries(KINDS.filter((k) => counts[key][k]).map((k) => [k, +(sums[key][k] / counts[key][k]).toFixed(3)])), labels: labels[key] };
  }
  return { sentences: texts.length, tokens, unknown_tokens: unknown, characters_outside_tokens: uncovered, heads };
}

const once = survey(sentences);
const twice = survey(sentences.map((s) => `${s} ${s}`));
const induction = Object.fromEntries(Object.entries(twice.heads).map(([k, v]) => [k, v.mean.induction]));
console.log(JSON.stringify({ model: modelPath.split('/').pop(), layers: L, heads: H, smear: model.smear, once,
  repeated_twice: { induction_mean: induction, labels: Object.fromEntries(Object.entries(twice.heads).map(([k, v]) => [k, v.labels])) } }, null, 1));
model.free();
