// Every kernel set (scalar twin, and SIMD where built) against float64 references, for every tail
// size around the vector width W = 4 (1 … 2W+1) and some larger shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels.h"
#include "reference.h"

namespace qkv {
namespace {
using test::random_vector;

class KernelTest : public ::testing::TestWithParam<const Kernels*> {};

TEST(KernelSets, NativeBuildHasVectorKernels) {
#if defined(__SSE2__)
  ASSERT_NE(simd_kernels(), nullptr);
  EXPECT_STREQ(simd_kernels()->name, "sse2");
#endif
  EXPECT_STREQ(scalar_kernels().name, "scalar");
}

// Sizes 1..9 cover every tail of a 4-wide kernel and its 4×4 / 4×8 tiles; 16, 33, 64 full tiles.
const std::vector<size_t> kSizes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 33};

TEST_P(KernelTest, GemmNtMatchesFloat64) {
  const Kernels& kn = *GetParam();
  std::mt19937 rng(1);
  for (size_t m : kSizes)
    for (size_t n : kSizes)
      for (size_t k : {1, 3, 4, 5, 8, 9, 64, 67}) {
        // Strides wider than the rows: the kernel must use them, and must not touch the padding.
        const size_t lda = k + 3, ldb = k + 1, ldc = n + 2;
        auto a = random_vector(m * lda, rng), b = random_vector(n * ldb, rng);
        std::vector<float> c(m * ldc, 7.0f);
        const float alpha = 0.37f;
        kn.gemm_nt(m, n, k, alpha, a.data(), lda, b.data(), ldb, c.data(), ldc);
        for (size_t i = 0; i < m; ++i)
          for (size_t j = 0; j < ldc; ++j) {
            if (j >= n) {
              ASSERT_EQ(c[i * ldc + j], 7.0f) << "wrote outside C at " << i << "," << j;
              continue;
            }
            double ref = 0, mag = 0;
            for (size_t p = 0; p < k; ++p) {
              ref += double(a[i * lda + p]) * b[j * ldb + p];
              mag += std::abs(double(a[i * lda + p]) * b[j * ldb + p]);
            }
            ref *= alpha;
            // float32 accumulation of k products: error bound ~ k·eps·Σ|terms|
            ASSERT_NEAR(c[i * ldc + j], ref, 1e-6 + 2e-7 * k * alpha * mag)
                << kn.name << " m=" << m << " n=" << n << " k=" << k << " at " << i << "," << j;
          }
      }
}

TEST_P(KernelTest, GemmNnMatchesFloat64WithAndWithoutBias) {
  const Kernels& kn = *GetParam();
  std::mt19937 rng(2);
  for (bool with_bias : {false, true})
    for (size_t m : kSizes)
      for (size_t n : kSizes)
        for (size_t k : {1, 2, 5, 8, 17}) {
          const size_t lda = k + 1, ldb = n + 3, ldc = n + 1;
          auto a = random_vector(m * lda, rng), b = random_vector(k * ldb, rng), bias = random_vector(n, rng);
          std::vector<float> c(m * ldc, 7.0f);
          kn.gemm_nn(m, n, k, a.data(), lda, b.data(), ldb, with_bias ? bias.data() : nullptr, c.data(), ldc);
          for (size_t i = 0; i < m; ++i)
            for (size_t j = 0; j < ldc; ++j) {
              if (j >= n) {
                ASSERT_EQ(c[i * ldc + j], 7.0f);
                continue;
              }
              double ref = with_bias ? bias[j] : 0.0, mag = std::abs(ref);
              for (size_t p = 0; p < k; ++p) {
                ref += double(a[i * lda + p]) * b[p * ldb + j];
                mag += std::abs(double(a[i * lda + p]) * b[p * ldb + j]);
              }
              ASSERT_NEAR(c[i * ldc + j], ref, 1e-6 + 2e-7 * (k + 1) * mag)
                  << kn.name << " bias=" << with_bias << " m=" << m << " n=" << n << " k=" << k;
            }
        }
}

TEST_P(KernelTest, ExpIsAccurateOverSoftmaxRange) {
  const Kernels& kn = *GetParam();
  // Every tail length, then a dense sweep of [-87, 0].
  for (size_t n = 1; n <= 9; ++n) {
    std::vector<float> x(n), y(n + 1, 5.0f);
    for (size_t i = 0; i < n; ++i) x[i] = -0.5f * float(i);
    kn.exp_nonpositive(n, x.data(), y.data());
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], std::exp(double(x[i])), 3e-7 * std::exp(double(x[i])));
    ASSERT_EQ(y[n], 5.0f) << "wrote past the end";
  }
  const size_t n = 100003;
  std::vector<float> x(n), y(n);
  for (size_t i = 0; i < n; ++i) x[i] = -87.0f * float(i) / float(n - 1);
  kn.exp_nonpositive(n, x.data(), y.data());
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const double ref = std::exp(double(x[i]));
    worst = std::max(worst, std::abs(y[i] - ref) / ref);
  }
  EXPECT_LT(worst, 3e-7) << kn.name << ": a few ulp of float32";
  const float special[4] = {-std::numeric_limits<float>::infinity(), -1000.0f, -88.0f, 0.0f};
  float out[4];
  kn.exp_nonpositive(4, special, out);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_LT(out[2], 1e-37f);
  EXPECT_EQ(out[3], 1.0f);
}

TEST_P(KernelTest, SoftmaxSubtractsTheMaxAndMatchesFloat64) {
  const Kernels& kn = *GetParam();
  std::mt19937 rng(3);
  for (size_t n = 1; n <= 40; ++n) {
    // Inputs around 90–100 overflow exp in float32 unless the row maximum is subtracted first.
    auto x = random_vector(n + 1, rng, 90.0f, 100.0f);
    x[n] = 12345.0f;  // a sentinel past the row
    std::vector<double> xd(x.begin(), x.begin() + n);
    const auto ref = test::softmax_ref(xd);
    kn.softmax_row(n, x.data());
    double sum = 0;
    for (size_t j = 0; j < n; ++j) {
      ASSERT_TRUE(std::isfinite(x[j])) << kn.name << " n=" << n;
      ASSERT_NEAR(x[j], ref[j], 1e-6 * std::max(ref[j], 1e-3)) << kn.name << " n=" << n << " j=" << j;
      sum += x[j];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(x[n], 12345.0f);
  }
}

TEST_P(KernelTest, SoftmaxOfMaskedEntries) {
  const Kernels& kn = *GetParam();
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t n = 1; n <= 9; ++n) {
    std::vector<float> all_masked(n, -inf);
    kn.softmax_row(n, all_masked.data());
    for (float v : all_masked) EXPECT_EQ(v, 0.0f) << "an all-masked row attends to nothing";
    std::vector<float> one_open(n, -inf);
    one_open[n - 1] = 3.0f;
    kn.softmax_row(n, one_open.data());
    for (size_t j = 0; j + 1 < n; ++j) EXPECT_EQ(one_open[j], 0.0f);
    EXPECT_EQ(one_open[n - 1], 1.0f);
  }
}

// Q·Kᵀ over packed panels: every tail of m, of n (a partial last panel) and of k, with strides wider
// than the rows; C's padding columns must stay untouched.
TEST_P(KernelTest, GemmNtPackedMatchesFloat64) {
  const Kernels& kn = *GetParam();
  std::mt19937 rng(4);
  for (size_t m : kSizes)
    for (size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 33, 64})
      for (size_t k : {1, 3, 4, 5, 8, 9, 64, 67}) {
        const size_t lda = k + 3, ldb = k + 1, ldc = n + 2;
        auto a = random_vector(m * lda, rng), b = random_vector(n * ldb, rng);
        std::vector<float> packed(packed_panels_size(n, k)), c(m * ldc, 7.0f);
        pack_panels(n, k, b.data(), ldb, packed.data());
        const float alpha = -0.61f;
        kn.gemm_nt_packed(m, n, k, alpha, a.data(), lda, packed.data(), c.data(), ldc);
        for (size_t i = 0; i < m; ++i)
          for (size_t j = 0; j < ldc; ++j) {
            if (j >= n) {
              ASSERT_EQ(c[i * ldc + j], 7.0f) << kn.name << " wrote outside C at " << i << "," << j;
              continue;
            }
            double ref = 0, mag = 0;
            for (size_t p = 0; p < k; ++p) {
              ref += double(a[i * lda + p]) * b[j * ldb + p];
              mag += std::abs(double(a[i * lda + p]) * b[j * ldb + p]);
            }
            ASSERT_NEAR(c[i * ldc + j], alpha * ref, 1e-6 + 2e-7 * k * std::abs(alpha) * mag)
                << kn.name << " m=" << m << " n=" << n << " k=" << k << " at " << i << "," << j;
          }
      }
}

// Each kernel set's packing gives exactly the layout of pack_panels (the scalar twin), every tail of
// n (partial last panel) and k, from rows with a wider stride.
TEST_P(KernelTest, PackPanelsMatchesScalarLayout) {
  const Kernels& kn = *GetParam();
  std::mt19937 rng(7);
  for (size_t n : {1, 3, 7, 8, 9, 15, 16, 17, 33})
    for (size_t k : {1, 2, 3, 4, 5, 7, 8, 9, 64, 67}) {
      const size_t ldb = k + 2;
      auto b = random_vector(n * ldb, rng);
      const size_t size = packed_panels_size(n, k);
      std::vector<float> want(size + 1, 5.0f), got(size + 1, 5.0f);
      pack_panels(n, k, b.data(), ldb, want.data());
      kn.pack_panels(n, k, b.data(), ldb, got.data());
      ASSERT_EQ(got, want) << kn.name << " n=" << n << " k=" << k;
      for (size_t j = 0; j < n; ++j)  // and the layout is the documented one
        for (size_t p = 0; p < k; ++p) ASSERT_EQ(got[(j / kPanel * k + p) * kPanel + j % kPanel], b[j * ldb + p]);
    }
}

// The online-softmax output update C = row_scale·C + A·B, every tail of m, n and k.
TEST_P(KernelTest, GemmNnAccMatchesFloat64) {
  const Kernels& kn = *GetParam();
  std::mt19937 rng(5);
  for (size_t m : kSizes)
    for (size_t n : kSizes)
      for (size_t k : {1, 2, 5, 8, 17, 64}) {
        const size_t lda = k + 1, ldb = n + 3, ldc = n + 1;
        auto a = random_vector(m * lda, rng, 0.0f, 1.0f), b = random_vector(k * ldb, rng);
        auto scale = random_vector(m, rng, 0.0f, 1.0f), c = random_vector(m * ldc, rng);
        for (size_t i = 0; i < m; ++i) c[i * ldc + n] = 7.0f;  // padding column
        const auto c0 = c;
        kn.gemm_nn_acc(m, n, k, a.data(), lda, b.data(), ldb, scale.data(), c.data(), ldc);
        for (size_t i = 0; i < m; ++i) {
          ASSERT_EQ(c[i * ldc + n], 7.0f) << kn.name << " wrote outside C";
          for (size_t j = 0; j < n; ++j) {
            double ref = double(scale[i]) * c0[i * ldc + j], mag = std::abs(ref);
            for (size_t p = 0; p < k; ++p) {
              ref += double(a[i * lda + p]) * b[p * ldb + j];
              mag += std::abs(double(a[i * lda + p]) * b[p * ldb + j]);
            }
            ASSERT_NEAR(c[i * ldc + j], ref, 1e-6 + 2e-7 * (k + 1) * mag)
                << kn.name << " m=" << m << " n=" << n << " k=" << k << " at " << i << "," << j;
          }
        }
      }
}

// Online softmax in base e (softmax_online) and in base 2 (softmax_online_exp2, the online path's):
// the kernel, the exponential its float64 reference uses, and a name for messages.
struct OnlineStep {
  SoftmaxOnlineFn fn;
  double (*exp_ref)(double);
  const char* base;
};
std::vector<OnlineStep> online_steps(const Kernels& kn) {
  return {{kn.softmax_online, [](double v) { return std::exp(v); }, "base e"},
          {kn.softmax_online_exp2, [](double v) { return std::exp2(v); }, "base 2"}};
}

// One step of online softmax after another, against the same recurrence in float64: logits around
// 90–100 (exp overflows unless the running max is subtracted; 2^x from 128 on), masked (-inf)
// entries, a row masked in the first tile only and a row masked throughout; every tail of rows and
// of columns.
TEST_P(KernelTest, SoftmaxOnlineMatchesFloat64Recurrence) {
  const Kernels& kn = *GetParam();
  const float inf = std::numeric_limits<float>::infinity();
  std::mt19937 rng(6);
  for (const OnlineStep& step : online_steps(kn))
    for (size_t rows : {1, 2, 3, 4, 5, 7, 9})
      for (size_t cols : {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 64}) {
        const size_t ldx = cols + 2, tiles = 3;
        // Base 2 from 128 up: 2^x overflows float32 there.
        const float lo = step.exp_ref(1.0) == 2.0 ? 130.0f : 90.0f;
        std::vector<float> m(rows, -inf), l(rows, 0.0f), scale(rows, -1.0f);
        std::vector<double> md(rows, -std::numeric_limits<double>::infinity()), ld(rows, 0.0);
        for (size_t t = 0; t < tiles; ++t) {
          // Later tiles reach higher, so that the running max moves and rescales the sums.
          auto x = random_vector(rows * ldx, rng, lo + 2.0f * t, lo + 10.0f + 2.0f * t);
          for (size_t r = 0; r < rows; ++r) {
            for (size_t j = 0; j < cols; ++j)
              if (rng() % 5 == 0) x[r * ldx + j] = -inf;
            if (r == 1 && t == 0) std::fill(&x[r * ldx], &x[r * ldx + cols], -inf);  // masked, then not
            if (r == 2) std::fill(&x[r * ldx], &x[r * ldx + cols], -inf);             // masked throughout
            x[r * ldx + cols] = x[r * ldx + cols + 1] = 12345.0f;                      // stride padding
          }
          const auto x0 = x;
          step.fn(rows, cols, x.data(), ldx, m.data(), l.data(), scale.data());
          for (size_t r = 0; r < rows; ++r) {
            const std::string at = std::string(kn.name) + " " + step.base + " rows=" + std::to_string(rows) +
                                   " cols=" + std::to_string(cols) + " tile " + std::to_string(t) + " row " +
                                   std::to_string(r);
            double mx = md[r];
            for (size_t j = 0; j < cols; ++j) mx = std::max(mx, double(x0[r * ldx + j]));
            if (mx == -std::numeric_limits<double>::infinity()) {  // nothing seen yet
              for (size_t j = 0; j < cols; ++j) ASSERT_EQ(x[r * ldx + j], 0.0f) << at;
              ASSERT_EQ(scale[r], 1.0f) << at;
              ASSERT_EQ(l[r], 0.0f) << at;
              continue;
            }
            const double sc = step.exp_ref(md[r] - mx);  // exp(-inf) = 0 on the first open tile
            double sum = 0;
            for (size_t j = 0; j < cols; ++j) {
              const double e = step.exp_ref(double(x0[r * ldx + j]) - mx);
              sum += e;
              ASSERT_TRUE(std::isfinite(x[r * ldx + j])) << at;
              ASSERT_NEAR(x[r * ldx + j], e, 3e-7 * e + 1e-30) << at << " col " << j;
            }
            ASSERT_NEAR(scale[r], sc, 3e-7 * sc + 1e-30) << at;
            ld[r] = ld[r] * sc + sum;
            md[r] = mx;
            ASSERT_EQ(m[r], float(mx)) << at;
            ASSERT_NEAR(l[r], ld[r], 1e-6 * ld[r]) << at;
            ASSERT_EQ(x[r * ldx + cols], 12345.0f) << at << ": wrote into the stride padding";
          }
        }
      }
}

// Q·Kᵀ and the base-2 online step fused, three key tiles in a row, against float64. The inputs are
// multiples of 1/4 and alpha is 2, so every logit is exact in float32 and the reference sees the
// same logits. The first column of Q and K adds 2·8·(12 + 2t) = 192 + 32t to every logit of tiles
// t = 1, 2, so 2^x overflows unless the running max is subtracted, and the max moves from tile to
// tile; tile 0 has only negative logits (-192 and around), so a key past the end of a partial panel
// (a zero in the panel, a logit of 0) must not count for the maximum.
// Every tail of rows (4-row blocks), of keys (8-key panels, a partial last panel) and of k.
TEST_P(KernelTest, GemmNtSoftmaxOnlineMatchesFloat64) {
  const Kernels& kn = *GetParam();
  const double neg_inf = -std::numeric_limits<double>::infinity();
  std::mt19937 rng(8);
  auto quarters = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = float(int(rng() % 9) - 4) / 4.0f;
    return v;
  };
  for (size_t rows : {1, 2, 3, 4, 5, 7, 9})
    for (size_t cols : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 127, 128})
      for (size_t k : {1, 3, 4, 5, 8, 9, 64, 67}) {
        const size_t lda = k + 3, ldk = k + 1, ldx = cols + 2;
        const float alpha = 2.0f;
        auto a = quarters(rows * lda);
        for (size_t r = 0; r < rows; ++r) a[r * lda] = 8.0f;
        std::vector<float> m(rows, -std::numeric_limits<float>::infinity()), l(rows, 0.0f), scale(rows, -1.0f);
        std::vector<double> md(rows, neg_inf), ld(rows, 0.0);
        for (size_t t = 0; t < 3; ++t) {
          auto b = quarters(cols * ldk);
          for (size_t j = 0; j < cols; ++j) b[j * ldk] = t == 0 ? -12.0f : 12.0f + 2.0f * t;
          std::vector<float> packed(packed_panels_size(cols, k));
          pack_panels(cols, k, b.data(), ldk, packed.data());
          std::vector<float> x(rows * ldx, 12345.0f);
          kn.gemm_nt_softmax_online(rows, cols, k, alpha, a.data(), lda, packed.data(), x.data(), ldx, m.data(),
                                    l.data(), scale.data());
          for (size_t r = 0; r < rows; ++r) {
            const std::string at = std::string(kn.name) + " rows=" + std::to_string(rows) + " cols=" +
                                   std::to_string(cols) + " k=" + std::to_string(k) + " tile " + std::to_string(t) +
                                   " row " + std::to_string(r);
            double mx;
            const auto logit = test::logits_row(cols, k, alpha, &a[r * lda], b.data(), ldk, md[r], mx);
            if (t == 0) ASSERT_LT(mx, -128.0) << at;
            else ASSERT_GT(mx, 128.0) << at << ": the test must provoke overflow";
            const double sc = std::exp2(md[r] - mx);
            double sum = 0;
            for (size_t j = 0; j < cols; ++j) {
              const double e = std::exp2(logit[j] - mx);
              sum += e;
              ASSERT_NEAR(x[r * ldx + j], e, 3e-7 * e + 1e-30) << at << " col " << j;
            }
            ASSERT_EQ(x[r * ldx + cols], 12345.0f) << at << ": wrote into the stride padding";
            ASSERT_NEAR(scale[r], sc, 3e-7 * sc + 1e-30) << at;
            ld[r] = ld[r] * sc + sum;
            md[r] = mx;
            ASSERT_EQ(m[r], float(mx)) << at;
            ASSERT_NEAR(l[r], ld[r], 1e-6 * ld[r]) << at;
          }
        }
      }
}

// With the online path's real alpha (scale·log2(e), not exact) and float inputs, the fused kernel
// gives what its parts give (Q·Kᵀ over the panels, then the base-2 step) within float32 rounding,
// and the SIMD fused kernel gives what the scalar twin gives.
TEST_P(KernelTest, GemmNtSoftmaxOnlineEqualsItsPartsAndTheScalarTwin) {
  const Kernels& kn = *GetParam();
  const Kernels& twin = scalar_kernels();
  std::mt19937 rng(9);
  for (size_t rows : {1, 3, 4, 6, 9})
    for (size_t cols : {1, 5, 8, 13, 64, 100, 128})
      for (size_t k : {7, 64}) {
        const size_t ldx = cols + 1;
        const float alpha = 1.4426950f / std::sqrt(float(k));
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
        kn.gemm_nt_softmax_online(rows, cols, k, alpha, a.data(), k, packed.data(), fused.x.data(), ldx,
                                  fused.m.data(), fused.l.data(), fused.scale.data());
        kn.gemm_nt_packed(rows, cols, k, alpha, a.data(), k, packed.data(), parts.x.data(), ldx);
        kn.softmax_online_exp2(rows, cols, parts.x.data(), ldx, parts.m.data(), parts.l.data(), parts.scale.data());
        twin.gemm_nt_softmax_online(rows, cols, k, alpha, a.data(), k, packed.data(), scalar.x.data(), ldx,
                                    scalar.m.data(), scalar.l.data(), scalar.scale.data());
        for (const Run* other : {&parts, &scalar}) {
          const std::string at = std::string(kn.name) + (other == &parts ? " vs its parts" : " vs the scalar twin") +
                                 " rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) + " k=" +
                                 std::to_string(k);
          for (size_t i = 0; i < fused.x.size(); ++i) ASSERT_NEAR(fused.x[i], other->x[i], 1e-5 * other->x[i] + 1e-30) << at << " x " << i;
          for (size_t r = 0; r < rows; ++r) {
            ASSERT_NEAR(fused.m[r], other->m[r], 1e-5 * std::abs(other->m[r])) << at;
            ASSERT_NEAR(fused.l[r], other->l[r], 1e-5 * other->l[r]) << at;
            ASSERT_NEAR(fused.scale[r], other->scale[r], 1e-5 * other->scale[r] + 1e-30) << at;
          }
        }
      }
}

// The first non-finite element: NaN, +inf or -inf at the start, in the middle and at the end of
// every tail length and around the SIMD kernel's 16-float steps and 256-float blocks; n when all are
// finite, including ±FLT_MAX and subnormals.
TEST_P(KernelTest, FirstNonFiniteFindsTheFirstOne) {
  const Kernels& kn = *GetParam();
  const float bad[3] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity()};
  std::mt19937 rng(10);
  for (size_t n : {1, 2, 3, 4, 5, 15, 16, 17, 31, 33, 255, 256, 257, 511, 513, 1000}) {
    auto x = random_vector(n, rng, -1e30f, 1e30f);
    x[0] = std::numeric_limits<float>::max();
    x[n / 2] = -std::numeric_limits<float>::max();
    x[n - 1] = std::numeric_limits<float>::denorm_min();
    ASSERT_EQ(kn.first_non_finite(n, x.data()), n) << kn.name << " n=" << n;
    for (size_t at : {size_t(0), n / 3, n / 2, n - 1})
      for (float b : bad) {
        auto y = x;
        y[at] = b;
        if (at + 1 < n) y[n - 1] = bad[0];  // a later one too: the first must be reported
        ASSERT_EQ(kn.first_non_finite(n, y.data()), at) << kn.name << " n=" << n << " value " << b;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(AllKernelSets, KernelTest, ::testing::ValuesIn(test::all_kernel_sets()),
                         [](const auto& info) { return test::param_name(info.param); });

}  // namespace
}  // namespace qkv
