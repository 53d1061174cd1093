// The numeric kernels attention is built from. Every optimised kernel has a scalar twin with the same
// signature (after XNNPACK); tests check each against a float64 reference, including every tail size.
// Matrices are row-major with an explicit row stride ("ld", in floats). Kernels never read or write
// past the rows and columns they are given: buffers from JavaScript are not padded.
#pragma once

#include <cstddef>
#include <vector>

namespace qkv {

// C[i][j] = alpha * sum_p A[i][p] * B[j][p]        A: m×k, B: n×k, C: m×n   (Q·Kᵀ)
using GemmNtFn = void (*)(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                          const float* b, size_t ldb, float* c, size_t ldc);
// C[i][j] = sum_p A[i][p] * B[p][j] + bias[j]       A: m×k, B: k×n, C: m×n   (weights·V, X·W + b)
// bias may be null.
using GemmNnFn = void (*)(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                          size_t ldb, const float* bias, float* c, size_t ldc);
// In place: x[j] = exp(x[j] - max) / sum. -inf and NaN entries (masked keys; NaN is only ever a
// logit whose q·k overflowed float32 with terms of both signs) become exactly 0; a row with no other
// entry becomes all zeros (it attends to nothing). A row holding +inf (q·k·scale overflowed float32)
// shares the weight equally among its +inf entries: the limit of softmax as those logits grow.
using SoftmaxRowFn = void (*)(size_t n, float* x);
// y[i] = exp(x[i]) for x[i] <= 0 (softmax's range); exactly 0 for x[i] below about -87.68 (results
// under 2^-126.5), and for -inf and NaN.
using ExpFn = void (*)(size_t n, const float* x, float* y);

// Keys per packed panel. pack_panels lays rows of B (n×k) out as panels of kPanel rows, transposed:
// panel t holds B[t·kPanel + c][p] at packed[(t·k + p)·kPanel + c], and the last panel's missing rows
// are zeros. Q·Kᵀ over the panels is then a broadcast of one query element times kPanel keys.
constexpr size_t kPanel = 8;
inline size_t packed_panels_size(size_t n, size_t k) { return (n + kPanel - 1) / kPanel * kPanel * k; }
void pack_panels(size_t n, size_t k, const float* b, size_t ldb, float* packed);

// C[i][j] = alpha * sum_p A[i][p] * B[j][p] with B packed by pack_panels; packed_b starts at a panel.
using GemmNtPackedFn = void (*)(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                                const float* packed_b, float* c, size_t ldc);
// C[i][j] = row_scale[i] * C[i][j] + sum_p A[i][p] * B[p][j]: the output update of online softmax.
using GemmNnAccFn = void (*)(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                             size_t ldb, const float* row_scale, float* c, size_t ldc);
// One step of online softmax (the flash-attention recurrence) over a rows×cols tile of logits x, for
// each row r with running max m[r] and running sum l[r] (start: -inf and 0):
//   m' = max(m[r], max_j x[r][j]);  x[r][j] = exp(x[r][j] - m');  scale[r] = exp(m[r] - m');
//   l[r] = l[r] * scale[r] + sum_j x[r][j];  m[r] = m'.
// While a row has seen only -inf (every key masked so far) its x become 0 and its scale 1. NaN and
// +inf logits are treated as by SoftmaxRowFn: NaN as masked; once a row has seen +inf, m' = +inf,
// x[r][j] = 1 for its +inf entries and 0 for the others, and scale[r] = 1 if m[r] was +inf, else 0.
using SoftmaxOnlineFn = void (*)(size_t rows, size_t cols, float* x, size_t ldx, float* m, float* l,
                                 float* scale);
// The first index i where x[i] is NaN or ±inf, or n when all are finite.
using FirstNonFiniteFn = size_t (*)(size_t n, const float* x);
// pack_panels as a kernel; the function pack_panels above is its scalar twin.
using PackPanelsFn = void (*)(size_t n, size_t k, const float* b, size_t ldb, float* packed);
// Q·Kᵀ over packed panels and one online-softmax step, fused (the unmasked key tiles of the online
// path): x[r][j] = alpha * sum_p A[r][p] * B[j][p] for r < rows, j < cols — the same float32 logits
// gemm_nt_packed gives — then softmax_online on x. The row maxima are taken while the products are
// still in registers, so the tile of logits is read once, by the exponential.
using GemmNtSoftmaxOnlineFn = void (*)(size_t rows, size_t cols, size_t k, float alpha, const float* a, size_t lda,
                                       const float* packed_b, float* x, size_t ldx, float* m, float* l,
                                       float* scale);

struct Kernels {
  const char* name;
  // The register tile of the products: mr rows × nr columns (keys of Q·Kᵀ, columns of weights·V);
  // tests generate their tails from these. 1 × 1 for the scalar twins.
  int mr, nr;
  GemmNtFn gemm_nt;
  GemmNnFn gemm_nn;
  SoftmaxRowFn softmax_row;
  ExpFn exp_nonpositive;
  GemmNtPackedFn gemm_nt_packed;
  GemmNnAccFn gemm_nn_acc;
  SoftmaxOnlineFn softmax_online;
  FirstNonFiniteFn first_non_finite;
  PackPanelsFn pack_panels;
  GemmNtSoftmaxOnlineFn gemm_nt_softmax_online;
};

const Kernels& scalar_kernels();
// The vector kernels (wasm SIMD128 or relaxed SIMD in the browser, SSE2 natively); null when built
// without them.
const Kernels* simd_kernels();
// The same kernels with 256-bit vectors and fused multiply-add (native x86 builds only; hot paths
// overridden, the rest copied from simd_kernels()); null when not compiled in or when this CPU lacks
// AVX2 or FMA.
const Kernels* avx2_kernels();
// The fastest set this build and CPU have: AVX2+FMA, else the vector kernels, else the scalar ones.
// Natively the environment variable QKV_KERNELS=scalar|sse2|avx2 (read once, at the first call)
// forces a set, for profiling and comparing; a set that is not available falls back to the default.
const Kernels& best_kernels();
// Every tile shape the vector sets are built with, the one simd_kernels() / avx2_kernels() returns
// first: more only where QKV_TILE_SHAPES is defined (native tests and benchmarks, the bench's wasm
// kernel module), for testing each shape and comparing them; the package's wasm has its one shape.
// Empty where the set itself is absent.
std::vector<const Kernels*> simd_kernel_shapes();
std::vector<const Kernels*> avx2_kernel_shapes();

// The softmax of a row whose max is not finite (SoftmaxRowFn: all -inf or NaN: zeros; +inf: shared
// by the +inf entries), and the online step of a row whose new max m' is +inf (SoftmaxOnlineFn):
// the rare paths of every kernel set, written once.
void softmax_row_without_finite_max(size_t n, float* x);
void softmax_online_infinite_max(size_t cols, float* row, float& m, float& l, float& scale);

// Scalar twins, named for what they are.
void qkv_f32_gemm_nt__scalar(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                             const float* b, size_t ldb, float* c, size_t ldc);
void qkv_f32_gemm_nn__scalar(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                             size_t ldb, const float* bias, float* c, size_t ldc);
void qkv_f32_softmax_row__scalar(size_t n, float* x);
void qkv_f32_exp_nonpositive__scalar(size_t n, const float* x, float* y);
void qkv_f32_gemm_nt_packed__scalar(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                                    const float* packed_b, float* c, size_t ldc);
void qkv_f32_gemm_nn_acc__scalar(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                                 size_t ldb, const float* row_scale, float* c, size_t ldc);
void qkv_f32_softmax_online__scalar(size_t rows, size_t cols, float* x, size_t ldx, float* m, float* l,
                                    float* scale);
size_t qkv_f32_first_non_finite__scalar(size_t n, const float* x);
void qkv_f32_gemm_nt_softmax_online__scalar(size_t rows, size_t cols, size_t k, float alpha, const float* a,
                                            size_t lda, const float* packed_b, float* x, size_t ldx, float* m,
                                            float* l, float* scale);

}  // namespace qkv
