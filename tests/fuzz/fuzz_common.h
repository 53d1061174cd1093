// Shared by the libFuzzer targets (tests/fuzz/*_fuzz.cpp, run by `npm run fuzz`): how a target reads
// numbers out of the fuzzer's bytes, and how it reports a finding (a message, then abort(), which
// libFuzzer records as a crash with the input that caused it).
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "attention.h"
#include "kernels.h"

namespace qkv::fuzz {

[[noreturn]] inline void fail(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::fputs("qkv fuzz finding: ", stderr);
  std::vfprintf(stderr, fmt, args);
  std::fputc('\n', stderr);
  va_end(args);
  std::abort();
}

#define QKV_FUZZ_EXPECT(cond, ...) \
  do {                             \
    if (!(cond)) ::qkv::fuzz::fail(__VA_ARGS__); \
  } while (0)

constexpr float kInf = std::numeric_limits<float>::infinity();

// Input values. `Sane` values are in [-range, range], where results are compared with float64
// references. `Extreme` adds float32's edges (±FLT_MAX, denormals, NaN, ±inf): there only safety and
// the status are checked (values at float32's edge are issue 12 item 3, the kernels' side).
enum class Values { sane, extreme };

inline float value(FuzzedDataProvider& in, Values mode, float range) {
  if (mode == Values::extreme) {
    switch (in.ConsumeIntegralInRange(0, 15)) {
      case 0: return std::numeric_limits<float>::quiet_NaN();
      case 1: return kInf;
      case 2: return -kInf;
      case 3: return std::numeric_limits<float>::max();
      case 4: return -std::numeric_limits<float>::max();
      case 5: return std::numeric_limits<float>::denorm_min();
      case 6: return 1e30f;
      default: break;
    }
  }
  return (in.ConsumeProbability<float>() * 2.0f - 1.0f) * range;
}

inline std::vector<float> values(FuzzedDataProvider& in, size_t n, Values mode, float range) {
  std::vector<float> v(n);
  // A few fuzzed values, then a cheap pattern: inputs stay small however large the shapes are.
  const size_t fuzzed = n < 64 ? n : 64;
  for (size_t i = 0; i < fuzzed; ++i) v[i] = value(in, mode, range);
  for (size_t i = fuzzed; i < n; ++i) v[i] = range * std::sin(float(i) * 0.7f + v[i % fuzzed]);
  return v;
}

// Additive-mask entries: ordinary, -inf (masked), large positive (exp overflows unless the maximum is
// subtracted), very negative; and NaN or +inf, which the core must refuse.
inline float mask_value(FuzzedDataProvider& in, bool allow_bad) {
  switch (in.ConsumeIntegralInRange(0, allow_bad ? 7 : 5)) {
    case 0: return -kInf;
    case 1: return 87.0f + 6.0f * in.ConsumeProbability<float>();
    case 2: return -1e30f;
    case 6: return std::numeric_limits<float>::quiet_NaN();
    case 7: return kInf;
    default: return (in.ConsumeProbability<float>() * 2.0f - 1.0f) * 3.0f;
  }
}

inline bool all_finite(const std::vector<float>& x) {
  for (float v : x)
    if (!std::isfinite(v)) return false;
  return true;
}

inline bool has_nan_or_pos_inf(const std::vector<float>& x) {
  for (float v : x)
    if (!(v < kInf)) return true;
  return false;
}

}  // namespace qkv::fuzz
