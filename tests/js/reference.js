// Float64 JavaScript reference for attention and multi-head attention: the plainest loops that
// follow the course's formulas, independent of the C++ core.
// Returns { output, weights, scores, logits } in float64; logits are -Infinity where a key is masked.
// `additive`: { wq, wk, va } for scoring 'additive' (score = vaᵀ·tanh(q·Wq + k·Wk)).
export function attentionRef({ q, k, v, batch = 1, heads = 1, queries, keys, dim, valueDim, scale, temperature = 1,
  causal = false, mask = null, additiveMask = null, keyLengths = null, scoring = 'scaled_dot', additive = null }) {
  const plane = queries * keys;
  const alpha = (scale ?? (scoring === 'scaled_dot' ? 1 / Math.sqrt(dim) : 1)) / temperature;
  const output = new Float64Array(batch * heads * queries * valueDim);
  const weights = new Float64Array(batch * heads * plane);
  const scores = new Float64Array(batch * heads * plane), logits = new Float64Array(batch * heads * plane);
  const score = (qi, kj) => {
    let s = 0;
    if (scoring !== 'additive') {
      for (let c = 0; c < dim; ++c) s += q[qi + c] * k[kj + c];
      return s;
    }
    const { wq, wk, va } = additive;
    for (let t = 0; t < va.length; ++t) {
      let u = 0;
      for (let c = 0; c < dim; ++c) u += q[qi + c] * wq[c * va.length + t] + k[kj + c] * wk[c * va.length + t];
      s += va[t] * Math.tanh(u);
    }
    return s;
  };
  for (let b = 0; b < batch; ++b) {
    for (let h = 0; h < heads; ++h) {
      const bh = b * heads + h;
      const maskOff = (m) => (m && m.length !== plane ? bh * plane : 0);
      for (let i = 0; i < queries; ++i) {
        const row = new Float64Array(keys);
        for (let j = 0; j < keys; ++j) {
          let s = score((bh * queries + i) * dim, (bh * keys + j) * dim);
          scores[bh * plane + i * keys + j] = s;
          s *= alpha;
          if (additiveMask) s += additiveMask[maskOff(additiveMask) + i * keys + j];
          const open = (!causal || j <= i) && (!keyLengths || j < keyLengths[b]) && (!mask || mask[maskOff(mask) + i * keys + j]);
          row[j] = open ? s : -Infinity;
        }
        const w = softmaxRef(row);
        logits.set(row, bh * plane + i * keys);
        for (let j = 0; j < keys; ++j) {
          weights[bh * plane + i * keys + j] = w[j];
          for (let c = 0; c < valueDim; ++c) output[(bh * queries + i) * valueDim + c] += w[j] * v[(bh * keys + j) * valueDim + c];
        }
      }
    }
  }
  return { output, weights, scores, logits };
}

export function softmaxRef(row) {
  const mx = Math.max(...row);
  const out = new Float64Array(row.length);
  if (mx === -Infinity) return out; // every key masked: attends to nothing
  let sum = 0;
  for (let j = 0; j < row.length; ++j) sum += (out[j] = Math.exp(row[j] - mx));
  for (let j = 0; j < row.length; ++j) out[j] /= sum;
  return out;
}

// x: [n][dIn], w: [dIn][dOut] → [n][dOut]
export function linearRef(x, n, dIn, w, dOut, bias) {
  const y = new Float64Array(n * dOut);
  for (let i = 0; i < n; ++i) {
    for (let o = 0; o < dOut; ++o) {
      let s = bias ? bias[o] : 0;
      for (let c = 0; c < dIn; ++c) s += x[i * dIn + c] * w[c * dOut + o];
      y[i * dOut + o] = s;
    }
  }
  return y;
}

export function mhaRef({ x, context, params, batch = 1, heads, dModel, length, contextLength, dContext, causal = false, keyLengths = null }) {
  const cross = !!context;
  const m = cross ? contextLength : length, dc = cross ? dContext : dModel, dh = dModel / heads;
  const output = new Float64Array(batch * length * dModel);
  const weights = new Float64Array(batch * heads * length * m);
  for (let b = 0; b < batch; ++b) {
    const xb = x.subarray ? x.subarray(b * length * dModel, (b + 1) * length * dModel) : x.slice(b * length * dModel, (b + 1) * length * dModel);
    const src = cross ? context.slice(b * m * dc, (b + 1) * m * dc) : xb;
    const Q = linearRef(xb, length, dModel, params.wq, dModel, params.bq);
    const K = linearRef(src, m, dc, params.wk, dModel, params.bk);
    const V = linearRef(src, m, dc, params.wv, dModel, params.bv);
    const concat = new Float64Array(length * dModel);
    for (let h = 0; h < heads; ++h) {
      for (let i = 0; i < length; ++i) {
        const row = new Float64Array(m);
        for (let j = 0; j < m; ++j) {
          let s = 0;
          for (let c = 0; c < dh; ++c) s += Q[i * dModel + h * dh + c] * K[j * dModel + h * dh + c];
          const open = (!causal || j <= i) && (!keyLengths || j < keyLengths[b]);
          row[j] = open ? s / Math.sqrt(dh) : -Infinity;
        }
        const w = softmaxRef(row);
        for (let j = 0; j < m; ++j) {
          weights[((b * heads + h) * length + i) * m + j] = w[j];
          for (let c = 0; c < dh; ++c) concat[i * dModel + h * dh + c] += w[j] * V[j * dModel + h * dh + c];
        }
      }
    }
    output.set(linearRef(concat, length, dModel, params.wo, dModel, params.bo), b * length * dModel);
  }
  return { output, weights };
}

// Seeded generator so that failures can be reproduced.
export function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
  next.int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  next.array = (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
  return next;
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; ++i) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
