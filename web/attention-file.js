// Attention computed elsewhere, shown in every view: a JSON file with the tokens and the weights of
// every layer and head. Two shapes are read:
//
//   { "tokens": [...], "attentions": [layer][head][query][key] }      HuggingFace, output_attentions=True
//       (each layer's tensor after .tolist(); a batch dimension of 1, [layer][1][head][query][key], is
//       dropped; "keyTokens" may name the keys when they are not the tokens, as in cross-attention)
//   { "attn": [layer][head][query][key], "left_text": [...], "right_text": [...] }          BertViz
//       (also inside { "attention": [ … ] } as head_view passes it to its page, or { "all": … })
//
// Everything is checked before anything is shown: shapes against the token counts, every weight a
// finite number from 0 to 1, every row summing to 1. The tokens are only ever shown as text.

export class AttentionFileError extends Error {
  constructor(message) { super(message); this.name = 'AttentionFileError'; }
}

/** The most tokens per side, and numbers in all, that a file may hold (BERT's 512 positions fit). */
export const MAX_FILE_TOKENS = 512;
export const MAX_FILE_NUMBERS = 16 * 1024 * 1024;
/** The largest file read, in bytes (JSON text of the numbers above, with room to spare). */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
const ROW_TOLERANCE = 0.01;

const fail = (message) => { throw new AttentionFileError(`attention file: ${message}`); };
const describe = (v) => (v === null ? 'null' : Array.isArray(v) ? `a list of ${v.length}` : typeof v === 'object' ? 'an object' : typeof v === 'string' ? 'text' : String(v));

function tokensOf(list, name) {
  if (!Array.isArray(list) || list.length === 0) fail(`"${name}" must be a non-empty list of tokens, received ${describe(list)}`);
  if (list.length > MAX_FILE_TOKENS) fail(`"${name}" has ${list.length} tokens; at most ${MAX_FILE_TOKENS} can be shown`);
  list.forEach((t, i) => { if (typeof t !== 'string') fail(`${name}[${i}] must be text, received ${describe(t)}`); });
  return list;
}

// Which of the shapes above `data` has: { tokens, keyTokens, layers, format }.
function unwrap(data) {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) fail(`expected an object with "tokens" and "attentions" (HuggingFace) or "attn", "left_text", "right_text" (BertViz), received ${describe(data)}`);
  if ('attentions' in data || 'tokens' in data) {
    const tokens = tokensOf(data.tokens, 'tokens');
    return { tokens, keyTokens: data.keyTokens == null ? tokens : tokensOf(data.keyTokens, 'keyTokens'), layers: data.attentions, name: 'attentions', format: 'HuggingFace' };
  }
  if (Array.isArray(data.attention) && data.attention[0] && typeof data.attention[0] === 'object') return unwrap(data.attention[0]);
  if (data.all && typeof data.all === 'object') return unwrap(data.all);
  if ('attn' in data) {
    const tokens = tokensOf(data.left_text, 'left_text');
    return { tokens, keyTokens: data.right_text == null ? tokens : tokensOf(data.right_text, 'right_text'), layers: data.attn, name: 'attn', format: 'BertViz' };
  }
  return fail('found neither "tokens" and "attentions" (HuggingFace) nor "attn", "left_text" and "right_text" (BertViz)');
}

// A text for the token strip: the tokens one after another, each at its place in it.
function unitsOf(tokens) {
  let at = 0;
  const units = tokens.map((t, i) => {
    const shown = t === '' ? '∅' : t;
    const unit = { text: shown, vocab: shown, start: at, end: at + shown.length, word: i, unknown: false, estimated: false, joinBefore: false, joinAfter: false, byte: null };
    at += shown.length + 1;
    return unit;
  });
  return { text: units.map((u) => u.text).join(' '), units };
}

/**
 * Reads attention data (parsed JSON, or its text) into a run the views show (mode 'given': weights
 * only). Throws an AttentionFileError that says what is wrong and where.
 */
export function readAttentionFile(input) {
  let data = input;
  if (typeof input === 'string') {
    if (input.length > MAX_FILE_BYTES) fail(`${input.length.toLocaleString('en')} characters is more than the ${MAX_FILE_BYTES.toLocaleString('en')} read`);
    try {
      data = JSON.parse(input);
    } catch (error) {
      fail(`not valid JSON (${error.message})`);
    }
  }
  const { tokens, keyTokens, layers: raw, name, format } = unwrap(data);
  const n = tokens.length, m = keyTokens.length;
  if (!Array.isArray(raw) || raw.length === 0) fail(`"${name}" must be a list of layers, received ${describe(raw)}`);
  // [layer][1][head][query][key] (the batch dimension kept) is read as [layer][head][query][key].
  const batched = Array.isArray(raw[0]) && raw[0].length === 1 && Array.isArray(raw[0][0]?.[0]?.[0]);
  const heads = batched ? raw[0][0].length : raw[0]?.length;
  if (!Number.isInteger(heads) || heads === 0) fail(`${name}[0] must be a list of heads, received ${describe(raw[0])}`);
  if (raw.length * heads * n * m > MAX_FILE_NUMBERS) fail(`${raw.length} layers × ${heads} heads × ${n} × ${m} weights is more than the ${MAX_FILE_NUMBERS.toLocaleString('en')} that can be shown`);
  const layers = raw.map((layer, l) => {
    const at = `${name}[${l}]`;
    let lay = layer;
    if (batched) {
      if (!Array.isArray(layer) || layer.length !== 1) fail(`${at} must hold one batch item like ${name}[0], received ${describe(layer)}`);
      lay = layer[0];
    }
    if (!Array.isArray(lay) || lay.length !== heads) fail(`${at} must have ${heads} heads like ${name}[0], received ${describe(lay)}`);
    return {
      heads: lay.map((head, h) => {
        const hat = `${at}${batched ? '[0]' : ''}[${h}]`;
        if (!Array.isArray(head) || head.length !== n) fail(`${hat} must have ${n} rows, one per token (query), received ${describe(head)}`);
        const weights = new Float32Array(n * m);
        head.forEach((row, i) => {
          if (!Array.isArray(row) || row.length !== m) fail(`${hat}[${i}] must have ${m} weights, one per key token, received ${describe(row)}`);
          let sum = 0;
          for (let j = 0; j < m; ++j) {
            const w = row[j];
            if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w > 1 + ROW_TOLERANCE) fail(`${hat}[${i}][${j}] must be a weight from 0 to 1, received ${describe(w)}`);
            sum += w;
            weights[i * m + j] = w;
          }
          if (Math.abs(sum - 1) > ROW_TOLERANCE) fail(`${hat}[${i}] sums to ${sum.toFixed(4)}; each row must be a query's weights, which sum to 1 (a softmax)`);
        });
        return { weights, q: null, k: null, v: null, scores: null, logits: null, output: null };
      }),
    };
  });
  const queries = unitsOf(tokens);
  const keys = keyTokens === tokens ? queries : unitsOf(keyTokens);
  return {
    mode: 'given', format, text: queries.text, keyText: keys.text, context: null, units: queries.units, keyUnits: keys.units, n, m,
    dHead: 0, layers, knobs: { heads, scaling: true, temperature: 1, causal: false }, scale: 1, next: null, leftOut: 0, cut: false,
  };
}
