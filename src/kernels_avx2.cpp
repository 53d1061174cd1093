// The hot kernels of kernels_simd.cpp with 256-bit vectors and fused multiply-add (x86 AVX2 + FMA),
// natively only: the wasm build never compiles this file. CMake compiles it, and nothing else, with
// -mavx2 -mfma; avx2_kernels() (kernels_select.cpp, plain SSE2 code) checks the CPU before anything
// here runs. The algorithms are those of kernels_simd.cpp; what changes is the register tile: x86-64
// has 16 ymm registers, and one ymm holds a whole packed panel row (kPanel = 8 keys), so a 6×16 tile
// (12 accumulators, 2 panel vectors, 1 broadcast) fits without spilling, as in XNNPACK's
// f32-gemm 6x16 avx2/fma3 kernels.
#include <immintrin.h>

#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels.h"

namespace qkv {
namespace {

// An 8-lane counterpart of simd.h's operations, so the kernels below read like kernels_simd.cpp.
using vf8 = __m256;
inline vf8 load(const float* p) { return _mm256_loadu_ps(p); }
inline void store(float* p, vf8 v) { _mm256_storeu_ps(p, v); }
inline vf8 splat(float x) { return _mm256_set1_ps(x); }
inline vf8 zero() { return _mm256_setzero_ps(); }
inline vf8 add(vf8 a, vf8 b) { return _mm256_add_ps(a, b); }
inline vf8 sub(vf8 a, vf8 b) { return _mm256_sub_ps(a, b); }
inline vf8 mul(vf8 a, vf8 b) { return _mm256_mul_ps(a, b); }
inline vf8 madd(vf8 a, vf8 b, vf8 c) { return _mm256_fmadd_ps(a, b, c); }  // a·b + c, one rounding
inline vf8 max(vf8 a, vf8 b) { return _mm256_max_ps(a, b); }
inline float hsum(vf8 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}
inline float hmax(vf8 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_shuffle_ps(s, s, 1)));
}
// The first `count` (< 8) lanes of v to p: nothing past p[count - 1] is written.
inline void store_first(float* p, vf8 v, size_t count) {
  float lanes[8];
  store(lanes, v);
  std::memcpy(p, lanes, count * sizeof(float));
}
// The first `count` (< 8) floats of p, the other lanes `fill`: nothing past p[count - 1] is read.
inline vf8 load_first(const float* p, size_t count, float fill) {
  float lanes[8] = {fill, fill, fill, fill, fill, fill, fill, fill};
  std::memcpy(lanes, p, count * sizeof(float));
  return load(lanes);
}
// min(count, 8) lanes of v to p.
inline void store_up_to(float* p, vf8 v, size_t count) {
  if (count >= 8) store(p, v);
  else store_first(p, v, count);
}
// max(lo, x) where a NaN x gives lo (maxps returns its second operand on NaN).
inline vf8 max_nan_low(vf8 lo, vf8 x) { return _mm256_max_ps(x, lo); }
// The low 9 bits of each lane moved into the exponent field: 2^n from 1.5·2^23 + 127 + n.
inline vf8 low_bits_to_exponent(vf8 v) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(v), 23)); }
// online_softmax.h's vector and row sums.
using vec = vf8;
inline void row_sums(const vf8 (&v)[8], float* sums) {
  for (int r = 0; r < 8; ++r) sums[r] = hsum(v[r]);
}

}  // namespace
}  // namespace qkv

#include "online_softmax.h"

namespace qkv {
namespace {

// The register tile both products share: acc[r][s] += sum_p A[r][p] · B[p][8s … 8s+7] for R rows of A
// (stride lda) and NB vectors of 8 columns of B, vector s at b + s·next, rows of B at stride ldb:
// packed K panels (ldb = kPanel, next = one panel) for Q·Kᵀ, a 16- or 8-column block of V for
// weights·V. One pointer per row of A, advanced each step, as in kernels_simd.cpp's tile_r8.
template <int R, int NB>
__attribute__((always_inline)) inline void tile(size_t k, const float* a, size_t lda, const float* b, size_t next,
                                                size_t ldb, vf8 (&acc)[R][NB]) {
  const float* ar[R];
  for (int r = 0; r < R; ++r) ar[r] = a + r * lda;
  for (size_t p = 0; p < k; ++p, b += ldb) {
    vf8 vb[NB];
    for (int s = 0; s < NB; ++s) vb[s] = load(b + s * next);
    for (int r = 0; r < R; ++r) {
      const vf8 x = splat(*ar[r]++);
      for (int s = 0; s < NB; ++s) acc[r][s] = madd(x, vb[s], acc[r][s]);
    }
  }
}

// Calls body(rows, i) for blocks of 6 rows from row i, then for the 1–5 rows left; rows is a
// std::integral_constant, so each block size is its own code with its accumulators in registers.
// A last block of 1 or 2 rows keeps only 2–4 FMA chains, too few to cover the FMA's latency at two
// per cycle (a profile of n = 2048 spent 9% of the time in the 2-row tail of the 32-row blocks): 6 + 1
// and 6 + 2 rows go as 4 + 3 and 4 + 4 instead.
template <typename Body>
inline void by_row_blocks6(size_t m, Body body) {
  size_t i = 0;
  const size_t six_end = m % 6 != 0 && m % 6 < 3 && m > 6 ? m - m % 6 - 6 : m - m % 6;
  for (; i < six_end; i += 6) body(std::integral_constant<int, 6>{}, i);
  if (m - i >= 7) body(std::integral_constant<int, 4>{}, i), i += 4;
  switch (m - i) {
    case 5: body(std::integral_constant<int, 5>{}, i); break;
    case 4: body(std::integral_constant<int, 4>{}, i); break;
    case 3: body(std::integral_constant<int, 3>{}, i); break;
    case 2: body(std::integral_constant<int, 2>{}, i); break;
    case 1: body(std::integral_constant<int, 1>{}, i); break;
    default: break;
  }
}

// Lanes count … 7 of v replaced by -inf (count <= 8): the zero keys that pad a partial panel, which
// must not count as logits in a row's max.
inline vf8 keep_first(vf8 v, size_t count) {
  const vf8 past = _mm256_cmp_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), splat(float(count)), _CMP_GE_OQ);
  return _mm256_blendv_ps(v, splat(-std::numeric_limits<float>::infinity()), past);
}

// R query rows × two panels (16 keys) per tile, then one panel for the last 1–8 keys. A partial last
// panel is zero-padded by pack_panels, so reading it whole is safe; only n columns are stored. With
// row_max, each row's max (lane-wise) is taken from the products while they are in registers, the
// padding lanes of a partial panel counting as -inf.
template <int R>
inline void gemm_nt_packed_rows(size_t n, size_t k, float alpha, const float* a, size_t lda, const float* packed,
                                float* c, size_t ldc, vf8* row_max = nullptr) {
  const vf8 va = splat(alpha);
  size_t j = 0;
  for (; j + kPanel < n; j += 2 * kPanel) {
    vf8 acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = zero(), acc[r][1] = zero();
    tile<R, 2>(k, a, lda, packed + j * k, kPanel * k, kPanel, acc);
    for (int r = 0; r < R; ++r) {
      float* cr = c + r * ldc + j;
      const vf8 lo = mul(acc[r][0], va), hi = mul(acc[r][1], va);
      store(cr, lo);
      store_up_to(cr + 8, hi, n - j - 8);
      if (row_max) row_max[r] = max(row_max[r], max(lo, keep_first(hi, n - j - 8)));
    }
  }
  if (j < n) {
    vf8 acc[R][1];
    for (int r = 0; r < R; ++r) acc[r][0] = zero();
    tile<R, 1>(k, a, lda, packed + j * k, 0, kPanel, acc);
    for (int r = 0; r < R; ++r) {
      const vf8 v = mul(acc[r][0], va);
      store_up_to(c + r * ldc + j, v, n - j);
      if (row_max) row_max[r] = max(row_max[r], keep_first(v, n - j));
    }
  }
}

// R rows of C = A·B + bias, or with row_scale C = row_scale·C + A·B: 16 columns at a time, then 8,
// then a scalar loop for the last 1–7 (B's rows are not padded: no vector load past column n).
template <int R>
inline void gemm_nn_rows(size_t n, size_t k, const float* a, size_t lda, const float* b, size_t ldb,
                         const float* bias, const float* row_scale, float* c, size_t ldc) {
  auto init = [&](int r, size_t j) {
    if (row_scale) return mul(load(c + r * ldc + j), splat(row_scale[r]));
    return bias ? load(bias + j) : zero();
  };
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    vf8 acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = init(r, j), acc[r][1] = init(r, j + 8);
    tile<R, 2>(k, a, lda, b + j, 8, ldb, acc);
    for (int r = 0; r < R; ++r) store(c + r * ldc + j, acc[r][0]), store(c + r * ldc + j + 8, acc[r][1]);
  }
  for (; j + 8 <= n; j += 8) {
    vf8 acc[R][1];
    for (int r = 0; r < R; ++r) acc[r][0] = init(r, j);
    tile<R, 1>(k, a, lda, b + j, 0, ldb, acc);
    for (int r = 0; r < R; ++r) store(c + r * ldc + j, acc[r][0]);
  }
  for (; j < n; ++j) {
    for (int r = 0; r < R; ++r) {
      float acc = row_scale ? row_scale[r] * c[r * ldc + j] : bias ? bias[j] : 0.0f;
      for (size_t p = 0; p < k; ++p) acc += a[r * lda + p] * b[p * ldb + j];
      c[r * ldc + j] = acc;
    }
  }
}

// exp(x) for x <= 0, kernels_simd.cpp's rr2_p5 (the same range reduction, coefficients and magic
// bias) with each multiply-add fused: see there for how it works. -inf, NaN and x below ln(2^-126)
// give 0.
inline vf8 exp_nonpositive(vf8 x) {
  const vf8 cutoff = splat(-0x1.5D589Ep6f);  // ln(2^-126)
  const vf8 magic = splat(0x1.8000FEp23f);   // 1.5·2^23 + 127
  vf8 n = madd(x, splat(0x1.715476p+0f), magic);
  const vf8 s = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(n), 23));  // 2^n
  n = sub(n, magic);
  vf8 t = madd(n, splat(-0x1.62E400p-1f), x);
  t = madd(n, splat(-0x1.7F7D1Cp-20f), t);
  vf8 p = madd(splat(0x1.0F9F9Cp-7f), t, splat(0x1.573A1Ap-5f));
  p = madd(p, t, splat(0x1.555A80p-3f));
  p = madd(p, t, splat(0x1.FFFDC6p-2f));
  p = madd(p, t, splat(0x1.FFFFF6p-1f));
  t = mul(t, s);
  return _mm256_and_ps(madd(t, p, s), _mm256_cmp_ps(x, cutoff, _CMP_GE_OQ));
}

// The largest of start and x[0 … n-1].
inline float row_max(size_t n, const float* x, float start) {
  vf8 vmax = splat(start);
  size_t j = 0;
  for (; j + 8 <= n; j += 8) vmax = max(vmax, load(x + j));
  float v = hmax(vmax);
  for (; j < n; ++j) v = x[j] > v ? x[j] : v;
  return v;
}

// In place x[j] = exp(x[j] - mx) for a row of n; returns their sum. The tail is filled with -inf,
// whose exp is 0.
inline float exp_row_minus(size_t n, float* x, float mx) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const vf8 vmx = splat(mx);
  vf8 vsum = zero();
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const vf8 e = exp_nonpositive(sub(load(x + j), vmx));
    store(x + j, e);
    vsum = add(vsum, e);
  }
  if (j < n) {
    const vf8 e = exp_nonpositive(sub(load_first(x + j, n - j, kNegInf), vmx));
    store_first(x + j, e, n - j);
    vsum = add(vsum, e);
  }
  return hsum(vsum);
}

// gemm_nt_packed_rows with row maxima, for the fused kernel, and not inlined into it: with the online
// step's pointers and constants live as well, GCC 12 spilled the row pointers and a panel vector
// inside the k loop (a 32×128 tile took 9.1 µs against 6.2 µs for the two kernels unfused). Here
// row_max may alias x, so it stays in memory, updated once per 16 keys.
template <int R>
__attribute__((noinline)) void gemm_nt_packed_max_rows(size_t cols, size_t k, float alpha, const float* a,
                                                       size_t lda, const float* packed, float* x, size_t ldx,
                                                       vf8* row_max) {
  gemm_nt_packed_rows<R>(cols, k, alpha, a, lda, packed, x, ldx, row_max);
}

}  // namespace

void qkv_f32_gemm_nt_packed__avx2_fma_6x16(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                                           const float* packed_b, float* c, size_t ldc) {
  by_row_blocks6(m, [&](auto rows, size_t i) {
    gemm_nt_packed_rows<rows()>(n, k, alpha, a + i * lda, lda, packed_b, c + i * ldc, ldc);
  });
}

void qkv_f32_gemm_nn__avx2_fma_6x16(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                                    size_t ldb, const float* bias, float* c, size_t ldc) {
  by_row_blocks6(m, [&](auto rows, size_t i) {
    gemm_nn_rows<rows()>(n, k, a + i * lda, lda, b, ldb, bias, nullptr, c + i * ldc, ldc);
  });
}

void qkv_f32_gemm_nn_acc__avx2_fma_6x16(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                                        size_t ldb, const float* row_scale, float* c, size_t ldc) {
  by_row_blocks6(m, [&](auto rows, size_t i) {
    gemm_nn_rows<rows()>(n, k, a + i * lda, lda, b, ldb, nullptr, row_scale + i, c + i * ldc, ldc);
  });
}

void qkv_f32_exp_nonpositive__avx2_fma_p5(size_t n, const float* x, float* y) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) store(y + i, exp_nonpositive(load(x + i)));
  if (i < n) store_first(y + i, exp_nonpositive(load_first(x + i, n - i, 0.0f)), n - i);
}

void qkv_f32_softmax_row__avx2_fma_p5(size_t n, float* x) {
  const float mx = row_max(n, x, -std::numeric_limits<float>::infinity());
  if (mx == -std::numeric_limits<float>::infinity()) {  // every key masked: attend to nothing
    std::memset(x, 0, n * sizeof(float));
    return;
  }
  const float inv = 1.0f / exp_row_minus(n, x, mx);
  const vf8 vinv = splat(inv);
  size_t j = 0;
  for (; j + 8 <= n; j += 8) store(x + j, mul(load(x + j), vinv));
  for (; j < n; ++j) x[j] *= inv;
}

void qkv_f32_softmax_online__avx2_fma_p5(size_t rows, size_t cols, float* x, size_t ldx, float* m, float* l,
                                         float* scale) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (size_t r0 = 0; r0 < rows; r0 += 8) {
    const size_t nr = rows - r0 < 8 ? rows - r0 : 8;
    // New maxima of up to eight rows, then their eight rescale factors with one vector exp.
    float mx[8] = {}, diff[8] = {};
    for (size_t r = 0; r < nr; ++r) {
      mx[r] = row_max(cols, x + (r0 + r) * ldx, m[r0 + r]);
      diff[r] = mx[r] == kNegInf ? 0.0f : m[r0 + r] - mx[r];  // -inf - -inf would be NaN
    }
    float sc[8];
    store(sc, exp_nonpositive(load(diff)));
    for (size_t r = 0; r < nr; ++r) {
      float* row = x + (r0 + r) * ldx;
      if (mx[r] == kNegInf) {  // every key so far masked
        std::memset(row, 0, cols * sizeof(float));
        scale[r0 + r] = 1.0f;
        continue;
      }
      scale[r0 + r] = sc[r];
      l[r0 + r] = l[r0 + r] * sc[r] + exp_row_minus(cols, row, mx[r]);
      m[r0 + r] = mx[r];
    }
  }
}

void qkv_f32_softmax_online_exp2__avx2_fma_p5(size_t rows, size_t cols, float* x, size_t ldx, float* m, float* l,
                                              float* scale) {
  softmax_online_tile(rows, cols, x, ldx, m, l, scale, Exp2());
}

void qkv_f32_gemm_nt_softmax_online__avx2_fma_6x16_p5(size_t rows, size_t cols, size_t k, float alpha,
                                                      const float* a, size_t lda, const float* packed_b, float* x,
                                                      size_t ldx, float* m, float* l, float* scale) {
  const Exp2 exp2;
  by_row_blocks6(rows, [&](auto block, size_t i) {
    vf8 row_max[block()];
    for (auto& v : row_max) v = splat(-std::numeric_limits<float>::infinity());
    gemm_nt_packed_max_rows<block()>(cols, k, alpha, a + i * lda, lda, packed_b, x + i * ldx, ldx, row_max);
    online_step_rows(block, cols, x + i * ldx, ldx, row_max, m + i, l + i, scale + i, exp2);
  });
}

// The table: simd_kernels() copied, so that kernels this file does not override (and fields added
// to struct Kernels later) stay the SSE2 ones. Call only on a CPU with AVX2 and FMA.
const Kernels& avx2_fma_kernel_table() {
  static const Kernels table = [] {
    Kernels k = simd_kernels() ? *simd_kernels() : scalar_kernels();
    k.name = "avx2-fma";
    k.gemm_nn = qkv_f32_gemm_nn__avx2_fma_6x16;
    k.softmax_row = qkv_f32_softmax_row__avx2_fma_p5;
    k.exp_nonpositive = qkv_f32_exp_nonpositive__avx2_fma_p5;
    k.gemm_nt_packed = qkv_f32_gemm_nt_packed__avx2_fma_6x16;
    k.gemm_nn_acc = qkv_f32_gemm_nn_acc__avx2_fma_6x16;
    k.softmax_online = qkv_f32_softmax_online__avx2_fma_p5;
    k.softmax_online_exp2 = qkv_f32_softmax_online_exp2__avx2_fma_p5;
    k.gemm_nt_softmax_online = qkv_f32_gemm_nt_softmax_online__avx2_fma_6x16_p5;
    return k;
  }();
  return table;
}

}  // namespace qkv
