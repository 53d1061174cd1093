// Files a learner can take away: CSV and JSON of the selected head's matrices. Layers, heads and
// tokens are numbered from 1 in both, as on the page. Downloads go through blob: URLs (allowed by the
// page's CSP, no data: URLs).
import { selectedHead } from './compute.js';

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

function matrixRows(values, rows, cols) {
  return Array.from({ length: rows }, (_, i) => Array.from(values.subarray(i * cols, (i + 1) * cols)));
}

/** The selected head's matrix (`weights`, `scores` or `logits`) as CSV: query rows × key columns. */
export function matrixCsv(run, layer, head, which = 'weights') {
  const h = selectedHead(run, layer, head);
  if (!h[which]) throw new RangeError(`this attention has no ${which}: it was loaded from a file with its weights only`);
  const header = [csvText(`query \\ key (${which})`), ...run.keyUnits.map((u) => csvText(u.text))].join(',');
  const rows = matrixRows(h[which], run.n, run.m).map((r, i) => [csvText(run.units[i].text), ...r.map((x) => (x === -Infinity ? '-Infinity' : String(x)))].join(','));
  return `${[header, ...rows].join('\r\n')}\r\n`;
}

/** Everything about the selected head as JSON (−∞ logits written as null; what a file did not give, null). */
export function matrixJson(run, layer, head) {
  const h = selectedHead(run, layer, head);
  const rows = (a) => (a ? matrixRows(a, run.n, run.m).map((r) => r.map((x) => (Number.isFinite(x) ? x : null))) : null);
  const vectors = (a, count) => (a ? Array.from({ length: count }, (_, i) => Array.from(a.subarray(i * run.dHead, (i + 1) * run.dHead))) : null);
  const tokens = (units) => units.map((u, i) => ({ position: i + 1, text: u.text, vocab: u.vocab, start: u.start, end: u.end, unknown: u.unknown }));
  const cross = run.keyUnits !== run.units;
  return JSON.stringify({
    sentence: run.text, ...(cross ? { context: run.mode === 'given' ? run.keyText : run.context } : {}), mode: run.mode,
    layer: layer + 1, head: head + 1, layers: run.layers.length, heads: run.layers[0].heads.length,
    numbering: 'layer, head and token positions count from 1; rows are queries, columns keys',
    dHead: run.dHead, scale: run.scale, knobs: run.knobs,
    tokens: tokens(run.units), ...(cross ? { keyTokens: tokens(run.keyUnits) } : {}),
    weights: rows(h.weights), scores: rows(h.scores), logits: rows(h.logits),
    q: vectors(h.q, run.n), k: vectors(h.k, run.m), v: vectors(h.v, run.m), output: vectors(h.output, run.n),
  }, null, 1);
}
