// One thin set of 4-lane float vector operations over wasm SIMD128, SSE2 and plain C++ (after ggml's
// simd-mappings.h), so the same kernel source builds for the browser and natively, where sanitizers,
// valgrind and GoogleTest can look at it.
//
// QKV_HAVE_SIMD is 1 when a real vector ISA backs these operations; the portable fallback exists so
// that the SIMD-structured kernels can also be read and tested on any compiler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define QKV_HAVE_SIMD 1
#define QKV_SIMD_NAME "wasm-simd128"
#elif defined(__SSE2__)
#include <emmintrin.h>
#define QKV_HAVE_SIMD 1
#define QKV_SIMD_NAME "sse2"
#else
#define QKV_HAVE_SIMD 0
#define QKV_SIMD_NAME "portable"
#endif

namespace qkv::simd {

#if defined(__wasm_simd128__)

using vf4 = v128_t;
inline vf4 load(const float* p) { return wasm_v128_load(p); }
inline void store(float* p, vf4 v) { wasm_v128_store(p, v); }
inline vf4 splat(float x) { return wasm_f32x4_splat(x); }
inline vf4 zero() { return wasm_f32x4_splat(0.0f); }
inline vf4 add(vf4 a, vf4 b) { return wasm_f32x4_add(a, b); }
inline vf4 sub(vf4 a, vf4 b) { return wasm_f32x4_sub(a, b); }
inline vf4 mul(vf4 a, vf4 b) { return wasm_f32x4_mul(a, b); }
// wasm has no fused multiply-add (relaxed SIMD does not run in Node 20 / Chromium here).
inline vf4 madd(vf4 a, vf4 b, vf4 c) { return wasm_f32x4_add(wasm_f32x4_mul(a, b), c); }
inline vf4 max(vf4 a, vf4 b) { return wasm_f32x4_pmax(a, b); }
// max(lo, x) where a NaN x gives lo (one maxps in V8).
inline vf4 max_nan_low(vf4 lo, vf4 x) { return wasm_f32x4_pmax(lo, x); }
inline float lane0(vf4 v) { return wasm_f32x4_extract_lane(v, 0); }
// In place: the 4×4 matrix with rows a, b, c, d becomes its transpose.
inline void transpose4(vf4& a, vf4& b, vf4& c, vf4& d) {
  const vf4 ab_lo = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), ab_hi = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
  const vf4 cd_lo = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), cd_hi = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);
  a = wasm_i32x4_shuffle(ab_lo, cd_lo, 0, 1, 4, 5);
  b = wasm_i32x4_shuffle(ab_lo, cd_lo, 2, 3, 6, 7);
  c = wasm_i32x4_shuffle(ab_hi, cd_hi, 0, 1, 4, 5);
  d = wasm_i32x4_shuffle(ab_hi, cd_hi, 2, 3, 6, 7);
}
inline float hsum(vf4 v) {
  const vf4 s = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1);
}
inline float hmax(vf4 v) {
  const vf4 s = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  const float a = wasm_f32x4_extract_lane(s, 0), b = wasm_f32x4_extract_lane(s, 1);
  return a > b ? a : b;
}
// True when any lane is NaN (x - x is NaN for NaN and for ±inf, so callers pass x - x to find both).
inline bool any_nan(vf4 v) { return wasm_v128_any_true(wasm_f32x4_ne(v, v)); }
// The low 9 bits of each lane's bit pattern moved into the exponent field (the rest shifted out): with
// v = 1.5·2^23 + 127 + n for an integer n in [-126, 127], the float 2^n.
inline vf4 low_bits_to_exponent(vf4 v) { return wasm_i32x4_shl(v, 23); }

#elif defined(__SSE2__)

using vf4 = __m128;
inline vf4 load(const float* p) { return _mm_loadu_ps(p); }
inline void store(float* p, vf4 v) { _mm_storeu_ps(p, v); }
inline vf4 splat(float x) { return _mm_set1_ps(x); }
inline vf4 zero() { return _mm_setzero_ps(); }
inline vf4 add(vf4 a, vf4 b) { return _mm_add_ps(a, b); }
inline vf4 sub(vf4 a, vf4 b) { return _mm_sub_ps(a, b); }
inline vf4 mul(vf4 a, vf4 b) { return _mm_mul_ps(a, b); }
inline vf4 madd(vf4 a, vf4 b, vf4 c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
inline vf4 max(vf4 a, vf4 b) { return _mm_max_ps(a, b); }
inline vf4 max_nan_low(vf4 lo, vf4 x) { return _mm_max_ps(x, lo); }  // maxps returns its second operand on NaN
inline float lane0(vf4 v) { return _mm_cvtss_f32(v); }
inline void transpose4(vf4& a, vf4& b, vf4& c, vf4& d) { _MM_TRANSPOSE4_PS(a, b, c, d); }
inline float hsum(vf4 v) {
  const vf4 s = _mm_add_ps(v, _mm_movehl_ps(v, v));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}
inline float hmax(vf4 v) {
  const vf4 s = _mm_max_ps(v, _mm_movehl_ps(v, v));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_shuffle_ps(s, s, 1)));
}
inline bool any_nan(vf4 v) { return _mm_movemask_ps(_mm_cmpunord_ps(v, v)) != 0; }
inline vf4 low_bits_to_exponent(vf4 v) { return _mm_castsi128_ps(_mm_slli_epi32(_mm_castps_si128(v), 23)); }

#else

struct vf4 { float v[4]; };
inline vf4 load(const float* p) { vf4 r; std::memcpy(r.v, p, sizeof r.v); return r; }
inline void store(float* p, vf4 v) { std::memcpy(p, v.v, sizeof v.v); }
inline vf4 splat(float x) { return {{x, x, x, x}}; }
inline vf4 zero() { return splat(0.0f); }
#define QKV_LANEWISE(expr) vf4 r; for (int i = 0; i < 4; ++i) r.v[i] = (expr); return r
inline vf4 add(vf4 a, vf4 b) { QKV_LANEWISE(a.v[i] + b.v[i]); }
inline vf4 sub(vf4 a, vf4 b) { QKV_LANEWISE(a.v[i] - b.v[i]); }
inline vf4 mul(vf4 a, vf4 b) { QKV_LANEWISE(a.v[i] * b.v[i]); }
inline vf4 madd(vf4 a, vf4 b, vf4 c) { QKV_LANEWISE(a.v[i] * b.v[i] + c.v[i]); }
inline vf4 max(vf4 a, vf4 b) { QKV_LANEWISE(a.v[i] > b.v[i] ? a.v[i] : b.v[i]); }
inline vf4 max_nan_low(vf4 lo, vf4 x) { QKV_LANEWISE(x.v[i] > lo.v[i] ? x.v[i] : lo.v[i]); }
inline bool any_nan(vf4 v) { return v.v[0] != v.v[0] || v.v[1] != v.v[1] || v.v[2] != v.v[2] || v.v[3] != v.v[3]; }
inline vf4 low_bits_to_exponent(vf4 v) {
  vf4 r;
  for (int i = 0; i < 4; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &v.v[i], 4);
    bits <<= 23;
    std::memcpy(&r.v[i], &bits, 4);
  }
  return r;
}
#undef QKV_LANEWISE
inline float lane0(vf4 v) { return v.v[0]; }
inline void transpose4(vf4& a, vf4& b, vf4& c, vf4& d) {
  const vf4 t[4] = {a, b, c, d};
  vf4* rows[4] = {&a, &b, &c, &d};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) rows[i]->v[j] = t[j].v[i];
}
inline float hsum(vf4 v) { return (v.v[0] + v.v[2]) + (v.v[1] + v.v[3]); }
inline float hmax(vf4 v) {
  const float a = v.v[0] > v.v[2] ? v.v[0] : v.v[2], b = v.v[1] > v.v[3] ? v.v[1] : v.v[3];
  return a > b ? a : b;
}

#endif

// Sums of four vectors: result lane i = sum of the lanes of input i.
inline vf4 hsum4(vf4 a, vf4 b, vf4 c, vf4 d) {
  transpose4(a, b, c, d);
  return add(add(a, b), add(c, d));
}

// The first `count` (< 4) lanes of v to p, for row tails: nothing past p[count - 1] is written.
inline void store_first(float* p, vf4 v, size_t count) {
  float lanes[4];
  store(lanes, v);
  for (size_t i = 0; i < count; ++i) p[i] = lanes[i];
}
// The first `count` (< 4) floats of p, the other lanes `fill`: nothing past p[count - 1] is read.
inline vf4 load_first(const float* p, size_t count, float fill) {
  float lanes[4] = {fill, fill, fill, fill};
  for (size_t i = 0; i < count; ++i) lanes[i] = p[i];
  return load(lanes);
}

}  // namespace qkv::simd
