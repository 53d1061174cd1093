// Tokenize the corpus with the package's own tokenizer (lib/tokenizer.js), choose the model
// vocabulary, encode, and split into train / validation. Training can then never tokenize text
// differently from the page.
//
// usage: node prepare_data.mjs [--vocab 5000] [--corpus work/corpus] [--out work/data] [--max-lines N] [--val-every 50]
// writes: <out>/vocab.json, <out>/{train,val}.ids.u16 (token ids, little-endian uint16),
//         <out>/{train,val}.starts.u32 (offset of each line's first token), <out>/stats.json
import { readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tokenize, encode } from '../../lib/tokenizer.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) =>
  a.startsWith('--') ? [a.slice(2), all[i + 1]] : null).filter(Boolean));
const vocabSize = Number(args.vocab ?? 5000);
const corpusDir = args.corpus ?? join(here, 'work', 'corpus');
const outDir = args.out ?? join(here, 'work', 'data');
const maxLines = Number(args['max-lines'] ?? Infinity);
const SPECIALS = ['<bos>', '<unk>', '<num>'];
// Validation: every 50th block of 200 consecutive lines of each source (whole passages held out).
const valEvery = Number(args['val-every'] ?? 50);
const isValidation = (lineNo) => Math.floor(lineNo / 200) % valEvery === Math.floor(valEvery / 2);

const sources = readdirSync(corpusDir).filter((f) => f.endsWith('.txt')).sort();
const docs = sources.map((f) => {
  const lines = readFileSync(join(corpusDir, f), 'utf8').split('\n').filter((l) => l.trim());
  return { name: f, lines: lines.slice(0, maxLines).map((l) => tokenize(l)) };
});

const counts = new Map();
for (const d of docs) {
  d.lines.forEach((toks, k) => {
    if (isValidation(k)) return; // the vocabulary is chosen from training text only
    for (const t of toks) counts.set(t.norm, (counts.get(t.norm) ?? 0) + 1);
  });
}
const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
const vocab = [...SPECIALS];
for (const [w] of ranked) {
  if (vocab.length >= vocabSize) break;
  if (!SPECIALS.includes(w)) vocab.push(w);
}

mkdirSync(outDir, { recursive: true });
const stats = { vocab_size: vocab.length, sources: {}, tokenizer: 'lib/tokenizer.js' };
const split = { train: { ids: [], starts: [] }, val: { ids: [], starts: [] } };
for (const d of docs) {
  const s = { lines: d.lines.length, tokens: 0, ids: 0, unknown_tokens: 0, unk_ids: 0, val_ids: 0 };
  d.lines.forEach((toks, k) => {
    const part = isValidation(k) ? split.val : split.train;
    const enc = encode(toks, vocab, { bos: false });
    part.starts.push(part.ids.length);
    for (const id of enc.ids) part.ids.push(id);
    s.tokens += toks.length;
    s.ids += enc.ids.length;
    s.unknown_tokens += enc.unknown.filter(Boolean).length;
    s.unk_ids += enc.ids.filter((id) => id === 1).length;
    if (part === split.val) s.val_ids += enc.ids.length;
  });
  stats.sources[d.name] = s;
}
for (const [name, part] of Object.entries(split)) {
  writeFileSync(join(outDir, `${name}.ids.u16`), new Uint16Array(part.ids));
  writeFileSync(join(outDir, `${name}.starts.u32`), new Uint32Array(part.starts));
  stats[`${name}_ids`] = part.ids.length;
}
stats.training_norm_types = counts.size;
writeFileSync(join(outDir, 'vocab.json'), JSON.stringify(vocab));
writeFileSync(join(outDir, 'stats.json'), JSON.stringify(stats, null, 1));
console.log(JSON.stringify(stats, null, 1));
