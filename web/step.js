// The step-by-step panel: for one query token of the selected head, every number between its vectors
// and its output, laid out so that a learner can redo one weight by hand. The numbers come from the
// package (scores, logits, weights, output); only the exp(x − max) column and its sum, which the
// package does not return, are worked out here with the same formula.
import { CanvasPainter } from './painter.js';
import { stripColours } from './palette.js';
import { selectedHead } from './compute.js';
import { fmt, label } from './format.js';

const ROW_LIMIT = 24; // long sentences list the largest weights first; a button shows every key

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

function numberCell(kind, value, text) {
  const td = el('td', `num ${kind}`, text ?? fmt[kind === 'weight' || kind === 'exp' ? kind : 'score'](value));
  td.dataset.kind = kind;
  td.dataset.value = String(value);
  return td;
}

function absMax(a) { let m = 0; for (const x of a) m = Math.max(m, Math.abs(x)); return m; }

// The strips' canvases are kept from one keystroke to the next: a new canvas and its context cost more
// than drawing a strip.
const stripCanvases = new WeakMap();

// A vector (or rows of vectors) as coloured cells on `canvas`: blue negative, orange positive.
function strip(canvas, values, rows, cols, caption, highlightRow = -1) {
  const figure = el('figure', 'strip');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', caption);
  const cell = Math.max(2, Math.min(20, Math.floor(300 / cols)));
  const rowH = rows === 1 ? 14 : Math.max(2, Math.min(10, Math.floor(140 / rows)));
  const p = new CanvasPainter(canvas, cols * cell + 4, rows * rowH + 4);
  p.cells(2, 2, cell, rowH, rows, cols, stripColours(values, absMax(values)));
  if (highlightRow >= 0) {
    p.strokeRect(1, 2 + highlightRow * rowH - 1, cols * cell + 2, rowH + 2, '#fff', 3);
    p.strokeRect(1, 2 + highlightRow * rowH - 1, cols * cell + 2, rowH + 2, '#000', 1.5);
  }
  figure.append(canvas, el('figcaption', null, caption));
  return figure;
}

function numberList(values) {
  const details = el('details', 'numbers');
  details.append(el('summary', null, `all ${values.length} numbers`), el('p', 'mono', Array.from(values, fmt.vec).join('  ')));
  return details;
}

/**
 * Fills `host` with the steps for query `query` of the selected head. `key` is the key worked out by
 * hand; `onKey(j)` is called when a row of the table is chosen; `showAll` lists every key.
 */
export function renderStep(host, run, { layer, head, query, key, showAll, onKey, onShowAll }) {
  const h = selectedHead(run, layer, head);
  if (!h || run.n === 0) { host.replaceChildren(el('p', 'muted', 'Type a sentence to see the steps.')); return; }
  const n = run.n, d = run.dHead, i = Math.min(query ?? 0, n - 1), j = Math.min(key ?? i, n - 1);
  const { scale } = run, T = run.knobs.temperature;
  Object.assign(host.dataset, { n: String(n), query: String(i), key: String(j), layer: String(layer), head: String(head) });
  const row = (a) => a.subarray(i * n, (i + 1) * n);
  const scores = row(h.scores), logits = row(h.logits), weights = row(h.weights);
  let m = -Infinity;
  for (const x of logits) m = Math.max(m, x);
  const exps = Array.from(logits, (x) => (x === -Infinity ? 0 : Math.exp(x - m)));
  const sum = exps.reduce((a, b) => a + b, 0);
  const qName = `“${label(run.units[i], 24)}”`, kName = `“${label(run.units[j], 24)}”`;
  const where = run.mode === 'model' ? `layer ${layer + 1}, head ${head + 1}` : (run.layers[0].heads.length > 1 ? `head ${head + 1}` : 'one head');

  const parts = [];
  const title = el('h3', null, `Query ${qName} (token ${i + 1} of ${n}), ${where}, d = ${d}`);
  parts.push(title);

  // Explanation tied to the numbers on screen.
  let top = 0;
  weights.forEach((w, k) => { if (w > weights[top]) top = k; });
  const live = el('p', 'explain');
  live.textContent = `${qName} gives its largest weight, ${(weights[top] * 100).toFixed(1)} %, to “${label(run.units[top], 24)}”` +
    `${run.knobs.causal ? `; it may look only at itself and the ${i} token${i === 1 ? '' : 's'} before it (causal mask)` : `; all ${n} tokens are keys`}.` +
    (run.mode === 'embeddings' ? ' Q, K and V are all this token’s word vectors: the sentence attends to itself.' : ' Q, K and V are this head’s learned projections of the layer’s input.');
  parts.push(live);

  const strips = el('div', 'strips');
  if (!stripCanvases.has(host)) stripCanvases.set(host, Array.from({ length: 4 }, () => document.createElement('canvas')));
  const [qc, kc, vc, oc] = stripCanvases.get(host);
  strips.append(
    strip(qc, h.q.subarray(i * d, (i + 1) * d), 1, d, `Q of ${qName}`),
    strip(kc, h.k, n, d, `K, one row per key (${kName} outlined)`, j),
    strip(vc, h.v, n, d, 'V, one row per key', j),
    strip(oc, h.output.subarray(i * d, (i + 1) * d), 1, d, `output of ${qName} = Σ α V`),
  );
  parts.push(strips);
  parts.push(el('p', 'muted small', 'Strips: blue is negative, orange positive, each scaled to its largest magnitude.'));

  // The table: one row per key.
  const table = el('table', 'steps');
  const caption = el('caption', null, `Every key for query ${qName}: choose a row to work it out below.`);
  const thead = el('thead');
  const hr = el('tr');
  const scaleText = run.knobs.scaling ? `× 1/√${d}` : '× 1 (no scaling)';
  for (const [text, title] of [['key', ''], ['score Q·K', 'dot product of the query and key vectors'], [scaleText, 'scaled score'],
    [`÷ T = ${T}${run.knobs.causal ? ', mask' : ''}`, 'logit: scaled score divided by the temperature; masked keys are −∞'],
    ['exp(x − max)', `e to the logit minus the row’s largest logit (${fmt.score(m)})`], ['α = exp ÷ sum', 'attention weight']]) {
    const th = el('th', null, text);
    th.scope = 'col';
    if (title) th.title = title;
    hr.append(th);
  }
  thead.append(hr);
  const tbody = el('tbody');
  let order = [...Array(n).keys()];
  const limited = !showAll && n > ROW_LIMIT;
  if (limited) order = order.sort((a, b) => weights[b] - weights[a]).slice(0, ROW_LIMIT).sort((a, b) => a - b);
  if (!order.includes(j)) order = [...order, j].sort((a, b) => a - b);
  for (const k of order) {
    const tr = el('tr');
    tr.dataset.key = String(k);
    if (k === j) tr.className = 'chosen';
    const keyCell = el('th', null);
    keyCell.scope = 'row';
    const btn = el('button', 'linkish', label(run.units[k], 24));
    btn.type = 'button';
    btn.setAttribute('aria-label', `work out key ${k + 1}, ${label(run.units[k], 24)}`);
    btn.addEventListener('click', () => onKey?.(k));
    keyCell.append(btn);
    tr.append(keyCell,
      numberCell('score', scores[k]),
      numberCell('scaled', scores[k] * scale, fmt.score(scores[k] * scale)),
      numberCell('logit', logits[k]),
      numberCell('exp', exps[k]),
      numberCell('weight', weights[k]));
    tbody.append(tr);
  }
  const tfoot = el('tfoot');
  const fr = el('tr');
  const sumLabel = el('th', null, 'sum');
  sumLabel.scope = 'row';
  fr.append(sumLabel, el('td'), el('td'), el('td', 'num', `max ${fmt.score(m)}`), numberCell('sum', sum, fmt.exp(sum)), numberCell('weight-sum', weights.reduce((a, b) => a + b, 0), fmt.weight(weights.reduce((a, b) => a + b, 0))));
  tfoot.append(fr);
  table.append(caption, thead, tbody, tfoot);
  const scroller = el('div', 'table-scroll');
  scroller.append(table);
  parts.push(scroller);
  if (limited) {
    const more = el('button', null, `Show all ${n} keys (now the ${ROW_LIMIT} largest weights)`);
    more.type = 'button';
    more.addEventListener('click', () => onShowAll?.());
    parts.push(more);
  }

  // One weight by hand.
  const qi = h.q.subarray(i * d, (i + 1) * d), kj = h.k.subarray(j * d, (j + 1) * d);
  const hand = el('div', 'by-hand');
  hand.append(el('h4', null, `By hand: ${qName} → ${kName}`));
  const terms = Array.from(qi, (x, t) => `${fmt.vec(x)}×${fmt.vec(kj[t])}`);
  const shown = terms.length > 4 ? `${terms.slice(0, 4).join(' + ')} + … (${d} terms)` : terms.join(' + ');
  const ol = el('ol');
  const masked = logits[j] === -Infinity;
  const lines = [
    `score = Q·K = ${shown} = ${fmt.score(scores[j])}`,
    run.knobs.scaling ? `scaled: ${fmt.score(scores[j])} × 1/√${d} = ${fmt.score(scores[j])} × ${scale.toFixed(4)} = ${fmt.score(scores[j] * scale)}` : `no scaling: ${fmt.score(scores[j])}`,
    masked ? `masked: ${kName} comes after ${qName}, so its logit is −∞ and its weight is 0`
      : `logit: ${fmt.score(scores[j] * scale)} ÷ T (${T}) = ${fmt.score(logits[j])}`,
    masked ? 'exp(−∞) = 0' : `exp(${fmt.score(logits[j])} − ${fmt.score(m)}) = ${fmt.exp(exps[j])}   (subtracting the row’s largest logit keeps exp from overflowing and does not change α)`,
    `α = ${fmt.exp(exps[j])} ÷ ${fmt.exp(sum)} (the sum of the exp column) = ${fmt.weight(weights[j])}`,
  ];
  for (const line of lines) ol.append(el('li', 'mono', line));
  hand.append(ol);
  const qkDetails = el('details', 'numbers');
  qkDetails.append(el('summary', null, `all ${d} products q_t × k_t`), el('p', 'mono', terms.join(' + ')));
  hand.append(qkDetails);
  const out = h.output.subarray(i * d, (i + 1) * d);
  hand.append(el('p', null, `Output of ${qName}: Σ_j α_ij V_j, each key’s value vector times its weight, added up (${d} numbers):`), numberList(out));
  parts.push(hand);
  host.replaceChildren(...parts);
}
