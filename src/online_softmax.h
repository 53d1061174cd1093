// The online-softmax step written once for both vector widths: kernels_simd.cpp (4 lanes: wasm
// SIMD128 or SSE2) and kernels_avx2.cpp (8 lanes, AVX2 + FMA) include it after declaring, in
// namespace qkv, their vector type as `vec` and its operations (load, store, splat, zero, add, sub,
// mul, madd, max, max_nan_low, hmax, low_bits_to_exponent, load_first, store_first, and row_sums: the
// lane sums of kLanes vectors into kLanes floats). Everything here has internal linkage: the two
// files are compiled for different instruction sets, and an inline function with external linkage
// defined in both could reach the SSE2 file as its AVX2 copy.
#pragma once

#include <cstddef>
#include <limits>
#include <type_traits>

namespace qkv {

// The exponentials' constants (kernels_simd.cpp, which says why they are data): magic, ln2_hi,
// ln2_lo, log2e, c5 … c1 of exp, c5 … c1 of 2^x.
extern float qkv_exp_constants[14];

namespace {

constexpr size_t kLanes = sizeof(vec) / sizeof(float);

// s·(1 + t·p(t)) with p of degree 4 by Horner, p's coefficients from qkv_exp_constants[at…]: the
// part of exp and 2^x after their range reductions (2^n = s, t the reduced argument).
struct Poly5 {
  vec c5, c4, c3, c2, c1;
  explicit Poly5(int at)
      : c5(splat(qkv_exp_constants[at])), c4(splat(qkv_exp_constants[at + 1])),
        c3(splat(qkv_exp_constants[at + 2])), c2(splat(qkv_exp_constants[at + 3])),
        c1(splat(qkv_exp_constants[at + 4])) {}
  vec times_exp(vec s, vec t) const {
    vec p = madd(c5, t, c4);
    p = madd(p, t, c3);
    p = madd(p, t, c2);
    p = madd(p, t, c1);
    return madd(mul(t, s), p, s);
  }
};

// 2^x for x <= 0, for logits already multiplied by log2(e): adding 1.5·2^23 + 127 rounds x to an
// integer n and leaves n + 127 in the low mantissa bits, which become 2^n in the exponent field;
// t = x - n (exact, in [-1/2, 1/2]) goes through the polynomial of exp with t scaled by ln 2
// (coefficient i times ln2^i). The clamp at -127 gives exactly 0 from there (below 2^-126.5):
// -inf (a masked key) and NaN give 0. A clamp is one instruction where a compare-and-mask is a
// four-instruction select in V8.
struct Exp2 {
  vec magic, floor;
  Poly5 poly;
  Exp2() : magic(splat(qkv_exp_constants[0])), floor(splat(-127.0f)), poly(9) {}
  vec operator()(vec x) const {
    x = max_nan_low(floor, x);
    const vec n = add(x, magic);
    return poly.times_exp(low_bits_to_exponent(n), sub(x, sub(n, magic)));
  }
};

// x[j] = exp(x[j] - mx) for one row of an online-softmax tile, in place; returns the lane-wise
// partial sums. Four vectors per step: four independent polynomial chains in flight, and one add
// into the sum. The tail is filled with -inf, whose exp is 0.
template <typename ExpFn>
inline vec exp_store_sum(size_t cols, float* row, vec vmx, const ExpFn& exp_fn) {
  vec vsum = zero();
  size_t j = 0;
  for (; j + 4 * kLanes <= cols; j += 4 * kLanes) {
    const vec e0 = exp_fn(sub(load(row + j), vmx)), e1 = exp_fn(sub(load(row + j + kLanes), vmx));
    const vec e2 = exp_fn(sub(load(row + j + 2 * kLanes), vmx)), e3 = exp_fn(sub(load(row + j + 3 * kLanes), vmx));
    store(row + j, e0), store(row + j + kLanes, e1), store(row + j + 2 * kLanes, e2), store(row + j + 3 * kLanes, e3);
    vsum = add(vsum, add(add(e0, e1), add(e2, e3)));
  }
  for (; j + kLanes <= cols; j += kLanes) {
    const vec e = exp_fn(sub(load(row + j), vmx));
    store(row + j, e);
    vsum = add(vsum, e);
  }
  if (j < cols) {
    const vec e = exp_fn(sub(load_first(row + j, cols - j, -std::numeric_limits<float>::infinity()), vmx));
    store_first(row + j, e, cols - j);
    vsum = add(vsum, e);
  }
  return vsum;
}

// The online-softmax step of rows <= kLanes rows whose tile maxima (lane-wise) are tile_max[r]: new
// maxima, the rescale factors of all rows with one vector exponential, the exponentials of the tile,
// and the row sums with one row_sums. rows is a size_t or a std::integral_constant (a fixed block).
template <typename Rows, typename ExpFn>
inline void online_step_rows(Rows rows, size_t cols, float* x, size_t ldx, const vec* tile_max, float* m, float* l,
                             float* scale, const ExpFn& exp_fn) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const size_t n = rows;
  float mx[kLanes] = {}, diff[kLanes] = {}, sc[kLanes], sums[kLanes];
  vec vsum[kLanes];
  for (size_t r = 0; r < kLanes; ++r) vsum[r] = zero();
  for (size_t r = 0; r < n; ++r) {
    mx[r] = hmax(max(tile_max[r], splat(m[r])));
    diff[r] = mx[r] == kNegInf ? 0.0f : m[r] - mx[r];  // -inf - -inf would be NaN
  }
  store(sc, exp_fn(load(diff)));
  for (size_t r = 0; r < n; ++r) {
    float* row = x + r * ldx;
    if (mx[r] == kNegInf) {  // every key so far masked
      for (size_t j = 0; j < cols; ++j) row[j] = 0.0f;
      continue;
    }
    vsum[r] = exp_store_sum(cols, row, splat(mx[r]), exp_fn);
  }
  row_sums(vsum, sums);
  for (size_t r = 0; r < n; ++r) {
    if (mx[r] == kNegInf) {
      scale[r] = 1.0f;
      continue;
    }
    scale[r] = sc[r];
    l[r] = l[r] * sc[r] + sums[r];
    m[r] = mx[r];
  }
}

// The online-softmax step over a tile of logits: blocks of kLanes rows (the last one shorter), a max
// pass per row, then online_step_rows.
template <typename ExpFn>
inline void softmax_online_tile(size_t rows, size_t cols, float* x, size_t ldx, float* m, float* l, float* scale,
                                const ExpFn& exp_fn) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  auto block = [&](auto block_rows, size_t i) {
    vec tile_max[kLanes];
    for (size_t r = 0; r < size_t(block_rows); ++r) {
      const float* row = x + (i + r) * ldx;
      vec vmax = splat(kNegInf);
      size_t j = 0;
      for (; j + kLanes <= cols; j += kLanes) vmax = max(vmax, load(row + j));
      if (j < cols) vmax = max(vmax, load_first(row + j, cols - j, kNegInf));
      tile_max[r] = vmax;
    }
    online_step_rows(block_rows, cols, x + i * ldx, ldx, tile_max, m + i, l + i, scale + i, exp_fn);
  };
  size_t i = 0;
  for (; i + kLanes <= rows; i += kLanes) block(std::integral_constant<size_t, kLanes>{}, i);
  if (i < rows) block(rows - i, i);
}

}  // namespace
}  // namespace qkv
