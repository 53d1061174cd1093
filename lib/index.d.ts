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

/**
 * The `code` of every error the package throws. TypeError: ERR_QKV_INVALID_ARGUMENT. RangeError:
 * ERR_QKV_OUT_OF_RANGE, ERR_QKV_NON_FINITE, ERR_QKV_OUT_OF_MEMORY. WeightsFormatError: ERR_QKV_FORMAT.
 * AssetError: ERR_QKV_ASSET, ERR_QKV_UNSUPPORTED.
 */
export type QkvErrorCode =
  | 'ERR_QKV_INVALID_ARGUMENT' | 'ERR_QKV_OUT_OF_RANGE' | 'ERR_QKV_NON_FINITE' | 'ERR_QKV_OUT_OF_MEMORY'
  | 'ERR_QKV_FORMAT' | 'ERR_QKV_ASSET' | 'ERR_QKV_UNSUPPORTED';

/** Thrown when a weights file is corrupt, truncated, of another kind, or not a .qkv file. */
export class WeightsFormatError extends Error {
  readonly code: 'ERR_QKV_FORMAT';
}

/**
 * Thrown when a file the package needs (a .wasm build, a model, word vectors) cannot be loaded, or
 * (code ERR_QKV_UNSUPPORTED) when this engine cannot run the requested build.
 */
export class AssetError extends Error {
  readonly code: 'ERR_QKV_ASSET' | 'ERR_QKV_UNSUPPORTED';
  /** The address that failed, when there was one. */
  readonly url: string | null;
}

/** True when this JavaScript engine runs WebAssembly SIMD128. */
export function simdSupported(): boolean;

/** True when this JavaScript engine runs relaxed SIMD (fused multiply-add), which backend 'fma' needs. */
export function relaxedSimdSupported(): boolean;

/**
 * Where the package's files are fetched from, like onnxruntime-web's wasmPaths: the URL of a folder
 * laid out like the package (its dist/*.wasm and models/*.qkv), or one URL per file name
 * ({ 'qkv-simd.wasm': url, 'tiny-lm.qkv': url, … }; a file not named keeps its default). The default
 * is the package's own folder, found from the module (bundlers that understand
 * `new URL(…, import.meta.url)` emit the files by themselves).
 */
export type Assets = string | URL | Readonly<Record<string, string | URL>>;

export interface LoadOptions {
  /** 'auto' (default) picks relaxed SIMD (fused multiply-add) when the engine has it, else SIMD128, else scalar. */
  backend?: 'auto' | 'fma' | 'simd' | 'scalar';
  /** Where the .wasm files are (see {@link Assets}). */
  assets?: Assets;
  /** The .wasm bytes of the chosen backend, when the caller already has them (a module of its own, not shared). */
  wasmBinary?: ArrayBuffer | ArrayBufferView;
}

/**
 * Loads the WebAssembly module (once per backend and location) and resolves to an {@link Attention}
 * instance. Rejects with a TypeError for bad options, an AssetError when the file cannot be loaded
 * or the engine cannot run the build.
 */
export function loadAttention(options?: LoadOptions): Promise<Attention>;

/** Options shared by attention() and multiHeadAttention(). */
export interface MaskAndScaleOptions {
  /** Multiplies Q·Kᵀ; default 1/√dim for 'scaled_dot', 1 for 'dot' and 'additive'. Finite and non-zero as a float32. */
  scale?: number;
  /** Divides the scaled scores before softmax (> 0 as a float32, default 1): < 1 sharpens, > 1 flattens the weights. */
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
  /** Added to the scaled scores before softmax (-Infinity masks; NaN and +Infinity are refused); same shapes as `mask`. */
  additiveMask?: TensorLike;
}

/** Where a result is written: a Tensor (no copy at all) or a Float32Array of the right length. */
export type OutTarget = Tensor | Float32Array;

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
  /**
   * Write results into these instead of new arrays. A target may be an input's own Tensor (the result
   * is computed aside and copied over); two targets may not share memory.
   */
  out?: { output?: OutTarget; weights?: OutTarget; scores?: OutTarget; logits?: OutTarget };
}

export interface AttentionShape {
  batch: number; heads: number; queries: number; keys: number; dim: number; valueDim: number;
}

/** The type of a result: the `out` target given for it (the same object), else a new Float32Array. */
export type Written<Out, K extends string> =
  Out extends { readonly [P in K]: infer T } ? (T extends Tensor ? Tensor : T extends Float32Array ? T : Float32Array) : Float32Array;

type OutOf<O> = O extends { out: infer Out } ? Out : undefined;

/** A result that is there when `Flag` is true, absent when it is false or not given, maybe otherwise. */
type Returned<O, Flag extends string, K extends string> =
  O extends { readonly [P in Flag]: true } ? { [P in K]: Written<OutOf<O>, K> }
  : O extends { readonly [P in Flag]?: false | undefined } ? { [P in K]?: undefined }
  : { [P in K]?: Written<OutOf<O>, K> };

/** What attention() returns for options `O`: `weights` is there when `returnWeights: true`, and so on. */
export type AttentionResult<O extends AttentionOptions = AttentionOptions> = {
  /** Σ_j α_ij V_j: batch×heads×queries×valueDim. */
  output: Written<OutOf<O>, 'output'>;
  shape: AttentionShape;
} & Returned<O, 'returnWeights', 'weights'> & Returned<O, 'returnScores', 'scores'> & Returned<O, 'returnLogits', 'logits'>;

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
  context?: TensorLike | null;
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
  intermediates?: boolean | readonly Intermediate[];
  /** Write results into these (see AttentionOptions.out); a target needs its intermediate asked for. */
  out?: Partial<Record<'output' | Intermediate, OutTarget>>;
}

/** The intermediates options `O` ask for. */
type Asked<O> = O extends { intermediates: true } ? Intermediate
  : O extends { intermediates: readonly (infer I extends Intermediate)[] } ? (Intermediate extends I ? never : I)
  : never;
type MaybeAsked<O> = O extends { intermediates: boolean | readonly Intermediate[] } ? (O extends { intermediates: true | false } ? never : Intermediate) : never;

/** What multiHeadAttention() returns for options `O`: the intermediates asked for are there. */
export type MultiHeadResult<O extends MultiHeadOptions = MultiHeadOptions> = {
  /** concat(heads)·W_O + b_O: batch×length×dModel. */
  output: Written<OutOf<O>, 'output'>;
  shape: { batch: number; heads: number; length: number; contextLength: number; dModel: number; dContext: number; dHead: number };
} & { [K in Asked<O>]: Written<OutOf<O>, K> }
  & { [K in Exclude<MaybeAsked<O>, Asked<O>>]?: Written<OutOf<O>, K> };

/** Option objects may hold only known keys: a misspelt one is a type error here and a TypeError at run time. */
type Exactly<O, Known> = O & { [K in Exclude<keyof O, keyof Known>]: never };

/**
 * A loaded module. Errors are the package's (see {@link QkvErrorCode}): thrown before anything runs,
 * and the module keeps working after one.
 */
export class Attention {
  private constructor();
  /** 'wasm-relaxed-simd', 'wasm-simd128' or 'wasm-scalar'. */
  readonly backend: 'wasm-relaxed-simd' | 'wasm-simd128' | 'wasm-scalar';
  /** Name of the kernel set inside the module. */
  readonly kernels: string;
  /** Bytes of WebAssembly memory the module holds (grows on demand up to 2 GiB). */
  readonly memoryBytes: number;
  /**
   * Scaled dot-product attention: weights = softmax(Q·Kᵀ·scale/temperature + masks), output = weights·V.
   * Results are new Float32Arrays, or the `out` targets given.
   */
  attention<O extends AttentionOptions>(options: Exactly<O, AttentionOptions>): AttentionResult<O>;
  /** Multi-head attention with Q, K, V and output projections; self- or cross-attention. */
  multiHeadAttention<O extends MultiHeadOptions>(options: Exactly<O, MultiHeadOptions>): MultiHeadResult<O>;
  /** A tensor resident in wasm memory, from data or a length (zero-filled). Free it when done. */
  tensor(dataOrLength: TensorLike | number): Tensor;
  /** Frees internal scratch memory; it is regrown on the next call. */
  releaseScratch(): void;
}

/** Float32 data resident in WebAssembly memory: pass it in and out of calls without copying. Made by {@link Attention.tensor}. */
export class Tensor {
  private constructor();
  /** Number of float32 elements. */
  readonly length: number;
  /** A view of the memory; take a new one after any call that may grow memory. */
  readonly array: Float32Array;
  /** True after free(). */
  readonly freed: boolean;
  /** Copies data in, starting at element `offset` (default 0); it must fit. */
  set(data: TensorLike, offset?: number): this;
  /** A copy of the contents. */
  toFloat32Array(): Float32Array;
  /** Returns the memory; using the tensor afterwards throws. */
  free(): void;
}
