// The step-by-step panel: for one query token of the selected head, every number between its vectors
// and its output, laid out so that a learner can redo one weight by hand. The numbers come from the
// package (scores, logits, weights, output); only the exp(x − max) column and its sum, which the
// package does not return, are worked out here with the same formula. The query's keys are the
// run's m key tokens (its own sentence, or the second text in cross-attention). A lesson can
// highlight one stage of the computation (STAGES). Attention given by a file has only weights.
import { CanvasPainter } from './painter.js';
import { stripColours } from './palette.js';
import { selectedHead } from './compute.js';
import { fmt, label } from './format.js';
import { STAGES } from './attributes.js';

const ROW_LIMIT = 24; // long sentences list the largest weights first; a button shows every key


let doc = null;
function el(tag, className, text) {
  const e = doc.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

function numberCell(kind, value, text) {
  const td = el('td', `num ${kind} col-${kind}`, text ?? fmt[kind === 'weight' || kind === 'exp' ? kind : 'score'](value));
  td.dataset.kind = kind;
  td.dataset.value = String(value);
  return td;
}

function absMax(a) { let m = 0; for (const x of a) m = Math.max(m, Math.abs(x)); return m; }

// The strips' canvases are kept from one keystroke to the next: a new canvas and its context cost more
// than drawing a strip.
const stripCanvases = new WeakMap();

// A vector (or rows of vectors) as coloured cells on `canvas`: blue negative, orange positive.
function strip(canvas, values, rows, cols, caption, highlightRow = -1, stage = 'vectors') {
  const figure = el('figure', 'strip');
  figure.dataset.stage = stage;
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

// “the” alone when the word appears once among `units`, “the” (#5) when it repeats.
function named(units, i) {
  const text = label(units[i], 24);
  let seen = 0;
  for (const u of units) if (u.text === units[i].text && ++seen > 1) break;
  return seen > 1 ? `“${text}” (#${i + 1})` : `“${text}”`;
}

// Q, K, V → Q·K → ÷√d → mask → softmax → Σ α V, with `stage` marked.
function pipeline(stage) {
  const ol = el('ol', 'pipeline');
  ol.setAttribute('aria-label', 'The steps of attention');
  for (const [name, text] of Object.entries(STAGES)) {
    if (name === 'heads') continue;
    const li = el('li', name === stage ? 'on' : null, text);
    li.dataset.stage = name;
    if (name === stage) li.setAttribute('aria-current', 'step');
    ol.append(li);
  }
  return ol;
}

// A layer that smears its keys (the trained model): each head mixes every key with the key before
// it, by its own learned weight σ, so the previous token enters what a query is matched against.
function smearNote(run, sigma, layer, j, kName) {
  const box = el('div', 'smear');
  box.dataset.stage = 'vectors';
  box.dataset.sigma = String(sigma);
  box.append(el('h4', null, `Smeared keys: σ = ${sigma.toFixed(3)}`));
  const rule = el('p', 'mono', `K_j = σ·k_j + (1 − σ)·k_{j−1} = ${sigma.toFixed(3)}·k_j + ${(1 - sigma).toFixed(3)}·k_{j−1}`);
  const live = el('p', 'explain');
  live.textContent = j === 0
    ? `Layer ${layer + 1} mixes each key with the key of the token before it; the first token has none before it, so the key of ${kName} is its own.`
    : `Layer ${layer + 1} mixes each key with the key of the token before it. In this head the key of ${kName} is ` +
      `${(sigma * 100).toFixed(1)} % its own and ${((1 - sigma) * 100).toFixed(1)} % the key of ${named(run.keyUnits, j - 1)}: ` +
      'the previous token enters the key, so a query can find “the token after” a word (what an induction head needs). ' +
      'The K strip above and every score below use these mixed keys.';
  box.append(rule, live);
  return box;
}

// Attention given by a file: its weights are all there is.
function renderGiven(host, run, h, i, j, onKey) {
  const m = run.m, weights = h.weights.subarray(i * m, (i + 1) * m);
  const parts = [el('h3', null, `Query ${named(run.units, i)} (token ${i + 1} of ${run.n})`),
    el('p', 'explain', 'This attention was computed elsewhere and loaded from a file: only its weights are known, so there are no vectors, scores or logits to work through.')];
  const table = el('table', 'steps');
  table.append(el('caption', null, `Every key for query ${named(run.units, i)}.`));
  const thead = el('thead'), hr = el('tr');
  for (const text of ['key', 'α']) { const th = el('th', null, text); th.scope = 'col'; hr.append(th); }
  thead.append(hr);
  const tbody = el('tbody');
  for (let k = 0; k < m; ++k) {
    const tr = el('tr');
    tr.dataset.key = String(k);
    if (k === j) tr.className = 'chosen';
    tr.append(keyHeader(run, k, onKey), numberCell('weight', weights[k]));
    tbody.append(tr);
  }
  const sum = weights.reduce((a, b) => a + b, 0);
  const tfoot = el('tfoot'), fr = el('tr'), sumLabel = el('th', null, 'sum');
  sumLabel.scope = 'row';
  fr.append(sumLabel, numberCell('weight-sum', sum, fmt.weight(sum)));
  tfoot.append(fr);
  table.append(thead, tbody, tfoot);
  const scroller = el('div', 'table-scroll');
  scroller.append(table);
  parts.push(scroller);
  host.replaceChildren(...parts);
}

// The row header of key k: its position and a button that works it out.
function keyHeader(run, k, onKey) {
  const keyCell = el('th', null);
  keyCell.scope = 'row';
  const btn = el('button', 'linkish', label(run.keyUnits[k], 24));
  btn.type = 'button';
  btn.setAttribute('aria-label', `work out key ${k + 1}, ${label(run.keyUnits[k], 24)}`);
  btn.addEventListener('click', () => onKey?.(k));
  keyCell.append(el('span', 'pos', String(k + 1)), btn);
  return keyCell;
}

/**
 * Fills `host` with the steps for query `query` of the selected head. `key` is the key worked out by
 * hand; `onKey(j)` is called when a row of the table is chosen; `showAll` lists every key; `stage`
 * (a key of STAGES) is highlighted.
 */
export function renderStep(host, run, { layer, head, query, key, showAll, stage = null, onKey, onShowAll }) {
  doc = host.ownerDocument;
  const h = selectedHead(run, layer, head);
  if (!h || run.n === 0) { host.replaceChildren(el('p', 'muted', 'Type a sentence to see the steps.')); return; }
  const n = run.n, m = run.m, d = run.dHead, i = Math.min(query ?? 0, n - 1), j = Math.min(key ?? i, m - 1);
  Object.assign(host.dataset, { n: String(n), m: String(m), query: String(i), key: String(j), layer: String(layer), head: String(head) });
  if (stage) host.dataset.stage = stage; else delete host.dataset.stage;
  if (!h.scores) { renderGiven(host, run, h, i, j, onKey); return; }
  const { scale } = run, T = run.knobs.temperature;
  const cross = run.keyUnits !== run.units;
  const row = (a) => a.subarray(i * m, (i + 1) * m);
  const scores = row(h.scores), logits = row(h.logits), weights = row(h.weights);
  let mx = -Infinity;
  for (const x of logits) mx = Math.max(mx, x);
  const exps = Array.from(logits, (x) => (x === -Infinity ? 0 : Math.exp(x - mx)));
  const sum = exps.reduce((a, b) => a + b, 0);
  const qName = named(run.units, i), kName = named(run.keyUnits, j);
  const where = run.mode === 'model' ? `layer ${layer + 1}, head ${head + 1}` : (run.layers[0].heads.length > 1 ? `head ${head + 1}` : 'one head');

  const parts = [pipeline(stage)];
  parts.push(el('h3', null, `Query ${qName} (token ${i + 1} of ${n}), ${where}, d = ${d}`));

  // Explanation tied to the numbers on screen.
  let top = 0;
  weights.forEach((w, k) => { if (w > weights[top]) top = k; });
  const live = el('p', 'explain');
  live.textContent = `${qName} gives its largest weight, ${(weights[top] * 100).toFixed(1)} %, to ${named(run.keyUnits, top)}` +
    `${cross ? `; the keys are the ${m} tokens of the second text` : run.knobs.causal ? `; it may look only at itself and the ${i} token${i === 1 ? '' : 's'} before it (causal mask)` : `; all ${n} tokens are keys`}.` +
    (run.mode === 'embeddings' ? (cross ? ' Q is this token’s word vector; K and V are the second text’s word vectors: cross-attention.' : ' Q, K and V are all this token’s word vectors: the sentence attends to itself.')
      : ' Q, K and V are this head’s learned projections of the layer’s input.');
  parts.push(live);

  const strips = el('div', 'strips');
  if (!stripCanvases.has(host)) stripCanvases.set(host, Array.from({ length: 4 }, () => doc.createElement('canvas')));
  const [qc, kc, vc, oc] = stripCanvases.get(host);
  strips.append(
    strip(qc, h.q.subarray(i * d, (i + 1) * d), 1, d, `Q of ${qName}`),
    strip(kc, h.k, m, d, `K, one row per key (${kName} outlined)`, j),
    strip(vc, h.v, m, d, 'V, one row per key', j),
    strip(oc, h.output.subarray(i * d, (i + 1) * d), 1, d, `output of ${qName} = Σ α V`, -1, 'output'),
  );
  parts.push(strips);
  parts.push(el('p', 'muted small', 'Strips: blue is negative, orange positive, each scaled to its largest magnitude.'));
  if (h.smear != null) parts.push(smearNote(run, h.smear, layer, j, kName));

  // The table: one row per key.
  const table = el('table', 'steps');
  const caption = el('caption', null, `Every key for query ${qName}: choose a row to work it out below.`);
  const thead = el('thead');
  const hr = el('tr');
  const scaleText = run.knobs.scaling ? `× 1/√${d}` : '× 1 (no scaling)';
  for (const [text, title, kind] of [['key', '', 'key'], ['score Q·K', 'dot product of the query and key vectors', 'score'], [scaleText, 'scaled score', 'scaled'],
    [`÷ T = ${T}${run.knobs.causal ? ', mask' : ''}`, 'logit: scaled score divided by the temperature; masked keys are −∞', 'logit'],
    ['exp(x − max)', `e to the logit minus the row’s largest logit (${fmt.score(mx)})`, 'exp'], ['α = exp ÷ sum', 'attention weight', 'weight']]) {
    const th = el('th', `col-${kind}`, text);
    th.scope = 'col';
    if (title) th.title = title;
    hr.append(th);
  }
  thead.append(hr);
  const tbody = el('tbody');
  let order = [...Array(m).keys()];
  const limited = !showAll && m > ROW_LIMIT;
  if (limited) order = order.sort((a, b) => weights[b] - weights[a]).slice(0, ROW_LIMIT).sort((a, b) => a - b);
  if (!order.includes(j)) order = [...order, j].sort((a, b) => a - b);
  for (const k of order) {
    const tr = el('tr');
    tr.dataset.key = String(k);
    if (k === j) tr.className = 'chosen';
    tr.append(keyHeader(run, k, onKey),
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
  const total = weights.reduce((a, b) => a + b, 0);
  fr.append(sumLabel, el('td'), el('td'), el('td', 'num', `max ${fmt.score(mx)}`), numberCell('sum', sum, fmt.exp(sum)), numberCell('weight-sum', total, fmt.weight(total)));
  tfoot.append(fr);
  table.append(caption, thead, tbody, tfoot);
  const scroller = el('div', 'table-scroll');
  scroller.append(table);
  parts.push(scroller);
  if (limited) {
    const more = el('button', null, `Show all ${m} keys (now the ${ROW_LIMIT} largest weights)`);
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
    ['scores', `score = Q·K = ${shown} = ${fmt.score(scores[j])}`],
    ['scaling', run.knobs.scaling ? `scaled: ${fmt.score(scores[j])} × 1/√${d} = ${fmt.score(scores[j])} × ${scale.toFixed(4)} = ${fmt.score(scores[j] * scale)}` : `no scaling: ${fmt.score(scores[j])}`],
    ['mask', masked ? `masked: ${kName} comes after ${qName}, so its logit is −∞ and its weight is 0`
      : `logit: ${fmt.score(scores[j] * scale)} ÷ T (${T}) = ${fmt.score(logits[j])}`],
    ['softmax', masked ? 'exp(−∞) = 0' : `exp(${fmt.score(logits[j])} − ${fmt.score(mx)}) = ${fmt.exp(exps[j])}   (subtracting the row’s largest logit keeps exp from overflowing and does not change α)`],
    ['softmax', `α = ${fmt.exp(exps[j])} ÷ ${fmt.exp(sum)} (the sum of the exp column) = ${fmt.weight(weights[j])}`],
  ];
  for (const [name, line] of lines) {
    const li = el('li', 'mono', line);
    li.dataset.stage = name;
    ol.append(li);
  }
  hand.append(ol);
  const qkDetails = el('details', 'numbers');
  qkDetails.append(el('summary', null, `all ${d} products q_t × k_t`), el('p', 'mono', terms.join(' + ')));
  hand.append(qkDetails);
  const out = h.output.subarray(i * d, (i + 1) * d);
  const outText = el('p', null, `Output of ${qName}: Σ_j α_ij V_j, each key’s value vector times its weight, added up (${d} numbers):`);
  outText.dataset.stage = 'output';
  hand.append(outText, numberList(out));
  parts.push(hand);
  host.replaceChildren(...parts);
}
