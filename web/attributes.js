// The attributes of <qkv-attention>, which are also the URL parameters of embed.html: how each is read
// from its text, with its default. A module of its own so that embed.html can set them before the
// element starts loading. This is the one list of the element's attributes.
import { HEAD_CHOICES, MAX_TEXT } from './compute.js';

export const DEFAULT_SENTENCE = 'The cat sat on the mat because it was tired.';
export const VIEW_NAMES = ['heatmap', 'lines', 'overview', 'next', 'step'];
/** The stages of the computation a lesson step (or the `stage` attribute) can highlight, with their names on screen. */
export const STAGES = {
  vectors: 'Q, K, V', scores: 'Q·K', scaling: '÷ √d', mask: 'mask', softmax: 'softmax', output: 'Σ α V', heads: 'heads',
};

const isOff = (value) => /^(false|off|no|0)$/i.test(value.trim());
const position = (value) => {
  const v = Number.parseInt(value ?? '', 10);
  return Number.isInteger(v) && v >= 1 ? v - 1 : null;
};

/** "@12" as { at: 12 }: the token at that character of the text (in either source); else null. */
export function placeOf(text) {
  const at = /^@(\d{1,6})$/.exec(text.trim());
  return at ? { at: Number(at[1]) } : null;
}

const token = (v) => (v == null || v.trim() === '' ? null : placeOf(v) ?? position(v) ?? v.trim());

/**
 * `value` when it is a relative URL or an http(s) one, else null: a `javascript:` or `data:` URL (or
 * anything else a page could be tricked into fetching or running) is never used.
 */
export function httpUrl(value) {
  if (!value || !value.trim()) return null;
  const text = value.trim();
  try {
    const base = globalThis.document?.baseURI ?? 'http://localhost/';
    const url = new URL(text, base);
    // A value with a scheme of its own keeps it (javascript:, data:, blob:); a relative one takes the page's.
    return /^https?:$/.test(url.protocol) ? text : null;
  } catch {
    return null;
  }
}

/** The attributes whose value is a URL: an unusable one is reported on screen, and the default used. */
export const URL_ATTRIBUTES = ['src', 'lesson', 'attention'];

/**
 * The attributes (also the URL parameters of embed.html), each read from its text with its default.
 * Positions (layer, head, query, key, step) count from 1, as a learner does.
 */
export const ATTRIBUTES = {
  sentence: (v) => (v ?? DEFAULT_SENTENCE).slice(0, MAX_TEXT),
  // Present (even empty): a second text whose tokens are the keys and values (cross-attention).
  context: (v) => (v == null ? null : v.slice(0, MAX_TEXT)),
  mode: (v) => (v === 'model' ? 'model' : 'embeddings'),
  layer: (v) => position(v) ?? 0,
  head: (v) => position(v) ?? 0,
  view: (v) => {
    const names = (v ?? '').toLowerCase().split(/[\s,]+/).filter((name) => VIEW_NAMES.includes(name));
    return names.length ? [...new Set(names)] : ['heatmap'];
  },
  // A number is a position; "@12" the token at character 12 of the text (what the demo page's
  // permalink writes: the same word in either source); any other text is the first token with that
  // text; default: the last token.
  query: (v) => token(v),
  key: (v) => token(v),
  causal: (v) => v != null && !isOff(v),
  temperature: (v) => {
    const t = Number.parseFloat(v ?? '');
    return Number.isFinite(t) && t >= 0.05 && t <= 20 ? t : 1;
  },
  scaling: (v) => v == null || !isOff(v),
  heads: (v) => {
    const h = Number.parseInt(v ?? '', 10);
    return HEAD_CHOICES.includes(h) ? h : 1;
  },
  stage: (v) => (v != null && Object.hasOwn(STAGES, v.trim()) ? v.trim() : null),
  editable: (v) => v != null && !isOff(v),
  compact: (v) => v != null && !isOff(v),
  src: httpUrl,
  // A lesson (JSON) to walk through, and the step to show (from 1).
  lesson: httpUrl,
  step: (v) => position(v) ?? 0,
  // Attention computed elsewhere (JSON, see attention-file.js), shown instead of the sentence's.
  attention: httpUrl,
};
