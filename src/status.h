// The core reports failures as values; the bindings turn them into JavaScript errors (after manifold).
#pragma once

#include <string>
#include <utility>

namespace qkv {

enum class Code : int { ok = 0, invalid_argument = 1, out_of_range = 2, out_of_memory = 3, non_finite = 4 };

struct Status {
  Code code = Code::ok;
  std::string message;  // names the argument, what was expected and what was received
  bool ok() const { return code == Code::ok; }
  static Status Ok() { return {}; }
  static Status Error(Code c, std::string m) { return {c, std::move(m)}; }
};

}  // namespace qkv
