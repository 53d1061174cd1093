// Types for `qkv-attention/model`: the trained model and the word vectors (an entry of its own, so
// that an application using only attention() carries no weight files).
import type { Attention, Assets, Piece, Token } from './index.js';
export { WeightsFormatError } from './index.js';

/** Where a weights file comes from: a URL, a path (Node), or the file's bytes. */
export type WeightsSource = string | URL | ArrayBuffer | Uint8Array;

export interface LoadWeightsOptions {
  /** Where the package's files are (see {@link Assets}): moves the default file, not a `source` given. */
  assets?: Assets;
  /** Called while the file downloads (browsers): bytes so far and the total (0 when unknown). */
  onProgress?: (loaded: number, total: number) => void;
}

export interface LoadModelOptions extends LoadWeightsOptions {
  /** The loaded module that runs the model; default: loadAttention({ backend, assets }). */
  attention?: Attention;
  /** The backend to load when `attention` is not given. */
  backend?: 'auto' | 'simd' | 'scalar';
}

/**
 * Loads the trained model: the package's models/tiny-lm.qkv by default. Rejects with a
 * WeightsFormatError for a corrupt, truncated or foreign file, an AssetError when it cannot be read.
 */
export function loadModel(source?: WeightsSource, options?: LoadModelOptions): Promise<Model>;

/** Loads a word-vector table: the package's models/glove-10k.qkv (GloVe 6B 100d, 10k words) by default. No WebAssembly needed. */
export function loadEmbeddings(source?: WeightsSource, options?: LoadWeightsOptions): Promise<Embeddings>;

/** Word vectors (GloVe 6B 100d, int8 per-row scaled). */
export class Embeddings {
  private constructor();
  readonly dim: number;
  readonly vocab: string[];
  /** Where the vectors come from, as the file says. */
  readonly source: unknown;
  /** The vector of vocabulary entry `id` (a view; do not modify). */
  vector(id: number): Float32Array;
  /**
   * Tokenizes text (or takes tokenize()'s tokens) and returns each piece's vector: pieces×dim.
   * `unknown[t]`: word t is not in the table; `estimated[i]`: piece i had no vector of its own and got
   * the mean of its subword pieces' vectors ({@link Embeddings.estimate}).
   */
  lookup(textOrTokens: string | Token[]): { tokens: Piece[]; ids: Int32Array; unknown: boolean[]; estimated: boolean[]; vectors: Float32Array };
  /** A vector for a word the table lacks (as tokenize() normalises it), from its subword pieces; null when the file has no such fallback. */
  estimate(norm: string): Float32Array | null;
}

/** One head's attention in one layer for an input of n tokens (n includes <bos>). */
export interface ModelHead {
  /** n×dHead */
  q: Float32Array;
  /** n×dHead */
  k: Float32Array;
  /** n×dHead */
  v: Float32Array;
  /** n×n raw scores Q·Kᵀ */
  scores: Float32Array;
  /** n×n scores/√dHead with the causal mask (-Infinity above the diagonal) */
  logits: Float32Array;
  /** n×n softmax weights; row i sums to 1 over keys 0…i */
  weights: Float32Array;
  /**
   * In a layer that smears its keys: this head's weight s of each key against the key before it
   * (the scores use s·key_j + (1 − s)·key_{j−1}; `k` holds those smeared keys). null otherwise.
   */
  smear: number | null;
  /** What the head does on this input, and its name (see {@link HeadPattern}). */
  pattern: HeadPattern;
}

/** The kinds of head a score is kept for, and the labels. */
export type HeadKind = 'previous' | 'start' | 'self' | 'punctuation' | 'duplicate' | 'induction';
export type HeadLabel = HeadKind | 'broad' | 'mixed';

/**
 * What one head does on one input: each score a mean weight in [0, 1], null where no query qualifies.
 * previous: on the token before; start: on <bos>; self: on itself; punctuation: on earlier
 * punctuation; duplicate: on earlier copies of the same token; induction: on the tokens that followed
 * earlier copies; entropy: 1 = spread evenly, 0 = all on one key.
 */
export interface HeadScores {
  previous: number | null;
  start: number | null;
  self: number | null;
  punctuation: number | null;
  duplicate: number | null;
  induction: number | null;
  entropy: number | null;
}

/** {@link HeadScores} and the head's name: the best kind if it reaches 0.4, else 'broad' (entropy ≥ 0.75) or 'mixed'. */
export interface HeadPattern extends HeadScores {
  label: HeadLabel;
}

/**
 * The scores of one head from its n×n causal weights (row-major), the token ids (ids[0] = <bos>) and
 * which ids are punctuation. model.run computes them for every head; this is for attention from elsewhere.
 */
export function headScores(weights: ArrayLike<number>, n: number, ids: ArrayLike<number>, punct: ArrayLike<number | boolean>): HeadScores;
/**
 * Whether a vocabulary entry (or a token's text) counts as punctuation for headScores(): without its
 * word-start mark "▁", one or more Unicode punctuation characters. For the `punct` of attention
 * from elsewhere.
 */
export function isPunctuationPiece(piece: string): boolean;
/** Whether a vocabulary entry is one of the 256 byte pieces "<0x00>" … "<0xFF>" a character without a piece of its own is spelled in. */
export function isBytePiece(piece: string): boolean;
/** The name of a head from its scores. */
export function headLabel(scores: HeadScores, threshold?: number, broad?: number): HeadLabel;
/** What a learner reads for each label ('previous' → 'previous token', …). */
export const HEAD_LABELS: Record<HeadLabel, string>;
/** The kinds headScores() scores, in the order a label is chosen among them. */
export const HEAD_KINDS: readonly HeadKind[];

export interface ModelRun {
  /** The pieces the model read: <bos> first; `token` of each is the index of its word in `words`. */
  tokens: Piece[];
  /** tokenize(text): the words the pieces were cut from. */
  words: Token[];
  ids: Int32Array;
  /** Per piece: true when it is the <unk> fallback. */
  unknown: boolean[];
  /** True when the text was longer than the model reads and was cut ({ truncate: true }). */
  truncated: boolean;
  /** How many pieces { truncate: true } left out (0 when none). */
  leftOut: number;
  dHead: number;
  /** Per layer: its heads, and each head's smear weight where the layer smears its keys (else null). */
  layers: { heads: ModelHead[]; smear: number[] | null }[];
  /** Next-token logits after the last piece: vocab_size. */
  nextLogits: Float32Array;
  /**
   * The most probable next pieces (special tokens and byte pieces left out). `text`: the piece as
   * read, without the word-start mark "▁"; `startsWord`: the piece begins a new word.
   */
  next: { token: string; id: number; probability: number; text: string; startsWord: boolean }[];
}

export interface RunOptions {
  /** How many next-token predictions (default 5). */
  topK?: number;
  /** Keep the first max_positions − 1 tokens of a longer text instead of throwing a RangeError. */
  truncate?: boolean;
  /**
   * An earlier result of this model's run() that you no longer need: its arrays are overwritten with
   * this run's numbers instead of allocating new ones (for a typing loop).
   */
  reuse?: ModelRun | null;
}

/** A small causal transformer run by the core. */
export class Model {
  private constructor();
  readonly config: { vocab_size: number; d_model: number; n_layers: number; n_heads: number; d_ff: number; max_positions: number; norm_eps?: number; [key: string]: unknown };
  readonly vocab: string[];
  readonly provenance: Record<string, unknown> | null;
  /** Per layer: each head's smear weight where the layer smears its keys, else null. */
  readonly smear: (number[] | null)[];
  /** The pieces and ids the model would read for `text` (words: tokenize(text)). */
  encode(text: string): { tokens: Piece[]; ids: number[]; unknown: boolean[]; wordUnknown: boolean[]; words: Token[] };
  /** Runs the forward pass: every layer's and head's attention, and the next-word predictions. */
  run(text: string, options?: RunOptions): ModelRun;
  /** Returns the model's wasm memory; using it afterwards throws. */
  free(): void;
}
