// The vector kernels with 256-bit vectors and fused multiply-add (x86 AVX2 + FMA), natively only: the
// wasm build never compiles this file. CMake compiles it, and nothing else, with -mavx2 -mfma;
// avx2_kernels() (kernels_select.cpp, plain SSE2 code) checks the CPU before anything here runs.
// The kernels are simd_kernels.h's, instantiated for simd::F32x8; what changes is the register tile:
// x86-64 has 16 ymm registers, and one ymm holds a whole packed panel row (kPanel = 8 keys), so a
// 6×16 tile (12 accumulators, 2 panel vectors, 1 broadcast) fits without spilling, as in XNNPACK's
// f32-gemm 6x16 avx2/fma3 kernels. gemm_nt, pack_panels and first_non_finite are the SSE2 ones.
#include "simd_kernels.h"

namespace qkv {

namespace {
using S = simd::F32x8;
const Kernels& sse2_base() { return simd_kernels() ? *simd_kernels() : scalar_kernels(); }
}  // namespace

// Call only on a CPU with AVX2 and FMA.
const Kernels& avx2_fma_kernel_table() {
  static const Kernels table = simd_kernel_table<S, 6, 2>("avx2-fma", sse2_base());
  return table;
}

// The other tile shapes, for the tests and benchmarks (see simd_kernel_shapes()).
std::vector<const Kernels*> avx2_fma_kernel_shapes() {
#if defined(QKV_TILE_SHAPES)
  static const Kernels more[] = {simd_kernel_table<S, 4, 1>("avx2-fma-4x8", sse2_base()),
                                 simd_kernel_table<S, 8, 1>("avx2-fma-8x8", sse2_base())};
  return {&avx2_fma_kernel_table(), &more[0], &more[1]};
#else
  return {&avx2_fma_kernel_table()};
#endif
}

}  // namespace qkv
