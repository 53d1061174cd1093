// embind registrations only; conversions live in convert.cpp, names and defaults in index.js.
#include <emscripten/bind.h>

#include <string>

#include "attention.h"
#include "convert.h"

namespace {

qkv::Scratch g_scratch;
std::string g_last_error;

const qkv::Kernels& kernels() { return qkv::best_kernels(); }

// Each returns a qkv::Code; on failure lastError() says what was wrong.
int finish(const qkv::Status& s) {
  g_last_error = s.message;
  return static_cast<int>(s.code);
}

int run_attention(uintptr_t frame) {
  return finish(qkv::attention(qkv::frames::to_attention_args(reinterpret_cast<const qkv::frames::Word*>(frame)),
                               kernels(), g_scratch));
}

int run_mha(uintptr_t frame) {
  return finish(qkv::multi_head_attention(qkv::frames::to_mha_args(reinterpret_cast<const qkv::frames::Word*>(frame)),
                                          kernels(), g_scratch));
}

std::string last_error() { return g_last_error; }
std::string kernel_name() { return kernels().name; }
void release_scratch() { g_scratch.release(); }
size_t scratch_bytes() { return g_scratch.capacity() * sizeof(float); }

}  // namespace

EMSCRIPTEN_BINDINGS(qkv_attention) {
  emscripten::function("runAttention", &run_attention);
  emscripten::function("runMultiHeadAttention", &run_mha);
  emscripten::function("lastError", &last_error);
  emscripten::function("kernelName", &kernel_name);
  emscripten::function("releaseScratch", &release_scratch);
  emscripten::function("scratchBytes", &scratch_bytes);
  emscripten::function("attentionFrameLayout", &qkv::frames::attention_layout);
  emscripten::function("mhaFrameLayout", &qkv::frames::mha_layout);
}
