// Scalar twins of the vector kernels: the simplest correct loops, in float32 like the fast path.
#include <cmath>
#include <limits>

#include "kernels.h"

namespace qkv {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();

// exp(x) for x <= 0 with the vector kernels' edge (simd_kernels.h, Exp): exactly 0 below
// 2^-126.5, that is for x < -126.5·ln 2, and for -inf and NaN (a masked key).
inline float exp_or_zero(float x) { return x >= -87.6831183f ? std::exp(x) : 0.0f; }

}  // namespace

void qkv_f32_gemm_nt__scalar(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                             const float* b, size_t ldb, float* c, size_t ldc) {
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (size_t p = 0; p < k; ++p) acc += a[i * lda + p] * b[j * ldb + p];
      c[i * ldc + j] = alpha * acc;
    }
  }
}

void qkv_f32_gemm_nn__scalar(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                             size_t ldb, const float* bias, float* c, size_t ldc) {
  for (size_t i = 0; i < m; ++i) {
    float* crow = c + i * ldc;
    for (size_t j = 0; j < n; ++j) crow[j] = bias ? bias[j] : 0.0f;
    for (size_t p = 0; p < k; ++p) {
      const float aip = a[i * lda + p];
      const float* brow = b + p * ldb;
      for (size_t j = 0; j < n; ++j) crow[j] += aip * brow[j];
    }
  }
}

void softmax_row_without_finite_max(size_t n, float* x) {
  float infinite = 0.0f;
  for (size_t j = 0; j < n; ++j) infinite += x[j] == kPosInf ? 1.0f : 0.0f;
  for (size_t j = 0; j < n; ++j) x[j] = x[j] == kPosInf ? 1.0f / infinite : 0.0f;
}

void qkv_f32_softmax_row__scalar(size_t n, float* x) {
  float mx = kNegInf;
  for (size_t j = 0; j < n; ++j) mx = x[j] > mx ? x[j] : mx;  // NaN never wins
  if (mx == kNegInf || mx == kPosInf) return softmax_row_without_finite_max(n, x);
  float sum = 0.0f;
  for (size_t j = 0; j < n; ++j) {
    x[j] = exp_or_zero(x[j] - mx);
    sum += x[j];
  }
  const float inv = 1.0f / sum;
  for (size_t j = 0; j < n; ++j) x[j] *= inv;
}

void qkv_f32_exp_nonpositive__scalar(size_t n, const float* x, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = exp_or_zero(x[i]);
}

void pack_panels(size_t n, size_t k, const float* b, size_t ldb, float* packed) {
  for (size_t j0 = 0; j0 < n; j0 += kPanel) {
    float* panel = packed + j0 * k;
    for (size_t p = 0; p < k; ++p)
      for (size_t c = 0; c < kPanel; ++c) panel[p * kPanel + c] = j0 + c < n ? b[(j0 + c) * ldb + p] : 0.0f;
  }
}

void qkv_f32_gemm_nt_packed__scalar(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                                    const float* packed_b, float* c, size_t ldc) {
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      const float* panel = packed_b + (j / kPanel) * kPanel * k;
      float acc = 0.0f;
      for (size_t p = 0; p < k; ++p) acc += a[i * lda + p] * panel[p * kPanel + j % kPanel];
      c[i * ldc + j] = alpha * acc;
    }
}

void qkv_f32_gemm_nn_acc__scalar(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                                 size_t ldb, const float* row_scale, float* c, size_t ldc) {
  for (size_t i = 0; i < m; ++i) {
    float* crow = c + i * ldc;
    for (size_t j = 0; j < n; ++j) crow[j] *= row_scale[i];
    for (size_t p = 0; p < k; ++p) {
      const float aip = a[i * lda + p];
      const float* brow = b + p * ldb;
      for (size_t j = 0; j < n; ++j) crow[j] += aip * brow[j];
    }
  }
}

void softmax_online_infinite_max(size_t cols, float* row, float& m, float& l, float& scale) {
  float infinite = 0.0f;
  for (size_t j = 0; j < cols; ++j) infinite += row[j] = row[j] == kPosInf ? 1.0f : 0.0f;
  scale = m == kPosInf ? 1.0f : 0.0f;
  l = l * scale + infinite;
  m = kPosInf;
}

void qkv_f32_softmax_online__scalar(size_t rows, size_t cols, float* x, size_t ldx, float* m, float* l,
                                    float* scale) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * ldx;
    float mx = m[r];
    for (size_t j = 0; j < cols; ++j) mx = row[j] > mx ? row[j] : mx;  // NaN never wins
    if (mx == kNegInf) {  // nothing visible yet
      for (size_t j = 0; j < cols; ++j) row[j] = 0.0f;
      scale[r] = 1.0f;
      continue;
    }
    if (mx == kPosInf) {
      softmax_online_infinite_max(cols, row, m[r], l[r], scale[r]);
      continue;
    }
    float sum = 0.0f;
    for (size_t j = 0; j < cols; ++j) sum += (row[j] = exp_or_zero(row[j] - mx));
    scale[r] = exp_or_zero(m[r] - mx);
    l[r] = l[r] * scale[r] + sum;
    m[r] = mx;
  }
}

void qkv_f32_gemm_nt_softmax_online__scalar(size_t rows, size_t cols, size_t k, float alpha, const float* a,
                                            size_t lda, const float* packed_b, float* x, size_t ldx, float* m,
                                            float* l, float* scale) {
  qkv_f32_gemm_nt_packed__scalar(rows, cols, k, alpha, a, lda, packed_b, x, ldx);
  qkv_f32_softmax_online__scalar(rows, cols, x, ldx, m, l, scale);
}

size_t qkv_f32_first_non_finite__scalar(size_t n, const float* x) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return i;
  return n;
}

const Kernels& scalar_kernels() {
  static const Kernels k{"scalar",
                         1,
                         1,
                         qkv_f32_gemm_nt__scalar,
                         qkv_f32_gemm_nn__scalar,
                         qkv_f32_softmax_row__scalar,
                         qkv_f32_exp_nonpositive__scalar,
                         qkv_f32_gemm_nt_packed__scalar,
                         qkv_f32_gemm_nn_acc__scalar,
                         qkv_f32_softmax_online__scalar,
                         qkv_f32_first_non_finite__scalar,
                         pack_panels,
                         qkv_f32_gemm_nt_softmax_online__scalar};
  return k;
}

}  // namespace qkv
