// English word tokenizer for qkv-attention: text -> tokens with UTF-16 offsets -> vocabulary ids.
//
// Why our own and not an npm tokenizer: the page must highlight each token, so every token needs
// its exact UTF-16 span in the user's text, and the same code must run in Node 20 and browsers with
// no dependencies, because the training corpus is tokenized with this very file (so training and
// the page can never disagree). The candidates checked (wink-tokenizer, natural, compromise) either
// return no offsets, pull in large dependency trees, or split contractions differently from the
// Penn-Treebank convention that GloVe's vocabulary was built with ("do" + "n't", "it" + "'s").
//
// Conventions (GloVe / Stanford PTB-like):
// - lowercase `norm`; typographic quotes and apostrophes map to ASCII, en/em dashes to "-",
//   "..." to "…" (the form the GloVe table has); text is NFC-normalised before lowercasing.
// - contractions split as in the Penn Treebank: don't -> do n't, can't -> ca n't, won't -> wo n't,
//   it's -> it 's, we're -> we 're, I'll -> i 'll, she'd -> she 'd, I'm -> i 'm, they've -> they 've;
//   possessives too (john's -> john 's); other inner apostrophes stay (o'clock, o'neill).
// - hyphenated compounds stay one token (well-known, mother-in-law, covid-19): GloVe has tens of
//   thousands of them; encode() splits them into known pieces when a vocabulary lacks the whole.
// - numbers: digits with inner "," "." ":" between digits are one token (1,000  3.14  12:30);
//   runs mixing letters and digits are words (1990s, h1n1, mp3).
// - acronyms with periods (u.s., e.g.) and common abbreviations (mr., dr., st., etc.) keep their
//   period as in PTB; encode() falls back to the form without periods (u.s. -> us, mr. -> mr).
// - every other punctuation character is its own token, except "..." and "--" which stay whole.
// - an emoji (with skin tone, ZWJ sequence, flag or keycap) is one 'symbol' token; other symbols
//   ($ % + = © …) are one 'symbol' token per character.
// - scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) have
//   no word boundary to find: each of their letters (with its combining marks) is one token, so that
//   a Chinese sentence is not one giant word; a Latin word next to them stays whole ("AI模型" -> AI 模 型).
// - a word longer than MAX_TOKEN_LENGTH UTF-16 units is cut into chunks of at most that length
//   (never inside a surrogate pair), so a pasted blob cannot make one giant token.
// - empty or whitespace-only input gives [].

export const MAX_TOKEN_LENGTH = 48;

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'jr', 'sr', 'vs', 'etc', 'inc', 'ltd', 'corp', 'co',
  'gen', 'gov', 'sen', 'rep', 'lt', 'col', 'sgt', 'capt', 'messrs', 'rev', 'hon',
  'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
]);
const CLITICS = new Set(["s", "re", "ve", "ll", "d", "m"]);

const RE_SPACE = /\s/u;
const RE_ALNUM = /[\p{L}\p{M}\p{N}]/u;
const RE_LETTER = /[\p{L}\p{M}]/u;
const RE_DIGIT = /\p{Nd}/u;
const RE_PUNCT = /\p{P}/u;
const APOSTROPHES = new Set(["'", '\u2019']);
const HYPHENS = new Set(['-', '\u2010', '\u2011']);
const NUMBER_JOINERS = new Set([',', '.', ':']);
// An emoji grapheme: flag pair | keycap | pictograph with optional VS16 / skin tone, ZWJ-joined.
const RE_EMOJI = /(?:\p{RI}\p{RI}|[#*0-9]\uFE0F?\u20E3|\p{Extended_Pictographic}(?:\uFE0F|\p{EMod})*(?:\u200D\p{Extended_Pictographic}(?:\uFE0F|\p{EMod})*)*)/uy;
const RE_ACRONYM = /(?:[\p{L}]\.){2,}/uy;
// Letters of the scripts above (by Script_Extensions, so that 々 and the kana length mark ー count).
const RE_UNSPACED = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Bopomofo}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}]/u;
const RE_MARK = /\p{M}/u;

function codePointAt(s, i) {
  const cp = s.codePointAt(i);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

/** Lowercased, NFC, ASCII quotes/apostrophes, dashes as "-", "..." as "…". */
export function normalize(text) {
  return text.normalize('NFC').toLowerCase()
    .replace(/[\u2018\u2019\u201B\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033\u00AB\u00BB]/g, '"')
    .replace(/[\u2010\u2011\u2012\u2013\u2014\u2015\u2212]/g, '-')
    .replace(/^\.\.\.$/, '\u2026');
}

function isAlnumAt(s, i) { return i < s.length && RE_ALNUM.test(codePointAt(s, i)); }
function isDigitAt(s, i) { return i < s.length && RE_DIGIT.test(codePointAt(s, i)); }

function isUnspaced(ch) { return RE_ALNUM.test(ch) && RE_UNSPACED.test(ch); }

// Length of the alphanumeric run starting at i, allowing number joiners between digits; it stops
// before a letter of an unspaced script (which is a token of its own).
function scanSegment(s, i) {
  let j = i;
  for (;;) {
    while (j < s.length && RE_ALNUM.test(codePointAt(s, j)) && !isUnspaced(codePointAt(s, j))) j += codePointAt(s, j).length;
    if (j < s.length && NUMBER_JOINERS.has(s[j]) && isDigitAt(s, j - 1) && isDigitAt(s, j + 1)) {
      j += 1;
      continue;
    }
    return j;
  }
}

// A word-like token: segment (apostrophe segment)* (hyphen segment (apostrophe segment)*)*
function scanWord(s, i) {
  let j = scanSegment(s, i);
  for (;;) {
    const c = s[j];
    if ((APOSTROPHES.has(c) || HYPHENS.has(c)) && isAlnumAt(s, j + 1)) {
      j = scanSegment(s, j + 1);
      continue;
    }
    return j;
  }
}

// Split "don't" / "it's" / "students's" style endings off a word span [a, b).
function splitClitic(s, a, b) {
  const w = s.slice(a, b).toLowerCase();
  const n = w.length;
  if (n > 3 && w[n - 3] === 'n' && APOSTROPHES.has(w[n - 2]) && w[n - 1] === 't') {
    return [[a, b - 3], [b - 3, b]];
  }
  for (let k = n - 2; k >= Math.max(1, n - 3); k--) {
    if (APOSTROPHES.has(w[k]) && CLITICS.has(w.slice(k + 1))) {
      // keep the hyphen/apostrophe compound left of the clitic whole: mother-in-law's
      return [[a, a + k], [a + k, b]];
    }
  }
  return [[a, b]];
}

function chunks(s, a, b) {
  const out = [];
  let start = a;
  while (b - start > MAX_TOKEN_LENGTH) {
    let end = start + MAX_TOKEN_LENGTH;
    const code = s.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end -= 1; // don't cut a surrogate pair
    out.push([start, end]);
    start = end;
  }
  out.push([start, b]);
  return out;
}

function wordKind(text) { return RE_LETTER.test(text) ? 'word' : 'number'; }

/**
 * Split English text into tokens.
 * @param {string} text
 * @returns {{text: string, norm: string, start: number, end: number, kind: string}[]}
 *   `start`/`end` are UTF-16 offsets: `text.slice(start, end) === token.text`.
 *   kind: 'word' | 'number' | 'punct' | 'symbol' (incl. emoji) | 'other'.
 */
export function tokenize(text) {
  if (typeof text !== 'string') throw new TypeError('tokenize: text must be a string');
  const tokens = [];
  const push = (a, b, kind) => {
    const t = text.slice(a, b);
    tokens.push({ text: t, norm: normalize(t), start: a, end: b, kind });
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = codePointAt(text, i);
    if (RE_SPACE.test(ch)) { i += ch.length; continue; }

    RE_EMOJI.lastIndex = i;
    const emoji = RE_EMOJI.exec(text);
    // a bare digit is a number, not a keycap emoji; \p{Extended_Pictographic} excludes digits
    if (emoji && !(emoji[0].length === 1 && RE_ALNUM.test(emoji[0]))) {
      push(i, i + emoji[0].length, 'symbol');
      i += emoji[0].length;
      continue;
    }

    if (isUnspaced(ch)) {
      let end = i + ch.length;
      while (end < n && RE_MARK.test(codePointAt(text, end))) end += codePointAt(text, end).length;
      push(i, end, 'word');
      i = end;
      continue;
    }

    if (RE_ALNUM.test(ch)) {
      RE_ACRONYM.lastIndex = i;
      const acr = RE_ACRONYM.exec(text);
      if (acr && !isAlnumAt(text, i + acr[0].length)) {
        push(i, i + acr[0].length, 'word');
        i += acr[0].length;
        continue;
      }
      const end = scanWord(text, i);
      if (text[end] === '.' && ABBREVIATIONS.has(text.slice(i, end).toLowerCase())) {
        push(i, end + 1, 'word');
        i = end + 1;
        continue;
      }
      for (const [a, b] of splitClitic(text, i, end)) {
        const kind = APOSTROPHES.has(text[a]) ? 'word' : wordKind(text.slice(a, b));
        for (const [c, d] of chunks(text, a, b)) push(c, d, kind);
      }
      i = end;
      continue;
    }

    if (text.startsWith('...', i)) { push(i, i + 3, 'punct'); i += 3; continue; }
    if (text.startsWith('--', i)) { push(i, i + 2, 'punct'); i += 2; continue; }
    if (RE_PUNCT.test(ch)) { push(i, i + ch.length, 'punct'); i += ch.length; continue; }
    if (/\p{S}/u.test(ch)) { push(i, i + ch.length, 'symbol'); i += ch.length; continue; }
    push(i, i + ch.length, 'other'); // controls, private use, lone surrogates: still shown
    i += ch.length;
  }
  return tokens;
}

const vocabIndexCache = new WeakMap();
function vocabIndex(vocab) {
  let index = vocabIndexCache.get(vocab);
  if (!index) {
    index = new Map();
    vocab.forEach((w, id) => { if (!index.has(w)) index.set(w, id); });
    vocabIndexCache.set(vocab, index);
  }
  return index;
}

function stripDiacritics(s) { return s.normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC'); }

// Pieces of a token at hyphens, apostrophes, periods, commas, colons and slashes, keeping the
// separators: "covid-19" -> covid - 19 ; "u.s.-led" -> u . s . - led.
function splitPieces(token) {
  const out = [];
  const re = /[^\-\u2010\u2011'\u2019.,:/]+|[\-\u2010\u2011'\u2019.,:/]/gu;
  let m;
  while ((m = re.exec(token.text)) !== null) {
    out.push({ text: m[0], start: token.start + m.index, end: token.start + m.index + m[0].length });
  }
  return out;
}

/**
 * Map tokens to ids of a vocabulary (array of strings in id order). A token whose `norm` is not in
 * the vocabulary is never dropped; it is flagged in `unknown` and mapped, in this order, to:
 *   1. the form without diacritics (café -> cafe), then without periods (u.s. -> us, mr. -> mr);
 *   2. for numbers, "<num>" if the vocabulary has it;
 *   3. its pieces split at - ' . , : / (each separator a piece too), if at least one word piece is
 *      known; unknown pieces become <unk>;
 *   4. the "<unk>" id (or `options.unkId`).
 * @param {{text:string, norm:string, start:number, end:number, kind:string}[]} tokens
 * @param {string[]} vocab
 * @param {{bos?: boolean, bosToken?: string, unkToken?: string}} [options]
 * @returns {{ids: number[], unknown: boolean[], pieces: {token: number, text: string, id: number,
 *   start: number, end: number, unk: boolean}[]}}  `pieces[k]` explains `ids[k]`; `token` is the
 *   index in `tokens` (-1 for <bos>).
 */
export function encode(tokens, vocab, options = {}) {
  const index = vocabIndex(vocab);
  const bosToken = options.bosToken ?? '<bos>';
  const unkToken = options.unkToken ?? '<unk>';
  const unkId = index.get(unkToken);
  if (unkId === undefined) throw new RangeError(`encode: vocabulary has no ${unkToken}`);
  const ids = [];
  const pieces = [];
  const unknown = [];
  if (options.bos) {
    const bosId = index.get(bosToken);
    if (bosId === undefined) throw new RangeError(`encode: vocabulary has no ${bosToken}`);
    ids.push(bosId);
    pieces.push({ token: -1, text: bosToken, id: bosId, start: 0, end: 0, unk: false });
  }
  const add = (t, text, id, start, end, unk) => {
    ids.push(id);
    pieces.push({ token: t, text, id, start, end, unk });
  };
  const lookup = (norm) => {
    let id = index.get(norm);
    if (id !== undefined) return id;
    const plain = stripDiacritics(norm);
    id = index.get(plain);
    if (id !== undefined) return id;
    if (/\p{L}\./u.test(plain) && /^[\p{L}.]+$/u.test(plain)) id = index.get(plain.replace(/\./g, ''));
    return id;
  };
  tokens.forEach((tok, t) => {
    const id = index.get(tok.norm);
    if (id !== undefined) {
      unknown.push(false);
      add(t, tok.norm, id, tok.start, tok.end, false);
      return;
    }
    unknown.push(true);
    const near = lookup(tok.norm);
    if (near !== undefined) { add(t, vocab[near], near, tok.start, tok.end, false); return; }
    if (tok.kind === 'number' && index.has('<num>')) {
      add(t, '<num>', index.get('<num>'), tok.start, tok.end, false);
      return;
    }
    const parts = splitPieces(tok);
    if (parts.length > 1) {
      const found = parts.map((p) => lookup(normalize(p.text)));
      const knownWord = parts.some((p, k) => found[k] !== undefined && /[\p{L}\p{N}]/u.test(p.text));
      if (knownWord) {
        parts.forEach((p, k) => {
          const pid = found[k];
          if (pid !== undefined) add(t, vocab[pid], pid, p.start, p.end, false);
          else if (/^\p{N}/u.test(p.text) && index.has('<num>')) add(t, '<num>', index.get('<num>'), p.start, p.end, false);
          else add(t, unkToken, unkId, p.start, p.end, true);
        });
        return;
      }
    }
    add(t, unkToken, unkId, tok.start, tok.end, true);
  });
  return { ids, unknown, pieces };
}
