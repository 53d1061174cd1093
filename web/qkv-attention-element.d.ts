// Types for `qkv-attention/element`: importing it defines the <qkv-attention> custom element.
// Browsers only (it extends HTMLElement). Every attribute is described in the README, "Embedding in
// a course"; attributes are strings, read again whenever they change.

/** The parsers for every attribute the element observes: name → (attribute value or null) → setting. */
export declare const ATTRIBUTES: Readonly<Record<
  'sentence' | 'mode' | 'layer' | 'head' | 'view' | 'query' | 'key' | 'causal' | 'temperature' |
  'scaling' | 'heads' | 'editable' | 'compact' | 'src',
  (value: string | null) => unknown>>;

/** The sentence shown when the element has no `sentence` attribute. */
export declare const DEFAULT_SENTENCE: string;

/** `<qkv-attention>`: attention over a sentence, computed in the browser, drawn in a shadow root. */
export declare class QkvAttentionElement extends HTMLElement {
  static readonly observedAttributes: string[];
  /** Resolves once the element has drawn its first views (or shown why it cannot). */
  readonly ready: Promise<void>;
  /** What is shown: tokens and, per layer and head, q, k, v, scores, logits, weights and output. */
  readonly run: unknown;
}

declare global {
  interface HTMLElementTagNameMap {
    'qkv-attention': QkvAttentionElement;
  }
}
