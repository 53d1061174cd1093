// The transformer forward pass against a float64 re-implementation written from models/FORMAT.md.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "model.h"
#include "reference.h"

namespace qkv {
namespace {

using Mat = std::vector<double>;

struct RefModel {
  ModelConfig c;
  std::map<std::string, const float*> t;
  RefModel(const ModelConfig& cfg, const std::vector<float>& packed) : c(cfg) {
    size_t at = 0;
    std::vector<ModelTensor> layout;
    EXPECT_TRUE(model_tensor_layout(cfg, &layout).ok());
    for (auto& tensor : layout) t[tensor.name] = packed.data() + at, at += tensor.count;
  }
  const float* operator()(const std::string& name) const { return t.at(name); }

  Mat ln(const Mat& x, size_t n, const std::string& p) const {
    const size_t D = c.d_model;
    Mat y(n * D);
    for (size_t i = 0; i < n; ++i) {
      double mean = 0, var = 0;
      for (size_t k = 0; k < D; ++k) mean += x[i * D + k];
      mean /= D;
      for (size_t k = 0; k < D; ++k) var += (x[i * D + k] - mean) * (x[i * D + k] - mean);
      var /= D;
      for (size_t k = 0; k < D; ++k)
        y[i * D + k] = (x[i * D + k] - mean) / std::sqrt(var + c.norm_eps) * (*this)(p + ".weight")[k] + (*this)(p + ".bias")[k];
    }
    return y;
  }
  static Mat linear(const Mat& x, size_t n, size_t din, const float* w, const float* b, size_t dout) {
    Mat y(n * dout);
    for (size_t i = 0; i < n; ++i)
      for (size_t o = 0; o < dout; ++o) {
        double s = b[o];
        for (size_t k = 0; k < din; ++k) s += x[i * din + k] * w[k * dout + o];
        y[i * dout + o] = s;
      }
    return y;
  }
  // Returns last-row logits; fills per-layer per-head weights [L][H][n][n].
  Mat run(const std::vector<int32_t>& ids, Mat& weights) const {
    const size_t n = ids.size(), D = c.d_model, H = c.n_heads, dh = D / H, F = c.d_ff;
    Mat x(n * D);
    for (size_t i = 0; i < n; ++i)
      for (size_t k = 0; k < D; ++k) x[i * D + k] = double((*this)("tok_emb")[ids[i] * D + k]) + (*this)("pos_emb")[i * D + k];
    weights.assign(size_t(c.n_layers) * H * n * n, 0.0);
    for (int l = 0; l < c.n_layers; ++l) {
      const std::string p = "layers." + std::to_string(l) + ".";
      const Mat a = ln(x, n, p + "ln1");
      const Mat Q = linear(a, n, D, (*this)(p + "attn.wq"), (*this)(p + "attn.bq"), D);
      Mat K = linear(a, n, D, (*this)(p + "attn.wk"), (*this)(p + "attn.bk"), D);
      if (c.smear_layers >> l & 1u) {  // key_j = s·key_j + (1 − s)·key_{j−1}, s = sigmoid(logit)
        const Mat raw = K;
        for (size_t h = 0; h < H; ++h) {
          const double sg = 1.0 / (1.0 + std::exp(-double((*this)(p + "attn.smear")[h])));
          for (size_t j = 1; j < n; ++j)
            for (size_t k = 0; k < dh; ++k)
              K[j * D + h * dh + k] = sg * raw[j * D + h * dh + k] + (1 - sg) * raw[(j - 1) * D + h * dh + k];
        }
      }
      const Mat V = linear(a, n, D, (*this)(p + "attn.wv"), (*this)(p + "attn.bv"), D);
      Mat cat(n * D, 0.0);
      for (size_t h = 0; h < H; ++h)
        for (size_t i = 0; i < n; ++i) {
          std::vector<double> row(n);
          for (size_t j = 0; j < n; ++j) {
            double s = 0;
            for (size_t k = 0; k < dh; ++k) s += Q[i * D + h * dh + k] * K[j * D + h * dh + k];
            row[j] = j <= i ? s / std::sqrt(double(dh)) : -INFINITY;
          }
          const auto w = test::softmax_ref(row);
          for (size_t j = 0; j < n; ++j) {
            weights[((size_t(l) * H + h) * n + i) * n + j] = w[j];
            for (size_t k = 0; k < dh; ++k) cat[i * D + h * dh + k] += w[j] * V[j * D + h * dh + k];
          }
        }
      const Mat o = linear(cat, n, D, (*this)(p + "attn.wo"), (*this)(p + "attn.bo"), D);
      for (size_t i = 0; i < n * D; ++i) x[i] += o[i];
      Mat hid = linear(ln(x, n, p + "ln2"), n, D, (*this)(p + "mlp.w1"), (*this)(p + "mlp.b1"), F);
      for (auto& v : hid) v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      const Mat m = linear(hid, n, F, (*this)(p + "mlp.w2"), (*this)(p + "mlp.b2"), D);
      for (size_t i = 0; i < n * D; ++i) x[i] += m[i];
    }
    const Mat last(x.end() - D, x.end());
    const Mat f = ln(last, 1, "ln_f");
    Mat logits(c.vocab_size);
    for (int v = 0; v < c.vocab_size; ++v) {
      double s = 0;
      for (size_t k = 0; k < D; ++k) s += f[k] * (*this)("tok_emb")[size_t(v) * D + k];
      logits[v] = s;
    }
    return logits;
  }
};

class ModelTest : public ::testing::TestWithParam<const Kernels*> {};

// Without smeared keys, with them in every layer, and in the second of three layers only.
void check_forward(const Kernels& kernels, uint32_t smear_layers, int n_layers) {
  ModelConfig c;
  c.vocab_size = 37, c.d_model = 12, c.n_layers = n_layers, c.n_heads = 3, c.d_ff = 20, c.max_positions = 16;
  c.smear_layers = smear_layers;
  size_t count = 0;
  ASSERT_TRUE(model_tensor_layout(c, nullptr, &count).ok());
  std::mt19937 rng(21);
  auto packed = test::random_vector(count, rng, -0.5f, 0.5f);
  ASSERT_TRUE(check_model_weights(c, packed.data(), packed.size()).ok());
  const std::vector<int32_t> ids = {0, 5, 17, 3, 36, 9, 9};
  const int n = ids.size(), L = c.n_layers, H = c.n_heads;
  std::vector<float> weights(size_t(L) * H * n * n), logits(c.vocab_size), q(size_t(L) * c.d_model * n);
  ModelRunArgs a;
  a.cfg = c, a.weights = packed.data(), a.weight_count = packed.size(), a.ids = ids.data(), a.n = n;
  a.attn_weights = weights.data(), a.q = q.data(), a.out_logits = logits.data(), a.logit_rows = 1;
  Scratch s1, s2;
  ASSERT_TRUE(model_forward(a, kernels, s1, s2).ok());
  RefModel ref(c, packed);
  Mat ref_w;
  const Mat ref_logits = ref.run(ids, ref_w);
  for (size_t i = 0; i < weights.size(); ++i) ASSERT_NEAR(weights[i], ref_w[i], 1e-5) << "weight " << i;
  for (int v = 0; v < c.vocab_size; ++v) ASSERT_NEAR(logits[v], ref_logits[v], 1e-4) << "logit " << v;
}

TEST_P(ModelTest, ForwardMatchesFloat64Reference) { check_forward(*GetParam(), 0, 2); }
TEST_P(ModelTest, ForwardWithSmearedKeysMatchesFloat64Reference) {
  check_forward(*GetParam(), 0b11, 2);
  check_forward(*GetParam(), 0b010, 3);
}

TEST(ModelLayout, SmearTensorFollowsEachSmearingLayersOutputBias) {
  ModelConfig c;
  c.vocab_size = 5, c.d_model = 4, c.n_layers = 3, c.n_heads = 2, c.d_ff = 4, c.max_positions = 3;
  c.smear_layers = 0b100;
  std::vector<ModelTensor> layout;
  size_t total = 0, sum = 0;
  ASSERT_TRUE(model_tensor_layout(c, &layout, &total).ok());
  std::vector<std::string> names;
  for (const ModelTensor& t : layout) {
    sum += t.count;
    if (t.name.find("attn.bo") != std::string::npos || t.name.find("smear") != std::string::npos)
      names.push_back(t.name + ":" + std::to_string(t.count) + ":" + std::to_string(t.shape.size()));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"layers.0.attn.bo:4:1", "layers.1.attn.bo:4:1", "layers.2.attn.bo:4:1", "layers.2.attn.smear:2:1"}));
  EXPECT_EQ(sum, total);  // the total that model_forward checks the packed block against counts the smear
  c.smear_layers = 0b1000;  // past n_layers
  EXPECT_EQ(check_model_config(c).code, Code::invalid_argument);
}

TEST_P(ModelTest, RejectsBadInput) {
  ModelConfig c;
  c.vocab_size = 5, c.d_model = 4, c.n_layers = 1, c.n_heads = 2, c.d_ff = 4, c.max_positions = 3;
  size_t count = 0;
  ASSERT_TRUE(model_tensor_layout(c, nullptr, &count).ok());
  std::vector<float> packed(count, 0.1f);
  EXPECT_EQ(check_model_weights(c, packed.data(), count - 1).code, Code::invalid_argument);
  packed[count - 1] = NAN;
  Status s = check_model_weights(c, packed.data(), count);
  EXPECT_EQ(s.code, Code::non_finite);
  EXPECT_NE(s.message.find("ln_f.bias"), std::string::npos) << s.message;
  packed[count - 1] = 0.1f;
  std::vector<int32_t> ids = {0, 7};
  ModelRunArgs a;
  a.cfg = c, a.weights = packed.data(), a.weight_count = count, a.ids = ids.data(), a.n = 2;
  Scratch s1, s2;
  s = model_forward(a, *GetParam(), s1, s2);
  EXPECT_EQ(s.code, Code::out_of_range);
  EXPECT_NE(s.message.find("token id 7 at position 1"), std::string::npos) << s.message;
  a.n = 4;
  EXPECT_EQ(model_forward(a, *GetParam(), s1, s2).code, Code::out_of_range);
  // The forward pass checks the weight count itself: the packed tensors are found by their sizes.
  ids[1] = 4, a.n = 2, a.weight_count = count - 1;
  s = model_forward(a, *GetParam(), s1, s2);
  EXPECT_EQ(s.code, Code::invalid_argument);
  EXPECT_NE(s.message.find("expected " + std::to_string(count) + " numbers"), std::string::npos) << s.message;
  a.weight_count = count;
  EXPECT_TRUE(model_forward(a, *GetParam(), s1, s2).ok());
  c.n_heads = 3;
  EXPECT_EQ(check_model_config(c).code, Code::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(AllKernelSets, ModelTest, ::testing::ValuesIn(test::all_kernel_sets()),
                         [](const auto& info) { return test::param_name(info.param); });

}  // namespace
}  // namespace qkv
