// Kernel testers (after XNNPACK's test/*-microkernel-tester.h): each describes one problem — sizes,
// strides, inputs — and checks any kernel of its kind against a float64 reference, so that one test
// serves every kernel set and tile shape. Strides are wider than the rows and the padding is
// checked untouched; inputs that overflow float32 unless the maximum is subtracted, masked (-inf)
// and non-finite logits are part of the problems. GoogleTest ASSERTs inside; callers wrap calls in
// ASSERT_NO_FATAL_FAILURE.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels.h"
#include "reference.h"

namespace qkv::test {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kFltMax = std::numeric_limits<float>::max();
constexpr double kNegInfD = -std::numeric_limits<double>::infinity();

// Every tail of a tile width w, twice (1 … 2w + 1), then `more`.
inline std::vector<size_t> tails(size_t w, std::vector<size_t> more = {}) {
  std::vector<size_t> v;
  for (size_t i = 1; i <= 2 * w + 1; ++i) v.push_back(i);
  for (size_t x : more)
    if (x > 2 * w + 1) v.push_back(x);
  return v;
}

inline std::string shape(size_t m, size_t n, size_t k) {
  return "m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k);
}

// ---- products -------------------------------------------------------------------------------------

// C (m × n) from A (m × k) and B, every stride wider than its rows; the float64 reference and the
// bound on float32 accumulation error: k roundings of terms whose absolute sum is `mag`.
class GemmTester {
 public:
  GemmTester& m(size_t v) { m_ = v; return *this; }
  GemmTester& n(size_t v) { n_ = v; return *this; }
  GemmTester& k(size_t v) { k_ = v; return *this; }
  GemmTester& seed(unsigned v) { rng_.seed(v); return *this; }

  // C = alpha · A·Bᵀ with B (n × k) as rows (gemm_nt) or packed as panels by pack_panels.
  void test_nt(GemmNtFn gemm_nt) { run_nt(gemm_nt, nullptr); }
  void test_nt_packed(GemmNtPackedFn gemm_nt_packed) { run_nt(nullptr, gemm_nt_packed); }

  // C = A·B + bias (bias may be left out) with B (k × n), or C = row_scale·C + A·B.
  void test_nn(GemmNnFn gemm_nn, bool with_bias) { run_nn(gemm_nn, nullptr, with_bias); }
  void test_nn_acc(GemmNnAccFn gemm_nn_acc) { run_nn(nullptr, gemm_nn_acc, false); }

 private:
  void run_nt(GemmNtFn plain, GemmNtPackedFn packed_fn) {
    const size_t lda = k_ + 3, ldb = k_ + 1, ldc = n_ + 2;
    auto a = random_vector(m_ * lda, rng_), b = random_vector(n_ * ldb, rng_);
    std::vector<float> c(m_ * ldc, 7.0f);
    const float alpha = packed_fn ? -0.61f : 0.37f;
    if (plain) {
      plain(m_, n_, k_, alpha, a.data(), lda, b.data(), ldb, c.data(), ldc);
    } else {
      std::vector<float> packed(packed_panels_size(n_, k_));
      pack_panels(n_, k_, b.data(), ldb, packed.data());
      packed_fn(m_, n_, k_, alpha, a.data(), lda, packed.data(), c.data(), ldc);
    }
    for (size_t i = 0; i < m_; ++i)
      for (size_t j = 0; j < ldc; ++j) {
        const std::string at = shape(m_, n_, k_) + " at " + std::to_string(i) + "," + std::to_string(j);
        if (j >= n_) {
          ASSERT_EQ(c[i * ldc + j], 7.0f) << at << ": wrote outside C";
          continue;
        }
        double ref = 0, mag = 0;
        for (size_t p = 0; p < k_; ++p) {
          ref += double(a[i * lda + p]) * b[j * ldb + p];
          mag += std::abs(double(a[i * lda + p]) * b[j * ldb + p]);
        }
        ASSERT_NEAR(c[i * ldc + j], alpha * ref, 1e-6 + 2e-7 * k_ * std::abs(alpha) * mag) << at;
      }
  }

  void run_nn(GemmNnFn plain, GemmNnAccFn acc_fn, bool with_bias) {
    const size_t lda = k_ + 1, ldb = n_ + 3, ldc = n_ + 1;
    auto a = random_vector(m_ * lda, rng_, acc_fn ? 0.0f : -1.0f, 1.0f), b = random_vector(k_ * ldb, rng_);
    auto bias = random_vector(n_, rng_), scale = random_vector(m_, rng_, 0.0f, 1.0f);
    auto c = random_vector(m_ * ldc, rng_);
    for (size_t i = 0; i < m_; ++i) c[i * ldc + n_] = 7.0f;  // padding column
    const auto c0 = c;
    if (plain) plain(m_, n_, k_, a.data(), lda, b.data(), ldb, with_bias ? bias.data() : nullptr, c.data(), ldc);
    else acc_fn(m_, n_, k_, a.data(), lda, b.data(), ldb, scale.data(), c.data(), ldc);
    for (size_t i = 0; i < m_; ++i) {
      const std::string at = shape(m_, n_, k_) + (with_bias ? " bias" : "") + " row " + std::to_string(i);
      ASSERT_EQ(c[i * ldc + n_], 7.0f) << at << ": wrote outside C";
      for (size_t j = 0; j < n_; ++j) {
        double ref = acc_fn ? double(scale[i]) * c0[i * ldc + j] : with_bias ? bias[j] : 0.0;
        double mag = std::abs(ref);
        for (size_t p = 0; p < k_; ++p) {
          ref += double(a[i * lda + p]) * b[p * ldb + j];
          mag += std::abs(double(a[i * lda + p]) * b[p * ldb + j]);
        }
        ASSERT_NEAR(c[i * ldc + j], ref, 1e-6 + 2e-7 * (k_ + 1) * mag) << at << " col " << j;
      }
    }
  }

  size_t m_ = 1, n_ = 1, k_ = 1;
  std::mt19937 rng_{1};
};

// ---- the exponential ------------------------------------------------------------------------------

// exp(x) for x <= 0 (ExpFn): every tail length, a dense sweep of [-87, 0], the edge where results
// leave the normal range, and the special values. The edge, the same for every kernel set: exactly 0
// below 2^-126.5 (x < -126.5·ln 2), accurate above, the subnormal results down to there included.
class ExpTester {
 public:
  void test(ExpFn exp_fn) const {
    for (size_t n = 1; n <= 17; ++n) {  // every tail of 4 and 8 lanes, twice; nothing written past y[n - 1]
      std::vector<float> x(n), y(n + 1, 5.0f);
      for (size_t i = 0; i < n; ++i) x[i] = -0.37f * float(i);
      exp_fn(n, x.data(), y.data());
      for (size_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], std::exp(double(x[i])), 3e-7 * std::exp(double(x[i]))) << n;
      ASSERT_EQ(y[n], 5.0f) << "wrote past the end, n=" << n;
    }
    const size_t n = 100003;
    std::vector<float> x(n), y(n);
    for (size_t i = 0; i < n; ++i) x[i] = -87.0f * float(i) / float(n - 1);
    exp_fn(n, x.data(), y.data());
    double worst = 0;
    for (size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(y[i] - std::exp(double(x[i]))) / std::exp(double(x[i])));
    EXPECT_LT(worst, 3e-7) << "a few ulp of float32";

    // The edge: x from -89 to -86.5 in steps of 2^-10, each with its neighbours one ulp away.
    const double edge = -126.5 * std::log(2.0), smallest_normal = std::ldexp(1.0, -126);
    std::vector<float> e;
    for (double v = -89.0; v < -86.5; v += 1.0 / 1024)
      for (float f : {float(v), std::nextafter(float(v), 0.0f), std::nextafter(float(v), -kInf)}) e.push_back(f);
    std::vector<float> ey(e.size());
    exp_fn(e.size(), e.data(), ey.data());
    for (size_t i = 0; i < e.size(); ++i) {
      const double ref = std::exp(double(e[i]));
      const std::string at = "exp(" + std::to_string(e[i]) + ")";
      if (std::abs(e[i] - edge) < 1e-4) continue;  // either side of the rounding at the edge
      if (e[i] < edge) ASSERT_EQ(ey[i], 0.0f) << at << ": below 2^-126.5, exactly 0";
      else if (ref >= 2 * smallest_normal) ASSERT_NEAR(ey[i], ref, 3e-7 * ref) << at;
      else ASSERT_NEAR(ey[i], ref, 3e-7 * ref + std::ldexp(1.0, -148)) << at << " (subnormal products)";
    }

    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float special[] = {-kInf, -1000.0f, -kFltMax, -88.0f, -1e-30f, -0.0f, 0.0f, nan, -kInf};
    const float want[] = {0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f};
    constexpr size_t ns = sizeof special / sizeof special[0];
    float out[ns];
    exp_fn(ns, special, out);
    for (size_t i = 0; i < ns; ++i) EXPECT_EQ(out[i], want[i]) << "exp(" << special[i] << ") at " << i;
  }
};

// ---- softmax ----------------------------------------------------------------------------------------

// The float64 softmax of float32 logits as the kernels define it (SoftmaxRowFn): each weight from the
// float32 difference to the max; -inf and NaN give 0; with +inf present, the +inf entries share the
// weight; a row with nothing else is all zeros.
inline std::vector<double> softmax_of_float32(const std::vector<float>& x) {
  float mx = -kInf;
  for (float v : x) mx = v > mx ? v : mx;
  std::vector<double> w(x.size(), 0.0);
  if (mx == -kInf) return w;
  double sum = 0;
  for (size_t j = 0; j < x.size(); ++j) {
    w[j] = mx == kInf ? (x[j] == kInf ? 1.0 : 0.0) : x[j] == x[j] ? std::exp(double(x[j] - mx)) : 0.0;
    sum += w[j];
  }
  for (double& v : w) v /= sum;
  return w;
}

// Rows of n logits: around 90–100 (exp overflows float32 unless the max is subtracted), ±1e4 apart,
// masked entries with one at 3e38, every entry masked, small logits (a tail lane that counted as
// anything but -inf would add to the sum), ±FLT_MAX, +inf entries, and NaN entries.
class SoftmaxRowTester {
 public:
  static constexpr int kKinds = 9;
  SoftmaxRowTester& n(size_t v) { n_ = v; return *this; }
  SoftmaxRowTester& kind(int v) { kind_ = v; return *this; }

  void test(SoftmaxRowFn softmax_row) {
    std::mt19937 rng(unsigned(n_ * 16 + kind_));
    auto x = random_vector(n_ + 1, rng, 90.0f, 100.0f);
    for (size_t j = 0; j < n_; ++j) {
      if (kind_ == 1) x[j] = j % 3 == 0 ? 1e4f : -1e4f + float(j);
      if (kind_ == 2 && rng() % 3 == 0) x[j] = -kInf;
      if (kind_ == 3) x[j] = -kInf;
      if (kind_ == 4) x[j] = float(int(rng() % 200) - 100) / 100.0f;
      if (kind_ == 5) x[j] = (rng() % 2 ? kFltMax : -kFltMax) * float(rng() % 4 + 1) / 4.0f;
      if (kind_ == 6 && rng() % 3 == 0) x[j] = kInf;
      if (kind_ == 7 && rng() % 3 == 0) x[j] = std::numeric_limits<float>::quiet_NaN();
      if (kind_ == 8) x[j] = -kFltMax + float(rng() % 4) * 0x1p104f;  // logits under a -FLT_MAX mask, ulps apart
    }
    if (kind_ == 2) x[rng() % n_] = 3e38f;
    x[n_] = 12345.0f;  // a sentinel past the row
    const auto ref = softmax_of_float32(std::vector<float>(x.begin(), x.begin() + n_));
    softmax_row(n_, x.data());
    double sum = 0, want = 0;
    for (size_t j = 0; j < n_; ++j) {
      const std::string at = "kind " + std::to_string(kind_) + " n=" + std::to_string(n_) + " j=" + std::to_string(j);
      ASSERT_TRUE(std::isfinite(x[j])) << at;
      ASSERT_NEAR(x[j], ref[j], 1e-6 * std::max(ref[j], 1e-3)) << at;
      if (ref[j] == 0.0) ASSERT_EQ(x[j], 0.0f) << at << ": masked keys get exactly 0";
      sum += x[j], want += ref[j];
    }
    EXPECT_NEAR(sum, want, 1e-5) << "kind " << kind_ << " n=" << n_;
    EXPECT_EQ(x[n_], 12345.0f) << "wrote past the row";
  }

 private:
  size_t n_ = 1;
  int kind_ = 0;
};

// Online softmax (the flash-attention recurrence) over tiles of logits, row by row, against the same
// recurrence in float64 (kernels.h, SoftmaxOnlineFn): the step kernel on given logits, or Q·Kᵀ fused
// with the step (GemmNtSoftmaxOnlineFn) on logits that are exact in float32.
class OnlineSoftmaxTester {
 public:
  OnlineSoftmaxTester& rows(size_t v) { rows_ = v; return *this; }
  OnlineSoftmaxTester& cols(size_t v) { cols_ = v; return *this; }
  OnlineSoftmaxTester& k(size_t v) { k_ = v; return *this; }

  // Six tiles in a row, each row its own story: small logits (-8 … 2) first, row 1 masked in the
  // first tile only, row 2 masked throughout; then logits that overflow exp unless the running max is
  // subtracted (88–98, rising per tile) with some masked keys; row 3 jumping by 1e4 (the old sum
  // rescales to exactly 0); a tile of ±FLT_MAX logits; one where rows 0 and 4 see +inf and row 5 NaN;
  // and small logits again, far under the running max.
  void test_step(SoftmaxOnlineFn step) {
    std::mt19937 rng(unsigned(rows_ * 131 + cols_));
    State s(rows_);
    const size_t ldx = cols_ + 2;
    for (int t = 0; t < 6; ++t) {
      const float lo = t == 0 || t == 5 ? -8.0f : 88.0f + 2.0f * t;
      auto x = random_vector(rows_ * ldx, rng, lo, lo + 10.0f);
      for (size_t r = 0; r < rows_; ++r) {
        float* row = &x[r * ldx];
        for (size_t j = 0; j < cols_; ++j) {
          if (rng() % 5 == 0) row[j] = -kInf;
          if (t == 3) row[j] = (rng() % 2 ? kFltMax : -kFltMax) * float(rng() % 8 + 1) / 8.0f;
        }
        if (r == 1 && t == 0) std::fill(row, row + cols_, -kInf);
        if (r == 2) std::fill(row, row + cols_, -kInf);
        if (r == 3 && t == 2) row[cols_ - 1] = 1e4f;
        if (t == 4 && (r == 0 || r == 4)) row[rng() % cols_] = kInf;
        if (t == 4 && r == 5) row[rng() % cols_] = std::numeric_limits<float>::quiet_NaN();
        row[cols_] = row[cols_ + 1] = 12345.0f;  // stride padding
      }
      const auto x0 = x;
      step(rows_, cols_, x.data(), ldx, s.m.data(), s.l.data(), s.scale.data());
      for (size_t r = 0; r < rows_; ++r)
        ASSERT_NO_FATAL_FAILURE(check_row(s, r, &x0[r * ldx], &x[r * ldx], "tile " + std::to_string(t)));
    }
  }

  // Q·Kᵀ and the step fused, five key tiles. Inputs are multiples of 1/4 and alpha is 2, so every
  // logit is exact in float32 and the reference sees the kernel's logits. Column 0 of Q is 8 and
  // column 0 of K sets each tile's level: tile 0 has every key at -inf (a row that has seen nothing:
  // x = 0, scale 1); tile 1 only negative logits (about -192, so the zeros that pad a partial panel,
  // logits of 0, would win the max if they counted); tiles 2 and 3 logits about 224 and 256 (exp
  // overflows float32 unless the max is subtracted; the max moves), with some keys at -inf; tile 4
  // about 96, so far under the running max that exp(its max - the running max) would overflow.
  void test_fused(GemmNtSoftmaxOnlineFn fused) {
    std::mt19937 rng(unsigned(rows_ * 131 + cols_ * 7 + k_));
    auto quarters = [&](size_t n) {
      std::vector<float> v(n);
      for (auto& x : v) x = float(int(rng() % 9) - 4) / 4.0f;
      return v;
    };
    const float level[5] = {-kInf, -12.0f, 14.0f, 16.0f, 6.0f};
    const size_t lda = k_ + 3, ldk = k_ + 1, ldx = cols_ + 2;
    const float alpha = 2.0f;
    auto a = quarters(rows_ * lda);
    for (size_t r = 0; r < rows_; ++r) a[r * lda] = 8.0f;
    State s(rows_);
    for (int t = 0; t < 5; ++t) {
      auto b = quarters(cols_ * ldk);
      for (size_t j = 0; j < cols_; ++j) b[j * ldk] = t >= 2 && j % 5 == 3 ? -kInf : level[t];
      std::vector<float> packed(packed_panels_size(cols_, k_));
      pack_panels(cols_, k_, b.data(), ldk, packed.data());
      std::vector<float> x(rows_ * ldx, 12345.0f);
      fused(rows_, cols_, k_, alpha, a.data(), lda, packed.data(), x.data(), ldx, s.m.data(), s.l.data(), s.scale.data());
      for (size_t r = 0; r < rows_; ++r) {
        double mx;
        const auto logit = logits_row(cols_, k_, alpha, &a[r * lda], b.data(), ldk, s.md[r], mx);
        const std::string at = "k=" + std::to_string(k_) + " tile " + std::to_string(t);
        if (t == 1) ASSERT_LT(mx, -128.0) << at;
        if (t >= 2) ASSERT_GT(mx, 128.0) << at << ": the test must provoke overflow";
        std::vector<float> x0(cols_ + 2, 12345.0f);
        for (size_t j = 0; j < cols_; ++j) x0[j] = float(logit[j]);
        ASSERT_NO_FATAL_FAILURE(check_row(s, r, x0.data(), &x[r * ldx], at));
      }
    }
  }

 private:
  struct State {
    explicit State(size_t rows) : m(rows, -kInf), l(rows, 0.0f), scale(rows, -1.0f), md(rows, kNegInfD), ld(rows, 0.0) {}
    std::vector<float> m, l, scale;  // the kernel's
    std::vector<double> md, ld;      // the reference's
  };

  // Row r of one step: x0 the logits given, x what the kernel left (cols_ values, then two padding
  // floats that must still be 12345); advances the reference state.
  void check_row(State& s, size_t r, const float* x0, const float* x, const std::string& where) {
    const std::string at = where + " rows=" + std::to_string(rows_) + " cols=" + std::to_string(cols_) + " row " + std::to_string(r);
    ASSERT_EQ(x[cols_], 12345.0f) << at << ": wrote into the stride padding";
    ASSERT_EQ(x[cols_ + 1], 12345.0f) << at << ": wrote into the stride padding";
    float mx = float(s.md[r]);
    for (size_t j = 0; j < cols_; ++j) mx = x0[j] > mx ? x0[j] : mx;  // NaN never wins
    if (mx == -kInf) {  // nothing visible yet
      for (size_t j = 0; j < cols_; ++j) ASSERT_EQ(x[j], 0.0f) << at;
      ASSERT_EQ(s.scale[r], 1.0f) << at;
      ASSERT_EQ(s.l[r], 0.0f) << at;
      ASSERT_EQ(s.m[r], -kInf) << at;
      return;
    }
    double sc, sum = 0;
    for (size_t j = 0; j < cols_; ++j) {
      // The exponential of the float32 difference, as the kernels define it.
      const double e = mx == kInf ? (x0[j] == kInf ? 1.0 : 0.0) : x0[j] == x0[j] ? std::exp(double(x0[j] - mx)) : 0.0;
      sum += e;
      if (e == 0.0) ASSERT_EQ(x[j], 0.0f) << at << " col " << j << ": masked keys give exactly 0";
      ASSERT_NEAR(x[j], e, 3e-7 * e + 1e-30) << at << " col " << j;
    }
    if (mx == kInf) sc = s.md[r] == kInf ? 1.0 : 0.0;
    else sc = s.md[r] == kNegInfD ? 0.0 : std::exp(double(float(s.md[r]) - mx));
    ASSERT_NEAR(s.scale[r], sc, 3e-7 * sc + 1e-30) << at;
    s.ld[r] = s.ld[r] * sc + sum;
    s.md[r] = mx;
    ASSERT_EQ(s.m[r], mx) << at;
    ASSERT_NEAR(s.l[r], s.ld[r], 1e-6 * s.ld[r]) << at;
  }

  size_t rows_ = 1, cols_ = 1, k_ = 1;
};

}  // namespace qkv::test
