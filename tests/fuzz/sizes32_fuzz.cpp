// libFuzzer target, built with -m32 (size_t has 32 bits, as in wasm32): the core's size arithmetic
// with fuzzed dimensions up to the int32 range. Oracle: the exact sizes, computed here in 64 bits from
// the documented shapes. Whatever does not fit the 32-bit address space must be refused with a status
// (never computed with a wrapped size: the data pointers point at one float, so ASan sees any read
// past it); whatever the core accepts must have exact sizes; small enough cases run for real.
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "model.h"
#include "sizes.h"

static_assert(sizeof(size_t) == 4, "build this target with -m32: it is about 32-bit sizes");

using namespace qkv;

namespace {

constexpr uint64_t kMaxFloats = UINT32_MAX / sizeof(float);  // 2^30 − 1

// Dimensions around the edges that matter: powers of two and their neighbours, 4097, the model
// limit 2^20, INT32_MAX, and now and then a small or a negative one.
int dimension(FuzzedDataProvider& in, int small_max) {
  switch (in.ConsumeIntegralInRange(0, 9)) {
    case 0: return in.ConsumeIntegralInRange(-3, 0);
    case 1: case 2: case 3: return in.ConsumeIntegralInRange(1, small_max);
    case 4: return in.PickValueInArray({4097, 65535, 65536, 65537, 1 << 20, (1 << 20) + 1, INT32_MAX});
    case 5: return (1 << in.ConsumeIntegralInRange(0, 30)) + in.ConsumeIntegralInRange(-1, 1);
    default: return in.ConsumeIntegralInRange(1, 1 << 20);
  }
}

bool fits(uint64_t floats) { return floats <= kMaxFloats; }
uint64_t u(int v) { return uint64_t(v); }

void model_case(FuzzedDataProvider& in) {
  ModelConfig c;
  c.vocab_size = dimension(in, 64), c.d_model = dimension(in, 16), c.n_layers = dimension(in, 4);
  c.n_heads = in.ConsumeBool() ? 1 : dimension(in, 4), c.d_ff = dimension(in, 64), c.max_positions = dimension(in, 64);
  const bool dims_ok = c.vocab_size >= 1 && c.d_model >= 1 && c.n_layers >= 1 && c.n_heads >= 1 && c.d_ff >= 1 && c.max_positions >= 1 &&
                       c.vocab_size <= kMaxModelDim && c.d_model <= kMaxModelDim && c.n_layers <= kMaxModelDim && c.n_heads <= kMaxModelDim &&
                       c.d_ff <= kMaxModelDim && c.max_positions <= kMaxModelDim && c.d_model % c.n_heads == 0;
  const uint64_t V = u(c.vocab_size), D = u(c.d_model), F = u(c.d_ff), P = u(c.max_positions);
  // Shapes from models/FORMAT.md: any one of these past the address space must be refused.
  const bool one_too_big = dims_ok && (!fits(V * D) || !fits(P * D) || !fits(D * D) || !fits(D * F));
  std::vector<ModelTensor> layout;
  size_t total = 0;
  const bool names = c.n_layers <= 8;  // names for a million layers take seconds: sizes only then
  const Status s = model_tensor_layout(c, names ? &layout : nullptr, &total);
  if (!dims_ok) {
    QKV_FUZZ_EXPECT(s.code == Code::invalid_argument, "config refused as invalid: %d (%s)", int(s.code), s.message.c_str());
    return;
  }
  if (one_too_big) QKV_FUZZ_EXPECT(s.code == Code::out_of_memory, "a tensor past 2^30 floats accepted: %s", s.message.c_str());
  if (!s.ok()) {
    QKV_FUZZ_EXPECT(s.code == Code::out_of_memory, "status %d (%s)", int(s.code), s.message.c_str());
    return;
  }
  QKV_FUZZ_EXPECT(total <= kMaxFloats, "total %zu past the address space", total);
  if (names) {
    uint64_t sum = 0;
    for (const auto& t : layout) {
      uint64_t exact = 1;
      for (int d : t.shape) exact *= u(d);
      QKV_FUZZ_EXPECT(exact == t.count, "%s: count %zu, shape product %llu", t.name.c_str(), t.count, (unsigned long long)exact);
      sum += exact;
    }
    QKV_FUZZ_EXPECT(sum == total, "total %zu, exact sum %llu", total, (unsigned long long)sum);
  }

  // The forward pass: scratch n·(3·d_model + d_ff) and the per-layer outputs. Weights for real only
  // when they are small; then an exact size past the address space must be refused before any work.
  static std::vector<float> weights;
  static std::vector<int32_t> ids;
  if (total > (1u << 20)) return;
  const int n = in.ConsumeIntegralInRange(1, c.max_positions);
  const uint64_t scratch = u(n) * (3 * D + F);
  const uint64_t work = u(n) * u(c.n_layers) * (4 * D * D + 2 * D * F + u(n) * D) + u(c.vocab_size) * D;
  const bool want_attention = in.ConsumeBool();
  const uint64_t planes = u(c.n_layers) * u(c.n_heads) * u(n) * u(n);
  const bool refuse = !fits(scratch) || (want_attention && !fits(planes));
  if (!refuse && (work > 200'000 || (want_attention && planes > (4u << 20)))) return;  // fits, but too slow to run here
  weights.assign(total, 0.01f);
  ids.assign(size_t(n), 0);
  std::vector<float> one(1), attn(want_attention && !refuse ? size_t(planes) : 1);
  ModelRunArgs a;
  a.cfg = c, a.weights = weights.data(), a.weight_count = total, a.ids = ids.data(), a.n = n;
  if (want_attention) a.attn_weights = attn.data();
  a.out_logits = one.data(), a.logit_rows = in.ConsumeBool() ? 1 : 0;
  if (a.logit_rows && c.vocab_size > 1) a.logit_rows = 0;  // `one` holds one logit
  static Scratch s1, s2;
  const Status f = model_forward(a, scalar_kernels(), s1, s2);
  if (refuse) QKV_FUZZ_EXPECT(f.code == Code::out_of_memory, "n %d: scratch %llu floats accepted: %s", n, (unsigned long long)scratch, f.message.c_str());
  else QKV_FUZZ_EXPECT(f.ok() || f.code == Code::out_of_memory, "forward: %d (%s)", int(f.code), f.message.c_str());
}

void attention_case(FuzzedDataProvider& in) {
  AttentionArgs a;
  a.batch = dimension(in, 3), a.heads = dimension(in, 3), a.n_q = dimension(in, 9), a.n_k = dimension(in, 9);
  a.dim = dimension(in, 9), a.value_dim = dimension(in, 9);
  const bool positive = a.batch > 0 && a.heads > 0 && a.n_q > 0 && a.n_k > 0 && a.dim > 0 && a.value_dim > 0;
  const bool want_weights = in.ConsumeBool();
  const uint64_t bh = u(a.batch) * u(a.heads);
  // Exact products can pass 2^64 with every factor near 2^31: compare factor by factor instead.
  auto fits4 = [](uint64_t a2, uint64_t b2) { return b2 == 0 || a2 <= kMaxFloats / b2; };
  const bool bh_ok = positive && fits(bh);
  const bool sizes_ok = bh_ok && fits4(bh, u(a.n_q) * u(a.dim)) && fits4(bh, u(a.n_k) * u(a.dim)) && fits4(bh, u(a.n_k) * u(a.value_dim)) &&
                        fits4(bh, u(a.n_q) * u(a.value_dim)) && (!want_weights || fits4(bh, u(a.n_q) * u(a.n_k)));
  const uint64_t largest = positive && sizes_ok ? bh * std::max({u(a.n_q) * u(a.dim), u(a.n_k) * u(a.dim), u(a.n_k) * u(a.value_dim),
                                                                 u(a.n_q) * u(a.value_dim), want_weights ? u(a.n_q) * u(a.n_k) : 0})
                                                : 0;
  if (positive && sizes_ok && largest > 4096) return;  // fits, but would need real buffers that large
  std::vector<float> q, k, v, out, w;
  static float one[1] = {0.25f};
  if (positive && sizes_ok) {
    q.assign(bh * a.n_q * a.dim, 0.5f), k.assign(bh * a.n_k * a.dim, 0.5f), v.assign(bh * a.n_k * a.value_dim, 0.5f);
    out.assign(bh * a.n_q * a.value_dim, 0.0f), w.assign(want_weights ? bh * a.n_q * a.n_k : 0, 0.0f);
    a.q = q.data(), a.k = k.data(), a.v = v.data(), a.output = out.data(), a.weights = want_weights ? w.data() : nullptr;
  } else {
    a.q = a.k = a.v = a.output = one;
    a.weights = want_weights ? one : nullptr;
  }
  static Scratch scratch;
  const Status s = attention(a, scalar_kernels(), scratch);
  if (!positive) QKV_FUZZ_EXPECT(s.code == Code::invalid_argument, "a dimension < 1: %d (%s)", int(s.code), s.message.c_str());
  else if (!sizes_ok) QKV_FUZZ_EXPECT(s.code == Code::out_of_memory, "sizes past 2^30 floats accepted: %d (%s)", int(s.code), s.message.c_str());
  else QKV_FUZZ_EXPECT(s.ok() || s.code == Code::out_of_memory, "a small attention failed: %s", s.message.c_str());
}

void multi_head_case(FuzzedDataProvider& in) {
  MhaArgs a;
  a.batch = dimension(in, 2), a.n = dimension(in, 6), a.d_model = dimension(in, 8), a.heads = in.ConsumeBool() ? 1 : dimension(in, 4);
  const bool cross = in.ConsumeBool();
  a.m = cross ? dimension(in, 6) : a.n, a.d_context = cross ? dimension(in, 8) : a.d_model;
  const bool positive = a.batch > 0 && a.n > 0 && a.d_model > 0 && a.heads > 0 && a.m > 0 && a.d_context > 0;
  if (!positive || a.d_model % a.heads) return;
  const uint64_t B = u(a.batch), N = u(a.n), M = u(a.m), D = u(a.d_model), C = u(a.d_context), H = u(a.heads);
  auto fits3 = [](uint64_t x, uint64_t y, uint64_t z) { return fits(x) && fits(y) && (z == 0 || x * y <= kMaxFloats / z); };
  const bool sizes_ok = fits3(B, N, D) && fits3(B, M, C) && fits(D * D) && fits(C * D) && fits3(B * H, N, M);
  const bool small = sizes_ok && B * N * D <= 4096 && B * M * C <= 4096 && D * D <= 4096 && C * D <= 4096 && B * H * N * M <= 4096;
  if (sizes_ok && !small) return;
  static float one[1] = {0.25f};
  std::vector<float> x, ctx, wq, wk, out;
  if (small) {
    x.assign(B * N * D, 0.5f), ctx.assign(B * M * C, 0.5f), wq.assign(D * D, 0.1f), wk.assign(C * D, 0.1f), out.assign(B * N * D, 0.0f);
    a.x = x.data(), a.context = cross ? ctx.data() : nullptr, a.w_q = a.w_o = wq.data(), a.w_k = a.w_v = wk.data(), a.output = out.data();
  } else {
    a.x = a.w_q = a.w_k = a.w_v = a.w_o = a.output = one;
    a.context = cross ? one : nullptr;
  }
  static Scratch scratch;
  const Status s = multi_head_attention(a, scalar_kernels(), scratch);
  if (!sizes_ok) QKV_FUZZ_EXPECT(s.code == Code::out_of_memory, "multi-head sizes past 2^30 floats accepted: %d (%s)", int(s.code), s.message.c_str());
  else QKV_FUZZ_EXPECT(s.ok() || s.code == Code::out_of_memory, "a small multi-head attention failed: %s", s.message.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: model_case(in); break;
    case 1: attention_case(in); break;
    default: multi_head_case(in); break;
  }
  return 0;
}
