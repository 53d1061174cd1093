// A small separate wasm module for the benchmark (never part of the package): the single-core wasm
// SIMD peaks, and the attention kernels alone on cache-resident tiles, in every tile shape
// (QKV_TILE_SHAPES), for tuning and profiling. Built twice by `bash scripts/build.sh bench`:
// qkv-bench-kernels.wasm (SIMD128) and relaxed/qkv-bench-kernels-fma.wasm (relaxed SIMD, rewritten by
// scripts/relax-simd.mjs like the package's FMA build); bench/bench.mjs and bench/ab.mjs load them.
#include <wasm_simd128.h>

#include <cstdlib>
#include <vector>

#include "kernels.h"

namespace {

// Twelve independent chains acc = step(acc, m, c), enough to keep two multipliers and two adders (or
// two FMA units) busy through their latency, in 14 of the 15 vector registers V8 allocates on x86.
// 8 FLOPs per chain step; returns a sum so that nothing is dead. m and c keep acc bounded (it
// converges to c / (1 - m), never denormal).
template <typename Step>
float chains(int iters, Step step) {
  const v128_t m = wasm_f32x4_splat(0.999f), c = wasm_f32x4_splat(0.001f);
  v128_t a[12];
  for (int i = 0; i < 12; ++i) a[i] = wasm_f32x4_splat(0.1f * float(i + 1));
  for (int it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = step(a[i], m, c);
  v128_t s = a[0];
  for (int i = 1; i < 12; ++i) s = wasm_f32x4_add(s, a[i]);
  return wasm_f32x4_extract_lane(s, 0);
}

}  // namespace

extern "C" {

// The mul+add peak: a multiply, then an add (two instructions per multiply-add, as in SIMD128).
__attribute__((used)) float qkv_peak(int iters) {
  return chains(iters, [](v128_t a, v128_t m, v128_t c) { return wasm_f32x4_add(wasm_f32x4_mul(a, m), c); });
}
__attribute__((used)) double qkv_peak_flops_per_iter() { return 12 * 8; }

// The FMA peak: one relaxed_madd per multiply-add (relaxed build only; 0 FLOPs in the SIMD128 one).
__attribute__((used)) float qkv_peak_fma(int iters) {
#if defined(__wasm_relaxed_simd__)
  return chains(iters, [](v128_t a, v128_t m, v128_t c) { return __builtin_wasm_fma_f32x4(a, m, c); });
#else
  return float(iters);
#endif
}
__attribute__((used)) double qkv_peak_fma_flops_per_iter() {
#if defined(__wasm_relaxed_simd__)
  return 12 * 8;
#else
  return 0;
#endif
}

// The tile shapes of this build's vector kernels: how many, and the name of shape i.
__attribute__((used)) int qkv_shapes() { return int(qkv::simd_kernel_shapes().size()); }
__attribute__((used)) const char* qkv_shape_name(int shape) { return qkv::simd_kernel_shapes()[shape]->name; }

// One online-attention tile, as attention.cpp runs it: 32 queries × 128 keys, d = dv = 64, with the
// kernels of tile shape `shape`.
// kind 0: Q·Kᵀ over packed panels; 1: the weights·V update; 2: the online softmax step; 3: Q·Kᵀ
// over K's rows as they are (gemm_nt); 4: packing K into panels; 5: Q·Kᵀ and the softmax step fused
// (an unmasked tile); 6: a whole unmasked tile (5, then weights·V); 7: the same tile unfused (0, the
// softmax step, weights·V); 9: first_non_finite over the tile's three inputs (Q, K and V: 32·64 +
// 2·128·64 floats). Returns the FLOPs per iteration (both products for kinds 6 and 7); kind 2: the
// scores; kind 9: the floats checked; kind 4: the floats packed.
__attribute__((used)) double qkv_tile(int kind, int iters, int shape) {
  constexpr size_t R = 32, C = 128, D = 64;
  static float* buf = nullptr;
  if (!buf) {
    buf = static_cast<float*>(std::malloc(sizeof(float) * (R * D + C * D + R * C + R * D + 3 * R + C * D)));
    for (size_t i = 0; i < R * D + C * D + R * C + R * D + C * D; ++i) buf[i] = float(i % 17) * 0.01f - 0.08f;
  }
  float *q = buf, *packed = q + R * D, *tile = packed + C * D, *out = tile + R * C, *v = out + R * D;
  float *m = v + C * D, *l = m + R, *scale = l + R;
  const qkv::Kernels& kn = *qkv::simd_kernel_shapes()[shape];
  static volatile size_t sink = 0;
  for (int it = 0; it < iters; ++it) {
    if (kind == 0) kn.gemm_nt_packed(R, C, D, 0.125f, q, D, packed, tile, C);
    if (kind == 1) kn.gemm_nn_acc(R, D, C, tile, C, v, D, scale, out, D);
    if (kind == 3) kn.gemm_nt(R, C, D, 0.125f, q, D, v, D, tile, C);
    if (kind == 4) kn.pack_panels(C, D, v, D, packed);
    if (kind == 2 || kind >= 5) for (size_t r = 0; r < R; ++r) m[r] = -1e30f, l[r] = 0.0f;
    if (kind == 2) kn.softmax_online(R, C, tile, C, m, l, scale);
    if (kind == 9) sink += kn.first_non_finite(R * D + 2 * C * D, q);
    if (kind == 5 || kind == 6) kn.gemm_nt_softmax_online(R, C, D, 0.125f, q, D, packed, tile, C, m, l, scale);
    if (kind == 7) {
      kn.gemm_nt_packed(R, C, D, 0.125f, q, D, packed, tile, C);
      kn.softmax_online(R, C, tile, C, m, l, scale);
    }
    if (kind == 6 || kind == 7) kn.gemm_nn_acc(R, D, C, tile, C, v, D, scale, out, D);
  }
  return kind == 9 ? double(R * D + 2 * C * D) : kind == 2 ? double(R) * C : kind == 4 ? double(C) * D
         : kind >= 6 ? 4.0 * R * C * D : 2.0 * R * C * D;
}
}
