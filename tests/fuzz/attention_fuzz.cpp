// libFuzzer target: qkv::attention with fuzzed shapes (tails of every vector width, several 32-query
// blocks and 128-key tiles), scoring, scale, temperature, causal, keyLengths, boolean and additive
// masks (shared or per batch item and head), and which outputs are asked for; under ASan + UBSan.
// Every call's status must be the one its arguments call for. With ordinary values the result must
// match a float64 reference on every kernel set, the output-only (online softmax) path must equal the
// materialised one, and weight rows must sum to 1 (or be all 0 where every key is masked).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "reference.h"

namespace {

using namespace qkv;
using fuzz::Values;

struct Case {
  int batch, heads, nq, nk, dim, dv, da = 0;
  Scoring scoring;
  int scoring_raw;
  float scale, temperature;
  bool causal;
  std::vector<float> q, k, v, wq, wk, va;
  std::vector<int32_t> key_lengths;
  std::vector<uint8_t> bool_mask;
  int bool_b = 1, bool_h = 1;
  std::vector<float> add_mask;
  int add_b = 1, add_h = 1;
  bool want_weights, want_scores, want_logits;
};

// The status the core must return: its checks run in this order.
Code expected_code(const Case& c) {
  if (c.scoring_raw > 2 || c.scoring_raw < 0) return Code::invalid_argument;
  if (!std::isfinite(c.scale) || !(c.temperature > 0.0f) || !std::isfinite(c.temperature)) return Code::invalid_argument;
  for (int32_t len : c.key_lengths)
    if (len < 0 || len > c.nk) return Code::out_of_range;
  if (!fuzz::all_finite(c.q) || !fuzz::all_finite(c.k) || !fuzz::all_finite(c.v)) return Code::non_finite;
  if (c.scoring == Scoring::additive && (!fuzz::all_finite(c.wq) || !fuzz::all_finite(c.wk) || !fuzz::all_finite(c.va)))
    return Code::non_finite;
  if (fuzz::has_nan_or_pos_inf(c.add_mask)) return Code::non_finite;
  return Code::ok;
}

struct Outputs {
  std::vector<float> output, weights, scores, logits;
};

Status run(const Case& c, const Kernels& kn, Scratch& scratch, bool weights, Outputs& o) {
  const size_t bh = size_t(c.batch) * c.heads, plane = size_t(c.nq) * c.nk;
  o.output.assign(bh * c.nq * c.dv, -7.0f);
  o.weights.assign(weights ? bh * plane : 0, -7.0f);
  o.scores.assign(c.want_scores ? bh * plane : 0, -7.0f);
  o.logits.assign(c.want_logits ? bh * plane : 0, -7.0f);
  AttentionArgs a;
  a.batch = c.batch, a.heads = c.heads, a.n_q = c.nq, a.n_k = c.nk, a.dim = c.dim, a.value_dim = c.dv;
  a.q = c.q.data(), a.k = c.k.data(), a.v = c.v.data();
  a.scoring = static_cast<Scoring>(c.scoring_raw);
  a.scale = c.scale, a.temperature = c.temperature;
  a.mask.causal = c.causal;
  a.mask.key_lengths = c.key_lengths.empty() ? nullptr : c.key_lengths.data();
  if (!c.bool_mask.empty()) a.mask.bool_mask = {c.bool_mask.data(), c.bool_b, c.bool_h};
  if (!c.add_mask.empty()) a.mask.add_mask = {c.add_mask.data(), c.add_b, c.add_h};
  if (c.scoring == Scoring::additive) a.w_q = c.wq.data(), a.w_k = c.wk.data(), a.v_a = c.va.data(), a.additive_dim = c.da;
  a.output = o.output.data();
  a.weights = weights ? o.weights.data() : nullptr;
  a.scores = c.want_scores ? o.scores.data() : nullptr;
  a.logits = c.want_logits ? o.logits.data() : nullptr;
  return attention(a, kn, scratch);
}

test::AttentionRef reference(const Case& c, int b, int h) {
  const size_t bhi = size_t(b) * c.heads + h, plane = size_t(c.nq) * c.nk;
  const float* q = c.q.data() + bhi * c.nq * c.dim;
  const float* k = c.k.data() + bhi * c.nk * c.dim;
  const double scale = c.scale != 0.0f ? c.scale : c.scoring == Scoring::scaled_dot ? 1.0 / std::sqrt(double(c.dim)) : 1.0;
  const double alpha = scale / c.temperature;
  const int len = c.key_lengths.empty() ? c.nk : c.key_lengths[b];
  auto slice = [&](int mb, int mh) { return (size_t(mb == 1 ? 0 : b) * mh + (mh == 1 ? 0 : h)) * plane; };
  return test::attention_from_logits(c.nq, c.nk, c.dv, c.v.data() + bhi * c.nk * c.dv, [&](size_t i, size_t j) {
    const bool open = (!c.causal || j <= i) && int(j) < len && (c.bool_mask.empty() || c.bool_mask[slice(c.bool_b, c.bool_h) + i * c.nk + j]);
    if (!open) return -std::numeric_limits<double>::infinity();
    double s = 0;
    if (c.scoring == Scoring::additive) {
      for (int t = 0; t < c.da; ++t) {
        double u = 0;
        for (int p = 0; p < c.dim; ++p) u += double(q[i * c.dim + p]) * c.wq[p * c.da + t] + double(k[j * c.dim + p]) * c.wk[p * c.da + t];
        s += c.va[t] * std::tanh(u);
      }
    } else {
      for (int p = 0; p < c.dim; ++p) s += double(q[i * c.dim + p]) * k[j * c.dim + p];
    }
    return alpha * s + (c.add_mask.empty() ? 0.0 : double(c.add_mask[slice(c.add_b, c.add_h) + i * c.nk + j]));
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Case c;
  c.batch = in.ConsumeIntegralInRange(1, 3), c.heads = in.ConsumeIntegralInRange(1, 3);
  c.nq = in.ConsumeIntegralInRange(1, 40), c.nk = in.ConsumeIntegralInRange(1, 300);
  c.dim = in.ConsumeIntegralInRange(1, 70), c.dv = in.ConsumeIntegralInRange(1, 20);
  if (size_t(c.batch) * c.heads * c.nq * c.nk * (c.dim + c.dv) > 150000) return -1;  // keep runs fast
  const Values mode = in.ConsumeIntegralInRange(0, 7) == 0 ? Values::extreme : Values::sane;
  const float range = in.ConsumeBool() ? 1.0f : 4.0f;
  c.scoring_raw = in.ConsumeIntegralInRange(0, 40);
  c.scoring_raw = c.scoring_raw < 12 ? 0 : c.scoring_raw < 36 ? 1 : c.scoring_raw < 39 ? 2 : c.scoring_raw == 39 ? 3 : -1;
  c.scoring = static_cast<Scoring>(c.scoring_raw);
  switch (in.ConsumeIntegralInRange(0, 9)) {
    case 0: c.scale = std::numeric_limits<float>::quiet_NaN(); break;
    case 1: case 2: c.scale = (in.ConsumeProbability<float>() * 2.0f - 1.0f) * 4.0f; break;
    default: c.scale = 0.0f;  // the default scale
  }
  switch (in.ConsumeIntegralInRange(0, 11)) {
    case 0: c.temperature = in.PickValueInArray({0.0f, -1.0f, fuzz::kInf, std::numeric_limits<float>::quiet_NaN()}); break;
    case 1: case 2: case 3: c.temperature = 0.25f + 3.75f * in.ConsumeProbability<float>(); break;
    default: c.temperature = 1.0f;
  }
  c.causal = in.ConsumeBool();
  if (in.ConsumeBool()) {
    for (int b = 0; b < c.batch; ++b) c.key_lengths.push_back(in.ConsumeIntegralInRange(0, c.nk));
    if (in.ConsumeIntegralInRange(0, 15) == 0) c.key_lengths[0] = in.ConsumeBool() ? c.nk + 1 : -1;
  }
  const size_t plane = size_t(c.nq) * c.nk;
  if (in.ConsumeIntegralInRange(0, 3) == 0) {
    if (in.ConsumeBool()) c.bool_b = c.batch, c.bool_h = c.heads;
    c.bool_mask.resize(size_t(c.bool_b) * c.bool_h * plane);
    const int open = in.ConsumeIntegralInRange(0, 4);  // how often a key is open, in quarters
    for (size_t i = 0; i < c.bool_mask.size(); ++i) c.bool_mask[i] = (i * 2654435761u >> 7) % 4 < unsigned(open);
  }
  if (in.ConsumeIntegralInRange(0, 2) == 0) {
    if (in.ConsumeBool()) c.add_b = c.batch, c.add_h = c.heads;
    c.add_mask.resize(size_t(c.add_b) * c.add_h * plane);
    const bool allow_bad = in.ConsumeIntegralInRange(0, 4) == 0;
    const size_t fuzzed = std::min<size_t>(c.add_mask.size(), 48);
    for (size_t i = 0; i < fuzzed; ++i) c.add_mask[i] = fuzz::mask_value(in, allow_bad);
    for (size_t i = fuzzed; i < c.add_mask.size(); ++i) c.add_mask[i] = c.add_mask[(i * 7919) % fuzzed] * (i % 5 == 0 ? 1.0f : 0.5f);
    if (allow_bad && in.ConsumeBool()) c.add_mask[in.ConsumeIntegralInRange<size_t>(0, c.add_mask.size() - 1)] = in.ConsumeBool() ? NAN : fuzz::kInf;
  }
  c.want_weights = in.ConsumeBool(), c.want_scores = in.ConsumeIntegralInRange(0, 3) == 0, c.want_logits = in.ConsumeIntegralInRange(0, 3) == 0;
  const size_t bh = size_t(c.batch) * c.heads;
  c.q = fuzz::values(in, bh * c.nq * c.dim, mode, range);
  c.k = fuzz::values(in, bh * c.nk * c.dim, mode, range);
  c.v = fuzz::values(in, bh * c.nk * c.dv, mode, 1.0f);
  if (c.scoring == Scoring::additive) {
    c.da = in.ConsumeIntegralInRange(1, 8);
    c.wq = fuzz::values(in, size_t(c.dim) * c.da, mode, 1.0f);
    c.wk = fuzz::values(in, size_t(c.dim) * c.da, mode, 1.0f);
    c.va = fuzz::values(in, c.da, mode, 1.0f);
  }

  const Code want = expected_code(c);
  static Scratch scratch;
  for (const Kernels* kn : test::all_kernel_sets()) {
    Outputs o;
    const Status s = run(c, *kn, scratch, c.want_weights, o);
    QKV_FUZZ_EXPECT(s.code == want, "%s: status %d (%s), expected %d", kn->name, int(s.code), s.message.c_str(), int(want));
    if (!s.ok() || mode == Values::extreme) continue;
    QKV_FUZZ_EXPECT(fuzz::all_finite(o.output), "%s: a non-finite output from ordinary inputs", kn->name);
    // Output only: the online path, checked against the materialised one on the same kernels.
    Outputs full;
    if (!c.want_weights) QKV_FUZZ_EXPECT(run(c, *kn, scratch, true, full).ok(), "%s: the materialised path failed", kn->name);
    const std::vector<float>& weights = c.want_weights ? o.weights : full.weights;
    const double scale = c.scale != 0.0f ? std::fabs(c.scale) : 1.0;
    const double tol = 4e-6 + 4.0 * 6e-8 * scale / c.temperature * c.dim * range * range * (c.scoring == Scoring::additive ? 8.0 * c.da : 1.0);
    for (int b = 0; b < c.batch; ++b) {
      for (int h = 0; h < c.heads; ++h) {
        const auto ref = reference(c, b, h);
        const size_t bhi = size_t(b) * c.heads + h;
        for (size_t i = 0; i < ref.weights.size(); ++i)
          QKV_FUZZ_EXPECT(std::fabs(weights[bhi * plane + i] - ref.weights[i]) <= tol, "%s: weight %zu of head %zu: %g, float64 %g (tol %g)",
                          kn->name, i, bhi, weights[bhi * plane + i], ref.weights[i], tol);
        for (size_t i = 0; i < ref.output.size(); ++i) {
          const float got = o.output[bhi * c.nq * c.dv + i];
          QKV_FUZZ_EXPECT(std::fabs(got - ref.output[i]) <= 2 * tol, "%s: output %zu of head %zu: %g, float64 %g (tol %g)%s", kn->name, i,
                          bhi, got, ref.output[i], 2 * tol, c.want_weights ? "" : " (online path)");
        }
        for (int i = 0; i < c.nq; ++i) {
          double sum = 0;
          for (int j = 0; j < c.nk; ++j) sum += weights[bhi * plane + size_t(i) * c.nk + j];
          QKV_FUZZ_EXPECT(std::fabs(sum - 1.0) < 1e-4 || sum == 0.0, "%s: weight row %d of head %zu sums to %g", kn->name, i, bhi, sum);
        }
      }
    }
  }
  return 0;
}
