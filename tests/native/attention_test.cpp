// The attention driver and multi-head attention against float64 references, and the properties that
// need no reference at all.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "attention.h"
#include "kernel_tester.h"
#include "reference.h"

namespace qkv {
namespace {

using test::random_vector;

class AttentionTest : public ::testing::TestWithParam<const Kernels*> {
 protected:
  const Kernels& kn() const { return *GetParam(); }
  Scratch scratch;
};

struct Problem {
  int batch, heads, nq, nk, d, dv;
  std::vector<float> q, k, v, out, weights;
  AttentionArgs args() {
    AttentionArgs a;
    a.batch = batch, a.heads = heads, a.n_q = nq, a.n_k = nk, a.dim = d, a.value_dim = dv;
    a.q = q.data(), a.k = k.data(), a.v = v.data(), a.output = out.data(), a.weights = weights.data();
    return a;
  }
};

Problem make_problem(int batch, int heads, int nq, int nk, int d, int dv, std::mt19937& rng, float range = 1.0f) {
  Problem p{batch, heads, nq, nk, d, dv, {}, {}, {}, {}, {}};
  const size_t bh = size_t(batch) * heads;
  p.q = random_vector(bh * nq * d, rng, -range, range);
  p.k = random_vector(bh * nk * d, rng, -range, range);
  p.v = random_vector(bh * nk * dv, rng);
  p.out.assign(bh * nq * dv, 0.0f);
  p.weights.assign(bh * nq * nk, 0.0f);
  return p;
}

// Float32 rounding of a score grows with d and with the inputs' magnitude (|q|,|k| <= range):
// about d·range²·2^-24 per logit, which softmax passes on to weights and outputs.
void expect_matches(const Problem& p, size_t bhi, const test::AttentionRef& ref, const std::string& what, float range = 1.0f) {
  const double tol = 2e-6 + 1e-7 * p.d * range * range;
  const size_t wp = size_t(p.nq) * p.nk, op = size_t(p.nq) * p.dv;
  for (size_t i = 0; i < wp; ++i) ASSERT_NEAR(p.weights[bhi * wp + i], ref.weights[i], tol) << what << " weight " << i;
  for (size_t i = 0; i < op; ++i) ASSERT_NEAR(p.out[bhi * op + i], ref.output[i], tol) << what << " output " << i;
}

TEST_P(AttentionTest, RandomShapesMatchFloat64) {
  std::mt19937 rng(10);
  for (int trial = 0; trial < 60; ++trial) {
    std::uniform_int_distribution<int> small(1, 3), len(1, 19), dim(1, 21);
    Problem p = make_problem(small(rng), small(rng), len(rng), len(rng), dim(rng), dim(rng), rng, 2.0f);
    AttentionArgs a = p.args();
    const bool scaled = trial % 2 == 0;
    a.scoring = scaled ? Scoring::scaled_dot : Scoring::dot;
    a.temperature = trial % 3 == 0 ? 0.5f : 1.0f;
    ASSERT_TRUE(attention(a, kn(), scratch).ok());
    const double alpha = (scaled ? 1.0 / std::sqrt(double(p.d)) : 1.0) / a.temperature;
    for (int bh = 0; bh < p.batch * p.heads; ++bh) {
      auto ref = test::attention_ref(p.nq, p.nk, p.d, p.dv, &p.q[size_t(bh) * p.nq * p.d], &p.k[size_t(bh) * p.nk * p.d],
                                     &p.v[size_t(bh) * p.nk * p.dv], alpha, [](size_t, size_t) { return true; });
      expect_matches(p, bh, ref, "trial " + std::to_string(trial), 2.0f);
    }
  }
}

TEST_P(AttentionTest, MasksMatchFloat64) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 30; ++trial) {
    std::uniform_int_distribution<int> len(1, 13), dim(1, 9);
    const int batch = 2, heads = 2;
    Problem p = make_problem(batch, heads, len(rng), len(rng), dim(rng), dim(rng), rng);
    std::vector<int32_t> lengths = {std::uniform_int_distribution<int>(0, p.nk)(rng), p.nk};
    std::vector<uint8_t> bmask(size_t(heads) * p.nq * p.nk);  // [1][heads][nq][nk]: broadcast over batch
    for (auto& m : bmask) m = rng() % 4 != 0;
    AttentionArgs a = p.args();
    a.mask.causal = trial % 2 == 1;
    a.mask.key_lengths = lengths.data();
    a.mask.bool_mask = {bmask.data(), 1, heads};
    ASSERT_TRUE(attention(a, kn(), scratch).ok());
    for (int b = 0; b < batch; ++b)
      for (int h = 0; h < heads; ++h) {
        const size_t bh = size_t(b) * heads + h;
        const uint8_t* bm = &bmask[size_t(h) * p.nq * p.nk];
        auto allowed = [&](size_t i, size_t j) {
          return bm[i * p.nk + j] && int(j) < lengths[b] && (!a.mask.causal || j <= i);
        };
        auto ref = test::attention_ref(p.nq, p.nk, p.d, p.dv, &p.q[bh * p.nq * p.d], &p.k[bh * p.nk * p.d],
                                       &p.v[bh * p.nk * p.dv], 1.0 / std::sqrt(double(p.d)), allowed);
        expect_matches(p, bh, ref, "trial " + std::to_string(trial));
      }
  }
}

// Output only (no weights, scores or logits asked for) runs the online-softmax path over key tiles;
// it must give the materialised path's output within 1e-5 and match float64. Shapes cross the
// 32-query blocks and 128-key tiles with tails, under causal, padding, boolean and additive masks. The additive mask adds 90 to every logit (exp
// overflows float32 unless the max is subtracted), -inf to some entries and to all of row 0.
TEST_P(AttentionTest, OnlineSoftmaxOutputEqualsMaterialised) {
  std::mt19937 rng(14);
  for (int trial = 0; trial < 24; ++trial) {
    std::uniform_int_distribution<int> nq(1, 75), nk(1, 300), dim(1, 70), dv(1, 20);
    const int batch = 2, heads = 1 + trial % 2;
    Problem p = make_problem(batch, heads, nq(rng), nk(rng), dim(rng), dv(rng), rng);
    std::vector<int32_t> lengths = {std::uniform_int_distribution<int>(0, p.nk)(rng), p.nk};
    std::vector<uint8_t> bmask(size_t(p.nq) * p.nk);
    for (auto& m : bmask) m = rng() % 5 != 0;
    std::vector<float> amask = random_vector(size_t(p.nq) * p.nk, rng, 87.0f, 93.0f);
    for (size_t i = 0; i < amask.size(); ++i)
      if (i < size_t(p.nk) || rng() % 7 == 0) amask[i] = -std::numeric_limits<float>::infinity();
    AttentionArgs a = p.args();
    a.mask.causal = trial % 3 == 0;
    if (trial % 2 == 1) a.mask.key_lengths = lengths.data();
    if (trial % 4 == 2) a.mask.bool_mask = {bmask.data(), 1, 1};
    if (trial % 4 == 3) a.mask.add_mask = {amask.data(), 1, 1};
    ASSERT_TRUE(attention(a, kn(), scratch).ok());
    const auto materialised = p.out;
    std::fill(p.out.begin(), p.out.end(), 0.0f);
    a.weights = nullptr;
    ASSERT_TRUE(attention(a, kn(), scratch).ok());
    for (size_t i = 0; i < p.out.size(); ++i)
      ASSERT_NEAR(p.out[i], materialised[i], 1e-5) << kn().name << " trial " << trial << " output " << i;
    for (int b = 0; b < batch; ++b)
      for (int h = 0; h < heads; ++h) {
        const size_t bh = size_t(b) * heads + h;
        auto allowed = [&](size_t i, size_t j) {
          return (!a.mask.key_lengths || int(j) < lengths[b]) && (!a.mask.causal || j <= i) &&
                 (!a.mask.bool_mask.data || bmask[i * p.nk + j]);
        };
        const size_t op = size_t(p.nq) * p.dv;
        if (a.mask.add_mask.data) {  // the additive mask's reference, in float64 with the mask added
          const double alpha = 1.0 / std::sqrt(double(p.d));
          const float *q = &p.q[bh * p.nq * p.d], *k = &p.k[bh * p.nk * p.d], *v = &p.v[bh * p.nk * p.dv];
          for (int i = 0; i < p.nq; ++i) {
            std::vector<double> row(p.nk);
            for (int j = 0; j < p.nk; ++j) {
              double dot = 0;
              for (int c = 0; c < p.d; ++c) dot += double(q[i * p.d + c]) * k[j * p.d + c];
              row[j] = allowed(i, j) ? alpha * dot + amask[size_t(i) * p.nk + j] : -std::numeric_limits<double>::infinity();
            }
            const auto w = test::softmax_ref(row);
            for (int c = 0; c < p.dv; ++c) {
              double o = 0;
              for (int j = 0; j < p.nk; ++j) o += w[j] * v[j * p.dv + c];
              // 90 + logit in float32 carries an error of up to 2^-18 before softmax sees it.
              ASSERT_NEAR(p.out[bh * op + size_t(i) * p.dv + c], o, 2e-5) << "trial " << trial << " row " << i;
              if (i == 0) ASSERT_EQ(p.out[bh * op + c], 0.0f) << "a row with every key masked attends to nothing";
            }
          }
          continue;
        }
        auto ref = test::attention_ref(p.nq, p.nk, p.d, p.dv, &p.q[bh * p.nq * p.d], &p.k[bh * p.nk * p.d],
                                       &p.v[bh * p.nk * p.dv], 1.0 / std::sqrt(double(p.d)), allowed);
        for (size_t i = 0; i < op; ++i)
          ASSERT_NEAR(p.out[bh * op + i], ref.output[i], 2e-6 + 1e-7 * p.d) << "trial " << trial << " output " << i;
      }
  }
}

TEST_P(AttentionTest, RowsSumToOneAndFullyMaskedRowsAreZero) {
  std::mt19937 rng(12);
  Problem p = make_problem(1, 1, 5, 6, 4, 3, rng);
  std::vector<int32_t> len = {0};
  AttentionArgs a = p.args();
  ASSERT_TRUE(attention(a, kn(), scratch).ok());
  for (int i = 0; i < p.nq; ++i) {
    const double s = std::accumulate(&p.weights[i * p.nk], &p.weights[(i + 1) * p.nk], 0.0);
    EXPECT_NEAR(s, 1.0, 1e-6);
  }
  a.mask.key_lengths = len.data();  // every key hidden
  std::vector<float> logits(p.weights.size());
  a.logits = logits.data();
  ASSERT_TRUE(attention(a, kn(), scratch).ok());
  for (float w : p.weights) EXPECT_EQ(w, 0.0f);
  for (float o : p.out) EXPECT_EQ(o, 0.0f);
  for (float l : logits) EXPECT_EQ(l, -std::numeric_limits<float>::infinity());
}

TEST_P(AttentionTest, AddingAConstantToAllScoresChangesNothing) {
  std::mt19937 rng(13);
  Problem p = make_problem(1, 1, 7, 9, 5, 4, rng);
  ASSERT_TRUE(attention(p.args(), kn(), scratch).ok());
  const auto w0 = p.weights, o0 = p.out;
  std::vector<float> shift(size_t(p.nq) * p.nk, 42.5f);
  AttentionArgs a = p.args();
  a.mask.add_mask = {shift.data(), 1, 1};
  ASSERT_TRUE(attention(a, kn(), scratch).ok());
  for (size_t i = 0; i < w0.size(); ++i) EXPECT_NEAR(p.weights[i], w0[i], 2e-6);
  for (size_t i = 0; i < o0.size(); ++i) EXPECT_NEAR(p.out[i], o0[i], 2e-6);
}

TEST_P(AttentionTest, CausalRowZeroSeesOnlyKeyZero) {
  std::mt19937 rng(14);
  Problem p = make_problem(1, 1, 6, 6, 8, 8, rng);
  AttentionArgs a = p.args();
  a.mask.causal = true;
  ASSERT_TRUE(attention(a, kn(), scratch).ok());
  EXPECT_EQ(p.weights[0], 1.0f);
  for (int j = 1; j < p.nk; ++j) EXPECT_EQ(p.weights[j], 0.0f);
  for (int c = 0; c < p.dv; ++c) EXPECT_NEAR(p.out[c], p.v[c], 1e-6) << "row 0 copies value 0";
  for (int i = 0; i < p.nq; ++i)
    for (int j = i + 1; j < p.nk; ++j) EXPECT_EQ(p.weights[i * p.nk + j], 0.0f);
}

TEST_P(AttentionTest, PermutingKeysAndValuesTogetherLeavesOutputUnchanged) {
  std::mt19937 rng(15);
  Problem p = make_problem(1, 1, 5, 11, 6, 7, rng);
  ASSERT_TRUE(attention(p.args(), kn(), scratch).ok());
  const auto o0 = p.out, w0 = p.weights;
  std::vector<int> perm(p.nk);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  auto k0 = p.k, v0 = p.v;
  for (int j = 0; j < p.nk; ++j) {
    std::copy_n(&k0[size_t(perm[j]) * p.d], p.d, &p.k[size_t(j) * p.d]);
    std::copy_n(&v0[size_t(perm[j]) * p.dv], p.dv, &p.v[size_t(j) * p.dv]);
  }
  ASSERT_TRUE(attention(p.args(), kn(), scratch).ok());
  for (size_t i = 0; i < o0.size(); ++i) EXPECT_NEAR(p.out[i], o0[i], 2e-6);
  for (int i = 0; i < p.nq; ++i)
    for (int j = 0; j < p.nk; ++j) EXPECT_NEAR(p.weights[i * p.nk + j], w0[i * p.nk + perm[j]], 2e-6);
}

TEST_P(AttentionTest, AdditiveScoringMatchesFloat64) {
  std::mt19937 rng(16);
  Problem p = make_problem(1, 2, 4, 7, 5, 3, rng);
  const int da = 6;
  auto wq = random_vector(size_t(p.d) * da, rng), wk = random_vector(size_t(p.d) * da, rng), va = random_vector(da, rng);
  std::vector<float> scores(p.weights.size());
  AttentionArgs a = p.args();
  a.scoring = Scoring::additive;
  a.w_q = wq.data(), a.w_k = wk.data(), a.v_a = va.data(), a.additive_dim = da;
  a.scores = scores.data();
  ASSERT_TRUE(attention(a, kn(), scratch).ok());
  for (int h = 0; h < p.heads; ++h) {
    const float* q = &p.q[size_t(h) * p.nq * p.d];
    const float* k = &p.k[size_t(h) * p.nk * p.d];
    for (int i = 0; i < p.nq; ++i) {
      std::vector<double> row(p.nk);
      for (int j = 0; j < p.nk; ++j) {
        double s = 0;
        for (int t = 0; t < da; ++t) {
          double u = 0;
          for (int c = 0; c < p.d; ++c) u += double(q[i * p.d + c]) * wq[c * da + t] + double(k[j * p.d + c]) * wk[c * da + t];
          s += va[t] * std::tanh(u);
        }
        row[j] = s;
        EXPECT_NEAR(scores[(size_t(h) * p.nq + i) * p.nk + j], s, 1e-5);
      }
      const auto w = test::softmax_ref(row);
      for (int j = 0; j < p.nk; ++j) EXPECT_NEAR(p.weights[(size_t(h) * p.nq + i) * p.nk + j], w[j], 2e-6);
    }
  }
}

TEST_P(AttentionTest, BadArgumentsAreReportedNotCrashed) {
  std::mt19937 rng(17);
  Problem p = make_problem(1, 1, 3, 3, 2, 2, rng);
  AttentionArgs a = p.args();
  a.n_q = 0;
  Status s = attention(a, kn(), scratch);
  EXPECT_EQ(s.code, Code::invalid_argument);
  EXPECT_NE(s.message.find("queries"), std::string::npos) << s.message;
  a = p.args();
  a.temperature = 0.0f;
  EXPECT_EQ(attention(a, kn(), scratch).code, Code::invalid_argument);
  a = p.args();
  std::vector<int32_t> len = {4};
  a.mask.key_lengths = len.data();
  s = attention(a, kn(), scratch);
  EXPECT_EQ(s.code, Code::out_of_range);
  EXPECT_NE(s.message.find("keyLengths[0]"), std::string::npos) << s.message;
  p.k[3] = std::nanf("");
  s = attention(p.args(), kn(), scratch);
  EXPECT_EQ(s.code, Code::non_finite);
  EXPECT_NE(s.message.find("k must hold finite numbers, received NaN at index 3"), std::string::npos) << s.message;
}

// NaN and +inf in an additive mask are refused by the core itself (issue 12, item 4): on both paths
// (weights materialised, output only), by every kernel set alike, and in multi-head attention;
// -inf still masks a key.
TEST_P(AttentionTest, AdditiveMaskRejectsNaNAndPlusInfinity) {
  std::mt19937 rng(19);
  // 37 keys: the bad entry sits in a tail past the vector width, and past a 1024-entry check chunk.
  Problem p = make_problem(2, 2, 31, 37, 5, 3, rng);
  const size_t plane = size_t(p.nq) * p.nk;
  for (bool online : {false, true}) {
    for (float bad : {std::nanf(""), INFINITY}) {
      for (size_t at : {size_t(0), plane - 1, 3 * plane + 1030}) {
        std::vector<float> mask(4 * plane, 0.0f);
        mask[at] = bad;
        AttentionArgs a = p.args();
        if (online) a.weights = nullptr;
        a.mask.add_mask = {mask.data(), 2, 2};
        const Status s = attention(a, kn(), scratch);
        EXPECT_EQ(s.code, Code::non_finite) << "index " << at;
        const std::string want = std::string("additiveMask must hold finite numbers or -Infinity (to mask a key), received ") +
                                 (std::isnan(bad) ? "NaN" : "+Infinity") + " at index " + std::to_string(at);
        EXPECT_NE(s.message.find(want), std::string::npos) << s.message;
      }
    }
    std::vector<float> mask(plane, 0.0f);
    mask[1] = -INFINITY;  // query 0 may not see key 1
    AttentionArgs a = p.args();
    a.mask.add_mask = {mask.data(), 1, 1};
    if (online) a.weights = nullptr;
    ASSERT_TRUE(attention(a, kn(), scratch).ok());
    if (!online) EXPECT_EQ(p.weights[1], 0.0f);
  }
  const int D = 4;
  auto x = random_vector(size_t(3) * D, rng), w = random_vector(size_t(D) * D, rng);
  std::vector<float> out(x.size()), mask(9, 0.0f);
  mask[4] = std::nanf("");
  MhaArgs m;
  m.n = 3, m.d_model = D, m.heads = 2, m.x = x.data(), m.w_q = m.w_k = m.w_v = m.w_o = w.data(), m.output = out.data();
  m.mask.add_mask = {mask.data(), 1, 1};
  EXPECT_EQ(multi_head_attention(m, kn(), scratch).code, Code::non_finite);
}

// Multi-head attention against a reference assembled from float64 pieces.
TEST_P(AttentionTest, MultiHeadSelfAndCrossAttentionMatchFloat64) {
  std::mt19937 rng(18);
  for (bool cross : {false, true}) {
    const int batch = 2, n = 5, D = 12, heads = 3, dh = D / heads;
    const int m = cross ? 7 : n, dc = cross ? 9 : D;
    auto x = random_vector(size_t(batch) * n * D, rng), ctx = random_vector(size_t(batch) * m * dc, rng);
    auto wq = random_vector(size_t(D) * D, rng), wk = random_vector(size_t(dc) * D, rng);
    auto wv = random_vector(size_t(dc) * D, rng), wo = random_vector(size_t(D) * D, rng);
    auto bq = random_vector(D, rng), bk = random_vector(D, rng), bv = random_vector(D, rng), bo = random_vector(D, rng);
    std::vector<float> out(size_t(batch) * n * D), weights(size_t(batch) * heads * n * m), concat(out.size());
    std::vector<float> qh(size_t(batch) * heads * n * dh);
    MhaArgs a;
    a.batch = batch, a.n = n, a.m = m, a.d_model = D, a.d_context = dc, a.heads = heads;
    a.x = x.data(), a.context = cross ? ctx.data() : nullptr;
    a.w_q = wq.data(), a.w_k = wk.data(), a.w_v = wv.data(), a.w_o = wo.data();
    a.b_q = bq.data(), a.b_k = bk.data(), a.b_v = bv.data(), a.b_o = bo.data();
    a.mask.causal = !cross;
    a.output = out.data(), a.weights = weights.data(), a.concat = concat.data(), a.q = qh.data();
    ASSERT_TRUE(multi_head_attention(a, kn(), scratch).ok());

    for (int b = 0; b < batch; ++b) {
      const float* xb = &x[size_t(b) * n * D];
      const float* cb = cross ? &ctx[size_t(b) * m * dc] : xb;
      auto project = [](const float* in, int rows, int din, const std::vector<float>& w, const std::vector<float>& bias, int dout) {
        std::vector<double> r(size_t(rows) * dout);
        for (int i = 0; i < rows; ++i)
          for (int o = 0; o < dout; ++o) {
            double s = bias[o];
            for (int c = 0; c < din; ++c) s += double(in[i * din + c]) * w[size_t(c) * dout + o];
            r[size_t(i) * dout + o] = s;
          }
        return r;
      };
      auto Q = project(xb, n, D, wq, bq, D), K = project(cb, m, dc, wk, bk, D), V = project(cb, m, dc, wv, bv, D);
      std::vector<double> cat(size_t(n) * D, 0.0);
      for (int h = 0; h < heads; ++h) {
        for (int i = 0; i < n; ++i) {
          std::vector<double> row(m);
          for (int j = 0; j < m; ++j) {
            double s = 0;
            for (int c = 0; c < dh; ++c) s += Q[size_t(i) * D + h * dh + c] * K[size_t(j) * D + h * dh + c];
            row[j] = (!cross && j > i) ? -INFINITY : s / std::sqrt(double(dh));
          }
          const auto w = test::softmax_ref(row);
          for (int j = 0; j < m; ++j) {
            ASSERT_NEAR(weights[((size_t(b) * heads + h) * n + i) * m + j], w[j], 2e-6);
            for (int c = 0; c < dh; ++c) cat[size_t(i) * D + h * dh + c] += w[j] * V[size_t(j) * D + h * dh + c];
          }
          for (int c = 0; c < dh; ++c)
            ASSERT_NEAR(qh[((size_t(b) * heads + h) * n + i) * dh + c], Q[size_t(i) * D + h * dh + c], 1e-5);
        }
      }
      for (int i = 0; i < n; ++i)
        for (int o = 0; o < D; ++o) {
          ASSERT_NEAR(concat[(size_t(b) * n + i) * D + o], cat[size_t(i) * D + o], 1e-5);
          double s = bo[o];
          for (int c = 0; c < D; ++c) s += cat[size_t(i) * D + c] * wo[size_t(c) * D + o];
          ASSERT_NEAR(out[(size_t(b) * n + i) * D + o], s, 2e-5) << "cross=" << cross;
        }
    }
  }
}

// The output-only path (online softmax) gives the materialised path's output over the whole float32
// range: logits and additive masks at ±FLT_MAX, logits an ulp apart where an ulp is 2^104, a
// temperature whose scale/temperature overflows float32, q·k that overflows to +inf (the +inf keys
// share the weight), and +inf under a -inf mask (NaN: masked). dim = 1 or 2, so that each logit is one
// or two float32 products (exact, or overflowing whether the multiply-add is fused or not) and the
// expected weights follow from them.
TEST_P(AttentionTest, OnlineEqualsMaterialisedAtFloat32Extremes) {
  const float F = std::numeric_limits<float>::max(), inf = std::numeric_limits<float>::infinity();
  struct Case {
    const char* name;
    int dim;
    std::vector<float> q, k, add_mask;
    Scoring scoring;
    float temperature;
    std::vector<double> weights;  // of the keys, whose values are rows 1,2 / 5,6 / 9,10 / 13,14
  };
  const Case cases[] = {
      {"an additive mask of -FLT_MAX on every key", 1, {1}, {1, 0.5f}, {-F, -F}, Scoring::scaled_dot, 1, {0.5, 0.5}},
      {"an additive mask of -FLT_MAX on one key", 1, {1}, {1, 0.5f}, {0, -F}, Scoring::scaled_dot, 1, {1, 0}},
      {"q = 2.5e38, dot", 1, {2.5e38f}, {1, 0.5f}, {}, Scoring::dot, 1, {1, 0}},
      {"q = -2.5e38, dot, equal keys", 1, {-2.5e38f}, {1, 1}, {}, Scoring::dot, 1, {0.5, 0.5}},
      {"q = FLT_MAX, keys an ulp apart", 1, {F}, {1, 0.99999994f, -1}, {}, Scoring::dot, 1, {1, 0, 0}},
      {"logits -FLT_MAX and FLT_MAX", 1, {F}, {-1, 1, -1}, {}, Scoring::dot, 1, {0, 1, 0}},
      {"temperature 1e-40", 2, {1, 0}, {1, 0, 0, 1}, {}, Scoring::scaled_dot, 1e-40f, {1, 0}},
      {"q·k overflows to +inf", 1, {3e38f}, {2, 3, 1, -2}, {}, Scoring::dot, 1, {0.5, 0.5, 0, 0}},
      {"+inf logit under a -inf mask (NaN: masked)", 2, {3e38f, 3e38f}, {2, 2, 0.5f, 0.5f, 1, 0}, {-inf, 0, 0},
       Scoring::dot, 1, {0, 0.5, 0.5}},
  };
  for (const Case& c : cases) {
    const int nk = int(c.k.size()) / c.dim;
    std::vector<float> v(size_t(nk) * 2);
    for (int j = 0; j < nk; ++j) v[2 * j] = 1 + 4 * j, v[2 * j + 1] = 2 + 4 * j;
    std::vector<float> online(2, 7.0f), materialised(2, 7.0f), weights(nk, 7.0f);
    AttentionArgs a;
    a.n_q = 1, a.n_k = nk, a.dim = c.dim, a.value_dim = 2;
    a.q = c.q.data(), a.k = c.k.data(), a.v = v.data();
    a.scoring = c.scoring, a.temperature = c.temperature;
    if (!c.add_mask.empty()) a.mask.add_mask.data = c.add_mask.data();
    a.output = online.data();
    ASSERT_TRUE(attention(a, kn(), scratch).ok()) << c.name;
    a.output = materialised.data(), a.weights = weights.data();
    ASSERT_TRUE(attention(a, kn(), scratch).ok()) << c.name;
    for (int j = 0; j < nk; ++j) EXPECT_EQ(weights[j], float(c.weights[j])) << kn().name << ": " << c.name << ", weight " << j;
    for (int x = 0; x < 2; ++x) {
      double want = 0;
      for (int j = 0; j < nk; ++j) want += c.weights[j] * v[2 * j + x];
      EXPECT_NEAR(materialised[x], want, 1e-6 * std::abs(want)) << kn().name << ": " << c.name << " (materialised)";
      EXPECT_NEAR(online[x], want, 1e-6 * std::abs(want)) << kn().name << ": " << c.name << " (output only)";
    }
  }
}

// The same over random problems across the float32 range: q and k with magnitudes from 2^-60 to
// 2^60 (logits from tiny to overflowing), additive masks mixing ±FLT_MAX, huge, small and -inf
// entries, several key tiles; the output-only path equals the materialised one, whose weights are
// the softmax of its own float32 logits.
TEST_P(AttentionTest, OnlineEqualsMaterialisedAcrossTheFloat32Range) {
  std::mt19937 rng(19);
  const float F = std::numeric_limits<float>::max(), inf = std::numeric_limits<float>::infinity();
  auto wild = [&](size_t n) {
    std::vector<float> x(n);
    for (auto& v : x) v = std::ldexp(float(int(rng() % 2001) - 1000) / 1000.0f, int(rng() % 121) - 60);
    return x;
  };
  for (int trial = 0; trial < 12; ++trial) {
    const int nq = 1 + int(rng() % 40), nk = 1 + int(rng() % 300), d = 1 + int(rng() % 3), dv = 3;
    auto q = wild(size_t(nq) * d), k = wild(size_t(nk) * d), v = random_vector(size_t(nk) * dv, rng);
    std::vector<float> add(size_t(nq) * nk, 0.0f);
    for (auto& m : add) {
      const unsigned r = rng() % 8;
      m = r == 0 ? -F : r == 1 ? F : r == 2 ? -inf : r == 3 ? std::ldexp(1.0f, 100 + int(rng() % 27)) : float(rng() % 5);
    }
    std::vector<float> online(size_t(nq) * dv), materialised(online.size()), weights(size_t(nq) * nk), logits(weights.size());
    AttentionArgs a;
    a.n_q = nq, a.n_k = nk, a.dim = d, a.value_dim = dv;
    a.q = q.data(), a.k = k.data(), a.v = v.data();
    a.scoring = Scoring::dot;
    a.mask.causal = trial % 3 == 0;
    if (trial % 2 == 1) a.mask.add_mask.data = add.data();
    a.output = online.data();
    ASSERT_TRUE(attention(a, kn(), scratch).ok());
    a.output = materialised.data(), a.weights = weights.data(), a.logits = logits.data();
    ASSERT_TRUE(attention(a, kn(), scratch).ok());
    for (int i = 0; i < nq; ++i) {
      const std::string at = std::string(kn().name) + " trial " + std::to_string(trial) + " row " + std::to_string(i);
      const auto w = test::softmax_of_float32(std::vector<float>(&logits[size_t(i) * nk], &logits[size_t(i + 1) * nk]));
      for (int j = 0; j < nk; ++j) ASSERT_NEAR(weights[size_t(i) * nk + j], w[j], 1e-6) << at << " weight " << j;
      for (int x = 0; x < dv; ++x) {
        ASSERT_TRUE(std::isfinite(online[size_t(i) * dv + x])) << at;
        ASSERT_NEAR(online[size_t(i) * dv + x], materialised[size_t(i) * dv + x], 1e-5) << at << " output " << x;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllKernelSets, AttentionTest, ::testing::ValuesIn(test::all_kernel_sets()),
                         [](const auto& info) { return test::param_name(info.param); });

}  // namespace
}  // namespace qkv
