// Subword pieces for the trained model: a unigram vocabulary (trained by SentencePiece in
// scripts/model/train_pieces.py) and the Viterbi segmentation that cuts each word of tokenize()
// into the most probable sequence of pieces, with a byte fallback so that no input is unknown.
//
// Why our own and not sentencepiece-js: the package needs ~60 lines of segmentation, not a 1 MB
// protobuf/wasm runtime, and it must return every piece's offsets in the user's text. The search
// below is SentencePiece's own (unigram_model.cc, EncodeOptimized): positions left to right,
// candidate pieces shortest first, a candidate replaces the best path only when strictly better
// (so ties go the same way), and a character no single piece covers becomes an unknown node scored
// min_score − 10, which byte fallback then writes as the UTF-8 bytes of that character.
// tests/js/pieces.test.js checks it against SentencePiece itself on corpus text.

/** SentencePiece's word-start mark: every word's first piece begins with it. */
export const WORD_START = '\u2581';
const UNK_PENALTY = 10;
const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

/** Whether a vocabulary entry is one of the 256 byte pieces "<0x00>" … "<0xFF>" (byte fallback). */
export const isBytePiece = (piece) => BYTE_PIECE.test(piece);
const encoder = new TextEncoder();

export class PieceVocabulary {
  #index = new Map(); // piece text → id, normal pieces only
  #scores;
  #bytes; // byte value → id of its "<0xHH>" piece
  #maxLength = 1; // in code points
  #unkScore;

  /**
   * @param {string[]} vocab  every entry in id order ("<bos>", "<unk>", "<0x00>" … "<0xFF>", pieces)
   * @param {ArrayLike<number>} scores  the unigram log-probability of each entry (0 for specials)
   */
  constructor(vocab, scores) {
    if (!Array.isArray(vocab) || !scores || scores.length !== vocab.length) {
      throw new TypeError('PieceVocabulary: needs the vocabulary and one score per entry');
    }
    this.vocab = vocab;
    this.#scores = Float64Array.from(scores);
    this.#bytes = new Int32Array(256).fill(-1);
    let min = Infinity;
    vocab.forEach((piece, id) => {
      const byte = BYTE_PIECE.exec(piece);
      if (byte) this.#bytes[parseInt(byte[1], 16)] = id;
      else if (!/^<[a-z]+>$/.test(piece)) {
        if (!this.#index.has(piece)) this.#index.set(piece, id);
        this.#maxLength = Math.max(this.#maxLength, [...piece].length);
        min = Math.min(min, this.#scores[id]);
      }
    });
    const missing = this.#bytes.indexOf(-1);
    if (missing >= 0) throw new RangeError(`PieceVocabulary: byte piece <0x${missing.toString(16).toUpperCase().padStart(2, '0')}> is missing`);
    this.#unkScore = (Number.isFinite(min) ? min : 0) - UNK_PENALTY;
  }

  /**
   * The pieces of one word (a token's `norm`), each with its UTF-16 span in `WORD_START + word`
   * (the mark is offset 0, so the word's own characters start at 1).
   * @returns {{id: number, text: string, start: number, end: number}[]}
   */
  segment(word) {
    const s = WORD_START + word;
    const starts = [0]; // UTF-16 offset of each code point, and the end
    for (let i = 0; i < s.length;) { i += s.codePointAt(i) > 0xffff ? 2 : 1; starts.push(i); }
    const n = starts.length - 1;
    const best = new Float64Array(n + 1).fill(-Infinity);
    const from = new Int32Array(n + 1).fill(-1);
    const via = new Int32Array(n + 1).fill(-1); // id, or -1 for an unknown character
    best[0] = 0;
    for (let i = 0; i < n; ++i) {
      if (best[i] === -Infinity) continue;
      let single = false;
      for (let len = 1; len <= this.#maxLength && i + len <= n; ++len) {
        const id = this.#index.get(s.slice(starts[i], starts[i + len]));
        if (id === undefined) continue;
        if (len === 1) single = true;
        const score = best[i] + this.#scores[id];
        if (from[i + len] < 0 || score > best[i + len]) { best[i + len] = score; from[i + len] = i; via[i + len] = id; }
      }
      if (!single) {
        const score = best[i] + this.#unkScore;
        if (from[i + 1] < 0 || score > best[i + 1]) { best[i + 1] = score; from[i + 1] = i; via[i + 1] = -1; }
      }
    }
    const out = [];
    for (let j = n; j > 0; j = from[j]) {
      const a = starts[from[j]], b = starts[j], id = via[j];
      if (id >= 0) { out.push({ id, text: this.vocab[id], start: a, end: b }); continue; }
      const bytes = encoder.encode(s.slice(a, b));
      for (let k = bytes.length - 1; k >= 0; --k) {
        const bid = this.#bytes[bytes[k]];
        out.push({ id: bid, text: this.vocab[bid], start: a, end: b });
      }
    }
    return out.reverse();
  }
}

/**
 * The pieces of tokenize()'s words, after a <bos> piece: what the model reads. Each piece has
 * `token`, the index of its word (−1 for <bos>), and its span of the text: a word's byte pieces share
 * the span of the character they spell, a lone word-start piece "▁" has an empty span at its word,
 * and where normalising changed a word's length (… for ...) spans are spread over it in proportion.
 * @returns {{token: number, text: string, id: number, start: number, end: number, unk: false}[]}
 */
export function encodePieces(words, vocabulary, bosId) {
  const out = [{ token: -1, text: vocabulary.vocab[bosId], id: bosId, start: 0, end: 0, unk: false }];
  words.forEach((word, t) => {
    const len = word.norm.length, span = word.end - word.start;
    const at = (p) => word.start + (len === span ? p : Math.round((p * span) / Math.max(1, len)));
    for (const p of vocabulary.segment(word.norm)) {
      // offsets in WORD_START + norm: the mark is offset 0, the word's characters start at 1
      out.push({ token: t, text: p.text, id: p.id, start: at(Math.max(0, p.start - 1)), end: at(p.end - 1), unk: false });
    }
  });
  return out;
}
