#include "attention.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace qkv {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// One (batch, head) problem. Matrices may be column slices of wider ones (multi-head), hence strides.
struct Head {
  int n_q, n_k, dim, value_dim;
  const float* q; size_t ldq;
  const float* k; size_t ldk;
  const float* v; size_t ldv;
  float* out; size_t ldo;
  float* weights;  // n_q × n_k, contiguous; required (scratch when the caller did not ask for it)
  float* scores;   // optional
  float* logits;   // optional
  const uint8_t* bool_mask;  // n_q × n_k slice or null
  const float* add_mask;     // n_q × n_k slice or null
  int key_length;            // n_k when unpadded
  bool causal;
};

struct Additive {
  const float *w_q, *w_k, *v_a;
  int dim;
  float* proj;  // scratch of (n_q + n_k) × dim
};

void compute_scores(const Head& h, Scoring scoring, float alpha, const Additive& add, const Kernels& kn) {
  const size_t nq = h.n_q, nk = h.n_k;
  float* dst = h.scores ? h.scores : h.weights;
  const float a = h.scores ? 1.0f : alpha;
  if (scoring != Scoring::additive) {
    kn.gemm_nt(nq, nk, h.dim, a, h.q, h.ldq, h.k, h.ldk, dst, nk);
  } else {
    // score_ij = v_a · tanh(q_i·W_q + k_j·W_k); tanh has no vector kernel: additive scoring is for
    // teaching sizes.
    const size_t da = add.dim;
    float* pq = add.proj;
    float* pk = add.proj + nq * da;
    kn.gemm_nn(nq, da, h.dim, h.q, h.ldq, add.w_q, da, nullptr, pq, da);
    kn.gemm_nn(nk, da, h.dim, h.k, h.ldk, add.w_k, da, nullptr, pk, da);
    for (size_t i = 0; i < nq; ++i)
      for (size_t j = 0; j < nk; ++j) {
        float s = 0.0f;
        for (size_t t = 0; t < da; ++t) s += add.v_a[t] * std::tanh(pq[i * da + t] + pk[j * da + t]);
        dst[i * nk + j] = a * s;
      }
  }
  if (h.scores) {
    for (size_t i = 0; i < nq * nk; ++i) h.weights[i] = alpha * h.scores[i];
  }
}

void apply_masks(const Head& h) {
  const size_t nq = h.n_q, nk = h.n_k;
  for (size_t i = 0; i < nq; ++i) {
    float* row = h.weights + i * nk;
    if (h.add_mask) {
      const float* m = h.add_mask + i * nk;
      for (size_t j = 0; j < nk; ++j) row[j] += m[j];
    }
    if (h.bool_mask) {
      const uint8_t* m = h.bool_mask + i * nk;
      for (size_t j = 0; j < nk; ++j)
        if (!m[j]) row[j] = kNegInf;
    }
    size_t visible = static_cast<size_t>(h.key_length);
    if (h.causal && i + 1 < visible) visible = i + 1;
    for (size_t j = visible; j < nk; ++j) row[j] = kNegInf;
  }
}

void attend(const Head& h, Scoring scoring, float alpha, const Additive& add, const Kernels& kn) {
  const size_t nq = h.n_q, nk = h.n_k;
  compute_scores(h, scoring, alpha, add, kn);
  if (h.causal || h.key_length < h.n_k || h.bool_mask || h.add_mask) apply_masks(h);
  if (h.logits) std::memcpy(h.logits, h.weights, nq * nk * sizeof(float));
  for (size_t i = 0; i < nq; ++i) kn.softmax_row(nk, h.weights + i * nk);
  kn.gemm_nn(nq, h.value_dim, nk, h.weights, nk, h.v, h.ldv, nullptr, h.out, h.ldo);
}

std::string str(long long v) { return std::to_string(v); }

Status invalid(const std::string& msg) { return Status::Error(Code::invalid_argument, msg); }

// Element counts are checked in 64 bits so that a 32-bit wasm size_t cannot wrap.
bool fits(uint64_t elements) { return elements <= static_cast<uint64_t>(SIZE_MAX / sizeof(float)); }

Status check_positive(const char* name, long long v) {
  if (v < 1) return invalid(std::string(name) + " must be a positive integer, received " + str(v));
  return Status::Ok();
}

Status check_finite(const char* name, const float* x, uint64_t n) {
  const size_t i = first_non_finite(x, static_cast<size_t>(n));
  if (i < n) {
    return Status::Error(Code::non_finite, std::string(name) + " must hold finite numbers, received " +
                                               (std::isnan(x[i]) ? "NaN" : "an infinity") + " at index " +
                                               str(static_cast<long long>(i)));
  }
  return Status::Ok();
}

template <typename T>
Status check_mask(const char* name, const MaskView<T>& m, int batch, int heads) {
  if (!m.data) return Status::Ok();
  if (m.batch != 1 && m.batch != batch)
    return invalid(std::string(name) + " batch dimension must be 1 or " + str(batch) + ", received " + str(m.batch));
  if (m.heads != 1 && m.heads != heads)
    return invalid(std::string(name) + " heads dimension must be 1 or " + str(heads) + ", received " + str(m.heads));
  return Status::Ok();
}

Status check_mask_options(const MaskOptions& mask, int batch, int heads, int n_k) {
  if (mask.key_lengths) {
    for (int b = 0; b < batch; ++b)
      if (mask.key_lengths[b] < 0 || mask.key_lengths[b] > n_k)
        return Status::Error(Code::out_of_range, "keyLengths[" + str(b) + "] must be in [0, " + str(n_k) +
                                                     "], received " + str(mask.key_lengths[b]));
  }
  Status s = check_mask("mask", mask.bool_mask, batch, heads);
  if (!s.ok()) return s;
  return check_mask("additive mask", mask.add_mask, batch, heads);
}

Status check_scale(float scale, float temperature) {
  if (!std::isfinite(scale)) return invalid("scale must be a finite number, received " + std::to_string(scale));
  if (!(temperature > 0.0f) || !std::isfinite(temperature))
    return invalid("temperature must be a finite number > 0, received " + std::to_string(temperature));
  return Status::Ok();
}

template <typename T>
const T* mask_slice(const MaskView<T>& m, int b, int h, size_t plane) {
  if (!m.data) return nullptr;
  const size_t bi = m.batch == 1 ? 0 : b, hi = m.heads == 1 ? 0 : h;
  return m.data + (bi * m.heads + hi) * plane;
}

float default_scale(Scoring scoring, int dim) {
  return scoring == Scoring::scaled_dot ? 1.0f / std::sqrt(static_cast<float>(dim)) : 1.0f;
}

}  // namespace

size_t first_non_finite(const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return i;
  return n;
}

Status attention(const AttentionArgs& a, const Kernels& kn, Scratch& scratch) {
  for (auto [name, v] : {std::pair<const char*, int>{"batch", a.batch}, {"heads", a.heads}, {"queries", a.n_q},
                         {"keys", a.n_k}, {"dim", a.dim}, {"valueDim", a.value_dim}}) {
    Status s = check_positive(name, v);
    if (!s.ok()) return s;
  }
  if (!a.q || !a.k || !a.v || !a.output) return invalid("q, k, v and output are required");
  const uint64_t bh = uint64_t(a.batch) * a.heads;
  const uint64_t q_elems = bh * a.n_q * a.dim, k_elems = bh * a.n_k * a.dim, v_elems = bh * a.n_k * a.value_dim;
  const uint64_t plane = uint64_t(a.n_q) * a.n_k;
  if (!fits(q_elems) || !fits(k_elems) || !fits(v_elems) || !fits(bh * plane) || !fits(bh * a.n_q * a.value_dim))
    return Status::Error(Code::out_of_memory, "the tensors are larger than the address space");
  if (a.scoring != Scoring::dot && a.scoring != Scoring::scaled_dot && a.scoring != Scoring::additive)
    return invalid("scoring must be 'dot', 'scaled_dot' or 'additive'");
  if (a.scoring == Scoring::additive) {
    if (!a.w_q || !a.w_k || !a.v_a || a.additive_dim < 1)
      return invalid("additive scoring needs wq [dim][additiveDim], wk [dim][additiveDim] and va [additiveDim]");
  }
  const float scale = a.scale == 0.0f ? default_scale(a.scoring, a.dim) : a.scale;
  Status s = check_scale(scale, a.temperature);
  if (s.ok()) s = check_mask_options(a.mask, a.batch, a.heads, a.n_k);
  if (s.ok()) s = check_finite("q", a.q, q_elems);
  if (s.ok()) s = check_finite("k", a.k, k_elems);
  if (s.ok()) s = check_finite("v", a.v, v_elems);
  if (!s.ok()) return s;

  const uint64_t add_elems = a.scoring == Scoring::additive ? uint64_t(a.n_q + a.n_k) * a.additive_dim : 0;
  const uint64_t need = (a.weights ? 0 : plane) + add_elems;
  float* buf = nullptr;
  if (need) {
    buf = fits(need) ? scratch.get(static_cast<size_t>(need)) : nullptr;
    if (!buf) return Status::Error(Code::out_of_memory, "out of memory for a " + str(a.n_q) + "×" + str(a.n_k) + " score matrix");
  }
  const Additive add{a.w_q, a.w_k, a.v_a, a.additive_dim, buf ? buf + (a.weights ? 0 : plane) : nullptr};
  const float alpha = scale / a.temperature;

  for (int b = 0; b < a.batch; ++b) {
    for (int h = 0; h < a.heads; ++h) {
      const size_t bhi = size_t(b) * a.heads + h;
      Head head{a.n_q, a.n_k, a.dim, a.value_dim,
                a.q + bhi * a.n_q * a.dim, size_t(a.dim),
                a.k + bhi * a.n_k * a.dim, size_t(a.dim),
                a.v + bhi * a.n_k * a.value_dim, size_t(a.value_dim),
                a.output + bhi * a.n_q * a.value_dim, size_t(a.value_dim),
                a.weights ? a.weights + bhi * plane : buf,
                a.scores ? a.scores + bhi * plane : nullptr,
                a.logits ? a.logits + bhi * plane : nullptr,
                mask_slice(a.mask.bool_mask, b, h, plane),
                mask_slice(a.mask.add_mask, b, h, plane),
                a.mask.key_lengths ? a.mask.key_lengths[b] : a.n_k,
                a.mask.causal};
      attend(head, a.scoring, alpha, add, kn);
    }
  }
  return Status::Ok();
}

Status multi_head_attention(const MhaArgs& a, const Kernels& kn, Scratch& scratch) {
  const bool cross = a.context != nullptr;
  const int m = cross ? a.m : a.n, dc = cross ? a.d_context : a.d_model;
  for (auto [name, v] : {std::pair<const char*, int>{"batch", a.batch}, {"heads", a.heads}, {"length of x", a.n},
                         {"dModel", a.d_model}, {"length of context", m}, {"width of context", dc}}) {
    Status s = check_positive(name, v);
    if (!s.ok()) return s;
  }
  if (a.d_model % a.heads != 0)
    return invalid("heads must divide dModel: dModel " + str(a.d_model) + " is not a multiple of heads " + str(a.heads));
  if (!a.x || !a.w_q || !a.w_k || !a.w_v || !a.w_o || !a.output)
    return invalid("x, wq, wk, wv, wo and output are required");
  if (a.scoring == Scoring::additive) return invalid("multi-head attention scores with 'dot' or 'scaled_dot'");
  const int dh = a.d_model / a.heads;
  const uint64_t D = a.d_model;
  const uint64_t plane = uint64_t(a.n) * m;
  const uint64_t bh = uint64_t(a.batch) * a.heads;
  if (!fits(bh * plane) || !fits(uint64_t(a.batch) * a.n * D) || !fits(uint64_t(a.batch) * m * dc))
    return Status::Error(Code::out_of_memory, "the tensors are larger than the address space");
  const float scale = a.scale == 0.0f ? default_scale(a.scoring, dh) : a.scale;
  Status s = check_scale(scale, a.temperature);
  if (s.ok()) s = check_mask_options(a.mask, a.batch, a.heads, m);
  if (s.ok()) s = check_finite("x", a.x, uint64_t(a.batch) * a.n * D);
  if (s.ok() && cross) s = check_finite("context", a.context, uint64_t(a.batch) * m * dc);
  if (s.ok()) s = check_finite("wq", a.w_q, D * D);
  if (s.ok()) s = check_finite("wk", a.w_k, uint64_t(dc) * D);
  if (s.ok()) s = check_finite("wv", a.w_v, uint64_t(dc) * D);
  if (s.ok()) s = check_finite("wo", a.w_o, D * D);
  for (auto [name, bias] : {std::pair<const char*, const float*>{"bq", a.b_q}, {"bk", a.b_k}, {"bv", a.b_v}, {"bo", a.b_o}})
    if (s.ok() && bias) s = check_finite(name, bias, D);
  if (!s.ok()) return s;

  // Per batch item: projected Q [n][D], K and V [m][D], the concatenated heads [n][D], a score plane.
  const uint64_t need = uint64_t(a.n) * D * 2 + uint64_t(m) * D * 2 + (a.weights ? 0 : plane);
  float* buf = fits(need) ? scratch.get(static_cast<size_t>(need)) : nullptr;
  if (!buf) return Status::Error(Code::out_of_memory, "out of memory for multi-head attention scratch");
  float* qp = buf;
  float* kp = qp + size_t(a.n) * D;
  float* vp = kp + size_t(m) * D;
  float* cat = vp + size_t(m) * D;
  float* wbuf = cat + size_t(a.n) * D;
  const float alpha = scale / a.temperature;
  const Additive none{nullptr, nullptr, nullptr, 0, nullptr};

  for (int b = 0; b < a.batch; ++b) {
    const float* xb = a.x + size_t(b) * a.n * D;
    const float* cb = cross ? a.context + size_t(b) * m * dc : xb;
    kn.gemm_nn(a.n, D, D, xb, D, a.w_q, D, a.b_q, qp, D);
    kn.gemm_nn(m, D, dc, cb, dc, a.w_k, D, a.b_k, kp, D);
    kn.gemm_nn(m, D, dc, cb, dc, a.w_v, D, a.b_v, vp, D);
    for (int h = 0; h < a.heads; ++h) {
      const size_t bhi = size_t(b) * a.heads + h, off = size_t(h) * dh;
      Head head{a.n, m, dh, dh, qp + off, size_t(D), kp + off, size_t(D), vp + off, size_t(D), cat + off, size_t(D),
                a.weights ? a.weights + bhi * plane : wbuf,
                a.scores ? a.scores + bhi * plane : nullptr,
                a.logits ? a.logits + bhi * plane : nullptr,
                mask_slice(a.mask.bool_mask, b, h, plane),
                mask_slice(a.mask.add_mask, b, h, plane),
                a.mask.key_lengths ? a.mask.key_lengths[b] : m,
                a.mask.causal};
      attend(head, a.scoring, alpha, none, kn);
      // Per-head copies of what the learner may want to see.
      auto copy_head = [&](float* dst, const float* src, int rows) {
        if (!dst) return;
        float* d = dst + bhi * rows * dh;
        for (int r = 0; r < rows; ++r) std::memcpy(d + size_t(r) * dh, src + size_t(r) * D + off, dh * sizeof(float));
      };
      copy_head(a.q, qp, a.n);
      copy_head(a.k, kp, m);
      copy_head(a.v, vp, m);
      copy_head(a.head_outputs, cat, a.n);
    }
    if (a.concat) std::memcpy(a.concat + size_t(b) * a.n * D, cat, size_t(a.n) * D * sizeof(float));
    kn.gemm_nn(a.n, D, D, cat, D, a.w_o, D, a.b_o, a.output + size_t(b) * a.n * D, D);
  }
  return Status::Ok();
}

}  // namespace qkv
