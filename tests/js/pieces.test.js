// The model's subword tokenizer: lib/pieces.js against SentencePiece itself (the trainer, on
// validation text: tests/fixtures/model/pieces-sample.json), and properties on random Unicode that
// need no reference: no <unk> ever, every piece inside the text, every character inside a piece,
// and the pieces of a word spell the word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseWeights } from '../../lib/weights.js';
import { PieceVocabulary, encodePieces, WORD_START } from '../../lib/pieces.js';
import { tokenize } from '../../lib/tokenizer.js';
import { mulberry32 } from './random.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const file = parseWeights(readFileSync(`${root}/models/tiny-lm.qkv`), 'tiny-lm.qkv');
const vocabulary = new PieceVocabulary(file.vocab, file.tensor('piece_scores'));
const BOS = file.vocab.indexOf('<bos>'), UNK = file.vocab.indexOf('<unk>');

test('the model file carries a unigram vocabulary with all 256 byte pieces', () => {
  assert.equal(file.config.tokenizer, 'unigram');
  assert.ok(file.vocab.length >= 3000 && file.vocab.length <= 8192, `${file.vocab.length} entries`);
  for (let b = 0; b < 256; ++b) assert.ok(file.vocab.includes(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
});

test('segmentation equals SentencePiece on validation text', () => {
  const sample = JSON.parse(readFileSync(`${root}/tests/fixtures/model/pieces-sample.json`, 'utf8'));
  assert.ok(sample.lines.length >= 100);
  let pieces = 0;
  for (const { words, ids } of sample.lines) {
    const got = words.flatMap((w) => vocabulary.segment(w).map((p) => p.id));
    assert.deepEqual(got, ids, words.join(' '));
    pieces += ids.length;
  }
  assert.ok(pieces > 5000);
});

// Random text from many scripts, with spaces, emoji, combining marks, controls and lone surrogates.
function randomText(rng, length) {
  const ranges = [[0x20, 0x7e], [0x20, 0x7e], [0xc0, 0x24f], [0x300, 0x36f], [0x391, 0x3c9], [0x400, 0x44f],
    [0x5d0, 0x5ea], [0x620, 0x64a], [0x900, 0x97f], [0x3040, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3],
    [0x1f300, 0x1faff], [0x2000, 0x206f], [0x0, 0x1f], [0xd800, 0xdfff]];
  let s = '';
  while (s.length < length) {
    const [a, b] = ranges[Math.floor(rng() * ranges.length)];
    s += rng() < 0.15 ? ' ' : String.fromCodePoint(a + Math.floor(rng() * (b - a + 1)));
  }
  return s;
}

test('random Unicode: no <unk>, every character inside some piece, spans ordered, pieces spell each word', () => {
  const rng = mulberry32(7);
  const decoder = new TextDecoder();
  for (let trial = 0; trial < 300; ++trial) {
    const text = randomText(rng, 1 + Math.floor(rng() * 60));
    const words = tokenize(text);
    const pieces = encodePieces(words, vocabulary, BOS);
    assert.equal(pieces[0].id, BOS);
    const covered = new Uint8Array(text.length);
    let last = 0;
    for (const p of pieces.slice(1)) {
      assert.notEqual(p.id, UNK, JSON.stringify(text));
      assert.ok(p.start >= last && p.end >= p.start && p.end <= text.length, `${JSON.stringify(text)}: span ${p.start}-${p.end}`);
      last = p.start;
      covered.fill(1, p.start, p.end);
    }
    for (let i = 0; i < text.length; ++i) {
      if (!/\s/u.test(text[i])) assert.equal(covered[i], 1, `${JSON.stringify(text)}: character ${i} (${text.codePointAt(i).toString(16)}) in no piece`);
    }
    words.forEach((w, t) => {
      const bytes = [];
      for (const p of pieces.filter((x) => x.token === t)) {
        const byte = /^<0x([0-9A-F]{2})>$/.exec(p.text);
        if (byte) bytes.push(parseInt(byte[1], 16));
        else bytes.push(...new TextEncoder().encode(p.text));
      }
      assert.equal(decoder.decode(new Uint8Array(bytes)), WORD_START + w.norm.toWellFormed());
    });
  }
});

test('everyday words that were unknown to the word-level model are ordinary pieces', () => {
  for (const word of ['tired', 'yesterday', 'homework', 'website', 'harry', 'potter']) {
    const pieces = vocabulary.segment(word);
    assert.ok(pieces.every((p) => !p.text.startsWith('<0x')), `${word}: ${pieces.map((p) => p.text).join(' ')}`);
  }
});
