// A small causal (GPT-style, pre-LayerNorm) transformer run on the attention core, returning every
// layer's and head's Q, K, V, scores and weights for the page. Weight layout: models/FORMAT.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "attention.h"

namespace qkv {

struct ModelConfig {
  int vocab_size = 0, d_model = 0, n_layers = 0, n_heads = 0, d_ff = 0, max_positions = 0;
  float norm_eps = 1e-5f;
  // Bit i set: layer i smears its keys (MhaArgs::key_smear), with tensor layers.{i}.attn.smear
  // [n_heads] holding each head's mixing weight as a logit (the weight is its sigmoid). Layers 0…31.
  uint32_t smear_layers = 0;
};

struct ModelTensor {
  std::string name;        // "tok_emb", "layers.{i}.attn.wq", … as in the weights file
  std::vector<int> shape;  // from the config's dimensions, as the weights file records it
  size_t count = 0;        // the product of shape
};

// The tensors of a model in the order they are packed into one float32 block. This is where the
// core multiplies a model's dimensions, and every product and the total are checked here: a config
// whose tensors do not fit the address space (d_model 4097 × d_ff 2^20 in wasm32) is an error, not a
// wrapped count. `layout` (may be null: sizes only) receives the tensors, `total` their sum.
Status model_tensor_layout(const ModelConfig& cfg, std::vector<ModelTensor>* layout, size_t* total = nullptr);

// Each dimension in [1, kMaxModelDim], n_heads divides d_model, norm_eps finite and > 0.
constexpr int kMaxModelDim = 1 << 20;
Status check_model_config(const ModelConfig& cfg);
// Checks the packed weights: their count and that every value is finite. Once, at load.
Status check_model_weights(const ModelConfig& cfg, const float* weights, size_t count);

struct ModelRunArgs {
  ModelConfig cfg;
  const float* weights = nullptr;  // packed as model_tensor_layout() says
  size_t weight_count = 0;
  const int32_t* ids = nullptr;    // token ids, the first normally <bos>
  int n = 0;                       // 1 … max_positions
  // Per layer and head, each written only when given: q, k, v [layers][heads][n][d_head];
  // scores (raw Q·K), logits (scaled, causal-masked), weights [layers][heads][n][n].
  float *q = nullptr, *k = nullptr, *v = nullptr, *scores = nullptr, *logits = nullptr, *attn_weights = nullptr;
  // Next-token logits of the last `logit_rows` positions: [logit_rows][vocab_size].
  float* out_logits = nullptr;
  int logit_rows = 0;
};

Status model_forward(const ModelRunArgs& args, const Kernels& kernels, Scratch& model_scratch, Scratch& attn_scratch);

}  // namespace qkv
