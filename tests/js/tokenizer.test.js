// node --test tests/js/tokenizer.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize, encode, normalize, MAX_TOKEN_LENGTH } from '../../lib/tokenizer.js';
import { mulberry32 } from './random.js';

const norms = (s) => tokenize(s).map((t) => t.norm);
const kinds = (s) => tokenize(s).map((t) => t.kind);

test('empty and whitespace-only input give no tokens', () => {
  assert.deepEqual(tokenize(''), []);
  assert.deepEqual(tokenize('   \t\n\r  '), []);
  assert.deepEqual(tokenize('\u00a0\u2003\u3000'), []); // no-break, em and ideographic spaces
});

test('rejects non-strings', () => {
  assert.throws(() => tokenize(undefined), TypeError);
  assert.throws(() => tokenize(42), TypeError);
});

test('lowercases, keeps original text and offsets', () => {
  const toks = tokenize('The Cat  sat.');
  assert.deepEqual(toks.map((t) => [t.text, t.norm, t.start, t.end, t.kind]), [
    ['The', 'the', 0, 3, 'word'],
    ['Cat', 'cat', 4, 7, 'word'],
    ['sat', 'sat', 9, 12, 'word'],
    ['.', '.', 12, 13, 'punct'],
  ]);
});

test('contractions split as in the Penn Treebank', () => {
  assert.deepEqual(norms("don't"), ['do', "n't"]);
  assert.deepEqual(norms("it's"), ['it', "'s"]);
  assert.deepEqual(norms("can't won't isn't"), ['ca', "n't", 'wo', "n't", 'is', "n't"]);
  assert.deepEqual(norms("we're I've you'll she'd I'm"), ['we', "'re", 'i', "'ve", 'you', "'ll", 'she', "'d", 'i', "'m"]);
  assert.deepEqual(norms("John's"), ['john', "'s"]);
  assert.deepEqual(norms('It\u2019s'), ['it', "'s"], 'typographic apostrophe');
  assert.deepEqual(tokenize("don't").map((t) => [t.text, t.start, t.end]), [['do', 0, 2], ["n't", 2, 5]]);
  assert.deepEqual(norms("students' books"), ['students', "'", 'books'], 'plural possessive');
  assert.deepEqual(norms("o'clock O'Neill"), ["o'clock", "o'neill"], 'inner apostrophes stay');
  assert.deepEqual(norms("mother-in-law's"), ['mother-in-law', "'s"]);
  assert.deepEqual(norms("'tis"), ["'", 'tis']);
});

test('punctuation is its own token; ... and -- stay whole', () => {
  assert.deepEqual(norms('Wait... what?!'), ['wait', '\u2026', 'what', '?', '!']);
  assert.deepEqual(norms('yes--no'), ['yes', '--', 'no']);
  assert.deepEqual(norms('(a), [b]; "c"'), ['(', 'a', ')', ',', '[', 'b', ']', ';', '"', 'c', '"']);
  assert.deepEqual(norms('\u201cHi\u201d \u2014 she said'), ['"', 'hi', '"', '-', 'she', 'said']);
  assert.ok(kinds('?!,;').every((k) => k === 'punct'));
});

test('numbers', () => {
  assert.deepEqual(tokenize('1,000 and 3.14 at 12:30').map((t) => [t.norm, t.kind]),
    [['1,000', 'number'], ['and', 'word'], ['3.14', 'number'], ['at', 'word'], ['12:30', 'number']]);
  assert.deepEqual(norms('in 1990.'), ['in', '1990', '.'], 'a sentence-final period is not a decimal point');
  assert.deepEqual(norms('1, 2'), ['1', ',', '2']);
  assert.deepEqual(tokenize('the 1990s, 10th').map((t) => [t.norm, t.kind]),
    [['the', 'word'], ['1990s', 'word'], [',', 'punct'], ['10th', 'word']]);
  assert.deepEqual(tokenize('$5 or 100%').map((t) => [t.norm, t.kind]),
    [['$', 'symbol'], ['5', 'number'], ['or', 'word'], ['100', 'number'], ['%', 'punct']]);
});

test('hyphenated words stay one token', () => {
  assert.deepEqual(norms('a well-known x-ray of covid-19'), ['a', 'well-known', 'x-ray', 'of', 'covid-19']);
  assert.deepEqual(norms('re- and -ish'), ['re', '-', 'and', '-', 'ish'], 'dangling hyphens are punctuation');
  assert.deepEqual(norms('well\u2010known'), ['well-known'], 'Unicode hyphen normalised');
});

test('acronyms and abbreviations keep their periods', () => {
  assert.deepEqual(norms('The U.S. and Mr. Smith, e.g. here.'), ['the', 'u.s.', 'and', 'mr.', 'smith', ',', 'e.g.', 'here', '.']);
  assert.deepEqual(norms('Mrs.Jones'), ['mrs.', 'jones']);
  assert.deepEqual(norms('Amr.'), ['amr', '.'], 'only listed abbreviations');
});

test('Unicode letters and combining marks', () => {
  assert.deepEqual(norms('Café naïve Über'), ['café', 'naïve', 'über']);
  const decomposed = 'cafe\u0301';
  const toks = tokenize(decomposed);
  assert.equal(toks.length, 1);
  assert.equal(toks[0].text, decomposed);
  assert.equal(toks[0].norm, 'caf\u00e9', 'norm is NFC');
  assert.deepEqual(norms('Москва 東京 ελληνικά'), ['москва', '東', '京', 'ελληνικά']);
});

test('scripts without spaces: one token per character, with correct offsets', () => {
  const zh = '我喜欢猫。';
  assert.deepEqual(tokenize(zh).map((t) => [t.text, t.start, t.end, t.kind]),
    [['我', 0, 1, 'word'], ['喜', 1, 2, 'word'], ['欢', 2, 3, 'word'], ['猫', 3, 4, 'word'], ['。', 4, 5, 'punct']]);
  // Japanese: kanji, hiragana, katakana with the length mark, and 々; a Latin word beside them stays whole.
  const ja = '東京でAIモデルを々ー見る';
  const toks = tokenize(ja);
  assert.deepEqual(toks.map((t) => t.text), ['東', '京', 'で', 'AI', 'モ', 'デ', 'ル', 'を', '々', 'ー', '見', 'る']);
  for (const t of toks) assert.equal(ja.slice(t.start, t.end), t.text);
  // A character outside the Basic Multilingual Plane (a surrogate pair) is one token, offsets in UTF-16.
  assert.deepEqual(tokenize('𠀋字').map((t) => [t.text, t.start, t.end]), [['𠀋', 0, 2], ['字', 2, 3]]);
  // Thai: a consonant keeps its vowel and tone marks.
  assert.deepEqual(tokenize('แมว').map((t) => t.text), ['แ', 'ม', 'ว']);
  assert.deepEqual(tokenize('ที่').map((t) => t.text), ['ที่']);
  // Korean is written with spaces: its words stay words.
  assert.deepEqual(norms('고양이가 잔다'), ['고양이가', '잔다']);
  // Right-to-left scripts have spaces too.
  assert.deepEqual(norms('القط نائم'), ['القط', 'نائم']);
  assert.deepEqual(norms('החתול ישן'), ['החתול', 'ישן']);
});

test('emoji are single symbol tokens, with modifiers, ZWJ sequences, flags, keycaps', () => {
  const s = 'hi 👍🏽 👨‍👩‍👧 🇫🇷 1️⃣ ❤️!';
  const toks = tokenize(s);
  assert.deepEqual(toks.map((t) => t.text), ['hi', '👍🏽', '👨‍👩‍👧', '🇫🇷', '1️⃣', '❤️', '!']);
  assert.deepEqual(toks.map((t) => t.kind), ['word', 'symbol', 'symbol', 'symbol', 'symbol', 'symbol', 'punct']);
  assert.deepEqual(norms('cat😀dog'), ['cat', '😀', 'dog']);
});

test('very long words are cut into chunks without splitting surrogate pairs', () => {
  const long = 'a'.repeat(MAX_TOKEN_LENGTH * 2 + 5);
  const toks = tokenize(long);
  assert.equal(toks.length, 3);
  assert.equal(toks.map((t) => t.text).join(''), long);
  assert.ok(toks.every((t) => t.end - t.start <= MAX_TOKEN_LENGTH));
  const astral = '𝐀'.repeat(MAX_TOKEN_LENGTH); // each is a surrogate pair (mathematical bold A)
  for (const t of tokenize(astral)) {
    assert.ok(t.text.length <= MAX_TOKEN_LENGTH);
    assert.ok(!/[\uD800-\uDBFF]$/.test(t.text), 'no chunk ends in a high surrogate');
  }
});

test('odd characters are still tokens: controls, lone surrogates, private use', () => {
  const s = 'a\u0001b\uD800c\uE000';
  const toks = tokenize(s);
  assert.equal(toks.map((t) => t.text).join(''), s);
  assert.ok(toks.some((t) => t.kind === 'other'));
});

test('normalize maps typographic forms to ASCII / GloVe forms', () => {
  assert.equal(normalize('\u2018Hi\u2019'), "'hi'");
  assert.equal(normalize('\u201c'), '"');
  assert.equal(normalize('\u2013'), '-');
  assert.equal(normalize('...'), '\u2026');
});

const VOCAB = ['<bos>', '<unk>', '<num>', 'the', 'cat', 'do', "n't", 'well', '-', 'known', 'us', 'mr', 'cafe', 'sat', '.'];

test('encode: known words, bos, and unknown words never dropped', () => {
  const toks = tokenize('The cat zorbled.');
  const enc = encode(toks, VOCAB, { bos: true });
  assert.deepEqual(enc.ids, [0, 3, 4, 1, 14]);
  assert.deepEqual(enc.unknown, [false, false, true, false]);
  assert.equal(enc.pieces.length, enc.ids.length);
  assert.deepEqual(enc.pieces[0], { token: -1, text: '<bos>', id: 0, start: 0, end: 0, unk: false });
  assert.deepEqual(enc.pieces[3], { token: 2, text: '<unk>', id: 1, start: 8, end: 15, unk: true });
  assert.deepEqual(encode(toks, VOCAB).ids, [3, 4, 1, 14], 'no bos by default');
});

test('encode: fallbacks (diacritics, periods, <num>, known pieces)', () => {
  const enc = encode(tokenize('Café U.S. Mr. 1,234 well-known well-zzz zzz-yyy'), VOCAB);
  assert.deepEqual(enc.unknown, [true, true, true, true, true, true, true]);
  assert.deepEqual(enc.pieces.map((p) => [p.token, p.text, p.unk]), [
    [0, 'cafe', false],
    [1, 'us', false],
    [2, 'mr', false],
    [3, '<num>', false],
    [4, 'well', false], [4, '-', false], [4, 'known', false],
    [5, 'well', false], [5, '-', false], [5, '<unk>', true],
    [6, '<unk>', true],
  ]);
  const p = enc.pieces.filter((x) => x.token === 4);
  assert.deepEqual(p.map((x) => [x.start, x.end]), [[20, 24], [24, 25], [25, 30]], 'piece offsets');
  const noNum = encode(tokenize('1,234'), ['<unk>', 'x']);
  assert.deepEqual(noNum.ids, [0], 'without <num>: unknown number is <unk>');
});

test('encode: errors on a vocabulary without <unk> or <bos>', () => {
  assert.throws(() => encode(tokenize('x'), ['a', 'b']), RangeError);
  assert.throws(() => encode(tokenize('x'), ['<unk>'], { bos: true }), RangeError);
  assert.deepEqual(encode([], VOCAB, { bos: true }).ids, [0]);
});

const POOL = ['a', 'b', 'Z', 'é', 'e\u0301', 'ß', 'İ', 'ж', '東', '0', '7', '.', ',', ':', "'", '\u2019', '-', '\u2010',
  '"', '\u201c', '(', '!', '?', '$', '%', '+', '/', ' ', ' ', ' ', '\t', '\n', '\u00a0', '😀', '👍🏽', '🇫🇷',
  '\u200d', '\ufe0f', '#', '\u20e3', '\uD83D', '\uDE00', '\u0001', 'n\'t', "'s", 'U.S.', 'Mr.', '...', '--'];

test('property: tokens cover the input exactly, in order, separated only by whitespace', () => {
  const rnd = mulberry32(20261125);
  for (let iter = 0; iter < 3000; iter++) {
    const len = Math.floor(rnd() * 30);
    let s = '';
    for (let k = 0; k < len; k++) s += POOL[Math.floor(rnd() * POOL.length)];
    if (rnd() < 0.05) s += 'x'.repeat(Math.floor(rnd() * 200));
    const toks = tokenize(s);
    let pos = 0;
    for (const t of toks) {
      assert.ok(t.start >= pos, `ordered and non-overlapping in ${JSON.stringify(s)}`);
      assert.ok(t.end > t.start, 'non-empty');
      assert.equal(s.slice(t.start, t.end), t.text);
      assert.match(s.slice(pos, t.start), /^\s*$/u, `only whitespace between tokens in ${JSON.stringify(s)}`);
      assert.equal(t.norm, normalize(t.text));
      if (t.kind === 'word' || t.kind === 'number') assert.ok(t.text.length <= MAX_TOKEN_LENGTH);
      pos = t.end;
    }
    assert.match(s.slice(pos), /^\s*$/u);
    const enc = encode(toks, VOCAB, { bos: true });
    assert.equal(enc.unknown.length, toks.length);
    assert.equal(enc.ids.length, enc.pieces.length);
    const covered = new Set(enc.pieces.map((p) => p.token));
    toks.forEach((_, k) => assert.ok(covered.has(k), 'every token has at least one id'));
    assert.ok(enc.ids.every((id) => Number.isInteger(id) && id >= 0 && id < VOCAB.length));
  }
});
