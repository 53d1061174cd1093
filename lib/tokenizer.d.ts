// Types for qkv-attention/tokenizer (also re-exported from the package root).

/** One token of the input text. */
export interface Token {
  /** The original slice of the input. */
  text: string;
  /** Lowercased, normalised form used to look the token up. */
  norm: string;
  /** UTF-16 offset of the first character in the input. */
  start: number;
  /** UTF-16 offset just past the last character. */
  end: number;
  kind: 'word' | 'number' | 'punct' | 'symbol' | 'other';
}

/** One vocabulary entry chosen for (part of) a token. */
export interface Piece {
  /** Index of the token in tokenize()'s result; -1 for <bos>. */
  token: number;
  /** The vocabulary entry. */
  text: string;
  id: number;
  start: number;
  end: number;
  /** True when this piece is the <unk> fallback. */
  unk: boolean;
}

export const MAX_TOKEN_LENGTH: number;

/** Lowercased, NFC, ASCII quotes and apostrophes, dashes as "-". */
export function normalize(text: string): string;

/** Splits English text into words, numbers, punctuation and symbols with their offsets (GloVe/PTB conventions: "don't" → "do" "n't"). */
export function tokenize(text: string): Token[];

/**
 * Maps tokens to vocabulary ids. A word the vocabulary lacks is never dropped: it is split into known
 * pieces where it can be, else it becomes <unk>, and `unknown` flags it.
 */
export function encode(tokens: Token[], vocab: string[], options?: { bos?: boolean; bosToken?: string; unkToken?: string; unkId?: number }):
  { ids: number[]; unknown: boolean[]; pieces: Piece[] };
