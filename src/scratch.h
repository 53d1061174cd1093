// A grow-only float buffer reused across calls, so steady-state calls allocate nothing. Growth uses
// malloc, never operator new: running out of memory is a status the caller can report, not an abort.
#pragma once

#include <cstddef>
#include <cstdlib>

namespace qkv {

class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(data_); }

  // At least n floats, or null when memory cannot be had (the old buffer is kept then).
  float* get(size_t n) {
    if (n <= capacity_) return data_;
    if (n > static_cast<size_t>(-1) / sizeof(float)) return nullptr;
    void* p = std::malloc(n * sizeof(float));
    if (!p) return nullptr;
    std::free(data_);
    data_ = static_cast<float*>(p);
    capacity_ = n;
    return data_;
  }
  void release() {
    std::free(data_);
    data_ = nullptr;
    capacity_ = 0;
  }
  size_t capacity() const { return capacity_; }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace qkv
