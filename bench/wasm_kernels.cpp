// A small separate wasm module for the benchmark (never part of the package): the single-core
// wasm SIMD128 peak, and the attention kernels alone on cache-resident tiles, for the profile.
// Built by `cmake --build build/wasm --target qkv-bench-kernels`; bench/bench.mjs loads it.
#include <wasm_simd128.h>

#include <cstdlib>

#include "kernels.h"

extern "C" {

// Twelve independent chains acc = acc·m + c (f32x4 mul then add; wasm has no FMA): enough chains
// to keep two multipliers and two adders busy through their latency, and only 14 of the 15
// registers V8 allocates on x86. 8 FLOPs per chain step; returns a sum so nothing is dead.
__attribute__((used)) float qkv_peak(int iters) {
  const v128_t m = wasm_f32x4_splat(0.999f), c = wasm_f32x4_splat(0.001f);
  v128_t a0 = wasm_f32x4_splat(0.1f), a1 = wasm_f32x4_splat(0.2f), a2 = wasm_f32x4_splat(0.3f),
         a3 = wasm_f32x4_splat(0.4f), a4 = wasm_f32x4_splat(0.5f), a5 = wasm_f32x4_splat(0.6f),
         a6 = wasm_f32x4_splat(0.7f), a7 = wasm_f32x4_splat(0.8f), a8 = wasm_f32x4_splat(0.9f),
         a9 = wasm_f32x4_splat(1.1f), a10 = wasm_f32x4_splat(1.2f), a11 = wasm_f32x4_splat(1.3f);
#define QKV_STEP(a) a = wasm_f32x4_add(wasm_f32x4_mul(a, m), c)
  for (int i = 0; i < iters; ++i) {
    QKV_STEP(a0); QKV_STEP(a1); QKV_STEP(a2); QKV_STEP(a3); QKV_STEP(a4); QKV_STEP(a5);
    QKV_STEP(a6); QKV_STEP(a7); QKV_STEP(a8); QKV_STEP(a9); QKV_STEP(a10); QKV_STEP(a11);
  }
#undef QKV_STEP
  const v128_t s = wasm_f32x4_add(
      wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)),
                     wasm_f32x4_add(wasm_f32x4_add(a4, a5), wasm_f32x4_add(a6, a7))),
      wasm_f32x4_add(wasm_f32x4_add(a8, a9), wasm_f32x4_add(a10, a11)));
  return wasm_f32x4_extract_lane(s, 0);
}
__attribute__((used)) double qkv_peak_flops_per_iter() { return 12 * 8; }

// One online-attention tile, as attention.cpp runs it: 32 queries × 128 keys, d = dv = 64.
// kind 0: Q·Kᵀ over packed panels; 1: the weights·V update; 2: the online softmax step; 3: Q·Kᵀ
// over K's rows as they are (the path for a single block of queries); 4: packing K into panels;
// 5: Q·Kᵀ and the softmax step fused (an unmasked tile); 6: a whole unmasked tile (5, then weights·V);
// 7: the same tile unfused (0, the base-2 softmax step, weights·V); 8: the base-2 softmax step alone;
// 9: first_non_finite over the tile's three inputs (Q, K and V: 32·64 + 2·128·64 floats).
__attribute__((used)) double qkv_tile(int kind, int iters) {
  constexpr size_t R = 32, C = 128, D = 64;
  static float* buf = nullptr;
  if (!buf) {
    buf = static_cast<float*>(std::malloc(sizeof(float) * (R * D + C * D + R * C + R * D + 3 * R + C * D)));
    for (size_t i = 0; i < R * D + C * D + R * C + R * D + C * D; ++i) buf[i] = float(i % 17) * 0.01f - 0.08f;
  }
  float *q = buf, *packed = q + R * D, *tile = packed + C * D, *out = tile + R * C, *v = out + R * D;
  float *m = v + C * D, *l = m + R, *scale = l + R;
  const qkv::Kernels& kn = *qkv::simd_kernels();
  static volatile size_t sink = 0;
  for (int it = 0; it < iters; ++it) {
    if (kind == 0) kn.gemm_nt_packed(R, C, D, 0.125f, q, D, packed, tile, C);
    if (kind == 1) kn.gemm_nn_acc(R, D, C, tile, C, v, D, scale, out, D);
    if (kind == 3) kn.gemm_nt(R, C, D, 0.125f, q, D, v, D, tile, C);
    if (kind == 4) kn.pack_panels(C, D, v, D, packed);
    if (kind == 2 || kind >= 5) for (size_t r = 0; r < R; ++r) m[r] = -1e30f, l[r] = 0.0f;
    if (kind == 2) kn.softmax_online(R, C, tile, C, m, l, scale);
    if (kind == 8) kn.softmax_online(R, C, tile, C, m, l, scale);
    if (kind == 9) sink += kn.first_non_finite(R * D + 2 * C * D, q);
    if (kind == 5 || kind == 6) kn.gemm_nt_softmax_online(R, C, D, 0.18f, q, D, packed, tile, C, m, l, scale);
    if (kind == 7) {
      kn.gemm_nt_packed(R, C, D, 0.18f, q, D, packed, tile, C);
      kn.softmax_online(R, C, tile, C, m, l, scale);
    }
    if (kind == 6 || kind == 7) kn.gemm_nn_acc(R, D, C, tile, C, v, D, scale, out, D);
  }
  // FLOPs per iteration (both products for kinds 6 and 7); kinds 2 and 8: scores; kind 9: floats checked, kind 4: floats packed
  return kind == 9 ? double(R * D + 2 * C * D) : kind == 2 || kind == 8 ? double(R) * C : kind == 4 ? double(C) * D : kind >= 6 ? 4.0 * R * C * D : 2.0 * R * C * D;
}
}
