// Element counts that cannot wrap. In wasm32 size_t has 32 bits: 4097 × 2^20 floats is 2^32 + 2^20,
// which wraps to 2^20, and a buffer sized that way is then written far past its end. Every product
// or sum that sizes a tensor, a buffer or an offset range goes through CheckedSize; an overflow
// sticks to the result, so a whole expression is checked once, where its value is used.
//
// Templated on the size type so that tests can run the same arithmetic with 32-bit semantics on a
// 64-bit machine (CheckedSize<uint32_t>); the core uses Size (size_t), and the 32-bit fuzz build
// (-m32) and the wasm builds run it with a 32-bit size_t.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace qkv {

template <typename S>
class CheckedSize {
  static_assert(std::is_unsigned<S>::value, "a size type is unsigned");

 public:
  constexpr CheckedSize() = default;
  // Any integer: a negative one (a dimension read from a file or a frame) or one past S's range is
  // an overflow, not a huge or wrapped size.
  template <typename I, typename = std::enable_if_t<std::is_integral<I>::value>>
  constexpr CheckedSize(I v) {  // NOLINT: implicit, so that dimensions read as numbers
    if constexpr (std::is_signed<I>::value) {
      if (v < 0) {
        overflow_ = true;
        return;
      }
    }
    if (static_cast<unsigned long long>(v) > std::numeric_limits<S>::max()) overflow_ = true;
    else value_ = static_cast<S>(v);
  }

  constexpr bool ok() const { return !overflow_; }
  // The count; meaningful only when ok().
  constexpr S value() const { return value_; }

  friend constexpr CheckedSize operator*(CheckedSize a, CheckedSize b) {
    CheckedSize r;
    r.overflow_ = a.overflow_ || b.overflow_ || __builtin_mul_overflow(a.value_, b.value_, &r.value_);
    return r;
  }
  friend constexpr CheckedSize operator+(CheckedSize a, CheckedSize b) {
    CheckedSize r;
    r.overflow_ = a.overflow_ || b.overflow_ || __builtin_add_overflow(a.value_, b.value_, &r.value_);
    return r;
  }
  CheckedSize& operator*=(CheckedSize b) { return *this = *this * b; }
  CheckedSize& operator+=(CheckedSize b) { return *this = *this + b; }

 private:
  S value_ = 0;
  bool overflow_ = false;
};

using Size = CheckedSize<size_t>;

// The product of dimensions, checked: product(batch, heads, n_q, dim).
template <typename S = size_t, typename... I>
constexpr CheckedSize<S> product(I... dims) {
  CheckedSize<S> r = 1;
  ((r *= CheckedSize<S>(dims)), ...);
  return r;
}

// n rounded up to a multiple of m (m > 0), checked.
template <typename S>
constexpr CheckedSize<S> round_up(CheckedSize<S> n, S m) {
  const CheckedSize<S> r = n + CheckedSize<S>(m - 1);
  return r.ok() ? CheckedSize<S>(r.value() / m * m) : r;
}

// True when n floats fit in memory addressed by S, bytes included (n · 4 must not wrap either).
template <typename S>
constexpr bool fits_floats(CheckedSize<S> n) {
  return n.ok() && n.value() <= std::numeric_limits<S>::max() / sizeof(float);
}

}  // namespace qkv
