// Google Benchmark for the core, natively (SSE2 through simd.h): the ceiling the wasm build is
// compared with, and the place to profile (perf record ./build/native/qkv_bench). Not part of the
// tests. FLOPs are counted as 4·n²·d per head, as in the issue and bench/bench.mjs.
#include <benchmark/benchmark.h>

#include <random>
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

// Args: n, heads, causal, weights (materialised path), vector (1) or scalar (0) kernels.
void BM_Attention(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0)), heads = static_cast<int>(state.range(1)), d = 64;
  const bool causal = state.range(2) != 0, weights = state.range(3) != 0;
  const qkv::Kernels& kn = state.range(4) ? qkv::best_kernels() : qkv::scalar_kernels();
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
    qkv::Status s = qkv::attention(a, kn, scratch);
    if (!s.ok()) state.SkipWithError(s.message.c_str());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double flops = 4.0 * n * n * d * heads;
  state.counters["GFLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int heads : {1, 12})
    for (int n : {8, 16, 32, 128, 512, 2048}) b->Args({n, heads, 0, 0, 1});
  b->Args({512, 12, 1, 0, 1});   // causal
  b->Args({512, 1, 0, 1, 1});    // with weights
  b->Args({128, 1, 0, 0, 0});    // scalar twins
}
BENCHMARK(BM_Attention)->Apply(Sizes)->ArgNames({"n", "h", "causal", "weights", "simd"});

// The Q·Kᵀ micro-kernel alone on an L1-resident 32×64 tile, d = 64.
void BM_GemmNtPacked(benchmark::State& state) {
  const size_t m = 32, n = 64, k = 64;
  auto a = random_vector(m * k, 4), b = random_vector(n * k, 5);
  std::vector<float> packed(qkv::packed_panels_size(n, k)), c(m * n);
  qkv::pack_panels(n, k, b.data(), k, packed.data());
  const qkv::Kernels& kn = qkv::best_kernels();
  for (auto _ : state) {
    kn.gemm_nt_packed(m, n, k, 1.0f, a.data(), k, packed.data(), c.data(), n);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_GemmNtPacked);

}  // namespace

BENCHMARK_MAIN();
