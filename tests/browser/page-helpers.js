// What the page tests and the <qkv-attention> tests both read and check: the step panel's numbers
// as shown, and the same numbers from the package in Node.
import assert from 'node:assert/strict';

/** Everything the step panel at `selector` shows for its query, as numbers (pierces shadow roots). */
export function stepNumbers(frame, selector = '#step') {
  return frame.$eval(selector, (step) => ({
    query: Number(step.dataset.query), key: Number(step.dataset.key), head: Number(step.dataset.head), layer: Number(step.dataset.layer),
    rows: [...step.querySelectorAll('tbody tr')].map((tr) => {
      const cell = (kind) => tr.querySelector(`td[data-kind="${kind}"]`);
      return {
        key: Number(tr.dataset.key),
        score: Number(cell('score').dataset.value), logit: Number(cell('logit').dataset.value), weight: Number(cell('weight').dataset.value),
        weightText: cell('weight').textContent, scoreText: cell('score').textContent,
      };
    }),
  }));
}

/** The package in Node on `text`: Q = K = V = the GloVe vectors, split into `heads` heads. */
export function embeddingsReference(qkv, embeddings, text, { heads = 1, causal = false, temperature = 1, scaling = true } = {}) {
  const { vectors, tokens } = embeddings.lookup(text);
  const n = tokens.length, d = embeddings.dim / heads;
  const x = new Float32Array(n * embeddings.dim);
  for (let h = 0; h < heads; ++h) for (let i = 0; i < n; ++i) x.set(vectors.subarray(i * embeddings.dim + h * d, i * embeddings.dim + (h + 1) * d), (h * n + i) * d);
  const r = qkv.attention({ q: x, k: x, v: x, heads, dim: d, queries: n, causal, temperature, scoring: scaling ? 'scaled_dot' : 'dot', returnWeights: true, returnScores: true, returnLogits: true });
  return { n, tokens, d, ...r };
}

/** Each row shown equals the reference of head `head` for the query shown, and its text is the value rounded. */
export function assertStepMatches(shown, ref, head = 0) {
  const { n } = ref, i = shown.query;
  assert.ok(shown.rows.length > 0);
  for (const row of shown.rows) {
    const at = head * n * n + i * n + row.key;
    assert.ok(Math.abs(row.weight - ref.weights[at]) < 1e-6, `weight ${i},${row.key}: ${row.weight} vs ${ref.weights[at]}`);
    assert.ok(Math.abs(row.score - ref.scores[at]) < 1e-4 * Math.max(1, Math.abs(ref.scores[at])), `score ${i},${row.key}`);
    if (ref.logits[at] === -Infinity) assert.equal(row.logit, -Infinity);
    else assert.ok(Math.abs(row.logit - ref.logits[at]) < 1e-4 * Math.max(1, Math.abs(ref.logits[at])), `logit ${i},${row.key}`);
    assert.equal(row.weightText, ref.weights[at].toFixed(4), 'the text shown is the value rounded');
  }
}

/** Markup and script a learner or an author might type; each must stay text. */
export const XSS_PAYLOADS = [
  '<img src=x onerror="window.__xss=1">', '<script>window.__xss=2</script>', '"><svg onload=window.__xss=3>',
  'javascript:window.__xss=4', '<iframe srcdoc="<script>parent.__xss=5</script>">', "'; window.__xss=6; '",
  '{{constructor.constructor("window.__xss=7")()}}', '<a href="javascript:window.__xss=8">x</a>', '&lt;b&gt;bold&lt;/b&gt;',
  '<style>body{display:none}</style>', '=HYPERLINK("http://example.com")',
];

/** Fraction of a canvas's pixels that are not transparent. */
export function inkedFraction(frame, selector) {
  return frame.$eval(selector, (c) => {
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n / (c.width * c.height);
  });
}
