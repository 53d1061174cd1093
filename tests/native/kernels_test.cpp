// Every kernel of every kernel set — the scalar twins, the 4-lane vector kernels (SSE2 here) and,
// where the CPU has them, AVX2 + FMA, each in every tile shape it is built with — through the testers
// of kernel_tester.h against float64 references. Sizes are every tail of the set's own tile (rows
// 1 … 2·mr + 1, columns 1 … 2·nr + 1) and a few larger ones.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernel_tester.h"
#include "kernels.h"
#include "reference.h"

namespace qkv {
namespace {
using test::random_vector;
using test::tails;

class KernelTest : public ::testing::TestWithParam<const Kernels*> {
 protected:
  const Kernels& kn() const { return *GetParam(); }
  std::vector<size_t> rows() const { return tails(kn().mr, {4, 5, 7, 9, 14}); }
  std::vector<size_t> cols() const { return tails(kn().nr, {4, 5, 7, 8, 9, 16, 17, 33, 47, 64, 130}); }
};

TEST(KernelSets, NativeBuildHasVectorKernelsInEveryShape) {
#if defined(__SSE2__)
  ASSERT_NE(simd_kernels(), nullptr);
  EXPECT_STREQ(simd_kernels()->name, "sse2");
  EXPECT_EQ(simd_kernels()->mr, 4);   // Q·Kᵀ on 4×8, weights·V on 2×16
  EXPECT_EQ(simd_kernels()->nr, 16);
  // The native build has QKV_TILE_SHAPES: the production shape first, then the others.
  const auto shapes = simd_kernel_shapes();
  ASSERT_GE(shapes.size(), 3u);
  EXPECT_EQ(shapes[0], simd_kernels());
#endif
  EXPECT_STREQ(scalar_kernels().name, "scalar");
}

// Q·Kᵀ over unpacked rows: 4×4 dot-product tiles vectorised along k (every tail of k).
TEST_P(KernelTest, GemmNtMatchesFloat64) {
  test::GemmTester t;
  for (size_t m : tails(4, {16, 33}))
    for (size_t n : tails(4, {16, 33}))
      for (size_t k : {1, 3, 4, 5, 8, 9, 64, 67})
        ASSERT_NO_FATAL_FAILURE(t.m(m).n(n).k(k).seed(unsigned(m * 1000 + n * 10 + k)).test_nt(kn().gemm_nt)) << kn().name;
}

// Q·Kᵀ over packed panels: every tail of the tile's rows and keys (a partial last panel, a lone last
// panel) and of k.
TEST_P(KernelTest, GemmNtPackedMatchesFloat64) {
  test::GemmTester t;
  for (size_t m : rows())
    for (size_t n : cols())
      for (size_t k : {1, 2, 9, 67})  // the tile steps through k one element at a time: no tail there
        ASSERT_NO_FATAL_FAILURE(t.m(m).n(n).k(k).test_nt_packed(kn().gemm_nt_packed)) << kn().name;
}

// C = A·B + bias (gemm_nn) and C = row_scale·C + A·B (gemm_nn_acc) share a tile: both, every tail.
TEST_P(KernelTest, GemmNnAndGemmNnAccMatchFloat64) {
  test::GemmTester t;
  for (size_t m : rows())
    for (size_t n : cols())
      for (size_t k : {1, 3, 17}) {
        t.m(m).n(n).k(k);
        ASSERT_NO_FATAL_FAILURE(t.test_nn(kn().gemm_nn, false)) << kn().name;
        ASSERT_NO_FATAL_FAILURE(t.test_nn(kn().gemm_nn, true)) << kn().name;
        ASSERT_NO_FATAL_FAILURE(t.test_nn_acc(kn().gemm_nn_acc)) << kn().name;
      }
}

TEST_P(KernelTest, ExpIsAccurateAndZeroBelowTheNormalRange) {
  ASSERT_NO_FATAL_FAILURE(test::ExpTester().test(kn().exp_nonpositive)) << kn().name;
}

TEST_P(KernelTest, SoftmaxRowMatchesFloat64) {
  test::SoftmaxRowTester t;
  for (size_t n = 1; n <= 40; ++n)  // every tail of the 4 × 4- and 4 × 8-float steps
    for (int kind = 0; kind < test::SoftmaxRowTester::kKinds; ++kind)
      ASSERT_NO_FATAL_FAILURE(t.n(n).kind(kind).test(kn().softmax_row)) << kn().name;
}

TEST_P(KernelTest, SoftmaxRowOfMaskedEntries) {
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t n = 1; n <= 17; ++n) {
    std::vector<float> all_masked(n, -inf);
    kn().softmax_row(n, all_masked.data());
    for (float v : all_masked) EXPECT_EQ(v, 0.0f) << "an all-masked row attends to nothing";
    std::vector<float> one_open(n, -inf);
    one_open[n - 1] = 3.0f;
    kn().softmax_row(n, one_open.data());
    for (size_t j = 0; j + 1 < n; ++j) EXPECT_EQ(one_open[j], 0.0f);
    EXPECT_EQ(one_open[n - 1], 1.0f);
  }
}

// One online-softmax step after another, every tail of the row blocks (up to 8 rows share one vector
// exponential) and of the columns.
TEST_P(KernelTest, SoftmaxOnlineMatchesFloat64Recurrence) {
  test::OnlineSoftmaxTester t;
  for (size_t r : tails(8))
    for (size_t c : cols())
      ASSERT_NO_FATAL_FAILURE(t.rows(r).cols(c).test_step(kn().softmax_online)) << kn().name;
}

TEST_P(KernelTest, GemmNtSoftmaxOnlineMatchesFloat64Recurrence) {
  test::OnlineSoftmaxTester t;
  for (size_t r : rows())
    for (size_t c : cols())
      for (size_t k : {1, 3, 67})
        ASSERT_NO_FATAL_FAILURE(t.rows(r).cols(c).k(k).test_fused(kn().gemm_nt_softmax_online)) << kn().name;
}

// With the online path's real alpha (not exact) and float inputs, the fused kernel gives what its
// parts give (Q·Kᵀ over the panels, then the step) and what the scalar twin gives, within float32
// rounding.
TEST_P(KernelTest, GemmNtSoftmaxOnlineEqualsItsPartsAndTheScalarTwin) {
  const Kernels& twin = scalar_kernels();
  std::mt19937 rng(9);
  for (size_t rows : {1, 3, 4, 6, 9})
    for (size_t cols : {1, 5, 8, 13, 64, 100, 128})
      for (size_t k : {7, 64}) {
        const size_t ldx = cols + 1;
        const float alpha = 1.0f / std::sqrt(float(k));
        auto a = random_vector(rows * k, rng, -3.0f, 3.0f), b = random_vector(cols * k, rng, -3.0f, 3.0f);
        std::vector<float> packed(packed_panels_size(cols, k));
        pack_panels(cols, k, b.data(), k, packed.data());
        struct Run {
          std::vector<float> x, m, l, scale;
        };
        auto fresh = [&] {
          return Run{std::vector<float>(rows * ldx, 7.0f), std::vector<float>(rows, 1.5f),
                     std::vector<float>(rows, 2.0f), std::vector<float>(rows, 0.0f)};
        };
        Run fused = fresh(), parts = fresh(), scalar = fresh();
        kn().gemm_nt_softmax_online(rows, cols, k, alpha, a.data(), k, packed.data(), fused.x.data(), ldx,
                                    fused.m.data(), fused.l.data(), fused.scale.data());
        kn().gemm_nt_packed(rows, cols, k, alpha, a.data(), k, packed.data(), parts.x.data(), ldx);
        kn().softmax_online(rows, cols, parts.x.data(), ldx, parts.m.data(), parts.l.data(), parts.scale.data());
        twin.gemm_nt_softmax_online(rows, cols, k, alpha, a.data(), k, packed.data(), scalar.x.data(), ldx,
                                    scalar.m.data(), scalar.l.data(), scalar.scale.data());
        for (const Run* other : {&parts, &scalar}) {
          const std::string at = std::string(kn().name) + (other == &parts ? " vs its parts" : " vs the scalar twin") +
                                 " " + test::shape(rows, cols, k);
          for (size_t i = 0; i < fused.x.size(); ++i)
            ASSERT_NEAR(fused.x[i], other->x[i], 1e-5 * other->x[i] + 1e-30) << at << " x " << i;
          for (size_t r = 0; r < rows; ++r) {
            ASSERT_NEAR(fused.m[r], other->m[r], 1e-5 * std::abs(other->m[r])) << at;
            ASSERT_NEAR(fused.l[r], other->l[r], 1e-5 * other->l[r]) << at;
            ASSERT_NEAR(fused.scale[r], other->scale[r], 1e-5 * other->scale[r] + 1e-30) << at;
          }
        }
      }
}

// Each kernel set's packing gives exactly the layout of pack_panels (the scalar twin), every tail of
// n (partial last panel) and k, from rows with a wider stride.
TEST_P(KernelTest, PackPanelsMatchesScalarLayout) {
  std::mt19937 rng(7);
  for (size_t n : {1, 3, 7, 8, 9, 15, 16, 17, 33})
    for (size_t k : {1, 2, 3, 4, 5, 7, 8, 9, 64, 67}) {
      const size_t ldb = k + 2;
      auto b = random_vector(n * ldb, rng);
      const size_t size = packed_panels_size(n, k);
      std::vector<float> want(size + 1, 5.0f), got(size + 1, 5.0f);
      pack_panels(n, k, b.data(), ldb, want.data());
      kn().pack_panels(n, k, b.data(), ldb, got.data());
      ASSERT_EQ(got, want) << kn().name << " n=" << n << " k=" << k;
      for (size_t j = 0; j < n; ++j)  // and the layout is the documented one
        for (size_t p = 0; p < k; ++p) ASSERT_EQ(got[(j / kPanel * k + p) * kPanel + j % kPanel], b[j * ldb + p]);
    }
}

// The first non-finite element: NaN, +inf or -inf at the start, in the middle and at the end of
// every tail length and around the SIMD kernel's 16-float steps and 256-float blocks; n when all are
// finite, including ±FLT_MAX and subnormals.
TEST_P(KernelTest, FirstNonFiniteFindsTheFirstOne) {
  const float bad[3] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity()};
  std::mt19937 rng(10);
  for (size_t n : {1, 2, 3, 4, 5, 15, 16, 17, 31, 33, 255, 256, 257, 511, 513, 1000}) {
    auto x = random_vector(n, rng, -1e30f, 1e30f);
    x[0] = std::numeric_limits<float>::max();
    x[n / 2] = -std::numeric_limits<float>::max();
    x[n - 1] = std::numeric_limits<float>::denorm_min();
    ASSERT_EQ(kn().first_non_finite(n, x.data()), n) << kn().name << " n=" << n;
    for (size_t at : {size_t(0), n / 3, n / 2, n - 1})
      for (float b : bad) {
        auto y = x;
        y[at] = b;
        if (at + 1 < n) y[n - 1] = bad[0];  // a later one too: the first must be reported
        ASSERT_EQ(kn().first_non_finite(n, y.data()), at) << kn().name << " n=" << n << " value " << b;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(AllKernelSets, KernelTest, ::testing::ValuesIn(test::all_kernel_sets()),
                         [](const auto& info) { return test::param_name(info.param); });

}  // namespace
}  // namespace qkv
