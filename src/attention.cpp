#include "attention.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "sizes.h"

namespace qkv {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Query rows per block. The online path keeps a kRowBlock × kKeyBlock tile of logits, the
// materialised path a kRowBlock × n_k strip of weights, in cache while softmax and weights·V read it.
constexpr size_t kRowBlock = 32;
constexpr size_t kKeyBlock = 128;  // keys per tile of the online path; a multiple of kPanel
static_assert(kKeyBlock % kPanel == 0, "key tiles start at panel boundaries");

// One (batch, head) problem. Matrices may be column slices of wider ones (multi-head), hence strides.
struct Head {
  int n_q, n_k, dim, value_dim;
  const float* q; size_t ldq;
  const float* k; size_t ldk;
  const float* v; size_t ldv;
  float* out; size_t ldo;
  float* weights;  // n_q × n_k, contiguous; each of these three is optional
  float* scores;
  float* logits;
  const uint8_t* bool_mask;  // n_q × n_k slice or null
  const float* add_mask;     // n_q × n_k slice or null
  int key_length;            // n_k when unpadded
  bool causal;
  // Output only: online softmax over key tiles, O(n·d) memory. Otherwise the weights are materialised.
  bool online() const { return !weights && !scores && !logits; }
};

struct Additive {
  const float *w_q, *w_k, *v_a;
  int dim;
};

// Scratch one head needs: K packed as panels, and the online path's tile and per-row state, or the
// materialised path's strip of weights (when the caller gives no weights) and additive projections.
struct Workspace {
  float* packed;
  float* block;
  float* proj;
};

// The three parts of a head's workspace, in floats; each checked, so that their sum is too.
struct WorkspaceSizes {
  Size packed, block, proj;
  Size total() const { return packed + block + proj; }
};

WorkspaceSizes workspace_sizes(size_t n_q, size_t n_k, size_t dim, bool online, bool own_strip, size_t additive_dim) {
  const size_t rows = n_q < kRowBlock ? n_q : kRowBlock;
  return {additive_dim ? Size(0) : round_up(Size(n_k), kPanel) * Size(dim),
          online ? Size(kRowBlock * kKeyBlock + 3 * kRowBlock) : own_strip ? product(rows, n_k) : Size(0),
          (Size(n_q) + Size(n_k)) * Size(additive_dim)};
}

// `buf` holds sizes.total() floats, which the caller has checked.
Workspace split_workspace(float* buf, const WorkspaceSizes& sizes) {
  return {buf, buf + sizes.packed.value(), buf + sizes.packed.value() + sizes.block.value()};
}

// Masks on the logits x of queries i0… (rows) and keys j0… (cols), row stride ldx.
void apply_masks(const Head& h, size_t i0, size_t rows, size_t j0, size_t cols, float* x, size_t ldx) {
  const size_t nk = h.n_k;
  for (size_t r = 0; r < rows; ++r) {
    const size_t i = i0 + r;
    float* row = x + r * ldx;
    if (h.add_mask) {
      const float* m = h.add_mask + i * nk + j0;
      for (size_t j = 0; j < cols; ++j) row[j] += m[j];
    }
    if (h.bool_mask) {
      const uint8_t* m = h.bool_mask + i * nk + j0;
      for (size_t j = 0; j < cols; ++j)
        if (!m[j]) row[j] = kNegInf;
    }
    size_t visible = static_cast<size_t>(h.key_length);
    if (h.causal && i + 1 < visible) visible = i + 1;
    for (size_t j = visible > j0 ? visible - j0 : 0; j < cols; ++j) row[j] = kNegInf;
  }
}

// Scores of queries i0… (rows) against every key into dst (row stride n_k), times a.
void compute_scores(const Head& h, Scoring scoring, float a, const Additive& add, const Workspace& ws, size_t i0,
                    size_t rows, float* dst, const Kernels& kn) {
  const size_t nq = h.n_q, nk = h.n_k;
  if (scoring != Scoring::additive) {
    kn.gemm_nt_packed(rows, nk, h.dim, a, h.q + i0 * h.ldq, h.ldq, ws.packed, dst, nk);
    return;
  }
  // score_ij = v_a · tanh(q_i·W_q + k_j·W_k); tanh has no vector kernel: additive scoring is for
  // teaching sizes.
  const size_t da = add.dim;
  const float* pq = ws.proj;
  const float* pk = ws.proj + nq * da;
  for (size_t i = i0; i < i0 + rows; ++i)
    for (size_t j = 0; j < nk; ++j) {
      float s = 0.0f;
      for (size_t t = 0; t < da; ++t) s += add.v_a[t] * std::tanh(pq[i * da + t] + pk[j * da + t]);
      dst[(i - i0) * nk + j] = a * s;
    }
}

// Weights materialised strip by strip: scores, masks, softmax and weights·V of kRowBlock queries
// while their strip is in cache.
void attend_materialised(const Head& h, Scoring scoring, float alpha, const Additive& add, const Workspace& ws,
                         const Kernels& kn) {
  const size_t nq = h.n_q, nk = h.n_k;
  if (scoring != Scoring::additive) {
    kn.pack_panels(nk, h.dim, h.k, h.ldk, ws.packed);
  } else {
    const size_t da = add.dim;
    kn.gemm_nn(nq, da, h.dim, h.q, h.ldq, add.w_q, da, nullptr, ws.proj, da);
    kn.gemm_nn(nk, da, h.dim, h.k, h.ldk, add.w_k, da, nullptr, ws.proj + nq * da, da);
  }
  const bool masked = h.causal || h.key_length < h.n_k || h.bool_mask || h.add_mask;
  for (size_t i0 = 0; i0 < nq; i0 += kRowBlock) {
    const size_t rows = nq - i0 < kRowBlock ? nq - i0 : kRowBlock;
    float* w = h.weights ? h.weights + i0 * nk : ws.block;
    if (h.scores) {
      float* s = h.scores + i0 * nk;
      compute_scores(h, scoring, 1.0f, add, ws, i0, rows, s, kn);
      for (size_t i = 0; i < rows * nk; ++i) w[i] = alpha * s[i];
    } else {
      compute_scores(h, scoring, alpha, add, ws, i0, rows, w, kn);
    }
    if (masked) apply_masks(h, i0, rows, 0, nk, w, nk);
    if (h.logits) std::memcpy(h.logits + i0 * nk, w, rows * nk * sizeof(float));
    for (size_t r = 0; r < rows; ++r) kn.softmax_row(nk, w + r * nk);
    kn.gemm_nn(rows, h.value_dim, nk, w, nk, h.v, h.ldv, nullptr, h.out + i0 * h.ldo, h.ldo);
  }
}

// Row r of x (cols wide, row stride ldx) divided by the softmax sum l[r]; l = 0 (every key masked)
// leaves 0, which the row already is.
void divide_rows(size_t rows, size_t cols, float* x, size_t ldx, const float* l) {
  for (size_t r = 0; r < rows; ++r) {
    const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
    float* row = x + r * ldx;
    for (size_t c = 0; c < cols; ++c) row[c] *= inv;
  }
}

// Output only (flash-attention recurrence): for each block of queries, key tiles of logits update a
// running max m, sum l and output O; no n_q × n_k matrix exists. Masked keys past keyLengths and,
// with causal, key tiles after the block's last query are skipped; tiles that no mask touches take
// Q·Kᵀ and the softmax step in one kernel. The logits are the materialised path's float32 values
// (alpha·q·k, plus the mask), and each exponential is of their difference from the max: no factor
// such as log2(e) is folded in before the max is subtracted, so the two paths agree over the whole
// float32 range (a fold overflows above ~2.4e38, and merges logits an ulp apart where ulps are large).
void attend_online(const Head& h, float alpha, const Workspace& ws, const Kernels& kn) {
  const size_t nq = h.n_q, dv = h.value_dim, visible = h.key_length;
  float* tile = ws.block;
  float* m = tile + kRowBlock * kKeyBlock;
  float* l = m + kRowBlock;
  float* scale = l + kRowBlock;
  kn.pack_panels(visible, h.dim, h.k, h.ldk, ws.packed);
  for (size_t i0 = 0; i0 < nq; i0 += kRowBlock) {
    const size_t rows = nq - i0 < kRowBlock ? nq - i0 : kRowBlock;
    const float* q = h.q + i0 * h.ldq;
    float* out = h.out + i0 * h.ldo;
    const size_t end = h.causal && i0 + rows < visible ? i0 + rows : visible;
    // One tile of keys, narrower than a value row: the weights are divided by their sums before
    // weights·V (cols multiplies per row) instead of the output after it (dv per row).
    const bool divide_weights = end <= kKeyBlock && end < dv;
    for (size_t r = 0; r < rows; ++r) {
      m[r] = kNegInf, l[r] = 0.0f;
      if (end == 0) std::memset(out + r * h.ldo, 0, dv * sizeof(float));  // no key visible: output 0
    }
    for (size_t j0 = 0; j0 < end; j0 += kKeyBlock) {
      const size_t cols = end - j0 < kKeyBlock ? end - j0 : kKeyBlock;
      const float* panels = ws.packed + j0 * h.dim;
      if (h.bool_mask || h.add_mask || (h.causal && j0 + cols > i0 + 1)) {
        kn.gemm_nt_packed(rows, cols, h.dim, alpha, q, h.ldq, panels, tile, kKeyBlock);
        apply_masks(h, i0, rows, j0, cols, tile, kKeyBlock);
        kn.softmax_online(rows, cols, tile, kKeyBlock, m, l, scale);
      } else {
        kn.gemm_nt_softmax_online(rows, cols, h.dim, alpha, q, h.ldq, panels, tile, kKeyBlock, m, l, scale);
      }
      if (divide_weights) divide_rows(rows, cols, tile, kKeyBlock, l);
      // The first tile writes O (rows that saw only masked keys get 0 from their zero weights); later
      // ones rescale and add.
      if (j0 == 0) kn.gemm_nn(rows, dv, cols, tile, kKeyBlock, h.v, h.ldv, nullptr, out, h.ldo);
      else kn.gemm_nn_acc(rows, dv, cols, tile, kKeyBlock, h.v + j0 * h.ldv, h.ldv, scale, out, h.ldo);
    }
    if (!divide_weights) divide_rows(rows, dv, out, h.ldo, l);
  }
}

void attend(const Head& h, Scoring scoring, float alpha, const Additive& add, const Workspace& ws, const Kernels& kn) {
  if (h.online() && scoring != Scoring::additive) attend_online(h, alpha, ws, kn);
  else attend_materialised(h, scoring, alpha, add, ws, kn);
}

std::string str(long long v) { return std::to_string(v); }

Status invalid(const std::string& msg) { return Status::Error(Code::invalid_argument, msg); }

Status too_large() { return Status::Error(Code::out_of_memory, "the tensors are larger than the address space"); }

Status check_positive(const char* name, long long v) {
  if (v < 1) return invalid(std::string(name) + " must be a positive integer, received " + str(v));
  return Status::Ok();
}

// n: an element count the caller has checked with fits_floats.
Status check_finite(const char* name, const float* x, Size n, const Kernels& kn) {
  const size_t i = kn.first_non_finite(n.value(), x);
  if (i < n.value()) {
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

// NaN in an additive mask would make a row NaN on one kernel set and masked on another, and +inf
// gives inf − inf; -inf is how a key is masked. Checked here in plain C++, the same for every kernel
// set, a chunk at a time with no branch inside (so that it vectorises), the index found only on error.
Status check_additive_mask(const MaskView<float>& m, size_t plane) {
  if (!m.data) return Status::Ok();
  const size_t n = size_t(m.batch) * size_t(m.heads) * plane;  // within the checked bh × plane
  constexpr size_t kChunk = 1024;
  for (size_t i0 = 0; i0 < n; i0 += kChunk) {
    const size_t end = n - i0 < kChunk ? n : i0 + kChunk;
    bool bad = false;
    for (size_t i = i0; i < end; ++i) bad |= !(m.data[i] < kInf);
    if (!bad) continue;
    size_t i = i0;
    while (m.data[i] < kInf) ++i;
    return Status::Error(Code::non_finite, "additiveMask must hold finite numbers or -Infinity (to mask a key), received " +
                                               std::string(std::isnan(m.data[i]) ? "NaN" : "+Infinity") + " at index " +
                                               str(static_cast<long long>(i)));
  }
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

// scale / temperature, the factor of every logit, in float32: rounded from the double quotient and
// held at ±FLT_MAX where it would overflow (a temperature of 1e-40), so that the logits are
// ±FLT_MAX·q·k there, and +inf only where that product overflows, never inf·0 = NaN.
float logit_factor(float scale, float temperature) {
  const double f = double(scale) / double(temperature), top = std::numeric_limits<float>::max();
  return static_cast<float>(f > top ? top : f < -top ? -top : f);
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
  const Size q_elems = product(a.batch, a.heads, a.n_q, a.dim), k_elems = product(a.batch, a.heads, a.n_k, a.dim);
  const Size v_elems = product(a.batch, a.heads, a.n_k, a.value_dim);
  const Size planes = product(a.batch, a.heads, a.n_q, a.n_k);
  // n_q × n_k planes exist only when weights, scores, logits or a per-element mask are passed: the
  // output-only path never has one, so n = 32768 is fine there in 32-bit wasm.
  const bool has_planes = a.weights || a.scores || a.logits || a.mask.bool_mask.data || a.mask.add_mask.data;
  if (!fits_floats(q_elems) || !fits_floats(k_elems) || !fits_floats(v_elems) || (has_planes && !fits_floats(planes)) ||
      !fits_floats(product(a.batch, a.heads, a.n_q, a.value_dim)))
    return too_large();
  if (a.scoring != Scoring::dot && a.scoring != Scoring::scaled_dot && a.scoring != Scoring::additive)
    return invalid("scoring must be 'dot', 'scaled_dot' or 'additive'");
  if (a.scoring == Scoring::additive) {
    if (!a.w_q || !a.w_k || !a.v_a || a.additive_dim < 1)
      return invalid("additive scoring needs wq [dim][additiveDim], wk [dim][additiveDim] and va [additiveDim]");
    if (!fits_floats(product(a.dim, a.additive_dim))) return too_large();
  }
  const float scale = a.scale == 0.0f ? default_scale(a.scoring, a.dim) : a.scale;
  Status s = check_scale(scale, a.temperature);
  if (s.ok()) s = check_mask_options(a.mask, a.batch, a.heads, a.n_k);
  if (s.ok()) s = check_finite("q", a.q, q_elems, kn);
  if (s.ok()) s = check_finite("k", a.k, k_elems, kn);
  if (s.ok()) s = check_finite("v", a.v, v_elems, kn);
  if (s.ok() && a.scoring == Scoring::additive) {
    s = check_finite("additive.wq", a.w_q, product(a.dim, a.additive_dim), kn);
    if (s.ok()) s = check_finite("additive.wk", a.w_k, product(a.dim, a.additive_dim), kn);
    if (s.ok()) s = check_finite("additive.va", a.v_a, Size(a.additive_dim), kn);
  }
  const size_t plane = size_t(a.n_q) * size_t(a.n_k);  // within planes, checked above when a mask exists
  if (s.ok()) s = check_additive_mask(a.mask.add_mask, plane);
  if (!s.ok()) return s;

  const size_t additive_dim = a.scoring == Scoring::additive ? a.additive_dim : 0;
  const bool online = !a.weights && !a.scores && !a.logits && !additive_dim;
  const WorkspaceSizes sizes = workspace_sizes(a.n_q, a.n_k, a.dim, online, !a.weights, additive_dim);
  float* buf = fits_floats(sizes.total()) ? scratch.get(sizes.total().value()) : nullptr;
  if (!buf) return Status::Error(Code::out_of_memory, "out of memory for attention scratch (" + str(a.n_q) + "×" + str(a.n_k) + " scores)");
  const Workspace ws = split_workspace(buf, sizes);
  const Additive add{a.w_q, a.w_k, a.v_a, a.additive_dim};
  const float alpha = logit_factor(scale, a.temperature);

  for (int b = 0; b < a.batch; ++b) {
    for (int h = 0; h < a.heads; ++h) {
      const size_t bhi = size_t(b) * a.heads + h;
      Head head{a.n_q, a.n_k, a.dim, a.value_dim,
                a.q + bhi * a.n_q * a.dim, size_t(a.dim),
                a.k + bhi * a.n_k * a.dim, size_t(a.dim),
                a.v + bhi * a.n_k * a.value_dim, size_t(a.value_dim),
                a.output + bhi * a.n_q * a.value_dim, size_t(a.value_dim),
                a.weights ? a.weights + bhi * plane : nullptr,
                a.scores ? a.scores + bhi * plane : nullptr,
                a.logits ? a.logits + bhi * plane : nullptr,
                mask_slice(a.mask.bool_mask, b, h, plane),
                mask_slice(a.mask.add_mask, b, h, plane),
                a.mask.key_lengths ? a.mask.key_lengths[b] : a.n_k,
                a.mask.causal};
      attend(head, a.scoring, alpha, add, ws, kn);
    }
  }
  return Status::Ok();
}

// key_j ← s_h·key_j + (1 − s_h)·key_{j−1} for each head h, in place: last row first, so that every
// row still reads the unsmeared key before it.
static void smear_keys(int m, int heads, int dh, const float* s, float* k) {
  const size_t D = size_t(heads) * dh;
  for (int j = m - 1; j >= 1; --j)
    for (int h = 0; h < heads; ++h) {
      float* kj = k + size_t(j) * D + size_t(h) * dh;
      const float* prev = kj - D;
      for (int c = 0; c < dh; ++c) kj[c] = s[h] * kj[c] + (1.0f - s[h]) * prev[c];
    }
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
  if (a.key_smear && cross) return invalid("smeared keys need self-attention (no context)");
  const int dh = a.d_model / a.heads;
  const Size x_elems = product(a.batch, a.n, a.d_model), c_elems = product(a.batch, m, dc);
  const Size wq_elems = product(a.d_model, a.d_model), wk_elems = product(dc, a.d_model);
  if (!fits_floats(product(a.batch, a.heads, a.n, m)) || !fits_floats(x_elems) || !fits_floats(c_elems) ||
      !fits_floats(wq_elems) || !fits_floats(wk_elems))
    return too_large();
  // Every offset below lies inside one of the tensors just checked.
  const size_t D = a.d_model, plane = size_t(a.n) * size_t(m);
  const float scale = a.scale == 0.0f ? default_scale(a.scoring, dh) : a.scale;
  Status s = check_scale(scale, a.temperature);
  if (s.ok()) s = check_mask_options(a.mask, a.batch, a.heads, m);
  if (s.ok()) s = check_finite("x", a.x, x_elems, kn);
  if (s.ok() && cross) s = check_finite("context", a.context, c_elems, kn);
  if (s.ok()) s = check_finite("wq", a.w_q, wq_elems, kn);
  if (s.ok()) s = check_finite("wk", a.w_k, wk_elems, kn);
  if (s.ok()) s = check_finite("wv", a.w_v, wk_elems, kn);
  if (s.ok()) s = check_finite("wo", a.w_o, wq_elems, kn);
  for (auto [name, bias] : {std::pair<const char*, const float*>{"bq", a.b_q}, {"bk", a.b_k}, {"bv", a.b_v}, {"bo", a.b_o}})
    if (s.ok() && bias) s = check_finite(name, bias, Size(D), kn);
  if (s.ok() && a.key_smear) s = check_finite("key smear", a.key_smear, Size(a.heads), kn);
  if (s.ok()) s = check_additive_mask(a.mask.add_mask, plane);
  if (!s.ok()) return s;

  // Per batch item: projected Q [n][D], K and V [m][D], the concatenated heads [n][D], a head's workspace.
  const bool online = !a.weights && !a.scores && !a.logits;
  const WorkspaceSizes sizes = workspace_sizes(a.n, m, dh, online, !a.weights, 0);
  const Size need = product(a.n, D) * Size(2) + product(m, D) * Size(2) + sizes.total();
  float* buf = fits_floats(need) ? scratch.get(need.value()) : nullptr;
  if (!buf) return Status::Error(Code::out_of_memory, "out of memory for multi-head attention scratch");
  float* qp = buf;
  float* kp = qp + size_t(a.n) * D;
  float* vp = kp + size_t(m) * D;
  float* cat = vp + size_t(m) * D;
  const Workspace ws = split_workspace(cat + size_t(a.n) * D, sizes);
  const float alpha = logit_factor(scale, a.temperature);
  const Additive none{nullptr, nullptr, nullptr, 0};

  for (int b = 0; b < a.batch; ++b) {
    const float* xb = a.x + size_t(b) * a.n * D;
    const float* cb = cross ? a.context + size_t(b) * m * dc : xb;
    kn.gemm_nn(a.n, D, D, xb, D, a.w_q, D, a.b_q, qp, D);
    kn.gemm_nn(m, D, dc, cb, dc, a.w_k, D, a.b_k, kp, D);
    kn.gemm_nn(m, D, dc, cb, dc, a.w_v, D, a.b_v, vp, D);
    if (a.key_smear) smear_keys(m, a.heads, dh, a.key_smear, kp);
    for (int h = 0; h < a.heads; ++h) {
      const size_t bhi = size_t(b) * a.heads + h, off = size_t(h) * dh;
      Head head{a.n, m, dh, dh, qp + off, size_t(D), kp + off, size_t(D), vp + off, size_t(D), cat + off, size_t(D),
                a.weights ? a.weights + bhi * plane : nullptr,
                a.scores ? a.scores + bhi * plane : nullptr,
                a.logits ? a.logits + bhi * plane : nullptr,
                mask_slice(a.mask.bool_mask, b, h, plane),
                mask_slice(a.mask.add_mask, b, h, plane),
                a.mask.key_lengths ? a.mask.key_lengths[b] : m,
                a.mask.causal};
      attend(head, a.scoring, alpha, none, ws, kn);
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
