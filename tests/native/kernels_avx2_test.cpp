// The AVX2 + FMA kernels (src/kernels_avx2.cpp) against float64 and against their scalar twins, for
// the tails of their own tiles: 6-row blocks (m = 1 … 13), 16- and 8-column blocks (n = 1 … 33, not
// multiples of 8 or 16), odd k; softmax inputs that overflow exp unless the max is subtracted,
// masked (-inf) keys and all-masked rows; and whole attention run with the AVX2 table. The shared
// suites (kernels_test.cpp, attention_test.cpp) run on this table too, through all_kernel_sets().
// Everything skips on a CPU without AVX2 or FMA.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "attention.h"
#include "kernels.h"
#include "reference.h"

namespace qkv {
namespace {
using test::random_vector;

constexpr float kInf = std::numeric_limits<float>::infinity();

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

class Avx2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!avx2_kernels()) GTEST_SKIP() << "no AVX2 + FMA kernels on this CPU or in this build";
  }
  const Kernels& avx2() const { return *avx2_kernels(); }
  const Kernels& scalar() const { return scalar_kernels(); }
};

std::vector<size_t> up_to(size_t last, std::vector<size_t> more = {}) {
  std::vector<size_t> v;
  for (size_t i = 1; i <= last; ++i) v.push_back(i);
  v.insert(v.end(), more.begin(), more.end());
  return v;
}
// Rows: every tail of a 6-row block, twice, and the 6 + 4 + 4 split (14, 32: the attention block).
// Columns: every tail of 8- and 16-column blocks, twice.
const std::vector<size_t> kRows = up_to(14, {32});
const std::vector<size_t> kCols = up_to(33, {47, 48, 64, 130});
const std::vector<size_t> kDepths = {1, 2, 3, 7, 8, 9, 17, 64, 67};

TEST(Avx2Kernels, PresentWhereverTheCpuHasThem) {
#if defined(__x86_64__) && defined(__GNUC__)
  // This project's native compiler (g++ 12) accepts -mavx2 -mfma, so the table must be compiled in.
  EXPECT_EQ(avx2_kernels() != nullptr, cpu_has_avx2_fma());
#endif
  if (!avx2_kernels()) GTEST_SKIP() << "no AVX2 + FMA";
  EXPECT_STREQ(avx2_kernels()->name, "avx2-fma");
  // The kernels it does not override are the SSE2 ones, copied.
  ASSERT_NE(simd_kernels(), nullptr);
  EXPECT_EQ(avx2_kernels()->first_non_finite, simd_kernels()->first_non_finite);
  EXPECT_EQ(avx2_kernels()->pack_panels, simd_kernels()->pack_panels);
  EXPECT_NE(avx2_kernels()->gemm_nt_packed, simd_kernels()->gemm_nt_packed);
  // The online path's two base-2 kernels are its own, not the SSE2 4×8 ones copied.
  EXPECT_NE(avx2_kernels()->softmax_online_exp2, simd_kernels()->softmax_online_exp2);
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

// got against the float64 value ref (whose terms have absolute sum mag, over `terms` roundings) and
// against the scalar twin's float32 result, which carries an error of the same bound.
void expect_dot_close(float got, float twin, double ref, double mag, size_t terms, const std::string& at) {
  const double tol = 1e-6 + 2e-7 * double(terms) * mag;
  ASSERT_NEAR(got, ref, tol) << at << " (float64)";
  ASSERT_NEAR(got, twin, 2 * tol) << at << " (scalar twin)";
}

TEST_F(Avx2Test, GemmNtPackedEveryTileTail) {
  std::mt19937 rng(21);
  for (size_t m : kRows)
    for (size_t n : kCols)
      for (size_t k : kDepths) {
        const size_t lda = k + 3, ldb = k + 1, ldc = n + 2;
        auto a = random_vector(m * lda, rng), b = random_vector(n * ldb, rng);
        std::vector<float> packed(packed_panels_size(n, k)), c(m * ldc, 7.0f), twin(m * ldc, 7.0f);
        pack_panels(n, k, b.data(), ldb, packed.data());
        const float alpha = -0.61f;
        avx2().gemm_nt_packed(m, n, k, alpha, a.data(), lda, packed.data(), c.data(), ldc);
        scalar().gemm_nt_packed(m, n, k, alpha, a.data(), lda, packed.data(), twin.data(), ldc);
        for (size_t i = 0; i < m; ++i) {
          for (size_t j = n; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], 7.0f) << "wrote outside C, n=" << n;
          for (size_t j = 0; j < n; ++j) {
            double ref = 0, mag = 0;
            for (size_t p = 0; p < k; ++p) {
              ref += double(a[i * lda + p]) * b[j * ldb + p];
              mag += std::abs(double(a[i * lda + p]) * b[j * ldb + p]);
            }
            expect_dot_close(c[i * ldc + j], twin[i * ldc + j], alpha * ref, std::abs(alpha) * mag, k,
                             "m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k) +
                                 " at " + std::to_string(i) + "," + std::to_string(j));
          }
        }
      }
}

// C = A·B + bias (gemm_nn) and C = row_scale·C + A·B (gemm_nn_acc) share a tile; both, every tail.
TEST_F(Avx2Test, GemmNnAndGemmNnAccEveryTileTail) {
  std::mt19937 rng(22);
  enum Mode { kNoBias, kBias, kAcc };
  for (Mode mode : {kNoBias, kBias, kAcc})
    for (size_t m : kRows)
      for (size_t n : kCols)
        for (size_t k : {1, 2, 5, 8, 17, 64, 67}) {
          const size_t lda = k + 1, ldb = n + 3, ldc = n + 1;
          auto a = random_vector(m * lda, rng, 0.0f, 1.0f), b = random_vector(k * ldb, rng);
          auto bias = random_vector(n, rng), scale = random_vector(m, rng, 0.0f, 1.0f);
          auto c0 = random_vector(m * ldc, rng);
          for (size_t i = 0; i < m; ++i) c0[i * ldc + n] = 7.0f;  // padding column
          auto c = c0, twin = c0;
          if (mode == kAcc) {
            avx2().gemm_nn_acc(m, n, k, a.data(), lda, b.data(), ldb, scale.data(), c.data(), ldc);
            scalar().gemm_nn_acc(m, n, k, a.data(), lda, b.data(), ldb, scale.data(), twin.data(), ldc);
          } else {
            const float* bp = mode == kBias ? bias.data() : nullptr;
            avx2().gemm_nn(m, n, k, a.data(), lda, b.data(), ldb, bp, c.data(), ldc);
            scalar().gemm_nn(m, n, k, a.data(), lda, b.data(), ldb, bp, twin.data(), ldc);
          }
          for (size_t i = 0; i < m; ++i) {
            ASSERT_EQ(c[i * ldc + n], 7.0f) << "wrote outside C, mode " << mode << " n=" << n;
            for (size_t j = 0; j < n; ++j) {
              double ref = mode == kAcc ? double(scale[i]) * c0[i * ldc + j] : mode == kBias ? bias[j] : 0.0;
              double mag = std::abs(ref);
              for (size_t p = 0; p < k; ++p) {
                ref += double(a[i * lda + p]) * b[p * ldb + j];
                mag += std::abs(double(a[i * lda + p]) * b[p * ldb + j]);
              }
              expect_dot_close(c[i * ldc + j], twin[i * ldc + j], ref, mag, k + 1,
                               "mode " + std::to_string(mode) + " m=" + std::to_string(m) + " n=" +
                                   std::to_string(n) + " k=" + std::to_string(k) + " at " + std::to_string(i) +
                                   "," + std::to_string(j));
            }
          }
        }
}

TEST_F(Avx2Test, ExpMatchesFloat64AndTheScalarTwin) {
  for (size_t n : up_to(17)) {  // every tail of 8 lanes, twice; nothing written past y[n - 1]
    std::vector<float> x(n), y(n + 1, 5.0f);
    for (size_t i = 0; i < n; ++i) x[i] = -0.37f * float(i);
    avx2().exp_nonpositive(n, x.data(), y.data());
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], std::exp(double(x[i])), 3e-7 * std::exp(double(x[i]))) << n;
    ASSERT_EQ(y[n], 5.0f) << "wrote past the end, n=" << n;
  }
  const size_t n = 100003;
  std::vector<float> x(n), y(n), twin(n);
  for (size_t i = 0; i < n; ++i) x[i] = -87.0f * float(i) / float(n - 1);
  avx2().exp_nonpositive(n, x.data(), y.data());
  scalar().exp_nonpositive(n, x.data(), twin.data());
  double worst = 0, worst_twin = 0;
  for (size_t i = 0; i < n; ++i) {
    const double ref = std::exp(double(x[i]));
    worst = std::max(worst, std::abs(y[i] - ref) / ref);
    worst_twin = std::max(worst_twin, std::abs(double(y[i]) - twin[i]) / twin[i]);
  }
  EXPECT_LT(worst, 3e-7) << "a few ulp of float32";
  EXPECT_LT(worst_twin, 4e-7) << "against std::exp in float32";
  const float special[9] = {-kInf, -1000.0f, -88.0f, -87.4f, -1e-30f, -0.0f, 0.0f, -3e38f, -kInf};
  float out[9];
  avx2().exp_nonpositive(9, special, out);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_LT(out[2], 1e-37f);
  EXPECT_EQ(out[3], 0.0f) << "below ln(2^-126): flushed to 0";
  EXPECT_EQ(out[4], 1.0f);
  EXPECT_EQ(out[5], 1.0f);
  EXPECT_EQ(out[6], 1.0f);
  EXPECT_EQ(out[7], 0.0f);
  EXPECT_EQ(out[8], 0.0f) << "-inf in the scalar-tail lane";
}

// Rows whose exp overflows float32 unless the max is subtracted (90–100, and ±1e4 or 3e38 apart),
// masked keys, all-masked rows, and small logits; each length 1 … 40 (every tail of 8 lanes).
TEST_F(Avx2Test, SoftmaxRowOverflowAndMasks) {
  std::mt19937 rng(23);
  for (size_t n = 1; n <= 40; ++n)
    for (int kind = 0; kind < 5; ++kind) {
      auto x = random_vector(n + 1, rng, 90.0f, 100.0f);
      if (kind == 1)
        for (size_t j = 0; j < n; ++j) x[j] = j % 3 == 0 ? 1e4f : -1e4f + float(j);
      if (kind == 2) {
        for (size_t j = 0; j < n; ++j)
          if (rng() % 3 == 0) x[j] = -kInf;
        x[rng() % n] = 3e38f;
      }
      if (kind == 3) std::fill(x.begin(), x.begin() + n, -kInf);
      if (kind == 4)  // small logits: a tail lane filled with anything but -inf would add to the sum
        for (size_t j = 0; j < n; ++j) x[j] = float(int(rng() % 200) - 100) / 100.0f;
      x[n] = 12345.0f;  // a sentinel past the row
      const std::vector<double> ref = test::softmax_ref(std::vector<double>(x.begin(), x.begin() + n));
      auto twin = x;
      avx2().softmax_row(n, x.data());
      scalar().softmax_row(n, twin.data());
      double sum = 0;
      for (size_t j = 0; j < n; ++j) {
        const std::string at = "kind " + std::to_string(kind) + " n=" + std::to_string(n) + " j=" + std::to_string(j);
        ASSERT_TRUE(std::isfinite(x[j])) << at;
        ASSERT_NEAR(x[j], ref[j], 1e-6 * std::max(ref[j], 1e-3)) << at;
        ASSERT_NEAR(x[j], twin[j], 2e-6 * std::max(ref[j], 1e-3)) << at;
        if (ref[j] == 0.0) ASSERT_EQ(x[j], 0.0f) << at << ": masked keys get exactly 0";
        sum += x[j];
      }
      EXPECT_NEAR(sum, kind == 3 ? 0.0 : 1.0, 1e-5) << "kind " << kind << " n=" << n;
      EXPECT_EQ(x[n], 12345.0f);
    }
}

// Three online-softmax steps in base e (softmax_online) and in base 2 (softmax_online_exp2, the
// online path's masked tiles), rows 1 … 14 and 32 (the 8-row blocks whose rescale factors share one
// vector exponential) and every 8-lane column tail, against the float64 recurrence and the scalar
// twin: small logits (-8 … 2) first, then logits that overflow float32 unless the running max is
// subtracted (base e 90–102, base 2 130–142), rising per tile; masked (-inf) keys, a row masked in
// the first tile only, a row masked throughout, and a max that jumps by 1e4 (the old sum rescales to
// exactly 0).
TEST_F(Avx2Test, SoftmaxOnlineOverflowAndMasks) {
  struct Step {
    SoftmaxOnlineFn fn, twin;
    double (*exp_ref)(double);
    float overflow;  // where exp_ref overflows float32
    const char* base;
  };
  const Step steps[] = {
      {avx2().softmax_online, scalar().softmax_online, [](double v) { return std::exp(v); }, 88.0f, "base e"},
      {avx2().softmax_online_exp2, scalar().softmax_online_exp2, [](double v) { return std::exp2(v); }, 128.0f,
       "base 2"}};
  std::mt19937 rng(24);
  for (const Step& step : steps)
    for (size_t rows : kRows)
      for (size_t cols : kCols) {
        const size_t ldx = cols + 2;
        std::vector<float> m(rows, -kInf), l(rows, 0.0f), scale(rows, -1.0f);
        auto mt = m, lt = l, scalet = scale;
        std::vector<double> md(rows, -std::numeric_limits<double>::infinity()), ld(rows, 0.0);
        for (size_t t = 0; t < 3; ++t) {
          // Tile 0: small logits (a tail lane that counted as anything but -inf would add to the sums).
          const float lo = t == 0 ? -8.0f : step.overflow + 2.0f * t;
          auto x = random_vector(rows * ldx, rng, lo, lo + 10.0f);
          for (size_t r = 0; r < rows; ++r) {
            for (size_t j = 0; j < cols; ++j)
              if (rng() % 5 == 0) x[r * ldx + j] = -kInf;
            if (r == 1 && t == 0) std::fill(&x[r * ldx], &x[r * ldx + cols], -kInf);
            if (r == 2) std::fill(&x[r * ldx], &x[r * ldx + cols], -kInf);
            if (r == 3 && t == 2) x[r * ldx + cols - 1] = 1e4f;
            x[r * ldx + cols] = x[r * ldx + cols + 1] = 12345.0f;
          }
          const auto x0 = x;
          auto xt = x;
          step.fn(rows, cols, x.data(), ldx, m.data(), l.data(), scale.data());
          step.twin(rows, cols, xt.data(), ldx, mt.data(), lt.data(), scalet.data());
          for (size_t r = 0; r < rows; ++r) {
            const std::string at = std::string(step.base) + " rows=" + std::to_string(rows) + " cols=" +
                                   std::to_string(cols) + " tile " + std::to_string(t) + " row " + std::to_string(r);
            ASSERT_EQ(x[r * ldx + cols], 12345.0f) << at << ": wrote into the stride padding";
            double mx = md[r];
            for (size_t j = 0; j < cols; ++j) mx = std::max(mx, double(x0[r * ldx + j]));
            if (mx == -std::numeric_limits<double>::infinity()) {
              for (size_t j = 0; j < cols; ++j) ASSERT_EQ(x[r * ldx + j], 0.0f) << at;
              ASSERT_EQ(scale[r], 1.0f) << at;
              ASSERT_EQ(l[r], 0.0f) << at;
              ASSERT_EQ(m[r], -kInf) << at;
              continue;
            }
            // The exponential of the differences as float32 computes them (exact between logits
            // within a factor of 2 of each other, rounded for the small ones).
            const double sc = step.exp_ref(double(float(md[r]) - float(mx)));
            double sum = 0;
            for (size_t j = 0; j < cols; ++j) {
              const double e = step.exp_ref(double(x0[r * ldx + j] - float(mx)));
              sum += e;
              if (e == 0.0) ASSERT_EQ(x[r * ldx + j], 0.0f) << at << " col " << j << ": masked keys give exactly 0";
              ASSERT_NEAR(x[r * ldx + j], e, 3e-7 * e + 1e-30) << at << " col " << j;
              ASSERT_NEAR(x[r * ldx + j], xt[r * ldx + j], 6e-7 * e + 1e-30) << at << " col " << j << " (twin)";
            }
            ASSERT_NEAR(scale[r], sc, 3e-7 * sc + 1e-30) << at;
            ASSERT_NEAR(scale[r], scalet[r], 6e-7 * sc + 1e-30) << at << " (twin)";
            ld[r] = ld[r] * sc + sum;
            md[r] = mx;
            ASSERT_EQ(m[r], float(mx)) << at;
            ASSERT_NEAR(l[r], ld[r], 1e-6 * ld[r]) << at;
            ASSERT_NEAR(l[r], lt[r], 2e-6 * ld[r]) << at << " (twin)";
          }
        }
      }
}

// Q·Kᵀ fused with the base-2 step (gemm_nt_softmax_online, the online path's unmasked tiles) over
// five key tiles, every tail of its 6×16 tile (rows 1 … 14 and 32; keys with a partial last panel, a
// lone last panel, or none; odd k), against float64 and the scalar twin. Inputs are multiples of 1/4
// and alpha is 2, so every logit is exact in float32 and all three see the same logits. Column 0 of
// Q is 8 and column 0 of K sets each tile's level: tile 0 has every key at -inf (a row that has seen
// nothing: x = 0, scale 1); tile 1 only negative logits (about -192, so the zeros that pad a partial
// panel, logits of 0, would win the max if they counted); tiles 2 and 3 base-2 logits about 224 and
// 256 (2^x overflows float32 unless the max is subtracted; the max moves), with some keys at -inf;
// tile 4 about 96, so far under the running max that 2^(its max - the running max) would overflow.
TEST_F(Avx2Test, GemmNtSoftmaxOnlineEveryTileTail) {
  std::mt19937 rng(27);
  auto quarters = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = float(int(rng() % 9) - 4) / 4.0f;
    return v;
  };
  const float level[5] = {-kInf, -12.0f, 14.0f, 16.0f, 6.0f};
  for (size_t rows : kRows)
    for (size_t cols : kCols)
      for (size_t k : {1, 3, 9, 67}) {
        const size_t lda = k + 3, ldk = k + 1, ldx = cols + 2;
        const float alpha = 2.0f;
        auto a = quarters(rows * lda);
        for (size_t r = 0; r < rows; ++r) a[r * lda] = 8.0f;
        std::vector<float> m(rows, -kInf), l(rows, 0.0f), scale(rows, -1.0f);
        auto mt = m, lt = l, scalet = scale;
        std::vector<double> md(rows, -std::numeric_limits<double>::infinity()), ld(rows, 0.0);
        for (size_t t = 0; t < 5; ++t) {
          auto b = quarters(cols * ldk);
          for (size_t j = 0; j < cols; ++j) b[j * ldk] = t >= 2 && j % 5 == 3 ? -kInf : level[t];
          std::vector<float> packed(packed_panels_size(cols, k));
          pack_panels(cols, k, b.data(), ldk, packed.data());
          std::vector<float> x(rows * ldx, 12345.0f), xt = x;
          avx2().gemm_nt_softmax_online(rows, cols, k, alpha, a.data(), lda, packed.data(), x.data(), ldx, m.data(),
                                        l.data(), scale.data());
          scalar().gemm_nt_softmax_online(rows, cols, k, alpha, a.data(), lda, packed.data(), xt.data(), ldx,
                                          mt.data(), lt.data(), scalet.data());
          for (size_t r = 0; r < rows; ++r) {
            const std::string at = "rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) + " k=" +
                                   std::to_string(k) + " tile " + std::to_string(t) + " row " + std::to_string(r);
            ASSERT_EQ(x[r * ldx + cols], 12345.0f) << at << ": wrote into the stride padding";
            ASSERT_EQ(x[r * ldx + cols + 1], 12345.0f) << at << ": wrote into the stride padding";
            double mx;
            const auto logit = test::logits_row(cols, k, alpha, &a[r * lda], b.data(), ldk, md[r], mx);
            if (t == 0) {
              ASSERT_EQ(mx, -std::numeric_limits<double>::infinity()) << at;
              for (size_t j = 0; j < cols; ++j) ASSERT_EQ(x[r * ldx + j], 0.0f) << at;
              ASSERT_EQ(scale[r], 1.0f) << at;
              ASSERT_EQ(l[r], 0.0f) << at;
              ASSERT_EQ(m[r], -kInf) << at;
              continue;
            }
            if (t == 1) ASSERT_LT(mx, -128.0) << at;
            else ASSERT_GT(mx, 128.0) << at << ": the test must provoke overflow";
            const double sc = std::exp2(md[r] - mx);
            double sum = 0;
            for (size_t j = 0; j < cols; ++j) {
              const double e = std::exp2(logit[j] - mx);
              sum += e;
              ASSERT_NEAR(x[r * ldx + j], e, 3e-7 * e + 1e-30) << at << " col " << j;
              ASSERT_NEAR(x[r * ldx + j], xt[r * ldx + j], 6e-7 * e + 1e-30) << at << " col " << j << " (twin)";
            }
            ASSERT_NEAR(scale[r], sc, 3e-7 * sc + 1e-30) << at;
            ASSERT_NEAR(scale[r], scalet[r], 6e-7 * sc + 1e-30) << at << " (twin)";
            ld[r] = ld[r] * sc + sum;
            md[r] = mx;
            ASSERT_EQ(m[r], float(mx)) << at;
            ASSERT_EQ(m[r], mt[r]) << at << " (twin)";
            ASSERT_NEAR(l[r], ld[r], 1e-6 * ld[r]) << at;
            ASSERT_NEAR(l[r], lt[r], 2e-6 * ld[r]) << at << " (twin)";
          }
        }
      }
}

// The online path (output only: key tiles through gemm_nt_softmax_online, or gemm_nt_packed and
// softmax_online_exp2 where a mask touches the tile) against the materialised path (weights asked
// for: gemm_nt_packed, softmax_row) of the same AVX2 table, within 1e-5: tails of the 32-query
// blocks and 128-key tiles; no mask, causal, padding, and an additive mask with -inf entries and a
// query row masked throughout (its output is 0 on both paths). Column 0 of Q and K is constant, so
// every logit carries the same 96 (base 2: about 138): the softmax does not change, but 2^x
// overflows unless the running max is subtracted.
TEST_F(Avx2Test, AttentionOutputOnlyMatchesMaterialised) {
  std::mt19937 rng(28);
  struct Shape { int nq, nk, d, dv; };
  const Shape shapes[] = {{1, 1, 1, 1}, {7, 13, 3, 5}, {33, 129, 64, 64}, {70, 300, 64, 33}, {40, 257, 17, 24}};
  Scratch scratch;
  for (const Shape& s : shapes)
    for (int mask = 0; mask < 4; ++mask) {
      const int batch = 2, heads = 2;
      const size_t bh = size_t(batch) * heads, qsz = size_t(s.nq) * s.d, ksz = size_t(s.nk) * s.d;
      const size_t vsz = size_t(s.nk) * s.dv, osz = size_t(s.nq) * s.dv, wsz = size_t(s.nq) * s.nk;
      auto q = random_vector(bh * qsz, rng, -1.0f, 1.0f), k = random_vector(bh * ksz, rng, -1.0f, 1.0f);
      auto v = random_vector(bh * vsz, rng);
      const float common = 96.0f * std::sqrt(float(s.d));  // q0·k0 = 32·(3√d) → 96 after 1/√d
      for (size_t i = 0; i < bh * s.nq; ++i) q[i * s.d] = 32.0f;
      for (size_t j = 0; j < bh * s.nk; ++j) k[j * s.d] = common / 32.0f;
      std::vector<int32_t> lengths = {s.nk, std::max(1, s.nk - 5)};
      std::vector<float> add_mask(wsz, 0.0f);
      for (size_t e = 0; e < wsz; ++e)
        if (rng() % 4 == 0) add_mask[e] = -kInf;
      std::fill(add_mask.begin(), add_mask.begin() + s.nk, -kInf);  // query 0 sees nothing
      std::vector<float> out(bh * osz, 9.0f), materialised(bh * osz, 9.0f), weights(bh * wsz);
      AttentionArgs a;
      a.batch = batch, a.heads = heads, a.n_q = s.nq, a.n_k = s.nk, a.dim = s.d, a.value_dim = s.dv;
      a.q = q.data(), a.k = k.data(), a.v = v.data();
      a.mask.causal = mask == 1;
      if (mask == 2) a.mask.key_lengths = lengths.data();
      if (mask == 3) a.mask.add_mask.data = add_mask.data();
      a.output = out.data();
      ASSERT_TRUE(attention(a, avx2(), scratch).ok());
      a.output = materialised.data(), a.weights = weights.data();
      ASSERT_TRUE(attention(a, avx2(), scratch).ok());
      const std::string at = "nq=" + std::to_string(s.nq) + " nk=" + std::to_string(s.nk) + " d=" +
                             std::to_string(s.d) + " mask " + std::to_string(mask);
      for (size_t e = 0; e < out.size(); ++e) {
        ASSERT_TRUE(std::isfinite(out[e])) << at << " output " << e;
        ASSERT_NEAR(out[e], materialised[e], 1e-5) << at << " output " << e;
      }
      if (mask == 3)
        for (size_t i = 0; i < bh; ++i)
          for (int c = 0; c < s.dv; ++c) ASSERT_EQ(out[i * osz + c], 0.0f) << at << ": a query that sees nothing";
    }
}

// Whole attention with the AVX2 table, output only (the online path: 32-query blocks, 128-key tiles)
// and with weights (the materialised path), against the float64 materialised reference and against
// the scalar table: tails of every block, causal and padding masks (a batch with every key hidden),
// and inputs large enough that the logits reach the hundreds.
TEST_F(Avx2Test, AttentionMatchesFloat64AndScalarTables) {
  std::mt19937 rng(25);
  struct Shape { int nq, nk, d, dv; float range; };
  const Shape shapes[] = {{1, 1, 1, 1, 1.0f},    {5, 7, 3, 5, 1.0f},      {13, 17, 9, 17, 2.0f},
                          {33, 129, 64, 64, 1.0f}, {70, 300, 64, 33, 1.0f}, {40, 257, 16, 24, 4.0f}};
  Scratch scratch;
  for (const Shape& s : shapes)
    for (int trial = 0; trial < 4; ++trial) {
      const bool with_weights = trial % 2 == 1, causal = trial >= 2;
      const int batch = 2, heads = 2;
      const size_t bh = size_t(batch) * heads, qsz = size_t(s.nq) * s.d, ksz = size_t(s.nk) * s.d;
      const size_t vsz = size_t(s.nk) * s.dv, osz = size_t(s.nq) * s.dv, wsz = size_t(s.nq) * s.nk;
      auto q = random_vector(bh * qsz, rng, -s.range, s.range), k = random_vector(bh * ksz, rng, -s.range, s.range);
      auto v = random_vector(bh * vsz, rng);
      std::vector<int32_t> lengths = {s.nk, trial == 3 ? 0 : std::max(1, s.nk - 5)};
      std::vector<float> out(bh * osz, 9.0f), weights(bh * wsz, 9.0f), out_twin = out, weights_twin = weights;
      AttentionArgs a;
      a.batch = batch, a.heads = heads, a.n_q = s.nq, a.n_k = s.nk, a.dim = s.d, a.value_dim = s.dv;
      a.q = q.data(), a.k = k.data(), a.v = v.data();
      a.mask.causal = causal;
      a.mask.key_lengths = lengths.data();
      a.output = out.data(), a.weights = with_weights ? weights.data() : nullptr;
      ASSERT_TRUE(attention(a, avx2(), scratch).ok());
      a.output = out_twin.data(), a.weights = with_weights ? weights_twin.data() : nullptr;
      ASSERT_TRUE(attention(a, scalar(), scratch).ok());
      const double alpha = 1.0 / std::sqrt(double(s.d));
      const double tol = 2e-6 + 1e-7 * s.d * s.range * s.range;  // as attention_test.cpp's expect_matches
      for (int b = 0; b < batch; ++b)
        for (int h = 0; h < heads; ++h) {
          const size_t i = size_t(b) * heads + h;
          auto allowed = [&](size_t qi, size_t kj) { return int(kj) < lengths[b] && (!causal || kj <= qi); };
          const auto ref = test::attention_ref(s.nq, s.nk, s.d, s.dv, &q[i * qsz], &k[i * ksz], &v[i * vsz], alpha, allowed);
          const std::string at = "nq=" + std::to_string(s.nq) + " nk=" + std::to_string(s.nk) + " d=" +
                                 std::to_string(s.d) + " trial " + std::to_string(trial) + " b" + std::to_string(b) +
                                 " h" + std::to_string(h);
          double err = 0, norm = 0;
          for (size_t e = 0; e < osz; ++e) {
            const float got = out[i * osz + e];
            ASSERT_NEAR(got, ref.output[e], tol) << at << " output " << e;
            ASSERT_NEAR(got, out_twin[i * osz + e], 2 * tol) << at << " output " << e << " (scalar table)";
            if (lengths[b] == 0) ASSERT_EQ(got, 0.0f) << at << ": no visible key, output 0";
            err += (got - ref.output[e]) * (got - ref.output[e]);
            norm += ref.output[e] * ref.output[e];
          }
          if (norm > 0) EXPECT_LE(err / norm, 5e-4) << at << " NMSE";
          if (!with_weights) continue;
          for (size_t e = 0; e < wsz; ++e) {
            ASSERT_NEAR(weights[i * wsz + e], ref.weights[e], tol) << at << " weight " << e;
            ASSERT_NEAR(weights[i * wsz + e], weights_twin[i * wsz + e], 2 * tol) << at << " weight " << e << " (scalar)";
          }
        }
    }
}

}  // namespace
}  // namespace qkv
