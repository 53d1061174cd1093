// Google Benchmark for the core, natively: the ceiling the wasm build is compared with, and the place
// to profile (perf record ./build/native/qkv_bench). Not part of the tests. Every case runs on each
// kernel set this build and CPU have — scalar twins, SSE2 (simd.h) and AVX2 + FMA — so that they are
// compared in one run, next to each ISA's single-core peak. FLOPs are counted as 4·n²·d per head, as
// in the issue and bench/bench.mjs.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "attention.h"

namespace {

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// The `isa` argument: 0 scalar twins, 1 SSE2, 2 AVX2 + FMA; null when this build or CPU lacks it.
const qkv::Kernels* kernel_set(int64_t isa) {
  if (isa == 0) return &qkv::scalar_kernels();
  return isa == 1 ? qkv::simd_kernels() : qkv::avx2_kernels();
}

void GflopsCounter(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// Args: n, heads, causal, weights (materialised path; else output only, the online path), isa.
void BM_Attention(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0)), heads = static_cast<int>(state.range(1)), d = 64;
  const bool causal = state.range(2) != 0, weights = state.range(3) != 0;
  const qkv::Kernels* kn = kernel_set(state.range(4));
  if (!kn) {
    state.SkipWithError("kernel set not available on this build or CPU");
    return;
  }
  state.SetLabel(kn->name);
  const size_t elems = size_t(heads) * n * d;
  auto q = random_vector(elems, 1), k = random_vector(elems, 2), v = random_vector(elems, 3);
  std::vector<float> out(elems), w(weights ? size_t(heads) * n * n : 0);
  qkv::Scratch scratch;
  qkv::AttentionArgs a;
  a.heads = heads, a.n_q = n, a.n_k = n, a.dim = d, a.value_dim = d;
  a.q = q.data(), a.k = k.data(), a.v = v.data(), a.output = out.data();
  a.weights = weights ? w.data() : nullptr;
  a.mask.causal = causal;
  for (auto _ : state) {
    qkv::Status s = qkv::attention(a, *kn, scratch);
    if (!s.ok()) state.SkipWithError(s.message.c_str());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  GflopsCounter(state, 4.0 * n * n * d * heads);
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int isa : {0, 1, 2})
    for (int weights : {0, 1})
      for (int heads : {1, 12})
        for (int n : {128, 512, 2048}) b->Args({n, heads, 0, weights, isa});
  for (int isa : {1, 2}) {
    for (int n : {8, 16, 32}) b->Args({n, 1, 0, 0, isa});  // where the call, not the arithmetic, costs
    b->Args({512, 12, 1, 0, isa});                        // causal
  }
}
BENCHMARK(BM_Attention)->Apply(Sizes)->ArgNames({"n", "h", "causal", "weights", "isa"})->Unit(benchmark::kMillisecond);

// The two products of one online-attention tile alone, in cache: 32 queries × 128 keys, d = 64 —
// Q·Kᵀ over packed K (gemm_nt_packed), then weights·V (gemm_nn_acc). Arg: isa.
void BM_TileQK(benchmark::State& state) {
  const qkv::Kernels* kn = kernel_set(state.range(0));
  if (!kn) return state.SkipWithError("kernel set not available");
  state.SetLabel(kn->name);
  const size_t m = 32, n = 128, k = 64;
  auto a = random_vector(m * k, 4), b = random_vector(n * k, 5);
  std::vector<float> packed(qkv::packed_panels_size(n, k)), c(m * n);
  qkv::pack_panels(n, k, b.data(), k, packed.data());
  for (auto _ : state) {
    kn->gemm_nt_packed(m, n, k, 1.0f, a.data(), k, packed.data(), c.data(), n);
    benchmark::ClobberMemory();
  }
  GflopsCounter(state, 2.0 * m * n * k);
}
BENCHMARK(BM_TileQK)->DenseRange(1, 2)->ArgName("isa");

// Q·Kᵀ of one unmasked online tile with its softmax step, in cache (32 × 128, d = 64): the fused
// kernel (gemm_nt_softmax_online, fused = 1) against the two kernels it fuses (gemm_nt_packed, then
// softmax_online). Args: isa, fused. FLOPs: the product's alone, so rates compare as times.
void BM_TileQKSoftmax(benchmark::State& state) {
  const qkv::Kernels* kn = kernel_set(state.range(0));
  if (!kn) return state.SkipWithError("kernel set not available");
  const bool fused = state.range(1) != 0;
  state.SetLabel(std::string(kn->name) + (fused ? " fused" : " composed"));
  const size_t m = 32, n = 128, k = 64;
  auto a = random_vector(m * k, 4), b = random_vector(n * k, 5);
  std::vector<float> packed(qkv::packed_panels_size(n, k)), x(m * n), mx(m), l(m), scale(m);
  qkv::pack_panels(n, k, b.data(), k, packed.data());
  const float alpha = 0.125f;
  for (auto _ : state) {
    std::fill(mx.begin(), mx.end(), -1e30f), std::fill(l.begin(), l.end(), 0.0f);
    if (fused) {
      kn->gemm_nt_softmax_online(m, n, k, alpha, a.data(), k, packed.data(), x.data(), n, mx.data(), l.data(),
                                 scale.data());
    } else {
      kn->gemm_nt_packed(m, n, k, alpha, a.data(), k, packed.data(), x.data(), n);
      kn->softmax_online(m, n, x.data(), n, mx.data(), l.data(), scale.data());
    }
    benchmark::ClobberMemory();
  }
  GflopsCounter(state, 2.0 * m * n * k);
}
BENCHMARK(BM_TileQKSoftmax)->ArgsProduct({{1, 2}, {0, 1}})->ArgNames({"isa", "fused"});

void BM_TilePV(benchmark::State& state) {
  const qkv::Kernels* kn = kernel_set(state.range(0));
  if (!kn) return state.SkipWithError("kernel set not available");
  state.SetLabel(kn->name);
  const size_t m = 32, n = 64, k = 128;
  auto p = random_vector(m * k, 6), v = random_vector(k * n, 7), c = random_vector(m * n, 8);
  std::vector<float> scale(m, 1.0f);
  for (auto _ : state) {
    kn->gemm_nn_acc(m, n, k, p.data(), k, v.data(), n, scale.data(), c.data(), n);
    benchmark::ClobberMemory();
  }
  GflopsCounter(state, 2.0 * m * n * k);
}
BENCHMARK(BM_TilePV)->DenseRange(1, 2)->ArgName("isa");

// Single-core peaks: kChains independent dependency chains, long enough to cover the latency of
// their operation at two issues per cycle, with nothing else in the loop. SSE2 has no fused
// multiply-add, so its kernels use mul + add (as wasm SIMD does): its peak is x = x·m + c on 4 lanes.
// The AVX2 kernels use FMA: x = fma(x, m, c) on 8 lanes. m and c keep x bounded (it converges to
// c / (1 - m), never denormal), and the compiler may not fuse or reassociate without -ffast-math.
constexpr int kChains = 12;

__attribute__((noipa)) float sse2_mul_add_chains(int64_t iterations) {
  __m128 x[kChains];
  for (int i = 0; i < kChains; ++i) x[i] = _mm_set1_ps(float(i));
  const __m128 m = _mm_set1_ps(0.999f), c = _mm_set1_ps(0.001f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) x[i] = _mm_add_ps(_mm_mul_ps(x[i], m), c);
  __m128 s = x[0];
  for (int i = 1; i < kChains; ++i) s = _mm_add_ps(s, x[i]);
  return _mm_cvtss_f32(s);
}

__attribute__((noipa, target("avx2,fma"))) float avx2_fma_chains(int64_t iterations) {
  __m256 x[kChains];
  for (int i = 0; i < kChains; ++i) x[i] = _mm256_set1_ps(float(i));
  const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) x[i] = _mm256_fmadd_ps(x[i], m, c);
  __m256 s = x[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, x[i]);
  return _mm_cvtss_f32(_mm256_castps256_ps128(s));
}

// chains(iterations) does iterations × kChains vector operations of `lanes` lanes, 2 FLOPs each.
void RunPeak(benchmark::State& state, float (*chains)(int64_t), int lanes, const char* label) {
  int64_t iterations = 1 << 16;
  benchmark::DoNotOptimize(iterations);
  state.SetLabel(label);
  for (auto _ : state) benchmark::DoNotOptimize(chains(iterations));
  GflopsCounter(state, double(iterations) * kChains * lanes * 2);
}

void BM_PeakSse2MulAdd(benchmark::State& state) { RunPeak(state, sse2_mul_add_chains, 4, "sse2"); }
BENCHMARK(BM_PeakSse2MulAdd);

void BM_PeakAvx2Fma(benchmark::State& state) {
  if (!qkv::avx2_kernels()) return state.SkipWithError("no AVX2 + FMA");
  RunPeak(state, avx2_fma_chains, 8, "avx2-fma");
}
BENCHMARK(BM_PeakAvx2Fma);

}  // namespace

BENCHMARK_MAIN();
