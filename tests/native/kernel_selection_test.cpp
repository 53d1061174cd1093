// Which kernel set the core runs natively: the AVX2 + FMA table wherever the CPU has them (its
// kernels are checked with every other set by kernels_test.cpp and attention_test.cpp, through
// all_kernel_sets()), and QKV_KERNELS forcing a set.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "kernels.h"

namespace qkv {
namespace {

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

TEST(Avx2Kernels, PresentWhereverTheCpuHasThem) {
#if defined(__x86_64__) && defined(__GNUC__)
  // This project's native compiler (g++ 12) accepts -mavx2 -mfma, so the table must be compiled in.
  EXPECT_EQ(avx2_kernels() != nullptr, cpu_has_avx2_fma());
#endif
  if (!avx2_kernels()) GTEST_SKIP() << "no AVX2 + FMA";
  EXPECT_STREQ(avx2_kernels()->name, "avx2-fma");
  EXPECT_EQ(avx2_kernels()->mr, 6);
  EXPECT_EQ(avx2_kernels()->nr, 16);
  EXPECT_EQ(avx2_kernel_shapes().front(), avx2_kernels());
  // The kernels it does not instantiate for 8 lanes are the SSE2 ones, copied.
  ASSERT_NE(simd_kernels(), nullptr);
  EXPECT_EQ(avx2_kernels()->first_non_finite, simd_kernels()->first_non_finite);
  EXPECT_EQ(avx2_kernels()->pack_panels, simd_kernels()->pack_panels);
  EXPECT_EQ(avx2_kernels()->gemm_nt, simd_kernels()->gemm_nt);
  EXPECT_NE(avx2_kernels()->gemm_nt_packed, simd_kernels()->gemm_nt_packed);
  EXPECT_NE(avx2_kernels()->softmax_online, simd_kernels()->softmax_online);
  EXPECT_NE(avx2_kernels()->gemm_nt_softmax_online, simd_kernels()->gemm_nt_softmax_online);
}

// best_kernels(): the fastest set, unless QKV_KERNELS names one. ctest runs this test again with
// QKV_KERNELS=sse2, =scalar and =avx2 (CMakeLists.txt).
TEST(KernelSelection, BestKernelsHonoursQkvKernels) {
  const char* env = std::getenv("QKV_KERNELS");
  const std::string want = env ? env : "";
  const Kernels* fastest = avx2_kernels() ? avx2_kernels() : simd_kernels() ? simd_kernels() : &scalar_kernels();
  const Kernels* expected = fastest;
  if (want == "scalar") expected = &scalar_kernels();
  if (want == "sse2" && simd_kernels()) expected = simd_kernels();
  if (want == "avx2" && avx2_kernels()) expected = avx2_kernels();
  EXPECT_EQ(&best_kernels(), expected) << "QKV_KERNELS=" << want << " gave " << best_kernels().name;
#if defined(__x86_64__)
  if (want.empty()) EXPECT_STREQ(best_kernels().name, cpu_has_avx2_fma() ? "avx2-fma" : "sse2");
#endif
}

}  // namespace
}  // namespace qkv
