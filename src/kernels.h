// The numeric kernels attention is built from. Every optimised kernel has a scalar twin with the same
// signature (after XNNPACK); tests check each against a float64 reference, including every tail size.
// Matrices are row-major with an explicit row stride ("ld", in floats). Kernels never read or write
// past the rows and columns they are given: buffers from JavaScript are not padded.
#pragma once

#include <cstddef>

namespace qkv {

// C[i][j] = alpha * sum_p A[i][p] * B[j][p]        A: m×k, B: n×k, C: m×n   (Q·Kᵀ)
using GemmNtFn = void (*)(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                          const float* b, size_t ldb, float* c, size_t ldc);
// C[i][j] = sum_p A[i][p] * B[p][j] + bias[j]       A: m×k, B: k×n, C: m×n   (weights·V, X·W + b)
// bias may be null.
using GemmNnFn = void (*)(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                          size_t ldb, const float* bias, float* c, size_t ldc);
// In place: x[j] = exp(x[j] - max) / sum. -inf entries (masked keys) become exactly 0; a row whose
// entries are all -inf becomes all zeros (it attends to nothing).
using SoftmaxRowFn = void (*)(size_t n, float* x);
// y[i] = exp(x[i]) for x[i] <= 0 (softmax's range); x[i] below about -87.3 gives 0.
using ExpFn = void (*)(size_t n, const float* x, float* y);

struct Kernels {
  const char* name;
  GemmNtFn gemm_nt;
  GemmNnFn gemm_nn;
  SoftmaxRowFn softmax_row;
  ExpFn exp_nonpositive;
};

const Kernels& scalar_kernels();
// The vector kernels (wasm SIMD128 in the browser, SSE2 natively); null when built without them.
const Kernels* simd_kernels();
// The vector kernels when there are any, else the scalar ones.
inline const Kernels& best_kernels() {
  const Kernels* k = simd_kernels();
  return k ? *k : scalar_kernels();
}

// Scalar twins, named for what they are.
void qkv_f32_gemm_nt__scalar(size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
                             const float* b, size_t ldb, float* c, size_t ldc);
void qkv_f32_gemm_nn__scalar(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                             size_t ldb, const float* bias, float* c, size_t ldc);
void qkv_f32_softmax_row__scalar(size_t n, float* x);
void qkv_f32_exp_nonpositive__scalar(size_t n, const float* x, float* y);

}  // namespace qkv
