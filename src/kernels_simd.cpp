// Vector kernels written once against simd.h: wasm SIMD128 in the browser, SSE2 natively.
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels.h"
#include "simd.h"

#if QKV_HAVE_SIMD
namespace qkv {
using namespace simd;
namespace {
// online_softmax.h's vector: 4 lanes, whose row sums take one transpose for four rows.
using vec = vf4;
inline void row_sums(const vf4 (&v)[4], float* sums) { store(sums, hsum4(v[0], v[1], v[2], v[3])); }
}  // namespace
}  // namespace qkv
#include "online_softmax.h"
#endif

namespace qkv {

#if QKV_HAVE_SIMD

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

// The shared register tile: acc0/acc1[r] += sum_p A[r][p] * B[p][0..7] for R rows of A (stride lda)
// and 8 columns of B (rows at stride ldb): a packed K panel (ldb = 8) for Q·Kᵀ, a column block of V
// for weights·V. One pointer per row of A, advanced each step, so that V8 loads A[r][p] from a bare
// pointer instead of recomputing r·lda + p per load (measured on a 32×64×64 tile in wasm: 40 → 45
// GFLOP/s for Q·Kᵀ, 40 → 48 for weights·V; unrolling p by 2 or 4 on top spills and is slower).
template <int R>
__attribute__((always_inline)) inline void tile_r8(size_t k, const float* a, size_t lda, const float* b, size_t ldb,
                                                   vf4 (&acc0)[R], vf4 (&acc1)[R]) {
  const float* ar[R];
  for (int r = 0; r < R; ++r) ar[r] = a + r * lda;
  for (size_t p = 0; p < k; ++p, b += ldb) {
    const vf4 b0 = load(b), b1 = load(b + 4);
    for (int r = 0; r < R; ++r) {
      const vf4 x = splat(*ar[r]++);
      acc0[r] = madd(x, b0, acc0[r]);
      acc1[r] = madd(x, b1, acc1[r]);
    }
  }
}

// R rows of C, 8 columns at a time: broadcast A[r][p], multiply a row of B. Each accumulator starts
// from the bias (C = A·B + bias), or with row_scale from C itself (C = row_scale·C + A·B).
template <int R>
inline void gemm_nn_rows(size_t n, size_t k, const float* a, size_t lda, const float* b, size_t ldb,
                         const float* bias, const float* row_scale, float* c, size_t ldc) {
  auto init = [&](int r, size_t j) {
    if (row_scale) return mul(load(c + r * ldc + j), splat(row_scale[r]));
    return bias ? load(bias + j) : zero();
  };
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    vf4 acc0[R], acc1[R];
    for (int r = 0; r < R; ++r) acc0[r] = init(r, j), acc1[r] = init(r, j + 4);
    tile_r8<R>(k, a, lda, b + j, ldb, acc0, acc1);
    for (int r = 0; r < R; ++r) store(c + r * ldc + j, acc0[r]), store(c + r * ldc + j + 4, acc1[r]);
  }
  for (; j + 4 <= n; j += 4) {
    vf4 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = init(r, j);
    for (size_t p = 0; p < k; ++p) {
      const vf4 bp = load(b + p * ldb + j);
      for (int r = 0; r < R; ++r) acc[r] = madd(splat(a[r * lda + p]), bp, acc[r]);
    }
    for (int r = 0; r < R; ++r) store(c + r * ldc + j, acc[r]);
  }
  for (; j < n; ++j) {
    for (int r = 0; r < R; ++r) {
      float acc = row_scale ? row_scale[r] * c[r * ldc + j] : bias ? bias[j] : 0.0f;
      for (size_t p = 0; p < k; ++p) acc += a[r * lda + p] * b[p * ldb + j];
      c[r * ldc + j] = acc;
    }
  }
}

// Calls body(rows, i) for blocks of rows = 4 rows from row i, then once for the 1–3 rows left (no
// padding rows are computed); rows is a std::integral_constant, so each block size is its own code.
template <typename Body>
inline void by_row_blocks(size_t m, Body body) {
  size_t i = 0;
  for (; i + 4 <= m; i += 4) body(std::integral_constant<int, 4>{}, i);
  switch (m - i) {
    case 3: body(std::integral_constant<int, 3>{}, i); break;
    case 2: body(std::integral_constant<int, 2>{}, i); break;
    case 1: body(std::integral_constant<int, 1>{}, i); break;
    default: break;
  }
}

// R query rows × panels of kPanel = 8 keys (Q·Kᵀ over packed K): per step, two panel vectors times a
// broadcast query element into 2R accumulators. R = 4 keeps 8 accumulators + 2 panel vectors + a
// broadcast + a product in registers: under the 15 xmm registers V8 allocates on x86 (no spills).
template <int R>
inline void gemm_nt_packed_rows(size_t n, size_t k, float alpha, const float* a, size_t lda, const float* packed,
                                float* c, size_t ldc) {
  const vf4 va = splat(alpha);
  for (size_t j = 0; j < n; j += kPanel) {
    const float* panel = packed + j * k;
    vf4 acc0[R], acc1[R];
    for (int r = 0; r < R; ++r) acc0[r] = zero(), acc1[r] = zero();
    tile_r8<R>(k, a, lda, panel, kPanel, acc0, acc1);
    const size_t cols = n - j;
    for (int r = 0; r < R; ++r) {
      float* cr = c + r * ldc + j;
      const vf4 lo = mul(acc0[r], va), hi = mul(acc1[r], va);
      if (cols >= 8) {
        store(cr, lo), store(cr + 4, hi);
      } else if (cols >= 4) {
        store(cr, lo), store_first(cr + 4, hi, cols - 4);
      } else {
        store_first(cr, lo, cols);
      }
    }
  }
}

}  // namespace

// The exponentials' constants as data the compiler cannot see through (not const, external linkage).
// As immediates, LLVM rematerialises each v128.const at every use inside a loop, and V8 builds one
// from 64-bit immediates there: three instructions, two on the vector ports, per constant per vector,
// more than the polynomial itself. Loaded into locals once per kernel call instead, they stay in
// registers or one load away. Rows: magic, ln2_hi, ln2_lo, log2e, c5 … c1 of exp, c5 … c1 of 2^x.
float qkv_exp_constants[14] = {
    0x1.8000FEp23f,                                                                     // 1.5·2^23 + 127
    -0x1.62E400p-1f, -0x1.7F7D1Cp-20f, 0x1.715476p+0f,                                  // -ln2 hi, lo; log2(e)
    0x1.0F9F9Cp-7f, 0x1.573A1Ap-5f, 0x1.555A80p-3f, 0x1.FFFDC6p-2f, 0x1.FFFFF6p-1f,     // exp(t)
    0x1.5BAF14p-10f, 0x1.3CEA52p-7f, 0x1.C6B770p-5f, 0x1.EBF9BCp-3f, 0x1.62E42Ap-1f,    // 2^t
};

namespace {

// exp(x) for x <= 0: x = n·ln2 + t with |t| <= ln2/2 (ln2 split in two for accuracy), exp(t) by a
// degree-5 polynomial, 2^n built in the exponent bits. Coefficients and the rounding trick from
// XNNPACK's rr2_p5 kernels: adding 1.5·2^23 + 127 rounds x/ln2 to an integer n and leaves n + 127 in
// the low mantissa bits, which shift into the exponent field as 2^n. No float→int conversion, which
// V8 lowers to a long sequence on x64: one online-softmax step on a 32×64 tile in wasm went from
// 1.35 to 1.03 ns per score. Inputs are first clamped to -88, where n = -127: n + 127 = 0 makes 2^n,
// and so the result, exactly +0 (as for every x with n = -127: results below 2^-126.5, about 1e-38,
// are 0): -inf (a masked key) and NaN give 0. A
// clamp is one instruction where a compare-and-mask is a four-instruction select in V8 (clang turns
// the mask into v128.bitselect).
struct Exp {
  vf4 magic, ln2_hi, ln2_lo, log2e, floor;
  Poly5 poly;
  Exp()
      : magic(splat(qkv_exp_constants[0])), ln2_hi(splat(qkv_exp_constants[1])), ln2_lo(splat(qkv_exp_constants[2])),
        log2e(splat(qkv_exp_constants[3])), floor(splat(-88.0f)), poly(4) {}  // -88·log2(e) rounds to -127
  vf4 operator()(vf4 x) const {
    x = max_nan_low(floor, x);
    vf4 n = madd(x, log2e, magic);
    const vf4 s = low_bits_to_exponent(n);
    n = sub(n, magic);
    const vf4 t = madd(n, ln2_lo, madd(n, ln2_hi, x));
    return poly.times_exp(s, t);
  }
};

// Q·Kᵀ of R rows over packed panels into x, each row's maximum kept in a register as the panels'
// products are stored (lanes past cols count as -inf), then the base-2 online-softmax step.
template <int R>
inline void gemm_nt_softmax_online_rows(size_t cols, size_t k, float alpha, const float* a, size_t lda,
                                        const float* packed, float* x, size_t ldx, float* m, float* l, float* scale) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const vf4 va = splat(alpha);
  vf4 tile_max[R];
  for (int r = 0; r < R; ++r) tile_max[r] = splat(kNegInf);
  for (size_t j = 0; j < cols; j += kPanel) {
    vf4 acc0[R], acc1[R];
    for (int r = 0; r < R; ++r) acc0[r] = zero(), acc1[r] = zero();
    tile_r8<R>(k, a, lda, packed + j * k, kPanel, acc0, acc1);
    const size_t left = cols - j;
    for (int r = 0; r < R; ++r) {
      float* xr = x + r * ldx + j;
      vf4 lo = mul(acc0[r], va), hi = mul(acc1[r], va);
      if (left >= kPanel) {
        store(xr, lo), store(xr + 4, hi);
      } else {  // the last, partial panel: its missing keys are zeros in the panel, not logits
        float lanes[kPanel];
        store(lanes, lo), store(lanes + 4, hi);
        for (size_t c = 0; c < left; ++c) xr[c] = lanes[c];
        for (size_t c = left; c < kPanel; ++c) lanes[c] = kNegInf;
        lo = load(lanes), hi = load(lanes + 4);
      }
      tile_max[r] = max(tile_max[r], max(lo, hi));
    }
  }
  online_step_rows(std::integral_constant<size_t, R>{}, cols, x, ldx, tile_max, m, l, scale, Exp2());
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
  by_row_blocks(m, [&](auto rows, size_t i) {
    gemm_nn_rows<rows()>(n, k, a + i * lda, lda, b, ldb, bias, nullptr, c + i * ldc, ldc);
  });
}

void qkv_f32_gemm_nn_acc__simd_4x8(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                                   size_t ldb, const float* row_scale, float* c, size_t ldc) {
  by_row_blocks(m, [&](auto rows, size_t i) {
    gemm_nn_rows<rows()>(n, k, a + i * lda, lda, b, ldb, nullptr, row_scale + i, c + i * ldc, ldc);
  });
}

void qkv_f32_gemm_nt_packed__simd_4x8(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                                      const float* packed_b, float* c, size_t ldc) {
  by_row_blocks(m, [&](auto rows, size_t i) {
    gemm_nt_packed_rows<rows()>(n, k, alpha, a + i * lda, lda, packed_b, c + i * ldc, ldc);
  });
}

void qkv_f32_exp_nonpositive__simd_p5(size_t n, const float* x, float* y) {
  const Exp exp_nonpositive;
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
  const Exp exp_nonpositive;
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

void qkv_f32_softmax_online__simd_p5(size_t rows, size_t cols, float* x, size_t ldx, float* m, float* l,
                                     float* scale) {
  softmax_online_tile(rows, cols, x, ldx, m, l, scale, Exp());
}

void qkv_f32_softmax_online_exp2__simd_p5(size_t rows, size_t cols, float* x, size_t ldx, float* m, float* l,
                                          float* scale) {
  softmax_online_tile(rows, cols, x, ldx, m, l, scale, Exp2());
}

void qkv_f32_gemm_nt_softmax_online__simd_4x8_p5(size_t rows, size_t cols, size_t k, float alpha, const float* a,
                                                 size_t lda, const float* packed_b, float* x, size_t ldx, float* m,
                                                 float* l, float* scale) {
  by_row_blocks(rows, [&](auto block, size_t i) {
    gemm_nt_softmax_online_rows<block()>(cols, k, alpha, a + i * lda, lda, packed_b, x + i * ldx, ldx, m + i, l + i,
                                         scale + i);
  });
}

size_t qkv_f32_first_non_finite__simd(size_t n, const float* x) {
  // x·0 is ±0 for finite x and NaN for NaN and ±inf. Summed into four accumulators (a NaN stays),
  // with one test per block of 256 floats (then of 16): a multiply and an add per four floats on the usual, finite
  // path, which run on different pipes (x - x, two adds, took twice as long). A block that holds a
  // non-finite value is searched again element by element.
  const vf4 z = zero();
  auto finite = [&](size_t from, size_t to) {  // [from, to) in steps of 16
    vf4 a0 = z, a1 = z, a2 = z, a3 = z;
    for (size_t j = from; j < to; j += 16) {
      a0 = madd(load(x + j), z, a0), a1 = madd(load(x + j + 4), z, a1);
      a2 = madd(load(x + j + 8), z, a2), a3 = madd(load(x + j + 12), z, a3);
    }
    return !any_nan(add(add(a0, a1), add(a2, a3)));
  };
  size_t i = 0;
  while (i + 256 <= n && finite(i, i + 256)) i += 256;
  while (i + 16 <= n && finite(i, i + 16)) i += 16;
  for (; i < n; ++i)
    if (!std::isfinite(x[i])) return i;
  return n;
}

// Full panels eight rows of B at a time, four elements of k at a time: two 4×4 transposes in
// registers. The last, partial panel and the k leftovers go through the scalar twin's loops.
void qkv_f32_pack_panels__simd_8x4(size_t n, size_t k, const float* b, size_t ldb, float* packed) {
  size_t j0 = 0;
  for (; j0 + kPanel <= n; j0 += kPanel) {
    const float* rows = b + j0 * ldb;
    float* panel = packed + j0 * k;
    size_t p = 0;
    for (; p + 4 <= k; p += 4) {
      vf4 v[kPanel];
      for (size_t c = 0; c < kPanel; ++c) v[c] = load(rows + c * ldb + p);
      transpose4(v[0], v[1], v[2], v[3]);
      transpose4(v[4], v[5], v[6], v[7]);
      for (size_t q = 0; q < 4; ++q) store(panel + (p + q) * kPanel, v[q]), store(panel + (p + q) * kPanel + 4, v[4 + q]);
    }
    for (; p < k; ++p)
      for (size_t c = 0; c < kPanel; ++c) panel[p * kPanel + c] = rows[c * ldb + p];
  }
  if (j0 < n) pack_panels(n - j0, k, b + j0 * ldb, ldb, packed + j0 * k);
}

const Kernels* simd_kernels() {
  static const Kernels k{QKV_SIMD_NAME,
                         qkv_f32_gemm_nt__simd_4x4,
                         qkv_f32_gemm_nn__simd_4x8,
                         qkv_f32_softmax_row__simd_p5,
                         qkv_f32_exp_nonpositive__simd_p5,
                         qkv_f32_gemm_nt_packed__simd_4x8,
                         qkv_f32_gemm_nn_acc__simd_4x8,
                         qkv_f32_softmax_online__simd_p5,
                         qkv_f32_first_non_finite__simd,
                         qkv_f32_pack_panels__simd_8x4,
                         qkv_f32_softmax_online_exp2__simd_p5,
                         qkv_f32_gemm_nt_softmax_online__simd_4x8_p5};
  return &k;
}

#else

const Kernels* simd_kernels() { return nullptr; }

#endif

}  // namespace qkv
