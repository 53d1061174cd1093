// The 4-lane vector kernels: wasm SIMD128 (or relaxed SIMD) in the browser, SSE2 natively. Most are
// simd_kernels.h's templates instantiated for simd::F32x4 with this build's tile shape; what is only
// ever 4-lane is here: Q·Kᵀ over unpacked rows (gemm_nt), packing K into panels, and the finiteness
// check, which the AVX2 table copies.
//
// The production tiles: QKV_TILE_MR rows × QKV_TILE_NB vectors for Q·Kᵀ (4×8 by default),
// QKV_TILE_PV_MR × QKV_TILE_PV_NB for weights·V and X·W (2×16 by default: in Node, A/B by CPU time
// under load, weights·V on a 32×64×128 tile ran 3–10% faster than on 4×8, whole attention at
// n >= 512 2–9% with relaxed SIMD and 0.5–3% without). CMakeLists.txt can set them per wasm flavour.
// With QKV_TILE_SHAPES defined, simd_kernel_shapes() also has the other shapes, for the tests and
// the benchmarks.
#include <cmath>
#include <limits>

#include "simd_kernels.h"

#ifndef QKV_TILE_MR
#define QKV_TILE_MR 4
#endif
#ifndef QKV_TILE_NB
#define QKV_TILE_NB 2
#endif
#ifndef QKV_TILE_PV_MR
#define QKV_TILE_PV_MR 2
#endif
#ifndef QKV_TILE_PV_NB
#define QKV_TILE_PV_NB 4
#endif

namespace qkv {

#if QKV_HAVE_SIMD

namespace {

using S = simd::F32x4;
using vf4 = S::V;

// R rows of A against C rows of B (both along k): R·C dot products at once, vectorised along k.
template <int R, int C>
inline void gemm_nt_tile(size_t k, float alpha, const float* a, size_t lda, const float* b, size_t ldb,
                         float* c, size_t ldc) {
  vf4 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int s = 0; s < C; ++s) acc[r][s] = S::zero();
  size_t p = 0;
  for (; p + 4 <= k; p += 4) {
    vf4 va[R], vb[C];
    for (int r = 0; r < R; ++r) va[r] = S::load(a + r * lda + p);
    for (int s = 0; s < C; ++s) vb[s] = S::load(b + s * ldb + p);
    for (int r = 0; r < R; ++r)
      for (int s = 0; s < C; ++s) acc[r][s] = S::madd(va[r], vb[s], acc[r][s]);
  }
  for (int r = 0; r < R; ++r) {
    float sums[C];
    if constexpr (C == 4) {
      S::row_sums(acc[r], sums);
    } else {
      for (int s = 0; s < C; ++s) sums[s] = S::hsum(acc[r][s]);
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

}  // namespace

// Exp's constants (simd_kernels.h) as data the compiler cannot see through (not const, external
// linkage). As immediates, LLVM rematerialises each v128.const at every use inside a loop, and V8
// builds one from 64-bit immediates there: three instructions, two on the vector ports, per constant
// per vector, more than the polynomial itself. Loaded into locals once per kernel call instead, they
// stay in registers or one load away. Being data also keeps every relaxed-SIMD multiply-add of the
// polynomial from having three constant operands, which binaryen 108 folds wrongly.
float qkv_exp_constants[9] = {
    0x1.8000FEp23f,                                                                  // 1.5·2^23 + 127
    -0x1.62E400p-1f, -0x1.7F7D1Cp-20f, 0x1.715476p+0f,                               // -ln2 hi, lo; log2(e)
    0x1.0F9F9Cp-7f, 0x1.573A1Ap-5f, 0x1.555A80p-3f, 0x1.FFFDC6p-2f, 0x1.FFFFF6p-1f,  // c5 … c1
};

void qkv_f32_gemm_nt__simd_4x4(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                               const float* b, size_t ldb, float* c, size_t ldc) {
  size_t i = 0;
  for (; i + 4 <= m; i += 4) gemm_nt_rows<4>(n, k, alpha, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
  for (; i < m; ++i) gemm_nt_rows<1>(n, k, alpha, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
}

size_t qkv_f32_first_non_finite__simd(size_t n, const float* x) {
  // x·0 is ±0 for finite x and NaN for NaN and ±inf. Summed into four accumulators (a NaN stays),
  // with one test per block of 256 floats (then of 16): a multiply and an add per four floats on the usual, finite
  // path, which run on different pipes (x - x, two adds, took twice as long). A block that holds a
  // non-finite value is searched again element by element.
  const vf4 z = S::zero();
  auto finite = [&](size_t from, size_t to) {  // [from, to) in steps of 16
    vf4 a0 = z, a1 = z, a2 = z, a3 = z;
    for (size_t j = from; j < to; j += 16) {
      a0 = S::madd(S::load(x + j), z, a0), a1 = S::madd(S::load(x + j + 4), z, a1);
      a2 = S::madd(S::load(x + j + 8), z, a2), a3 = S::madd(S::load(x + j + 12), z, a3);
    }
    return !S::any_nan(S::add(S::add(a0, a1), S::add(a2, a3)));
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
      for (size_t c = 0; c < kPanel; ++c) v[c] = S::load(rows + c * ldb + p);
      S::transpose4(v[0], v[1], v[2], v[3]);
      S::transpose4(v[4], v[5], v[6], v[7]);
      for (size_t q = 0; q < 4; ++q)
        S::store(panel + (p + q) * kPanel, v[q]), S::store(panel + (p + q) * kPanel + 4, v[4 + q]);
    }
    for (; p < k; ++p)
      for (size_t c = 0; c < kPanel; ++c) panel[p * kPanel + c] = rows[c * ldb + p];
  }
  if (j0 < n) pack_panels(n - j0, k, b + j0 * ldb, ldb, packed + j0 * k);
}

namespace {

// What every 4-lane table shares, and the AVX2 table copies.
Kernels four_lane_base() {
  Kernels k = scalar_kernels();
  k.gemm_nt = qkv_f32_gemm_nt__simd_4x4;
  k.first_non_finite = qkv_f32_first_non_finite__simd;
  k.pack_panels = qkv_f32_pack_panels__simd_8x4;
  return k;
}

}  // namespace

const Kernels* simd_kernels() {
  static const Kernels k =
      simd_kernel_table<S, QKV_TILE_MR, QKV_TILE_NB, QKV_TILE_PV_MR, QKV_TILE_PV_NB>(QKV_SIMD_NAME, four_lane_base());
  return &k;
}

std::vector<const Kernels*> simd_kernel_shapes() {
#if defined(QKV_TILE_SHAPES)
  // 15 vector registers in V8 on x64: an R×8 tile takes 2R accumulators, two panel vectors and a
  // broadcast (and, without FMA, a product), 2×16 takes 8 + 4 + 1.
  static const Kernels more[] = {
      simd_kernel_table<S, 4, 2>(QKV_SIMD_NAME "-4x8", four_lane_base()),
      simd_kernel_table<S, 5, 2>(QKV_SIMD_NAME "-5x8", four_lane_base()),
      simd_kernel_table<S, 6, 2>(QKV_SIMD_NAME "-6x8", four_lane_base()),
      simd_kernel_table<S, 2, 4>(QKV_SIMD_NAME "-2x16", four_lane_base()),
      simd_kernel_table<S, 4, 2, 2, 4>(QKV_SIMD_NAME "-4x8-2x16", four_lane_base()),
  };
  std::vector<const Kernels*> shapes{simd_kernels()};
  for (const Kernels& k : more)
    if (k.gemm_nt_packed != simd_kernels()->gemm_nt_packed || k.gemm_nn != simd_kernels()->gemm_nn) shapes.push_back(&k);
  return shapes;
#else
  return {simd_kernels()};
#endif
}

#else

const Kernels* simd_kernels() { return nullptr; }
std::vector<const Kernels*> simd_kernel_shapes() { return {}; }

#endif

}  // namespace qkv
