// Types for `qkv-attention/element`: importing it defines the <qkv-attention> custom element.
// Browsers only (it extends HTMLElement). Its attributes are strings, read again whenever they
// change; custom-elements.json (the package's manifest) and the README list them with their values.

/** The attributes the element observes (also embed.html's URL parameters). */
export type QkvAttentionAttribute =
  | 'sentence' | 'context' | 'mode' | 'layer' | 'head' | 'view' | 'query' | 'key' | 'causal' | 'temperature'
  | 'scaling' | 'heads' | 'stage' | 'editable' | 'compact' | 'src' | 'lesson' | 'step' | 'attention';

/** The parsers for every attribute the element observes: name → (attribute value or null) → setting. */
export declare const ATTRIBUTES: Readonly<Record<QkvAttentionAttribute, (value: string | null) => unknown>>;

/** The sentence shown when the element has no `sentence` attribute. */
export declare const DEFAULT_SENTENCE: string;

/** The views, in the order `view` may list them. */
export declare const VIEW_NAMES: readonly ['heatmap', 'lines', 'overview', 'next', 'step'];
export type QkvView = typeof VIEW_NAMES[number];

/** The stages of the computation a lesson step (or `stage`) can highlight, with their names on screen. */
export declare const STAGES: Readonly<Record<QkvStage, string>>;
export type QkvStage = 'vectors' | 'scores' | 'scaling' | 'mask' | 'softmax' | 'output' | 'heads';

/**
 * What a head can be named by in a lesson (`"head": "induction"`), with the words a learner reads: the
 * kinds the package's headScores() scores. The element shows the head that scores highest on the
 * step's sentence.
 */
export declare const PATTERNS: Readonly<Record<QkvPattern, string>>;
export type QkvPattern = 'previous' | 'start' | 'self' | 'punctuation' | 'duplicate' | 'induction';

/**
 * What one head does on the sentence shown (the package's headScores() and headLabel(), see
 * `qkv-attention/model`): each score a mean weight from 0 to 1 (null where no query qualifies), the
 * entropy (1: spread evenly) and the head's name.
 */
export interface QkvHeadPattern {
  previous: number | null; start: number | null; self: number | null; punctuation: number | null;
  duplicate: number | null; induction: number | null; entropy: number | null;
  label: QkvPattern | 'broad' | 'mixed';
}

/** A lesson that cannot be read; the message names the step (from 1) and the field. */
export declare class LessonError extends Error {}
/** An attention file that cannot be shown; the message says where and why. */
export declare class AttentionFileError extends Error {}

/** The knobs of the computation. */
export interface QkvKnobs {
  heads: number;
  scaling: boolean;
  temperature: number;
  causal: boolean;
}

/** The element's state; positions (layer, head, query, key, step) count from 0. */
export interface QkvState {
  text: string;
  /** The second text (cross-attention: its tokens are the keys and values), or null. */
  context: string | null;
  /** 'given': attention loaded from a file. */
  mode: 'embeddings' | 'model' | 'given';
  layer: number;
  head: number;
  knobs: QkvKnobs;
  query: number | null;
  key: number | null;
  /** Lines per query in the lines view (0: all, null: automatic). */
  topK: number | null;
  stage: QkvStage | null;
  /** The lesson step shown, or null without a lesson. */
  step: number | null;
}

/**
 * A change for setState: any part of the state; `head` may name a pattern, and `query`/`key` a word or
 * a place in the text (`{ at }`: the token covering that UTF-16 offset, in either source).
 */
export interface QkvStatePatch extends Partial<Omit<QkvState, 'knobs' | 'head' | 'query' | 'key'>> {
  knobs?: Partial<QkvKnobs>;
  head?: number | QkvPattern;
  query?: number | string | { at: number } | null;
  key?: number | string | { at: number } | null;
}

/** A token as the views show it. */
export interface QkvUnit {
  /** The text as typed (or <bos>). */
  text: string;
  /** The vocabulary entry it was looked up as. */
  vocab: string;
  /** Where it is in the sentence (UTF-16 offsets). */
  start: number;
  end: number;
  /** Word vectors: true when the word has no vector at all (it shares the <unk> one). */
  unknown: boolean;
  /** Word vectors: true when the word is not among GloVe's and its vector was estimated from its pieces. */
  estimated: boolean;
  /** The index of the word this token is (a piece of), −1 for <bos>. */
  word: number;
  /** A piece of the same word comes before / after it (the views write "home·work"). */
  joinBefore: boolean;
  joinAfter: boolean;
  /** For one of the UTF-8 bytes the model reads of a character it has no piece for: [which, how many]. */
  byte: [number, number] | null;
}

/**
 * One head's numbers, row-major: the n queries' q (n×dHead), the m keys' k and v (m×dHead), and n×m
 * matrices. Null where a file gave only weights.
 */
export interface QkvHead {
  q: Float32Array | null;
  k: Float32Array | null;
  v: Float32Array | null;
  /** Raw scores Q·Kᵀ. */
  scores: Float32Array | null;
  /** Scaled, tempered and masked scores (-Infinity where masked). */
  logits: Float32Array | null;
  /** Softmax weights α; each row sums to 1 (or is all 0 when every key is masked). */
  weights: Float32Array;
  /** Σ_j α_ij V_j: n×dHead. */
  readonly output: Float32Array | null;
  /** Model mode, in a layer that smears its keys: σ, each key's own share (the rest is the previous key's). */
  smear?: number | null;
  /** Model mode: what the head does on this sentence (other runs: computed on demand, see PATTERNS). */
  pattern?: QkvHeadPattern;
}

/** What is shown: n queries × m keys, per layer and head. */
export interface QkvRun {
  mode: 'embeddings' | 'model' | 'given';
  text: string;
  units: QkvUnit[];
  keyUnits: QkvUnit[];
  n: number;
  m: number;
  dHead: number;
  knobs: QkvKnobs;
  scale: number;
  layers: { heads: QkvHead[]; smear?: number[] | null }[];
  /** Model mode: the most probable next pieces (`text` without the word-start mark; `startsWord`). */
  next: { token: string; id: number; probability: number; text?: string; startsWord?: boolean }[] | null;
  /** Tokens past the most computed (model mode: the model's context; else 256), not shown. */
  leftOut: number;
}

export interface QkvModelStatus {
  status: 'idle' | 'loading' | 'ready' | 'unavailable';
  fraction: number | null;
  error: Error | null;
  config: Record<string, unknown> | null;
  /** Where the run shown was computed: 'main thread', or 'worker' (a long sentence, off the main thread). */
  where: 'main thread' | 'worker';
}

/** The chosen layer, head, query and key (positions from 0), and the sentence as it is now. */
export interface QkvSelection {
  layer: number;
  head: number;
  query: number | null;
  key: number | null;
  sentence: string;
  /**
   * Where the chosen query and key start in their texts (UTF-16 offsets; null for <bos> or none): the
   * same words in either source, what `query="@12"` chooses again.
   */
  queryAt: number | null;
  keyAt: number | null;
}

/**
 * `<qkv-attention>`: attention over a sentence, computed in the browser, drawn in a shadow root.
 *
 * Attributes (also the URL parameters of embed.html), each falling back to its default when it cannot
 * be read:
 * - `sentence`: the text (default: {@link DEFAULT_SENTENCE})
 * - `context`: a second text whose tokens are the keys and values (cross-attention, word embeddings)
 * - `mode`: `embeddings` (GloVe vectors as Q = K = V, the default) or `model` (the trained model's heads)
 * - `layer`, `head`: positions from 1 (default 1)
 * - `view`: `heatmap`, `lines`, `overview`, `next`, `step`, several separated by spaces (default `heatmap`)
 * - `query`, `key`: a position from 1, `@` and a character offset (the token there), or a word (default: the last token; the query)
 * - `causal`: present, or `false`/`off`/`0` (embeddings mode)
 * - `temperature`: 0.05 … 20 (default 1)
 * - `scaling`: `on`, or `false`/`off`/`0` (default on)
 * - `heads`: 1, 2, 4, 5 or 10 (embeddings mode, default 1)
 * - `stage`: the stage of the computation highlighted in the step view (see {@link STAGES})
 * - `editable`, `compact`: present, or `false`
 * - `src`: the URL of the folder holding the package's dist/ and models/ (the package's `assets` option)
 * - `lesson`: the URL of a lesson (JSON), or a `<script type="application/json">` inside the element;
 *   `step`: its step shown first (from 1)
 * - `attention`: the URL of attention computed elsewhere (JSON), shown instead of the sentence's
 *
 * Events (bubbling out of the shadow root): see {@link QkvAttentionEventMap}.
 */
export declare class QkvAttentionElement extends HTMLElement {
  static readonly observedAttributes: QkvAttentionAttribute[];
  /** Resolves once the element has drawn what its attributes ask for (or shown why it cannot). */
  readonly ready: Promise<void>;
  /** What is shown: tokens and, per layer and head, q, k, v, scores, logits, weights and output; null before the first drawing. */
  readonly run: QkvRun | null;
  /** The chosen layer, head, query and key (from 0), and the sentence as it is now. */
  readonly selection: QkvSelection;
  /** The whole state, positions from 0. */
  readonly state: QkvState;
  /** Changes the state as a learner would (the demo page's knobs use this). */
  setState(patch: QkvStatePatch): void;
  /** The trained model: loading, ready or unavailable. */
  readonly model: QkvModelStatus;
  /** Loads the trained model now (model mode loads it anyway); resolves when it is ready. */
  loadModel(): Promise<void>;
  /** Shows attention computed elsewhere (JSON text or the parsed object); throws an AttentionFileError. null: back to the sentence. */
  showAttention(data: string | object | null, choice?: { layer?: number; head?: number; query?: number | string | null; key?: number | string | null }): Promise<void>;
  /** Reads a File (a picker's or a drop's) as attention and shows it; on a bad file says why on screen and rejects. */
  showFile(file: File): Promise<void>;
  /** The lesson shown, or null. */
  readonly lesson: { title: string; steps: number; step: number } | null;
  /** Shows step `index` (from 0) of the lesson. */
  goToStep(index: number): void;
  /** A view as a PNG or SVG Blob, drawn by the code that draws it on screen. */
  exportView(name: 'heatmap' | 'lines' | 'overview', format?: 'png' | 'svg'): Promise<Blob>;
  /** The selected head as CSV (`which` matrix) or JSON (everything), counted from 1. */
  exportMatrix(format?: 'csv' | 'json', which?: 'weights' | 'scores' | 'logits'): Blob;
}

/** The element's events (all bubble and cross the shadow boundary). */
export interface QkvAttentionEventMap {
  /** The learner chose a query or key. */
  'qkv-select': CustomEvent<QkvSelection>;
  /** The state changed (typing, a click, a knob, a lesson step). */
  'qkv-change': CustomEvent<QkvState>;
  /** Something was drawn; `stale` lists the views not drawn yet (off screen while typing). */
  'qkv-draw': CustomEvent<{ first: boolean; stale: string[]; n: number; mode: QkvRun['mode'] | null }>;
  /** The trained model's loading progressed, finished or failed. */
  'qkv-model': CustomEvent<QkvModelStatus>;
  /** A lesson was loaded (or could not be), or its step changed. */
  'qkv-lesson': CustomEvent<{ lesson: QkvAttentionElement['lesson']; error: string | null }>;
}

declare global {
  interface HTMLElementTagNameMap {
    'qkv-attention': QkvAttentionElement;
  }
  interface HTMLElementEventMap extends QkvAttentionEventMap {}
}
