// The SIMD mapping layer (after ggml's simd-mappings.h): one set of float vector operations per
// instruction set, each a struct with the same members, so that the kernel templates of
// simd_kernels.h are written once and instantiated for every one of them:
//   F32x4 — 4 lanes: wasm SIMD128 (with fused multiply-add under relaxed SIMD), SSE2 natively, or
//           plain C++ where neither exists (so the kernels can be read and tested on any compiler);
//   F32x8 — 8 lanes, x86 AVX2 + FMA: only in a file compiled with -mavx2 -mfma (kernels_avx2.cpp).
// Members: V (the register type), kLanes, load, store, splat, zero, add, sub, mul, madd (a·b + c,
// fused where the ISA has it), max, max_nan_low, hmax, any_nan, low_bits_to_exponent and row_sums.
// Everything else (tails, tiles, exponentials) is built from these in simd_kernels.h.
//
// Everything here has internal linkage: kernels_simd.cpp and kernels_avx2.cpp are compiled for
// different instruction sets, and an inline function with external linkage defined in both could
// reach the SSE2 file as its AVX2 copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define QKV_HAVE_SIMD 1
#if defined(__wasm_relaxed_simd__)
#define QKV_SIMD_NAME "wasm-relaxed-simd"
#else
#define QKV_SIMD_NAME "wasm-simd128"
#endif
#elif defined(__SSE2__)
#include <emmintrin.h>
#define QKV_HAVE_SIMD 1
#define QKV_SIMD_NAME "sse2"
#else
#define QKV_HAVE_SIMD 0
#define QKV_SIMD_NAME "portable"
#endif

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define QKV_HAVE_F32X8 1
#endif

namespace qkv::simd {
namespace {

#if defined(__wasm_simd128__)

struct F32x4 {
  using V = v128_t;
  static constexpr size_t kLanes = 4;
  static V load(const float* p) { return wasm_v128_load(p); }
  static void store(float* p, V v) { wasm_v128_store(p, v); }
  static V splat(float x) { return wasm_f32x4_splat(x); }
  static V zero() { return wasm_f32x4_splat(0.0f); }
  static V add(V a, V b) { return wasm_f32x4_add(a, b); }
  static V sub(V a, V b) { return wasm_f32x4_sub(a, b); }
  static V mul(V a, V b) { return wasm_f32x4_mul(a, b); }
#if defined(__wasm_relaxed_simd__)
  // clang 14's prototype relaxed fma (a·b + c), rewritten to f32x4.relaxed_madd after linking
  // (scripts/relax-simd.mjs): fused on a CPU with FMA, mul then add elsewhere. Never give it three
  // constants: binaryen 108 folds those as a + b·c.
  static V madd(V a, V b, V c) { return __builtin_wasm_fma_f32x4(a, b, c); }
#else
  static V madd(V a, V b, V c) { return wasm_f32x4_add(wasm_f32x4_mul(a, b), c); }
#endif
  static V max(V a, V b) { return wasm_f32x4_pmax(a, b); }
  // max(lo, x) where a NaN x gives lo (one maxps in V8).
  static V max_nan_low(V lo, V x) { return wasm_f32x4_pmax(lo, x); }
  static float lane0(V v) { return wasm_f32x4_extract_lane(v, 0); }
  // In place: the 4×4 matrix with rows a, b, c, d becomes its transpose.
  static void transpose4(V& a, V& b, V& c, V& d) {
    const V ab_lo = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), ab_hi = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
    const V cd_lo = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), cd_hi = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);
    a = wasm_i32x4_shuffle(ab_lo, cd_lo, 0, 1, 4, 5);
    b = wasm_i32x4_shuffle(ab_lo, cd_lo, 2, 3, 6, 7);
    c = wasm_i32x4_shuffle(ab_hi, cd_hi, 0, 1, 4, 5);
    d = wasm_i32x4_shuffle(ab_hi, cd_hi, 2, 3, 6, 7);
  }
  static float hsum(V v) {
    const V s = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1);
  }
  static float hmax(V v) {
    const V s = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    const float a = wasm_f32x4_extract_lane(s, 0), b = wasm_f32x4_extract_lane(s, 1);
    return a > b ? a : b;
  }
  // True when any lane is NaN.
  static bool any_nan(V v) { return wasm_v128_any_true(wasm_f32x4_ne(v, v)); }
  // The low 9 bits of each lane's bit pattern moved into the exponent field (the rest shifted out):
  // with v = 1.5·2^23 + 127 + n for an integer n in [-127, 127], the float 2^n (+0 for n = -127).
  static V low_bits_to_exponent(V v) { return wasm_i32x4_shl(v, 23); }

#elif defined(__SSE2__)

struct F32x4 {
  using V = __m128;
  static constexpr size_t kLanes = 4;
  static V load(const float* p) { return _mm_loadu_ps(p); }
  static void store(float* p, V v) { _mm_storeu_ps(p, v); }
  static V splat(float x) { return _mm_set1_ps(x); }
  static V zero() { return _mm_setzero_ps(); }
  static V add(V a, V b) { return _mm_add_ps(a, b); }
  static V sub(V a, V b) { return _mm_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm_mul_ps(a, b); }
  // SSE2 has no FMA: the natively tested twin of the SIMD128 build.
  static V madd(V a, V b, V c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
  static V max(V a, V b) { return _mm_max_ps(a, b); }
  static V max_nan_low(V lo, V x) { return _mm_max_ps(x, lo); }  // maxps returns its second operand on NaN
  static float lane0(V v) { return _mm_cvtss_f32(v); }
  static void transpose4(V& a, V& b, V& c, V& d) { _MM_TRANSPOSE4_PS(a, b, c, d); }
  static float hsum(V v) {
    const V s = _mm_add_ps(v, _mm_movehl_ps(v, v));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
  }
  static float hmax(V v) {
    const V s = _mm_max_ps(v, _mm_movehl_ps(v, v));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_shuffle_ps(s, s, 1)));
  }
  static bool any_nan(V v) { return _mm_movemask_ps(_mm_cmpunord_ps(v, v)) != 0; }
  static V low_bits_to_exponent(V v) { return _mm_castsi128_ps(_mm_slli_epi32(_mm_castps_si128(v), 23)); }

#else

struct F32x4 {
  struct V {
    float v[4];
  };
  static constexpr size_t kLanes = 4;
  static V load(const float* p) {
    V r;
    std::memcpy(r.v, p, sizeof r.v);
    return r;
  }
  static void store(float* p, V v) { std::memcpy(p, v.v, sizeof v.v); }
  static V splat(float x) { return {{x, x, x, x}}; }
  static V zero() { return splat(0.0f); }
  template <typename F>
  static V lanewise(F f) {
    V r;
    for (int i = 0; i < 4; ++i) r.v[i] = f(i);
    return r;
  }
  static V add(V a, V b) { return lanewise([&](int i) { return a.v[i] + b.v[i]; }); }
  static V sub(V a, V b) { return lanewise([&](int i) { return a.v[i] - b.v[i]; }); }
  static V mul(V a, V b) { return lanewise([&](int i) { return a.v[i] * b.v[i]; }); }
  static V madd(V a, V b, V c) { return lanewise([&](int i) { return a.v[i] * b.v[i] + c.v[i]; }); }
  static V max(V a, V b) { return lanewise([&](int i) { return a.v[i] > b.v[i] ? a.v[i] : b.v[i]; }); }
  static V max_nan_low(V lo, V x) { return lanewise([&](int i) { return x.v[i] > lo.v[i] ? x.v[i] : lo.v[i]; }); }
  static float lane0(V v) { return v.v[0]; }
  static void transpose4(V& a, V& b, V& c, V& d) {
    const V t[4] = {a, b, c, d};
    V* rows[4] = {&a, &b, &c, &d};
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) rows[i]->v[j] = t[j].v[i];
  }
  static float hsum(V v) { return (v.v[0] + v.v[2]) + (v.v[1] + v.v[3]); }
  static float hmax(V v) {
    const float a = v.v[0] > v.v[2] ? v.v[0] : v.v[2], b = v.v[1] > v.v[3] ? v.v[1] : v.v[3];
    return a > b ? a : b;
  }
  static bool any_nan(V v) { return v.v[0] != v.v[0] || v.v[1] != v.v[1] || v.v[2] != v.v[2] || v.v[3] != v.v[3]; }
  static V low_bits_to_exponent(V v) {
    return lanewise([&](int i) {
      uint32_t bits;
      std::memcpy(&bits, &v.v[i], 4);
      bits <<= 23;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    });
  }

#endif

  // Lane r of the result: the sum of the lanes of v[r] (one transpose for four vectors).
  static void row_sums(const V (&v)[4], float* sums) {
    V a = v[0], b = v[1], c = v[2], d = v[3];
    transpose4(a, b, c, d);
    store(sums, add(add(a, b), add(c, d)));
  }
};

#if defined(QKV_HAVE_F32X8)

struct F32x8 {
  using V = __m256;
  static constexpr size_t kLanes = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V splat(float x) { return _mm256_set1_ps(x); }
  static V zero() { return _mm256_setzero_ps(); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V madd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }  // a·b + c, one rounding
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V max_nan_low(V lo, V x) { return _mm256_max_ps(x, lo); }  // maxps returns its second operand on NaN
  static float lane0(V v) { return _mm256_cvtss_f32(v); }
  static float hsum(V v) { return F32x4::hsum(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1))); }
  static float hmax(V v) { return F32x4::hmax(_mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1))); }
  static bool any_nan(V v) { return _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0; }
  static V low_bits_to_exponent(V v) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(v), 23)); }
  static void row_sums(const V (&v)[8], float* sums) {
    for (int r = 0; r < 8; ++r) sums[r] = hsum(v[r]);
  }
};

#endif

}  // namespace
}  // namespace qkv::simd
