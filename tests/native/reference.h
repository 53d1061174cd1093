// Float64 references the kernels and the attention driver are checked against, written as plainly as
// possible so that they can be read and trusted.
#pragma once

#include <cctype>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels.h"

namespace qkv::test {

// The scalar twins, the vector kernels when this build has them, and the AVX2 + FMA ones when this
// build and CPU have them, each in every tile shape it is built with: every test runs on each.
inline std::vector<const Kernels*> all_kernel_sets() {
  std::vector<const Kernels*> sets{&scalar_kernels()};
  for (const Kernels* k : simd_kernel_shapes()) sets.push_back(k);
  for (const Kernels* k : avx2_kernel_shapes()) sets.push_back(k);
  return sets;
}

// A kernel set's name as a GoogleTest parameter name (letters, digits, _): "avx2-fma" → "avx2_fma".
inline std::string param_name(const Kernels* k) {
  std::string s = k->name;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

inline std::vector<float> random_vector(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// One row of alpha · A·Bᵀ in float64 (a: the row of A, b: cols rows of B with stride ldb), and the
// largest of those logits and `running` (the online softmax's max so far).
inline std::vector<double> logits_row(size_t cols, size_t k, float alpha, const float* a, const float* b, size_t ldb,
                                      double running, double& max) {
  std::vector<double> logit(cols);
  max = running;
  for (size_t j = 0; j < cols; ++j) {
    double dot = 0;
    for (size_t p = 0; p < k; ++p) dot += double(a[p]) * b[j * ldb + p];
    logit[j] = alpha * dot;
    max = std::max(max, logit[j]);
  }
  return logit;
}

// Softmax in float64; -inf entries are masked; an all-masked row is all zeros.
inline std::vector<double> softmax_ref(const std::vector<double>& x) {
  double mx = -std::numeric_limits<double>::infinity();
  for (double v : x) mx = std::max(mx, v);
  std::vector<double> y(x.size(), 0.0);
  if (mx == -std::numeric_limits<double>::infinity()) return y;
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) sum += (y[i] = std::exp(x[i] - mx));
  for (auto& v : y) v /= sum;
  return y;
}

struct AttentionRef {
  std::vector<double> weights;  // n_q × n_k
  std::vector<double> output;   // n_q × d_v
};

// One head from its logits: weights = softmax of each row of logit(i, j) (-inf: masked),
// output = weights·V.
template <typename Value, typename Logit>
AttentionRef attention_from_logits(size_t nq, size_t nk, size_t dv, const Value* v, Logit logit) {
  AttentionRef r{std::vector<double>(nq * nk), std::vector<double>(nq * dv, 0.0)};
  for (size_t i = 0; i < nq; ++i) {
    std::vector<double> row(nk);
    for (size_t j = 0; j < nk; ++j) row[j] = logit(i, j);
    const auto w = softmax_ref(row);
    for (size_t j = 0; j < nk; ++j) {
      r.weights[i * nk + j] = w[j];
      for (size_t c = 0; c < dv; ++c) r.output[i * dv + c] += w[j] * double(v[j * dv + c]);
    }
  }
  return r;
}

// One head: weights = softmax(alpha · Q·Kᵀ with masked entries -inf), output = weights·V.
// allowed(i, j) says whether query i may attend to key j.
template <typename Allowed>
AttentionRef attention_ref(size_t nq, size_t nk, size_t d, size_t dv, const float* q, const float* k,
                           const float* v, double alpha, Allowed allowed) {
  return attention_from_logits(nq, nk, dv, v, [&](size_t i, size_t j) {
    if (!allowed(i, j)) return -std::numeric_limits<double>::infinity();
    double s = 0;
    for (size_t p = 0; p < d; ++p) s += double(q[i * d + p]) * double(k[j * d + p]);
    return alpha * s;
  });
}

}  // namespace qkv::test
