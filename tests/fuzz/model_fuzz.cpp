// libFuzzer target: the model's forward pass (qkv::model_forward) with fuzzed configs (smeared keys
// in any layers), weights
// (sometimes corrupt), token ids (sometimes outside the vocabulary), lengths (sometimes past
// max_positions) and outputs asked for; under ASan + UBSan. The status must be the one the arguments
// call for; on success every number is finite, attention is causal with rows summing to 1, and every
// kernel set gives the same logits (the float64 reference itself is tests/native/model_test.cpp's).
#include <cmath>
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "model.h"
#include "reference.h"

using namespace qkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  ModelConfig c;
  c.vocab_size = in.ConsumeIntegralInRange(1, 40);
  c.n_heads = in.ConsumeIntegralInRange(1, 3);
  c.d_model = c.n_heads * in.ConsumeIntegralInRange(1, 6);
  c.n_layers = in.ConsumeIntegralInRange(1, 3);
  c.d_ff = in.ConsumeIntegralInRange(1, 24);
  c.max_positions = in.ConsumeIntegralInRange(1, 24);
  c.norm_eps = in.PickValueInArray({1e-5f, 1e-3f, 0.5f});
  if (in.ConsumeIntegralInRange(0, 15) == 0) c.n_heads += 1;  // may no longer divide d_model
  // Smeared keys in any subset of the layers, sometimes naming a layer past the last.
  c.smear_layers = in.ConsumeIntegralInRange<uint32_t>(0, (1u << c.n_layers) - 1);
  const bool smear_past = in.ConsumeIntegralInRange(0, 15) == 0;
  if (smear_past) c.smear_layers |= 1u << c.n_layers;
  const bool config_ok = c.d_model % c.n_heads == 0 && !smear_past;

  size_t count = 0;
  const Status layout = model_tensor_layout(c, nullptr, &count);
  QKV_FUZZ_EXPECT(layout.ok() == config_ok, "layout status %d (%s)", int(layout.code), layout.message.c_str());
  if (!config_ok) {
    QKV_FUZZ_EXPECT(layout.code == Code::invalid_argument, "a bad n_heads or smear_layers: %s", layout.message.c_str());
    return 0;
  }
  std::vector<float> w(count);
  for (size_t i = 0; i < count; ++i) w[i] = 0.5f * std::sin(float(i) * 1.3f + in.ConsumeProbability<float>());
  const bool corrupt = in.ConsumeIntegralInRange(0, 7) == 0;
  if (corrupt) w[in.ConsumeIntegralInRange<size_t>(0, count - 1)] = in.ConsumeBool() ? NAN : -fuzz::kInf;
  const Status check = check_model_weights(c, w.data(), count);
  QKV_FUZZ_EXPECT(check.code == (corrupt ? Code::non_finite : Code::ok), "weights check %d (%s)", int(check.code), check.message.c_str());
  if (corrupt) {
    QKV_FUZZ_EXPECT(check.message.find("model weights: ") == 0 && check.message.find(" holds a non-finite number at index ") != std::string::npos,
                    "the message names the tensor: %s", check.message.c_str());
    return 0;
  }

  const int n = in.ConsumeIntegralInRange(1, c.max_positions + 1);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = in.ConsumeIntegralInRange(0, c.vocab_size - 1);
  const bool bad_id = in.ConsumeIntegralInRange(0, 15) == 0;
  if (bad_id) ids[n - 1] = in.ConsumeBool() ? c.vocab_size : -1;
  const int logit_rows = in.ConsumeIntegralInRange(0, n);
  const bool want_attention = in.ConsumeBool();
  const Code want = n > c.max_positions ? Code::out_of_range : bad_id ? Code::out_of_range : Code::ok;

  const size_t L = c.n_layers, H = c.n_heads, dh = c.d_model / c.n_heads;
  std::vector<float> first_logits;
  for (const Kernels* kn : test::all_kernel_sets()) {
    std::vector<float> q(want_attention ? L * H * n * dh : 0), weights(want_attention ? L * H * n * n : 0);
    std::vector<float> logits(size_t(logit_rows) * c.vocab_size, -7.0f);
    ModelRunArgs a;
    a.cfg = c, a.weights = w.data(), a.weight_count = count, a.ids = ids.data(), a.n = n;
    if (want_attention) a.q = q.data(), a.attn_weights = weights.data();
    a.out_logits = logits.data(), a.logit_rows = logit_rows;
    static Scratch s1, s2;
    const Status s = model_forward(a, *kn, s1, s2);
    QKV_FUZZ_EXPECT(s.code == want, "%s: status %d (%s), expected %d", kn->name, int(s.code), s.message.c_str(), int(want));
    if (!s.ok()) continue;
    QKV_FUZZ_EXPECT(fuzz::all_finite(logits) && fuzz::all_finite(q) && fuzz::all_finite(weights), "%s: a non-finite result", kn->name);
    for (size_t p = 0; p < L * H; ++p)
      for (int i = 0; i < n; ++i) {
        double sum = 0;
        for (int j = 0; j < n; ++j) {
          const float wij = weights.empty() ? 0.0f : weights[(p * n + i) * n + j];
          QKV_FUZZ_EXPECT(j <= i || wij == 0.0f, "%s: query %d attends to the later key %d", kn->name, i, j);
          sum += wij;
        }
        QKV_FUZZ_EXPECT(weights.empty() || std::fabs(sum - 1.0) < 1e-4, "%s: a weight row sums to %g", kn->name, sum);
      }
    if (first_logits.empty()) {
      first_logits = logits;
      continue;
    }
    for (size_t i = 0; i < logits.size(); ++i)
      QKV_FUZZ_EXPECT(std::fabs(logits[i] - first_logits[i]) <= 1e-3 * (1.0 + std::fabs(first_logits[i])), "%s: logit %zu is %g, scalar kernels %g",
                      kn->name, i, logits[i], first_logits[i]);
  }
  return 0;
}
