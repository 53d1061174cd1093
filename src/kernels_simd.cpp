// Vector kernels written once against simd.h: wasm SIMD128 in the browser, SSE2 natively.
#include <cmath>
#include <limits>

#include "kernels.h"
#include "simd.h"

namespace qkv {

#if QKV_HAVE_SIMD
using namespace simd;

namespace {

// R rows of A against C rows of B (both along k): R·C dot products at once, vectorised along k.
template <int R, int C>
inline void gemm_nt_tile(size_t k, float alpha, const float* a, size_t lda, const float* b, size_t ldb,
                         float* c, size_t ldc) {
  vf4 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int s = 0; s < C; ++s) acc[r][s] = zero();
  size_t p = 0;
  for (; p + 4 <= k; p += 4) {
    vf4 va[R], vb[C];
    for (int r = 0; r < R; ++r) va[r] = load(a + r * lda + p);
    for (int s = 0; s < C; ++s) vb[s] = load(b + s * ldb + p);
    for (int r = 0; r < R; ++r)
      for (int s = 0; s < C; ++s) acc[r][s] = madd(va[r], vb[s], acc[r][s]);
  }
  for (int r = 0; r < R; ++r) {
    float sums[C];
    if constexpr (C == 4) {
      store(sums, hsum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
    } else {
      for (int s = 0; s < C; ++s) sums[s] = hsum(acc[r][s]);
    }
    for (int s = 0; s < C; ++s) {
      float sum = sums[s];
      for (size_t q = p; q < k; ++q) sum += a[r * lda + q] * b[s * ldb + q];  // leftovers of k
      c[r * ldc + s] = alpha * sum;
    }
  }
}

template <int R>
inline void gemm_nt_rows(size_t n, size_t k, float alpha, const float* a, size_t lda, const float* b,
                         size_t ldb, float* c, size_t ldc) {
  size_t j = 0;
  for (; j + 4 <= n; j += 4) gemm_nt_tile<R, 4>(k, alpha, a, lda, b + j * ldb, ldb, c + j, ldc);
  for (; j < n; ++j) gemm_nt_tile<R, 1>(k, alpha, a, lda, b + j * ldb, ldb, c + j, ldc);
}

// R rows of C, 8 columns at a time: broadcast A[r][p], multiply a row of B.
template <int R>
inline void gemm_nn_rows(size_t n, size_t k, const float* a, size_t lda, const float* b, size_t ldb,
                         const float* bias, float* c, size_t ldc) {
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const vf4 init0 = bias ? load(bias + j) : zero(), init1 = bias ? load(bias + j + 4) : zero();
    vf4 acc0[R], acc1[R];
    for (int r = 0; r < R; ++r) acc0[r] = init0, acc1[r] = init1;
    for (size_t p = 0; p < k; ++p) {
      const vf4 b0 = load(b + p * ldb + j), b1 = load(b + p * ldb + j + 4);
      for (int r = 0; r < R; ++r) {
        const vf4 ar = splat(a[r * lda + p]);
        acc0[r] = madd(ar, b0, acc0[r]);
        acc1[r] = madd(ar, b1, acc1[r]);
      }
    }
    for (int r = 0; r < R; ++r) store(c + r * ldc + j, acc0[r]), store(c + r * ldc + j + 4, acc1[r]);
  }
  for (; j + 4 <= n; j += 4) {
    vf4 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = bias ? load(bias + j) : zero();
    for (size_t p = 0; p < k; ++p) {
      const vf4 bp = load(b + p * ldb + j);
      for (int r = 0; r < R; ++r) acc[r] = madd(splat(a[r * lda + p]), bp, acc[r]);
    }
    for (int r = 0; r < R; ++r) store(c + r * ldc + j, acc[r]);
  }
  for (; j < n; ++j) {
    for (int r = 0; r < R; ++r) {
      float acc = bias ? bias[j] : 0.0f;
      for (size_t p = 0; p < k; ++p) acc += a[r * lda + p] * b[p * ldb + j];
      c[r * ldc + j] = acc;
    }
  }
}

// exp(x) for x <= 0: x = n·ln2 + t with |t| <= ln2/2 (ln2 split in two for accuracy), exp(t) by a
// degree-5 polynomial, 2^n built in the exponent bits. Coefficients from XNNPACK's rr2_p5 kernels.
// Inputs below the smallest normal's log give 0, so -inf (a masked key) gives exactly 0.
inline vf4 exp_nonpositive(vf4 x) {
  const vf4 cutoff = splat(-0x1.5D589Ep6f);  // ln(2^-126)
  const vf4 xc = max(x, cutoff);
  const vf4 n = round_nearest(mul(xc, splat(0x1.715476p+0f)));
  const vf4 s = exp2_int(n);
  vf4 t = madd(n, splat(-0x1.62E400p-1f), xc);
  t = madd(n, splat(-0x1.7F7D1Cp-20f), t);
  vf4 p = madd(splat(0x1.0F9F9Cp-7f), t, splat(0x1.573A1Ap-5f));
  p = madd(p, t, splat(0x1.555A80p-3f));
  p = madd(p, t, splat(0x1.FFFDC6p-2f));
  p = madd(p, t, splat(0x1.FFFFF6p-1f));
  t = mul(t, s);
  return keep_if_ge(madd(t, p, s), x, cutoff);
}

}  // namespace

void qkv_f32_gemm_nt__simd_4x4(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                               const float* b, size_t ldb, float* c, size_t ldc) {
  size_t i = 0;
  for (; i + 4 <= m; i += 4) gemm_nt_rows<4>(n, k, alpha, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
  for (; i < m; ++i) gemm_nt_rows<1>(n, k, alpha, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
}

void qkv_f32_gemm_nn__simd_4x8(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                               size_t ldb, const float* bias, float* c, size_t ldc) {
  size_t i = 0;
  for (; i + 4 <= m; i += 4) gemm_nn_rows<4>(n, k, a + i * lda, lda, b, ldb, bias, c + i * ldc, ldc);
  for (; i < m; ++i) gemm_nn_rows<1>(n, k, a + i * lda, lda, b, ldb, bias, c + i * ldc, ldc);
}

void qkv_f32_exp_nonpositive__simd_p5(size_t n, const float* x, float* y) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) store(y + i, exp_nonpositive(load(x + i)));
  if (i < n) {  // leftovers through a padded copy: the same polynomial, no read past the end
    float tmp[4] = {0, 0, 0, 0};
    for (size_t j = i; j < n; ++j) tmp[j - i] = x[j];
    store(tmp, exp_nonpositive(load(tmp)));
    for (size_t j = i; j < n; ++j) y[j] = tmp[j - i];
  }
}

void qkv_f32_softmax_row__simd_p5(size_t n, float* x) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  size_t j = 0;
  vf4 vmax = splat(kNegInf);
  for (; j + 4 <= n; j += 4) vmax = max(vmax, load(x + j));
  float mx = hmax(vmax);
  for (; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  if (mx == kNegInf) {  // every key masked: attend to nothing
    for (j = 0; j < n; ++j) x[j] = 0.0f;
    return;
  }
  const vf4 vmx = splat(mx);
  vf4 vsum = zero();
  for (j = 0; j + 4 <= n; j += 4) {
    const vf4 e = exp_nonpositive(sub(load(x + j), vmx));
    store(x + j, e);
    vsum = add(vsum, e);
  }
  float sum = hsum(vsum);
  if (j < n) {
    float tmp[4] = {kNegInf, kNegInf, kNegInf, kNegInf};
    for (size_t q = j; q < n; ++q) tmp[q - j] = x[q] - mx;
    store(tmp, exp_nonpositive(load(tmp)));
    for (size_t q = j; q < n; ++q) x[q] = tmp[q - j], sum += tmp[q - j];
  }
  const vf4 inv = splat(1.0f / sum);
  for (j = 0; j + 4 <= n; j += 4) store(x + j, mul(load(x + j), inv));
  for (; j < n; ++j) x[j] *= lane0(inv);
}

const Kernels* simd_kernels() {
  static const Kernels k{QKV_SIMD_NAME, qkv_f32_gemm_nt__simd_4x4, qkv_f32_gemm_nn__simd_4x8,
                         qkv_f32_softmax_row__simd_p5, qkv_f32_exp_nonpositive__simd_p5};
  return &k;
}

#else

const Kernels* simd_kernels() { return nullptr; }

#endif

}  // namespace qkv
