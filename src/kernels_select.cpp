// Which kernel set best_kernels() returns: chosen once, from what was compiled in and what the CPU
// has, unless QKV_KERNELS names one (natively).
#include <cstdlib>
#include <cstring>

#include "kernels.h"

namespace qkv {

#if defined(QKV_HAVE_AVX2_KERNELS)
// In src/kernels_avx2.cpp, which is compiled with -mavx2 -mfma: even building its table may use AVX
// instructions, so it is called only after the check below (this file is plain SSE2).
const Kernels& avx2_fma_kernel_table();
std::vector<const Kernels*> avx2_fma_kernel_shapes();

const Kernels* avx2_kernels() {
  static const Kernels* table = [] {
    __builtin_cpu_init();
    const bool usable = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return usable ? &avx2_fma_kernel_table() : nullptr;
  }();
  return table;
}

std::vector<const Kernels*> avx2_kernel_shapes() {
  return avx2_kernels() ? avx2_fma_kernel_shapes() : std::vector<const Kernels*>{};
}
#else
// Builds without src/kernels_avx2.cpp: wasm, and compilers without -mavx2 -mfma.
const Kernels* avx2_kernels() { return nullptr; }
std::vector<const Kernels*> avx2_kernel_shapes() { return {}; }
#endif

namespace {

const Kernels& choose_kernels() {
  const Kernels* fastest = avx2_kernels() ? avx2_kernels() : simd_kernels() ? simd_kernels() : &scalar_kernels();
#if !defined(__EMSCRIPTEN__)
  if (const char* want = std::getenv("QKV_KERNELS")) {
    if (std::strcmp(want, "scalar") == 0) return scalar_kernels();
    if (std::strcmp(want, "sse2") == 0 && simd_kernels()) return *simd_kernels();
    if (std::strcmp(want, "avx2") == 0 && avx2_kernels()) return *avx2_kernels();
  }
#endif
  return *fastest;
}

}  // namespace

const Kernels& best_kernels() {
  static const Kernels& chosen = choose_kernels();
  return chosen;
}

}  // namespace qkv
