// Cut the corpus into words with the package's own tokenizer (lib/tokenizer.js), train the subword
// vocabulary on the training words (train_pieces.py, SentencePiece unigram with byte fallback), cut
// every word into pieces with the package's own segmentation (lib/pieces.js), and split into train /
// validation. Training can then never tokenize text differently from the page.
//
// usage: node prepare_data.mjs [--vocab 4096] [--corpus work/corpus] [--out work/data] [--max-lines N]
//                              [--val-every 50] [--tech-share 0.25] [--pieces file.json]
// Files named tech-*.txt are technical text: kept to at most --tech-share of the training tokens by
// taking an evenly spread subset of their lines. --pieces reuses a trained vocabulary.
// writes: <out>/words.txt (training words, for train_pieces.py), <out>/pieces.json, <out>/vocab.json,
//         <out>/{train,val}.ids.u16 (piece ids, little-endian uint16), <out>/{train,val}.starts.u32
//         (offset of each line's first piece), <out>/val.txt (the validation lines, for bits per
//         character), <out>/stats.json
import { readFileSync, writeFileSync, mkdirSync, readdirSync, copyFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { tokenize } from '../../lib/tokenizer.js';
import { PieceVocabulary } from '../../lib/pieces.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) =>
  a.startsWith('--') ? [a.slice(2), all[i + 1]] : null).filter(Boolean));
const vocabSize = Number(args.vocab ?? 4096);
const corpusDir = args.corpus ?? join(here, 'work', 'corpus');
const outDir = args.out ?? join(here, 'work', 'data');
const maxLines = Number(args['max-lines'] ?? Infinity);
const techShare = Number(args['tech-share'] ?? 0.25);
// Validation: every 50th block of 200 consecutive lines of each source (whole passages held out).
const valEvery = Number(args['val-every'] ?? 50);
const isValidation = (lineNo) => Math.floor(lineNo / 200) % valEvery === Math.floor(valEvery / 2);

const sources = readdirSync(corpusDir).filter((f) => f.endsWith('.txt')).sort();
const docs = sources.map((f) => {
  const lines = readFileSync(join(corpusDir, f), 'utf8').split('\n').filter((l) => l.trim()).slice(0, maxLines);
  return { name: f, tech: f.startsWith('tech-'), lines, words: lines.map((l) => tokenize(l).map((t) => t.norm)) };
});

// The technical share, counted in words: an evenly spread fraction of each technical source's lines.
const wordsIn = (d) => d.words.reduce((a, w) => a + w.length, 0);
const plain = docs.filter((d) => !d.tech).reduce((a, d) => a + wordsIn(d), 0);
const tech = docs.filter((d) => d.tech).reduce((a, d) => a + wordsIn(d), 0);
const keep = tech === 0 ? 1 : Math.min(1, (plain * techShare) / (1 - techShare) / tech);
for (const d of docs) {
  d.kept = d.lines.map((_, k) => !d.tech || Math.floor((k + 1) * keep) > Math.floor(k * keep));
}

mkdirSync(outDir, { recursive: true });
const wordLines = [];
for (const d of docs) d.words.forEach((w, k) => { if (d.kept[k] && !isValidation(k) && w.length) wordLines.push(w.join(' ')); });
writeFileSync(join(outDir, 'words.txt'), wordLines.join('\n') + '\n');
const piecesFile = join(outDir, 'pieces.json');
if (args.pieces) {
  copyFileSync(args.pieces, piecesFile);
} else {
  execFileSync('/usr/bin/python3', [join(here, 'train_pieces.py'), '--input', join(outDir, 'words.txt'),
    '--vocab-size', String(vocabSize), '--out', piecesFile], { stdio: 'inherit' });
}
const { vocab, scores } = JSON.parse(readFileSync(piecesFile, 'utf8'));
const pieces = new PieceVocabulary(vocab, scores);
const cache = new Map(); // a word's pieces, once per distinct word
const idsOf = (word) => {
  let ids = cache.get(word);
  if (!ids) { ids = pieces.segment(word).map((p) => p.id); cache.set(word, ids); }
  return ids;
};

const stats = { vocab_size: vocab.length, tech_share: techShare, tech_lines_kept: keep, sources: {},
  tokenizer: 'lib/tokenizer.js words, lib/pieces.js pieces' };
const split = { train: { ids: [], starts: [] }, val: { ids: [], starts: [], text: [] } };
const byteIds = new Set(vocab.map((p, id) => (/^<0x/.test(p) ? id : -1)));
for (const d of docs) {
  const s = { lines: d.lines.length, lines_kept: 0, words: 0, pieces: 0, byte_pieces: 0, val_pieces: 0, val_chars: 0 };
  d.words.forEach((words, k) => {
    if (!d.kept[k]) return;
    const part = isValidation(k) ? split.val : split.train;
    part.starts.push(part.ids.length);
    for (const w of words) {
      for (const id of idsOf(w)) {
        part.ids.push(id);
        s.pieces += 1;
        if (byteIds.has(id)) s.byte_pieces += 1;
        if (part === split.val) s.val_pieces += 1;
      }
    }
    if (part === split.val) { part.text.push(d.lines[k]); s.val_chars += d.lines[k].length; }
    s.lines_kept += 1;
    s.words += words.length;
  });
  stats.sources[d.name] = s;
}
for (const [name, part] of Object.entries(split)) {
  writeFileSync(join(outDir, `${name}.ids.u16`), new Uint16Array(part.ids));
  writeFileSync(join(outDir, `${name}.starts.u32`), new Uint32Array(part.starts));
  stats[`${name}_ids`] = part.ids.length;
}
writeFileSync(join(outDir, 'val.txt'), split.val.text.join('\n') + '\n');
stats.val_chars = split.val.text.reduce((a, l) => a + l.length, 0);
stats.distinct_words = cache.size;
writeFileSync(join(outDir, 'vocab.json'), JSON.stringify(vocab));
writeFileSync(join(outDir, 'stats.json'), JSON.stringify(stats, null, 1));
console.log(JSON.stringify(stats, null, 1));
