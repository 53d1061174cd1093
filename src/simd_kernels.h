// The vector kernels written once, as templates over a SIMD mapping S of simd.h (F32x4: wasm SIMD128,
// relaxed SIMD or SSE2; F32x8: AVX2 + FMA) and a register tile of MR rows × NB vectors, and
// instantiated per ISA and tile shape by simd_kernel_table (kernels_simd.cpp, kernels_avx2.cpp).
// What differs per ISA lives in simd.h; the algorithms live here:
//   - Exp: exp(x) for x <= 0, the one exponential of every softmax;
//   - the online-softmax step, the softmax of a row, and exp as a kernel;
//   - tile: the register tile that Q·Kᵀ (over packed K panels) and weights·V (and X·W) share;
//   - by_row_blocks: rows in blocks of MR, with the tail split so that no block is starved.
// Everything has internal linkage (see simd.h).
#pragma once

#include <cstddef>
#include <limits>
#include <type_traits>

#include "kernels.h"
#include "simd.h"

namespace qkv {

// Exp's constants (kernels_simd.cpp says why they are data): magic, -ln2 hi, -ln2 lo, log2(e),
// c5 … c1.
extern float qkv_exp_constants[9];

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();

template <class S>
using Vec = typename S::V;

// ---- tails: buffers from JavaScript are not padded, so no vector load or store passes the end ----

// The first `count` (< kLanes) floats of p, the other lanes `fill`.
template <class S>
inline Vec<S> load_first(const float* p, size_t count, float fill) {
  float lanes[S::kLanes];
  for (size_t i = 0; i < S::kLanes; ++i) lanes[i] = i < count ? p[i] : fill;
  return S::load(lanes);
}
// The first `count` (< kLanes) lanes of v to p.
template <class S>
inline void store_first(float* p, Vec<S> v, size_t count) {
  float lanes[S::kLanes];
  S::store(lanes, v);
  for (size_t i = 0; i < count; ++i) p[i] = lanes[i];
}
// v with lanes count … kLanes-1 replaced by -inf (count < kLanes): the zero keys that pad a partial
// panel, which must not count as logits in a row's max.
template <class S>
inline Vec<S> keep_first(Vec<S> v, size_t count) {
  float lanes[S::kLanes];
  S::store(lanes, v);
  for (size_t i = count; i < S::kLanes; ++i) lanes[i] = kNegInf;
  return S::load(lanes);
}

// ---- the exponential ------------------------------------------------------------------------------

// exp(x) for x <= 0: x = n·ln2 + t with |t| <= ln2/2 (ln2 split in two for accuracy), exp(t) by a
// degree-5 polynomial, 2^n built in the exponent bits. Coefficients and the rounding trick from
// XNNPACK's rr2_p5 kernels: adding 1.5·2^23 + 127 rounds x/ln2 to an integer n and leaves n + 127 in
// the low mantissa bits, which shift into the exponent field as 2^n. No float→int conversion, which
// V8 lowers to a long sequence on x64 (one online-softmax step on a 32×64 tile in wasm went from 1.35
// to 1.03 ns per score).
//
// The edge, the same for every ISA: x is first clamped to -88, where n = -127, and n + 127 = 0 makes
// 2^n, and so the result, exactly +0, as for every x with n = -127. So exp(x) is exactly 0 below
// about -87.68 (results under 2^-126.5, ~8.4e-39), accurate to a few ulp above (the subnormal results
// from 2^-126.5 to 2^-126 included), and -inf (a masked key) and NaN give 0. A clamp is one
// instruction where a compare-and-mask is two (four, as a select, in V8).
template <class S>
struct Exp {
  using V = Vec<S>;
  V magic, ln2_hi, ln2_lo, log2e, floor, c5, c4, c3, c2, c1;
  Exp()
      : magic(S::splat(qkv_exp_constants[0])), ln2_hi(S::splat(qkv_exp_constants[1])),
        ln2_lo(S::splat(qkv_exp_constants[2])), log2e(S::splat(qkv_exp_constants[3])), floor(S::splat(-88.0f)),
        c5(S::splat(qkv_exp_constants[4])), c4(S::splat(qkv_exp_constants[5])), c3(S::splat(qkv_exp_constants[6])),
        c2(S::splat(qkv_exp_constants[7])), c1(S::splat(qkv_exp_constants[8])) {}
  V operator()(V x) const {
    x = S::max_nan_low(floor, x);
    V n = S::madd(x, log2e, magic);
    const V s = S::low_bits_to_exponent(n);
    n = S::sub(n, magic);
    const V t = S::madd(n, ln2_lo, S::madd(n, ln2_hi, x));
    V p = S::madd(c5, t, c4);
    p = S::madd(p, t, c3);
    p = S::madd(p, t, c2);
    p = S::madd(p, t, c1);
    return S::madd(S::mul(t, s), p, s);  // s·(1 + t·p)
  }
};

// ---- softmax ----------------------------------------------------------------------------------------

// The largest of x[0 … n-1] lane-wise, from `start`; NaN entries are passed over.
template <class S>
inline Vec<S> lane_max(size_t n, const float* x, Vec<S> vmax) {
  size_t j = 0;
  for (; j + S::kLanes <= n; j += S::kLanes) vmax = S::max_nan_low(vmax, S::load(x + j));
  if (j < n) vmax = S::max_nan_low(vmax, load_first<S>(x + j, n - j, kNegInf));
  return vmax;
}

// x[j] = exp(x[j] - mx) for one row, in place; returns the lane-wise partial sums. Four vectors per
// step: four independent polynomial chains in flight, and one add into the sum. The tail is filled
// with -inf, whose exp is 0.
template <class S>
inline Vec<S> exp_store_sum(size_t cols, float* row, Vec<S> vmx, const Exp<S>& exp) {
  constexpr size_t L = S::kLanes;
  Vec<S> vsum = S::zero();
  size_t j = 0;
  for (; j + 4 * L <= cols; j += 4 * L) {
    const Vec<S> e0 = exp(S::sub(S::load(row + j), vmx)), e1 = exp(S::sub(S::load(row + j + L), vmx));
    const Vec<S> e2 = exp(S::sub(S::load(row + j + 2 * L), vmx)), e3 = exp(S::sub(S::load(row + j + 3 * L), vmx));
    S::store(row + j, e0), S::store(row + j + L, e1), S::store(row + j + 2 * L, e2), S::store(row + j + 3 * L, e3);
    vsum = S::add(vsum, S::add(S::add(e0, e1), S::add(e2, e3)));
  }
  for (; j + L <= cols; j += L) {
    const Vec<S> e = exp(S::sub(S::load(row + j), vmx));
    S::store(row + j, e);
    vsum = S::add(vsum, e);
  }
  if (j < cols) {
    const Vec<S> e = exp(S::sub(load_first<S>(row + j, cols - j, kNegInf), vmx));
    store_first<S>(row + j, e, cols - j);
    vsum = S::add(vsum, e);
  }
  return vsum;
}

// The online-softmax step (kernels.h, SoftmaxOnlineFn) of rows <= kLanes rows whose maxima so far
// (lane-wise, over this tile) are tile_max[r]: new maxima, the rescale factors of all rows with one
// vector exponential, the exponentials of the tile, and the row sums with one row_sums.
template <class S>
inline void online_step_rows(size_t rows, size_t cols, float* x, size_t ldx, const Vec<S>* tile_max, float* m,
                             float* l, float* scale, const Exp<S>& exp) {
  constexpr size_t L = S::kLanes;
  float mx[L] = {}, diff[L] = {}, sc[L], sums[L];
  Vec<S> vsum[L];
  for (size_t r = 0; r < L; ++r) vsum[r] = S::zero();
  for (size_t r = 0; r < rows; ++r) {
    mx[r] = S::hmax(S::max(tile_max[r], S::splat(m[r])));
    if (mx[r] > kNegInf && mx[r] < kPosInf) diff[r] = m[r] - mx[r];  // ±inf - ±inf would be NaN
  }
  S::store(sc, exp(S::load(diff)));
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * ldx;
    if (mx[r] == kNegInf) {  // every key so far masked
      for (size_t j = 0; j < cols; ++j) row[j] = 0.0f;
      scale[r] = 1.0f;
    } else if (mx[r] == kPosInf) {
      softmax_online_infinite_max(cols, row, m[r], l[r], scale[r]);
    } else {
      vsum[r] = exp_store_sum<S>(cols, row, S::splat(mx[r]), exp);
    }
  }
  S::row_sums(vsum, sums);
  for (size_t r = 0; r < rows; ++r) {
    if (mx[r] == kNegInf || mx[r] == kPosInf) continue;
    scale[r] = sc[r];
    l[r] = l[r] * sc[r] + sums[r];
    m[r] = mx[r];
  }
}

// online_step_rows for any number of rows whose tile maxima are known, kLanes rows at a time.
template <class S>
inline void online_step(size_t rows, size_t cols, float* x, size_t ldx, const Vec<S>* tile_max, float* m, float* l,
                        float* scale, const Exp<S>& exp) {
  for (size_t r = 0; r < rows; r += S::kLanes) {
    const size_t n = rows - r < S::kLanes ? rows - r : S::kLanes;
    online_step_rows<S>(n, cols, x + r * ldx, ldx, tile_max + r, m + r, l + r, scale + r, exp);
  }
}

// ---- the register tile ------------------------------------------------------------------------------

// acc[r][s] += sum_p A[r][p] · (vector s of row p of B), for R rows of A (stride lda) and NB vectors
// per row of B (rows at stride ldb). Vector s is at b + (s / G)·group_stride + (s % G)·kLanes, with
// G = kPanel / kLanes vectors per panel: packed K panels (ldb = kPanel, group_stride = kPanel·k, one
// panel after the other) for Q·Kᵀ, or NB·kLanes consecutive columns of V (ldb its row stride,
// group_stride = kPanel) for weights·V and X·W. One pointer per row of A, advanced each step, so that
// V8 loads A[r][p] from a bare pointer instead of recomputing r·lda + p per load (measured on a
// 32×64×64 tile in wasm: 40 → 45 GFLOP/s for Q·Kᵀ, 40 → 48 for weights·V; unrolling p by 2 or 4 on
// top spills and is slower).
template <class S, int R, int NB>
__attribute__((always_inline)) inline void tile(size_t k, const float* a, size_t lda, const float* b,
                                                size_t group_stride, size_t ldb, Vec<S> (&acc)[R][NB]) {
  constexpr size_t G = kPanel / S::kLanes;
  const float* ar[R];
  for (int r = 0; r < R; ++r) ar[r] = a + r * lda;
  for (size_t p = 0; p < k; ++p, b += ldb) {
    Vec<S> vb[NB];
    for (int s = 0; s < NB; ++s) vb[s] = S::load(b + (s / G) * group_stride + (s % G) * S::kLanes);
    for (int r = 0; r < R; ++r) {
      const Vec<S> x = S::splat(*ar[r]++);
      for (int s = 0; s < NB; ++s) acc[r][s] = S::madd(x, vb[s], acc[r][s]);
    }
  }
}

// Calls body(rows, i) for blocks of MR rows from row i, then for the rows left; rows is a
// std::integral_constant, so each block size is its own code with its accumulators in registers. A
// last block of fewer than MR/2 rows keeps too few multiply-add chains in flight to cover their
// latency (a profile of n = 2048 with 6-row blocks spent 9% of the time in the 2-row tail of the
// 32-row blocks): the last full block and the tail go as two blocks of about equal size instead
// (6 + 1 as 4 + 3, 6 + 2 as 4 + 4).
template <int N, typename Body>
inline void block_of(size_t rows, size_t i, Body& body) {
  if constexpr (N > 0) {
    if (rows == N) body(std::integral_constant<int, N>{}, i);
    else block_of<N - 1>(rows, i, body);
  }
}
template <int MR, typename Body>
inline void by_row_blocks(size_t m, Body body) {
  const size_t tail = m % MR;
  const bool split = tail != 0 && 2 * tail < MR && m > MR;
  const size_t full_end = split ? m - tail - MR : m - tail;
  size_t i = 0;
  for (; i < full_end; i += MR) body(std::integral_constant<int, MR>{}, i);
  if (split) {
    const size_t first = (MR + tail + 1) / 2;
    block_of<MR>(first, i, body);
    i += first;
  }
  block_of<MR>(m - i, i, body);
}

// ---- the kernels ------------------------------------------------------------------------------------

template <class S, int MR, int NB>
struct SimdKernels {
  using V = Vec<S>;
  static constexpr size_t L = S::kLanes;
  static constexpr size_t kGroup = NB * L;  // keys (columns) per tile
  static constexpr int kPanelVectors = int(kPanel / L);
  static_assert(kGroup % kPanel == 0, "a tile covers whole K panels");

  // R query rows × panels: kGroup keys per tile, then one panel at a time for the last ones. A
  // partial last panel is zero-padded by pack_panels, so reading it whole is safe; only n columns are
  // stored. With row_max, each row's max (lane-wise) is taken from the products while they are in
  // registers, the padding lanes of a partial panel counting as -inf.
  template <int R>
  static void gemm_nt_packed_rows(size_t n, size_t k, float alpha, const float* a, size_t lda, const float* packed,
                                  float* c, size_t ldc, V* row_max) {
    const V va = S::splat(alpha);
    auto finish = [&](auto& acc, size_t j) {
      constexpr int nv = int(sizeof(acc[0]) / sizeof(V));
      for (int r = 0; r < R; ++r)
        for (int s = 0; s < nv; ++s) {
          const size_t at = j + s * L;
          if (at >= n) break;
          const V v = S::mul(acc[r][s], va);
          float* cr = c + r * ldc + at;
          if (n - at >= L) {
            S::store(cr, v);
            if (row_max) row_max[r] = S::max_nan_low(row_max[r], v);
          } else {
            store_first<S>(cr, v, n - at);
            if (row_max) row_max[r] = S::max_nan_low(row_max[r], keep_first<S>(v, n - at));
          }
        }
    };
    size_t j = 0;
    for (; j + kGroup - kPanel < n; j += kGroup) {  // the tile's last panel holds at least one key
      V acc[R][NB];
      for (auto& row : acc)
        for (auto& v : row) v = S::zero();
      tile<S, R, NB>(k, a, lda, packed + j * k, kPanel * k, kPanel, acc);
      finish(acc, j);
    }
    for (; j < n; j += kPanel) {
      V acc[R][kPanelVectors];
      for (auto& row : acc)
        for (auto& v : row) v = S::zero();
      tile<S, R, kPanelVectors>(k, a, lda, packed + j * k, kPanel * k, kPanel, acc);
      finish(acc, j);
    }
  }

  // gemm_nt_packed_rows with row maxima, for the fused kernel, and not inlined into it: with the
  // online step's pointers and constants live as well, GCC 12 spilled the row pointers and a panel
  // vector inside the k loop (a 32×128 AVX2 tile took 9.1 µs against 6.2 µs for the two kernels
  // unfused). row_max may alias x, so it stays in memory, updated once per tile of keys.
  template <int R>
  __attribute__((noinline)) static void gemm_nt_packed_max_rows(size_t n, size_t k, float alpha, const float* a,
                                                                size_t lda, const float* packed, float* c, size_t ldc,
                                                                V* row_max) {
    gemm_nt_packed_rows<R>(n, k, alpha, a, lda, packed, c, ldc, row_max);
  }

  // R rows of C = A·B + bias, or with row_scale C = row_scale·C + A·B: kGroup columns at a time, then
  // one vector, then a scalar loop for the last columns (B's rows are not padded).
  template <int R>
  static void gemm_nn_rows(size_t n, size_t k, const float* a, size_t lda, const float* b, size_t ldb,
                           const float* bias, const float* row_scale, float* c, size_t ldc) {
    auto init = [&](int r, size_t j) {
      if (row_scale) return S::mul(S::load(c + r * ldc + j), S::splat(row_scale[r]));
      return bias ? S::load(bias + j) : S::zero();
    };
    size_t j = 0;
    for (; j + kGroup <= n; j += kGroup) {
      V acc[R][NB];
      for (int r = 0; r < R; ++r)
        for (int s = 0; s < NB; ++s) acc[r][s] = init(r, j + s * L);
      tile<S, R, NB>(k, a, lda, b + j, kPanel, ldb, acc);
      for (int r = 0; r < R; ++r)
        for (int s = 0; s < NB; ++s) S::store(c + r * ldc + j + s * L, acc[r][s]);
    }
    for (; j + L <= n; j += L) {
      V acc[R][1];
      for (int r = 0; r < R; ++r) acc[r][0] = init(r, j);
      tile<S, R, 1>(k, a, lda, b + j, kPanel, ldb, acc);
      for (int r = 0; r < R; ++r) S::store(c + r * ldc + j, acc[r][0]);
    }
    for (; j < n; ++j) {
      for (int r = 0; r < R; ++r) {
        float acc = row_scale ? row_scale[r] * c[r * ldc + j] : bias ? bias[j] : 0.0f;
        for (size_t p = 0; p < k; ++p) acc += a[r * lda + p] * b[p * ldb + j];
        c[r * ldc + j] = acc;
      }
    }
  }

  static void gemm_nt_packed(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                             const float* packed_b, float* c, size_t ldc) {
    by_row_blocks<MR>(m, [&](auto rows, size_t i) {
      gemm_nt_packed_rows<rows()>(n, k, alpha, a + i * lda, lda, packed_b, c + i * ldc, ldc, nullptr);
    });
  }

  static void gemm_nn(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b, size_t ldb,
                      const float* bias, float* c, size_t ldc) {
    by_row_blocks<MR>(m, [&](auto rows, size_t i) {
      gemm_nn_rows<rows()>(n, k, a + i * lda, lda, b, ldb, bias, nullptr, c + i * ldc, ldc);
    });
  }

  static void gemm_nn_acc(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b, size_t ldb,
                          const float* row_scale, float* c, size_t ldc) {
    by_row_blocks<MR>(m, [&](auto rows, size_t i) {
      gemm_nn_rows<rows()>(n, k, a + i * lda, lda, b, ldb, nullptr, row_scale + i, c + i * ldc, ldc);
    });
  }

  static void exp_nonpositive(size_t n, const float* x, float* y) {
    const Exp<S> exp;
    size_t i = 0;
    for (; i + L <= n; i += L) S::store(y + i, exp(S::load(x + i)));
    if (i < n) store_first<S>(y + i, exp(load_first<S>(x + i, n - i, 0.0f)), n - i);
  }

  static void softmax_row(size_t n, float* x) {
    const float mx = S::hmax(lane_max<S>(n, x, S::splat(kNegInf)));
    if (mx == kNegInf || mx == kPosInf) return softmax_row_without_finite_max(n, x);
    const float inv = 1.0f / S::hsum(exp_store_sum<S>(n, x, S::splat(mx), Exp<S>()));
    const V vinv = S::splat(inv);
    size_t j = 0;
    for (; j + L <= n; j += L) S::store(x + j, S::mul(S::load(x + j), vinv));
    for (; j < n; ++j) x[j] *= inv;
  }

  // Blocks of kLanes rows: a max pass per row, then online_step_rows.
  static void softmax_online(size_t rows, size_t cols, float* x, size_t ldx, float* m, float* l, float* scale) {
    const Exp<S> exp;
    for (size_t i = 0; i < rows; i += L) {
      const size_t n = rows - i < L ? rows - i : L;
      V tile_max[L];
      for (size_t r = 0; r < n; ++r) tile_max[r] = lane_max<S>(cols, x + (i + r) * ldx, S::splat(kNegInf));
      online_step_rows<S>(n, cols, x + i * ldx, ldx, tile_max, m + i, l + i, scale + i, exp);
    }
  }

  static void gemm_nt_softmax_online(size_t rows, size_t cols, size_t k, float alpha, const float* a, size_t lda,
                                     const float* packed_b, float* x, size_t ldx, float* m, float* l, float* scale) {
    const Exp<S> exp;
    by_row_blocks<MR>(rows, [&](auto block, size_t i) {
      V row_max[block()];
      for (auto& v : row_max) v = S::splat(kNegInf);
      gemm_nt_packed_max_rows<block()>(cols, k, alpha, a + i * lda, lda, packed_b, x + i * ldx, ldx, row_max);
      online_step<S>(block(), cols, x + i * ldx, ldx, row_max, m + i, l + i, scale + i, exp);
    });
  }
};

// The kernel table of ISA S: Q·Kᵀ (and the fused step) on a tile of MR rows × NB vectors, the A·B
// products (weights·V, X·W) on one of PMR × PNB (by default the same); `rest` gives what is not
// templated here (gemm_nt, first_non_finite, pack_panels). mr and nr are the larger of the two, so
// that tests generating the tails of mr × nr cover both tiles.
template <class S, int MR, int NB, int PMR = MR, int PNB = NB>
Kernels simd_kernel_table(const char* name, const Kernels& rest) {
  using K = SimdKernels<S, MR, NB>;
  using P = SimdKernels<S, PMR, PNB>;
  Kernels k = rest;
  k.name = name;
  k.mr = MR > PMR ? MR : PMR;
  k.nr = int(K::kGroup > P::kGroup ? K::kGroup : P::kGroup);
  k.gemm_nn = P::gemm_nn;
  k.softmax_row = K::softmax_row;
  k.exp_nonpositive = K::exp_nonpositive;
  k.gemm_nt_packed = K::gemm_nt_packed;
  k.gemm_nn_acc = P::gemm_nn_acc;
  k.softmax_online = K::softmax_online;
  k.gemm_nt_softmax_online = K::gemm_nt_softmax_online;
  return k;
}

}  // namespace
}  // namespace qkv
