// First page: per-token self-attention weights computed in the browser by the package.
import { loadAttention } from '/bindings/index.js';
import { splitWords, placeholderMatrix, PLACEHOLDER_DIM } from './placeholder-vectors.js';

const input = document.getElementById('sentence');
const status = document.getElementById('status');
const heatmap = document.getElementById('heatmap');

// Viridis-like sequential ramp (colour-blind safe), 0 → dark purple, 1 → yellow.
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function colour(w) {
  const x = Math.min(Math.max(w, 0), 1) * (RAMP.length - 1), i = Math.min(Math.floor(x), RAMP.length - 2), f = x - i;
  const c = RAMP[i].map((a, k) => Math.round(a + (RAMP[i + 1][k] - a) * f));
  return { bg: `rgb(${c})`, fg: w > 0.55 ? '#000' : '#fff' };
}

function render(qkv) {
  const tokens = splitWords(input.value);
  heatmap.replaceChildren();
  if (tokens.length === 0) {
    status.textContent = 'Type a sentence to see its attention weights.';
    return;
  }
  const x = placeholderMatrix(tokens);
  const t0 = performance.now();
  const { weights } = qkv.attention({ q: x, k: x, v: x, dim: PLACEHOLDER_DIM, returnWeights: true });
  const ms = performance.now() - t0;
  const n = tokens.length;
  heatmap.style.gridTemplateColumns = `auto repeat(${n}, minmax(2.6rem, 1fr))`;
  const cell = (cls, text) => {
    const el = document.createElement('div');
    el.className = cls;
    el.textContent = text; // user text is data, never markup
    heatmap.append(el);
    return el;
  };
  cell('label', 'query ↓ key →');
  for (const t of tokens) cell('label', t.text);
  for (let i = 0; i < n; ++i) {
    cell('label', tokens[i].text);
    for (let j = 0; j < n; ++j) {
      const w = weights[i * n + j];
      const el = cell('cell', w.toFixed(2));
      const { bg, fg } = colour(w);
      el.style.background = bg;
      el.style.color = fg;
      el.dataset.weight = String(w);
      el.title = `${tokens[i].text} → ${tokens[j].text}: ${w.toFixed(4)}`;
    }
  }
  status.textContent = `${n} tokens · computed in ${ms.toFixed(2)} ms with ${qkv.backend}`;
}

loadAttention().then((qkv) => {
  render(qkv);
  input.addEventListener('input', () => render(qkv));
  document.body.dataset.ready = 'true';
}, (err) => {
  status.textContent = `Could not load the WebAssembly module: ${err.message}`;
});
