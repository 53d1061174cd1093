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
  /** Tokenizes text (or takes tokenize()'s tokens) and returns each piece's vector: pieces×dim. */
  lookup(textOrTokens: string | Token[]): { tokens: Piece[]; ids: Int32Array; unknown: boolean[]; vectors: Float32Array };
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
}

export interface ModelRun {
  /** The pieces the model read: <bos> first. */
  tokens: Piece[];
  ids: Int32Array;
  /** Per piece: true when it is the <unk> fallback. */
  unknown: boolean[];
  /** True when the text was longer than the model reads and was cut ({ truncate: true }). */
  truncated: boolean;
  dHead: number;
  layers: { heads: ModelHead[] }[];
  /** Next-token logits after the last piece: vocab_size. */
  nextLogits: Float32Array;
  /** The most probable next tokens (special tokens left out). */
  next: { token: string; id: number; probability: number }[];
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
  /** The pieces and ids the model would read for `text`. */
  encode(text: string): { tokens: Piece[]; ids: number[]; unknown: boolean[]; wordUnknown: boolean[] };
  /** Runs the forward pass: every layer's and head's attention, and the next-word predictions. */
  run(text: string, options?: RunOptions): ModelRun;
  /** Returns the model's wasm memory; using it afterwards throws. */
  free(): void;
}
