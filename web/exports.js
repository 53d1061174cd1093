// Files a learner can take away: CSV and JSON of the selected head's matrices, and a permalink that
// restores the page. Downloads go through blob: URLs (allowed by the page's CSP, no data: URLs).
import { DEFAULT_KNOBS, HEAD_CHOICES, selectedHead } from './compute.js';

export function download(blob, filename) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// Quoted, and a leading = + - @ defused, so that a spreadsheet never runs a token as a formula.
function csvText(text) {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

function matrixRows(values, n) {
  return Array.from({ length: n }, (_, i) => Array.from(values.subarray(i * n, (i + 1) * n)));
}

/** The selected head's matrix (`weights`, `scores` or `logits`) as CSV: query rows × key columns. */
export function matrixCsv(run, layer, head, which = 'weights') {
  const h = selectedHead(run, layer, head);
  const header = [csvText(`query \\ key (${which})`), ...run.units.map((u) => csvText(u.text))].join(',');
  const rows = matrixRows(h[which], run.n).map((r, i) => [csvText(run.units[i].text), ...r.map((x) => (x === -Infinity ? '-Infinity' : String(x)))].join(','));
  return `${[header, ...rows].join('\r\n')}\r\n`;
}

/** Everything about the selected head as JSON (−∞ logits written as null). */
export function matrixJson(run, layer, head) {
  const h = selectedHead(run, layer, head);
  const rows = (a) => matrixRows(a, run.n).map((r) => r.map((x) => (Number.isFinite(x) ? x : null)));
  const vectors = (a) => Array.from({ length: run.n }, (_, i) => Array.from(a.subarray(i * run.dHead, (i + 1) * run.dHead)));
  return JSON.stringify({
    sentence: run.text, mode: run.mode, layer, head, dHead: run.dHead, scale: run.scale, knobs: run.knobs,
    tokens: run.units.map((u) => ({ text: u.text, vocab: u.vocab, start: u.start, end: u.end, unknown: u.unknown })),
    weights: rows(h.weights), scores: rows(h.scores), logits: rows(h.logits),
    q: vectors(h.q), k: vectors(h.k), v: vectors(h.v), output: vectors(h.output),
  }, null, 1);
}

// Permalink: the state in the URL hash, short keys, every value checked on the way back in.
export function stateToHash(s) {
  const p = new URLSearchParams();
  p.set('s', s.text);
  p.set('m', s.mode === 'model' ? 'model' : 'emb');
  if (s.mode === 'model') { p.set('l', String(s.layer + 1)); }
  p.set('h', String(s.head + 1));
  if (s.knobs.heads !== 1) p.set('heads', String(s.knobs.heads));
  if (!s.knobs.scaling) p.set('scale', '0');
  if (s.knobs.temperature !== 1) p.set('t', String(s.knobs.temperature));
  if (s.knobs.causal) p.set('causal', '1');
  if (s.query != null) p.set('q', String(s.query + 1));
  if (s.key != null) p.set('k', String(s.key + 1));
  return `#${p.toString()}`;
}

export function hashToState(hash, fallback) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  if (!p.has('s')) return null;
  const int = (name, def, min = 1, max = 4096) => {
    const v = Number.parseInt(p.get(name) ?? '', 10);
    return Number.isInteger(v) && v >= min && v <= max ? v - 1 : def;
  };
  const t = Number.parseFloat(p.get('t') ?? '1');
  const heads = Number.parseInt(p.get('heads') ?? '1', 10);
  return {
    ...fallback,
    text: p.get('s').slice(0, 20_000),
    mode: p.get('m') === 'model' ? 'model' : 'embeddings',
    layer: int('l', 0), head: int('h', 0), query: int('q', null), key: int('k', null),
    knobs: {
      ...DEFAULT_KNOBS,
      heads: HEAD_CHOICES.includes(heads) ? heads : 1,
      scaling: p.get('scale') !== '0',
      temperature: Number.isFinite(t) && t >= 0.05 && t <= 20 ? t : 1,
      causal: p.get('causal') === '1',
    },
  };
}
