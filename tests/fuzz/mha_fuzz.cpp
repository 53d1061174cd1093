// libFuzzer target: qkv::multi_head_attention, self- and cross-attention, with fuzzed sizes, heads,
// biases, scale, temperature, masks and intermediates; under ASan + UBSan. The status must be the one
// the arguments call for; with ordinary values the output, weights and per-head Q must match a
// float64 reference (projections, heads, softmax, output projection) on every kernel set.
#include <cmath>
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "reference.h"

namespace {

using namespace qkv;
using fuzz::Values;

// y = x·W + b in float64: x [rows][in], W [in][out].
std::vector<double> linear(const float* x, int rows, int in, const std::vector<float>& w, int out, const std::vector<float>& b) {
  std::vector<double> y(size_t(rows) * out);
  for (int i = 0; i < rows; ++i)
    for (int o = 0; o < out; ++o) {
      double s = b.empty() ? 0.0 : b[o];
      for (int c = 0; c < in; ++c) s += double(x[size_t(i) * in + c]) * w[size_t(c) * out + o];
      y[size_t(i) * out + o] = s;
    }
  return y;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int batch = in.ConsumeIntegralInRange(1, 2), heads = in.ConsumeIntegralInRange(1, 4);
  const int dh = in.ConsumeIntegralInRange(1, 9), D = heads * dh, n = in.ConsumeIntegralInRange(1, 40);
  const bool cross = in.ConsumeBool();
  const int m = cross ? in.ConsumeIntegralInRange(1, 40) : n, dc = cross ? in.ConsumeIntegralInRange(1, 12) : D;
  const Values mode = in.ConsumeIntegralInRange(0, 7) == 0 ? Values::extreme : Values::sane;
  const bool dot = in.ConsumeIntegralInRange(0, 3) == 0;
  const float scale = in.ConsumeIntegralInRange(0, 3) == 0 ? 0.25f + in.ConsumeProbability<float>() : 0.0f;
  const float temperature = in.ConsumeIntegralInRange(0, 3) == 0 ? 0.5f + in.ConsumeProbability<float>() : 1.0f;
  const bool causal = !cross && in.ConsumeBool();
  std::vector<int32_t> key_lengths;
  if (in.ConsumeIntegralInRange(0, 3) == 0)
    for (int b = 0; b < batch; ++b) key_lengths.push_back(in.ConsumeIntegralInRange(0, m));
  const size_t plane = size_t(n) * m;
  std::vector<float> add_mask;
  int add_b = 1, add_h = 1;
  bool bad_mask = false;
  if (in.ConsumeIntegralInRange(0, 2) == 0) {
    if (in.ConsumeBool()) add_b = batch, add_h = heads;
    add_mask.resize(size_t(add_b) * add_h * plane);
    const bool allow_bad = in.ConsumeIntegralInRange(0, 5) == 0;
    for (auto& x : add_mask) x = fuzz::mask_value(in, allow_bad);
    bad_mask = fuzz::has_nan_or_pos_inf(add_mask);
  }
  auto x = fuzz::values(in, size_t(batch) * n * D, mode, 1.0f);
  auto ctx = cross ? fuzz::values(in, size_t(batch) * m * dc, mode, 1.0f) : std::vector<float>();
  auto wq = fuzz::values(in, size_t(D) * D, mode, 0.5f), wk = fuzz::values(in, size_t(dc) * D, mode, 0.5f);
  auto wv = fuzz::values(in, size_t(dc) * D, mode, 0.5f), wo = fuzz::values(in, size_t(D) * D, mode, 0.5f);
  const bool biases = in.ConsumeBool();
  std::vector<float> bq, bk, bv, bo;
  if (biases) bq = fuzz::values(in, D, mode, 0.5f), bk = fuzz::values(in, D, mode, 0.5f), bv = fuzz::values(in, D, mode, 0.5f), bo = fuzz::values(in, D, mode, 0.5f);
  const bool want_weights = in.ConsumeBool(), want_q = in.ConsumeBool();

  bool finite = true;
  for (const auto* t : {&x, &ctx, &wq, &wk, &wv, &wo, &bq, &bk, &bv, &bo}) finite = finite && fuzz::all_finite(*t);
  const Code want = !finite ? Code::non_finite : bad_mask ? Code::non_finite : Code::ok;

  static Scratch scratch;
  for (const Kernels* kn : test::all_kernel_sets()) {
    std::vector<float> out(size_t(batch) * n * D, -7.0f), weights(want_weights ? size_t(batch) * heads * plane : 0, -7.0f);
    std::vector<float> qh(want_q ? size_t(batch) * n * D : 0, -7.0f);
    MhaArgs a;
    a.batch = batch, a.n = n, a.m = m, a.d_model = D, a.d_context = dc, a.heads = heads;
    a.x = x.data(), a.context = cross ? ctx.data() : nullptr;
    a.w_q = wq.data(), a.w_k = wk.data(), a.w_v = wv.data(), a.w_o = wo.data();
    if (biases) a.b_q = bq.data(), a.b_k = bk.data(), a.b_v = bv.data(), a.b_o = bo.data();
    a.scoring = dot ? Scoring::dot : Scoring::scaled_dot;
    a.scale = scale, a.temperature = temperature;
    a.mask.causal = causal;
    a.mask.key_lengths = key_lengths.empty() ? nullptr : key_lengths.data();
    if (!add_mask.empty()) a.mask.add_mask = {add_mask.data(), add_b, add_h};
    a.output = out.data();
    a.weights = want_weights ? weights.data() : nullptr;
    a.q = want_q ? qh.data() : nullptr;
    const Status s = multi_head_attention(a, *kn, scratch);
    QKV_FUZZ_EXPECT(s.code == want, "%s: status %d (%s), expected %d", kn->name, int(s.code), s.message.c_str(), int(want));
    if (!s.ok() || mode == Values::extreme) continue;
    QKV_FUZZ_EXPECT(fuzz::all_finite(out), "%s: a non-finite output from ordinary inputs", kn->name);

    const double alpha = (scale != 0.0f ? scale : dot ? 1.0 : 1.0 / std::sqrt(double(dh))) / temperature;
    const double tol = 2e-5 + 1e-6 * (D + dc) * alpha;
    for (int b = 0; b < batch; ++b) {
      const float* xb = x.data() + size_t(b) * n * D;
      const float* cb = cross ? ctx.data() + size_t(b) * m * dc : xb;
      const auto Q = linear(xb, n, D, wq, D, bq), K = linear(cb, m, dc, wk, D, bk), V = linear(cb, m, dc, wv, D, bv);
      std::vector<float> concat(size_t(n) * D);
      for (int h = 0; h < heads; ++h) {
        std::vector<double> vh(size_t(m) * dh);
        for (int j = 0; j < m; ++j)
          for (int c = 0; c < dh; ++c) vh[size_t(j) * dh + c] = V[size_t(j) * D + h * dh + c];
        const int len = key_lengths.empty() ? m : key_lengths[b];
        const size_t mask_at = (size_t(add_b == 1 ? 0 : b) * add_h + (add_h == 1 ? 0 : h)) * plane;
        const auto ref = test::attention_from_logits(n, m, dh, vh.data(), [&](size_t i, size_t j) {
          if ((causal && j > i) || int(j) >= len) return -std::numeric_limits<double>::infinity();
          double sc = 0;
          for (int c = 0; c < dh; ++c) sc += Q[i * D + h * dh + c] * K[j * D + h * dh + c];
          return alpha * sc + (add_mask.empty() ? 0.0 : double(add_mask[mask_at + i * m + j]));
        });
        const size_t bhi = size_t(b) * heads + h;
        if (want_weights)
          for (size_t i = 0; i < plane; ++i)
            QKV_FUZZ_EXPECT(std::fabs(weights[bhi * plane + i] - ref.weights[i]) <= tol, "%s: weight %zu of head %zu: %g, float64 %g",
                            kn->name, i, bhi, weights[bhi * plane + i], ref.weights[i]);
        if (want_q)
          for (int i = 0; i < n; ++i)
            for (int c = 0; c < dh; ++c)
              QKV_FUZZ_EXPECT(std::fabs(qh[(bhi * n + i) * dh + c] - Q[size_t(i) * D + h * dh + c]) <= tol, "%s: q of head %zu", kn->name, bhi);
        for (int i = 0; i < n; ++i)
          for (int c = 0; c < dh; ++c) concat[size_t(i) * D + h * dh + c] = float(ref.output[size_t(i) * dh + c]);
      }
      const auto y = linear(concat.data(), n, D, wo, D, bo);
      for (size_t i = 0; i < y.size(); ++i)
        QKV_FUZZ_EXPECT(std::fabs(out[size_t(b) * n * D + i] - y[i]) <= 4 * tol, "%s: output %zu of batch item %d: %g, float64 %g", kn->name, i,
                        b, out[size_t(b) * n * D + i], y[i]);
    }
  }
  return 0;
}
