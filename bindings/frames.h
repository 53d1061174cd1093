// Call frames: JavaScript fills a small block of 32-bit words in wasm memory and calls one function
// with its address (a plain wasm export, bindings.cpp). One integer per call keeps the per-call
// overhead to a few hundred nanoseconds, where passing two dozen arguments or an object through
// embind costs microseconds. The field lists below are the single source of truth: the JS side reads
// them at load time (attentionFrameLayout() and the others; lib/call.js), so the two cannot drift.
#pragma once

#include <cstdint>

// X(type, name): i32, f32, or ptr (a wasm32 address; 0 = absent).
#define QKV_ATTENTION_FRAME(X)                                                                  \
  X(i32, batch) X(i32, heads) X(i32, queries) X(i32, keys) X(i32, dim) X(i32, valueDim)         \
  X(ptr, q) X(ptr, k) X(ptr, v) X(i32, scoring) X(f32, scale) X(f32, temperature)               \
  X(i32, causal) X(ptr, keyLengths) X(ptr, mask) X(i32, maskBatch) X(i32, maskHeads)            \
  X(ptr, additiveMask) X(i32, additiveMaskBatch) X(i32, additiveMaskHeads)                      \
  X(ptr, wq) X(ptr, wk) X(ptr, va) X(i32, additiveDim)                                          \
  X(ptr, output) X(ptr, weights) X(ptr, scores) X(ptr, logits)

#define QKV_MHA_FRAME(X)                                                                        \
  X(i32, batch) X(i32, n) X(i32, m) X(i32, dModel) X(i32, dContext) X(i32, heads)               \
  X(ptr, x) X(ptr, context) X(ptr, wq) X(ptr, wk) X(ptr, wv) X(ptr, wo)                         \
  X(ptr, bq) X(ptr, bk) X(ptr, bv) X(ptr, bo) X(i32, scoring) X(f32, scale) X(f32, temperature) \
  X(i32, causal) X(ptr, keyLengths) X(ptr, mask) X(i32, maskBatch) X(i32, maskHeads)            \
  X(ptr, additiveMask) X(i32, additiveMaskBatch) X(i32, additiveMaskHeads)                      \
  X(ptr, output) X(ptr, q) X(ptr, k) X(ptr, v) X(ptr, scores) X(ptr, logits) X(ptr, weights)    \
  X(ptr, headOutputs) X(ptr, concat)

// The trained model: its config, its packed parameters, the token ids, and what to write back.
#define QKV_MODEL_FRAME(X)                                                                      \
  X(i32, vocabSize) X(i32, dModel) X(i32, layers) X(i32, heads) X(i32, dFF) X(i32, maxPositions) \
  X(f32, normEps) X(i32, smearLayers) X(ptr, params) X(i32, paramCount) X(ptr, ids) X(i32, n)   \
  X(ptr, q) X(ptr, k) X(ptr, v) X(ptr, scores) X(ptr, logits) X(ptr, weights)                   \
  X(ptr, nextLogits) X(i32, logitRows)

namespace qkv::frames {

union Word {
  int32_t i32;
  float f32;
  uint32_t ptr;
};

#define QKV_FIELD_INDEX(type, name) name,
enum class AttentionField : int { QKV_ATTENTION_FRAME(QKV_FIELD_INDEX) count };
enum class MhaField : int { QKV_MHA_FRAME(QKV_FIELD_INDEX) count };
enum class ModelField : int { QKV_MODEL_FRAME(QKV_FIELD_INDEX) count };
#undef QKV_FIELD_INDEX

}  // namespace qkv::frames
