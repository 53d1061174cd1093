// The attributes of <qkv-attention>, which are also the URL parameters of embed.html: how each is read
// from its text, with its default. A module of its own so that embed.html can set them before the
// element starts loading.
import { HEAD_CHOICES } from './compute.js';

export const DEFAULT_SENTENCE = 'The cat sat on the mat because it was tired.';
export const VIEW_NAMES = ['heatmap', 'lines', 'overview', 'step'];

const isOff = (value) => /^(false|off|no|0)$/i.test(value.trim());
const position = (value) => {
  const v = Number.parseInt(value ?? '', 10);
  return Number.isInteger(v) && v >= 1 ? v - 1 : null;
};

/**
 * The attributes (also the URL parameters of embed.html), each read from its text with its default.
 * Positions (layer, head, query, key) count from 1, as a learner does.
 */
export const ATTRIBUTES = {
  sentence: (v) => (v ?? DEFAULT_SENTENCE).slice(0, 20_000),
  mode: (v) => (v === 'model' ? 'model' : 'embeddings'),
  layer: (v) => position(v) ?? 0,
  head: (v) => position(v) ?? 0,
  view: (v) => {
    const names = (v ?? '').toLowerCase().split(/[\s,]+/).filter((name) => VIEW_NAMES.includes(name));
    return names.length ? [...new Set(names)] : ['heatmap'];
  },
  // A number is a position; any other text is the first token with that text; default: the last token.
  query: (v) => (v == null || v.trim() === '' ? null : (position(v) ?? v.trim())),
  key: (v) => (v == null || v.trim() === '' ? null : (position(v) ?? v.trim())),
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
  editable: (v) => v != null && !isOff(v),
  compact: (v) => v != null && !isOff(v),
  src: (v) => (v ? v : null),
};
