// The module's entry points. Every call JavaScript makes with arguments goes through one kind of
// function: a plain wasm export that takes a call frame's address and returns a qkv::Code (lib/call.js
// is the other side). embind is left for what returns text: the frame layouts, the last error's
// message, the kernel set's name and the model's tensor layout. Conversions live in convert.cpp.
#include <emscripten/bind.h>
#include <emscripten/em_macros.h>

#include <string>
#include <vector>

#include "attention.h"
#include "convert.h"
#include "model.h"

namespace {

qkv::Scratch g_scratch;
qkv::Scratch g_model_scratch;
std::string g_last_error;

const qkv::Kernels& kernels() { return qkv::best_kernels(); }

// Each returns a qkv::Code; on failure lastError() says what was wrong.
int finish(const qkv::Status& s) {
  if (s.ok()) g_last_error.clear();
  else g_last_error = s.message;
  return static_cast<int>(s.code);
}

const qkv::frames::Word* frame_at(uintptr_t frame) { return reinterpret_cast<const qkv::frames::Word*>(frame); }

int run_attention(uintptr_t frame) {
  return finish(qkv::attention(qkv::frames::to_attention_args(frame_at(frame)), kernels(), g_scratch));
}

int run_mha(uintptr_t frame) {
  return finish(qkv::multi_head_attention(qkv::frames::to_mha_args(frame_at(frame)), kernels(), g_scratch));
}

int run_model(uintptr_t frame) {
  return finish(qkv::model_forward(qkv::frames::to_model_args(frame_at(frame)), kernels(), g_model_scratch, g_scratch));
}

int check_model(uintptr_t frame) {
  const qkv::ModelRunArgs a = qkv::frames::to_model_args(frame_at(frame));
  return finish(qkv::check_model_weights(a.cfg, a.weights, a.weight_count));
}

// The packed parameters for the frame's config as JSON, [["name", [rows, cols]], …], in order; ""
// when the config is refused (lastError() says why). Names are plain ASCII: no escaping needed.
std::string model_tensor_layout(uintptr_t frame) {
  std::vector<qkv::ModelTensor> layout;
  const qkv::Status s = qkv::model_tensor_layout(qkv::frames::to_model_args(frame_at(frame)).cfg, &layout);
  finish(s);
  if (!s.ok()) return "";
  std::string out = "[";
  for (const auto& t : layout) {
    out += (out.size() > 1 ? ",[\"" : "[\"") + t.name + "\",[";
    for (size_t i = 0; i < t.shape.size(); ++i) out += (i ? "," : "") + std::to_string(t.shape[i]);
    out += "]]";
  }
  return out + "]";
}

std::string last_error() { return g_last_error; }
std::string kernel_name() { return kernels().name; }
void release_scratch() {
  g_scratch.release();
  g_model_scratch.release();
}
}  // namespace

// Plain wasm exports, called directly from JavaScript without embind's generic invoker (measured at
// about a microsecond per call with -sDYNAMIC_EXECUTION=0).
extern "C" {
EMSCRIPTEN_KEEPALIVE int qkv_run_attention(uintptr_t frame) { return run_attention(frame); }
EMSCRIPTEN_KEEPALIVE int qkv_run_mha(uintptr_t frame) { return run_mha(frame); }
EMSCRIPTEN_KEEPALIVE int qkv_run_model(uintptr_t frame) { return run_model(frame); }
EMSCRIPTEN_KEEPALIVE int qkv_check_model(uintptr_t frame) { return check_model(frame); }
}

EMSCRIPTEN_BINDINGS(qkv_attention) {
  emscripten::function("lastError", &last_error);
  emscripten::function("kernelName", &kernel_name);
  emscripten::function("releaseScratch", &release_scratch);
  emscripten::function("attentionFrameLayout", &qkv::frames::attention_layout);
  emscripten::function("mhaFrameLayout", &qkv::frames::mha_layout);
  emscripten::function("modelFrameLayout", &qkv::frames::model_layout);
  emscripten::function("modelTensorLayout", &model_tensor_layout);
}
