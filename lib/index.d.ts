// Type declarations for qkv-attention, written by hand (Emscripten 3.1.6 has no --emit-tsd).
// Shapes are row-major and batched as [batch][heads][rows][cols].

/** Numbers the package accepts as a tensor. Float32Array and Tensor are used as they are; other forms are copied. */
export type TensorLike = Float32Array | Float64Array | number[] | Tensor;

/** How a query is scored against a key. */
export type Scoring =
  /** score = q·k */
  | 'dot'
  /** score = q·k, scaled by 1/√dim (the default) */
  | 'scaled_dot'
  /** score = vaᵀ·tanh(q·Wq + k·Wk) (Bahdanau) */
  | 'additive';

import type { Token, Piece } from './tokenizer.js';
export type { Token, Piece } from './tokenizer.js';

/** Splits English text into tokens with offsets (see qkv-attention/tokenizer). */
export function tokenize(text: string): Token[];
/** Maps tokens to vocabulary ids, splitting or flagging unknown words (see qkv-attention/tokenizer). */
export function encode(tokens: Token[], vocab: string[], options?: { bos?: boolean; bosToken?: string; unkToken?: string; unkId?: number }):
  { ids: number[]; unknown: boolean[]; pieces: Piece[] };

/** Thrown when a weights file is corrupt, truncated, of another kind, or not a .qkv file. `code` is 'ERR_QKV_FORMAT'. */
export class WeightsFormatError extends Error {
  readonly code: 'ERR_QKV_FORMAT';
}

/** True when this JavaScript engine runs WebAssembly SIMD128. */
export function simdSupported(): boolean;

export interface LoadOptions {
  /** 'auto' (default) picks SIMD when the engine has it, else scalar. */
  backend?: 'auto' | 'simd' | 'scalar';
  /** Where to fetch the .wasm from (for bundlers and CDNs); the default is next to the module. */
  wasmUrl?: string | URL;
  /** The .wasm bytes, when the caller already has them. */
  wasmBinary?: ArrayBuffer | Uint8Array;
}

/**
 * Loads the WebAssembly module (once per backend) and resolves to an {@link Attention} instance.
 * @throws TypeError for bad options; rejects when the wasm cannot be loaded or SIMD is forced but missing.
 */
export function loadAttention(options?: LoadOptions): Promise<Attention>;

/** Options shared by attention() and multiHeadAttention(). */
export interface MaskAndScaleOptions {
  /** Multiplies Q·Kᵀ; default 1/√dim for 'scaled_dot', 1 for 'dot' and 'additive'. Finite and non-zero. */
  scale?: number;
  /** Divides the scaled scores before softmax (> 0, default 1): < 1 sharpens, > 1 flattens the weights. */
  temperature?: number;
  /** Query i may attend only to keys j ≤ i (top-left aligned, as PyTorch's is_causal). */
  causal?: boolean;
  /** Per batch item, how many keys are real; keys at or past the length are masked (padding). */
  keyLengths?: Int32Array | number[];
  /**
   * Which keys each query may attend to (true / nonzero = may attend): queries×keys entries shared by
   * every batch item and head, or batch×heads×queries×keys.
   */
  mask?: Uint8Array | boolean[] | number[];
  /** Added to the scaled scores before softmax (-Infinity masks); same shapes as `mask`. */
  additiveMask?: TensorLike;
}

export interface AttentionOptions extends MaskAndScaleOptions {
  /** Queries: batch×heads×queries×dim. */
  q: TensorLike;
  /** Keys: batch×heads×keys×dim. */
  k: TensorLike;
  /** Values: batch×heads×keys×valueDim. */
  v: TensorLike;
  /** Length of each query and key vector. Inferred from q when `queries` is given. */
  dim?: number;
  /** Number of query rows. Inferred from q when `dim` is given. */
  queries?: number;
  /** Number of keys. Inferred from k. */
  keys?: number;
  /** Length of each value vector. Inferred from v. */
  valueDim?: number;
  /** Independent attention problems per batch item (default 1). */
  heads?: number;
  /** Batch size (default 1). */
  batch?: number;
  /** Scoring function (default 'scaled_dot'). */
  scoring?: Scoring;
  /** Weights for scoring 'additive': wq and wk are dim×additiveDim, va is additiveDim. */
  additive?: { wq: TensorLike; wk: TensorLike; va: TensorLike };
  /** Also return the softmax weights α (batch×heads×queries×keys). */
  returnWeights?: boolean;
  /** Also return the raw scores Q·Kᵀ (or the additive scores), before scale, temperature and masks. */
  returnScores?: boolean;
  /** Also return the logits: scores × scale / temperature with masks applied (-Infinity where masked). */
  returnLogits?: boolean;
  /** Write results into these instead of new arrays (Tensors: no copy at all). */
  out?: { output?: Tensor | Float32Array; weights?: Tensor | Float32Array; scores?: Tensor | Float32Array; logits?: Tensor | Float32Array };
}

export interface AttentionShape {
  batch: number; heads: number; queries: number; keys: number; dim: number; valueDim: number;
}

export interface AttentionResult {
  /** Σ_j α_ij V_j: batch×heads×queries×valueDim. */
  output: Float32Array | Tensor;
  /** α: batch×heads×queries×keys, each row sums to 1 (all 0 when every key of the row is masked). */
  weights?: Float32Array | Tensor;
  scores?: Float32Array | Tensor;
  logits?: Float32Array | Tensor;
  shape: AttentionShape;
}

/** Projection weights, stored [in][out] and used as X·W + b (the course's Q = X·W_Q). */
export interface MultiHeadParams {
  /** dModel×dModel */
  wq: TensorLike;
  /** dContext×dModel (dContext = dModel for self-attention) */
  wk: TensorLike;
  /** dContext×dModel */
  wv: TensorLike;
  /** dModel×dModel */
  wo: TensorLike;
  bq?: TensorLike; bk?: TensorLike; bv?: TensorLike; bo?: TensorLike;
}

export type Intermediate = 'q' | 'k' | 'v' | 'scores' | 'logits' | 'weights' | 'headOutputs' | 'concat';

export interface MultiHeadOptions extends MaskAndScaleOptions {
  /** Input sequence: batch×length×dModel. */
  x: TensorLike;
  /** Keys and values come from this sequence (cross-attention): batch×contextLength×dContext. Default: x. */
  context?: TensorLike;
  params: MultiHeadParams;
  /** Number of heads; must divide dModel. Default 1. */
  heads?: number;
  batch?: number;
  /** Model width; inferred from params.wq. */
  dModel?: number;
  /** Sequence length; inferred from x. */
  length?: number;
  /** Context width; inferred from params.wk. */
  dContext?: number;
  /** Context length; inferred from context. */
  contextLength?: number;
  /** 'dot' or 'scaled_dot' (default; scale 1/√dHead). */
  scoring?: 'dot' | 'scaled_dot';
  /** Which intermediates to return: true for all. */
  intermediates?: boolean | Intermediate[];
  out?: Partial<Record<'output' | Intermediate, Tensor | Float32Array>>;
}

export interface MultiHeadResult {
  /** concat(heads)·W_O + b_O: batch×length×dModel. */
  output: Float32Array | Tensor;
  /** Per-head queries: batch×heads×length×dHead. */
  q?: Float32Array | Tensor;
  /** Per-head keys: batch×heads×contextLength×dHead. */
  k?: Float32Array | Tensor;
  /** Per-head values: batch×heads×contextLength×dHead. */
  v?: Float32Array | Tensor;
  /** Raw scores Q_h·K_hᵀ: batch×heads×length×contextLength. */
  scores?: Float32Array | Tensor;
  /** Scaled, tempered, masked scores. */
  logits?: Float32Array | Tensor;
  /** Softmax weights per head. */
  weights?: Float32Array | Tensor;
  /** Each head's Σ_j α_ij V_j: batch×heads×length×dHead. */
  headOutputs?: Float32Array | Tensor;
  /** The heads side by side, before W_O: batch×length×dModel. */
  concat?: Float32Array | Tensor;
  shape: { batch: number; heads: number; length: number; contextLength: number; dModel: number; dContext: number; dHead: number };
}

/** A loaded module. Errors are thrown as TypeError (wrong type or option) or RangeError (wrong size or value, out of memory, non-finite input), with `code` set when the core reported them. */
export class Attention {
  private constructor();
  /** 'wasm-simd128' or 'wasm-scalar'. */
  readonly backend: 'wasm-simd128' | 'wasm-scalar';
  /** Name of the kernel set inside the module. */
  readonly kernels: string;
  /** Bytes of WebAssembly memory the module holds (grows on demand up to 2 GiB). */
  readonly memoryBytes: number;
  /** Scaled dot-product attention: weights = softmax(Q·Kᵀ·scale/temperature + masks), output = weights·V. */
  attention(options: AttentionOptions): AttentionResult;
  /** Multi-head attention with Q, K, V and output projections; self- or cross-attention. */
  multiHeadAttention(options: MultiHeadOptions): MultiHeadResult;
  /** A tensor resident in wasm memory, from data or a length (zero-filled). Free it when done. */
  tensor(dataOrLength: TensorLike | number): Tensor;
  /** Frees internal scratch memory; it is regrown on the next call. */
  releaseScratch(): void;
  /**
   * Loads a trained model: the bundled one (models/tiny-lm.qkv) by default, or a URL, a path (Node) or
   * the file's bytes. Rejects with {@link WeightsFormatError} for a corrupt, truncated or foreign file.
   */
  loadModel(source?: string | URL | ArrayBuffer | Uint8Array, options?: LoadWeightsOptions): Promise<Model>;
  /** Loads a word-vector table: the bundled GloVe cut (models/glove-10k.qkv) by default. */
  loadEmbeddings(source?: string | URL | ArrayBuffer | Uint8Array, options?: LoadWeightsOptions): Promise<Embeddings>;
}

export interface LoadWeightsOptions {
  /** Called while the file downloads (browsers): bytes so far and the total (0 when unknown). */
  onProgress?: (loaded: number, total: number) => void;
}

/** Word vectors (GloVe 6B 100d, int8 per-row scaled). */
export interface Embeddings {
  readonly dim: number;
  readonly vocab: string[];
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

/**
 * Scores of one head on one input (each a mean weight in [0, 1], null where no query qualifies) and
 * the label a teacher can read. previous: on the token before; start: on <bos>; self: on itself;
 * punctuation: on earlier punctuation; duplicate: on earlier copies of the same token; induction: on
 * the tokens that followed earlier copies; entropy: 1 = spread evenly, 0 = one key.
 */
export interface HeadPattern {
  previous: number | null;
  start: number | null;
  self: number | null;
  punctuation: number | null;
  duplicate: number | null;
  induction: number | null;
  entropy: number | null;
  /** The kind with the highest score if it reaches 0.4, else 'broad' (entropy ≥ 0.75) or 'mixed'. */
  label: 'previous' | 'start' | 'self' | 'punctuation' | 'duplicate' | 'induction' | 'broad' | 'mixed';
}

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
  /** How many pieces were left out by { truncate: true } (0 when none). */
  leftOut: number;
  dHead: number;
  /** Per layer: its heads, and each head's smear weight where the layer smears its keys (else null). */
  layers: { heads: ModelHead[]; smear: number[] | null }[];
  /** Next-token logits after the last piece: vocab_size. */
  nextLogits: Float32Array;
  /**
   * The most probable next tokens (special tokens and byte pieces left out). `text`: the piece as read,
   * without the word-start mark "▁"; `startsWord`: the piece begins a new word.
   */
  next: { token: string; id: number; probability: number; text: string; startsWord: boolean }[];
}

/** A small causal transformer run by the core. */
export interface Model {
  readonly config: { vocab_size: number; d_model: number; n_layers: number; n_heads: number; d_ff: number; max_positions: number; norm_eps?: number; [key: string]: unknown };
  readonly vocab: string[];
  readonly provenance: Record<string, unknown> | null;
  /** Per layer: each head's smear weight where the layer smears its keys, else null. */
  readonly smear: (number[] | null)[];
  /** The pieces and ids the model would read for `text` (words: tokenize(text)). */
  encode(text: string): { tokens: Piece[]; ids: number[]; unknown: boolean[]; wordUnknown: boolean[]; words: Token[] };
  /**
   * Runs the forward pass. Throws RangeError for text longer than max_positions − 1 tokens unless `truncate`.
   * `reuse`: an earlier result of this model's run() that you no longer need; its arrays are
   * overwritten with this run's numbers instead of allocating new ones (for a typing loop).
   */
  run(text: string, options?: { topK?: number; truncate?: boolean; reuse?: ModelRun | null }): ModelRun;
  /** Returns the model's wasm memory; using it afterwards throws. */
  free(): void;
}

/**
 * The scores of one head on one input, from its n×n causal weights (row-major), the token ids
 * (ids[0] = <bos>) and which ids are punctuation. model.run computes them for every head; this is for
 * attention from elsewhere. `label` is not set: call {@link headLabel}.
 */
export function headScores(weights: ArrayLike<number>, n: number, ids: ArrayLike<number>, punct: ArrayLike<number | boolean>): Omit<HeadPattern, 'label'>;
/** The name of a head from its scores (threshold 0.4 on the best kind; else broad or mixed). */
export function headLabel(scores: Omit<HeadPattern, 'label'>, threshold?: number, broad?: number): HeadPattern['label'];
/** What a learner reads for each label ('previous' → 'previous token', …). */
export const HEAD_LABELS: Record<HeadPattern['label'], string>;

/** Float32 data resident in WebAssembly memory: pass it in and out of calls without copying. */
export class Tensor {
  private constructor();
  /** Number of float32 elements. */
  readonly length: number;
  /** A view of the memory; take a new one after any call that may grow memory. */
  readonly array: Float32Array;
  /** True after free(). */
  readonly freed: boolean;
  /** Copies data in, starting at offset. */
  set(data: Float32Array | Float64Array | number[], offset?: number): this;
  /** A copy of the contents. */
  toFloat32Array(): Float32Array;
  /** Returns the memory; using the tensor afterwards throws. */
  free(): void;
}
