// Types for `qkv-attention/element`: importing it defines the <qkv-attention> custom element.
// Browsers only (it extends HTMLElement). Its attributes are strings, read again whenever they
// change; custom-elements.json (the package's manifest) and the README list them with their values.

/** The attributes the element observes. */
export type QkvAttentionAttribute =
  | 'sentence' | 'mode' | 'layer' | 'head' | 'view' | 'query' | 'key' | 'causal' | 'temperature'
  | 'scaling' | 'heads' | 'editable' | 'compact' | 'src';

/** The parsers for every attribute the element observes: name → (attribute value or null) → setting. */
export declare const ATTRIBUTES: Readonly<Record<QkvAttentionAttribute, (value: string | null) => unknown>>;

/** The sentence shown when the element has no `sentence` attribute. */
export declare const DEFAULT_SENTENCE: string;

/** One token as the views show it. */
export interface QkvUnit {
  /** The text as typed (or <bos>). */
  text: string;
  /** The vocabulary entry it was looked up as. */
  vocab: string;
  /** Offsets into the sentence. */
  start: number;
  end: number;
  /** True when the word is not in the vocabulary. */
  unknown: boolean;
}

/** Every number of one head, for n tokens: n×dHead vectors and n×n matrices, row-major. */
export interface QkvHeadNumbers {
  q: Float32Array; k: Float32Array; v: Float32Array;
  /** Raw scores Q·Kᵀ. */
  scores: Float32Array;
  /** Scaled, tempered and masked scores (-Infinity where masked). */
  logits: Float32Array;
  /** Softmax weights α; each row sums to 1 (or is all 0 when every key is masked). */
  weights: Float32Array;
  /** Σ_j α_ij V_j: n×dHead. */
  readonly output: Float32Array;
}

/** What the element shows: the tokens, and every layer's and head's numbers. */
export interface QkvRun {
  mode: 'embeddings' | 'model';
  text: string;
  units: QkvUnit[];
  /** Number of tokens. */
  n: number;
  dHead: number;
  /** The scale applied to the scores (1/√dHead, or 1 without scaling). */
  scale: number;
  knobs: { heads: number; scaling: boolean; temperature: number; causal: boolean };
  layers: { heads: QkvHeadNumbers[] }[];
  /** Model mode: the most probable next words. */
  next: { token: string; id: number; probability: number }[] | null;
  /** Model mode: true when the sentence was longer than the model reads. */
  truncated?: boolean;
}

/** The chosen layer, head, query and key (positions from 0), and the sentence as it is now. */
export interface QkvSelection {
  layer: number;
  head: number;
  query: number | null;
  key: number | null;
  sentence: string;
}

/**
 * `<qkv-attention>`: attention over a sentence, computed in the browser, drawn in a shadow root.
 *
 * Attributes (also the URL parameters of embed.html), each falling back to its default when it cannot
 * be read:
 * - `sentence`: the text (default: {@link DEFAULT_SENTENCE})
 * - `mode`: `embeddings` (GloVe vectors as Q = K = V, the default) or `model` (the trained model's heads)
 * - `layer`, `head`: positions from 1 (default 1)
 * - `view`: `heatmap`, `lines`, `overview`, `step`, several separated by spaces (default `heatmap`)
 * - `query`, `key`: a position from 1 or a word (default: the last token; the query)
 * - `causal`: present, or `false`/`off`/`0` (embeddings mode)
 * - `temperature`: 0.05 … 20 (default 1)
 * - `scaling`: `on`, or `false`/`off`/`0` (default on)
 * - `heads`: 1, 2, 4, 5 or 10 (embeddings mode, default 1)
 * - `editable`, `compact`: present, or `false`
 * - `src`: the URL of the folder holding the package's dist/ and models/ (the package's `assets` option)
 *
 * @fires qkv-select when the learner chooses a query or key (bubbles, composed); `detail` is the selection.
 */
export declare class QkvAttentionElement extends HTMLElement {
  static readonly observedAttributes: QkvAttentionAttribute[];
  /** Resolves once the element has drawn its first views (or shown why it cannot). */
  readonly ready: Promise<void>;
  /** What is shown: tokens and, per layer and head, q, k, v, scores, logits, weights and output; null before the first drawing. */
  readonly run: QkvRun | null;
  /** The chosen layer, head, query and key, and the sentence. */
  readonly selection: QkvSelection;
}

declare global {
  interface HTMLElementTagNameMap {
    'qkv-attention': QkvAttentionElement;
  }
  interface HTMLElementEventMap {
    /** Fired by <qkv-attention> when the learner chooses a query or key (bubbles out of its shadow root). */
    'qkv-select': CustomEvent<QkvSelection>;
  }
}
