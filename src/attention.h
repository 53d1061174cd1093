// Scaled dot-product attention and multi-head attention: the public C++ API of the core.
//
// Shapes are row-major and batched as [batch][heads][rows][cols]. For each (batch, head):
//   scores  = Q·Kᵀ                      (dot, scaled_dot)      n_q × n_k   — the course's score(Q,K)
//           = v_aᵀ tanh(q·W_q + k·W_k)  (additive, Bahdanau)
//   logits  = scores · scale / temperature + additive mask, and -inf where a key is masked
//   weights = softmax over each row of logits                             — α_ij
// in float32 throughout: scale / temperature is held at ±FLT_MAX where it would overflow; a logit
// that overflows to +inf outweighs every finite one (the +inf keys share the weight equally, the
// limit of softmax), and a NaN logit (+inf under a -inf mask) counts as masked. Output only or with
// weights, the same float32 logits give the same weights.
//   output  = weights · V                                  n_q × d_v      — Σ_j α_ij V_j
// Masks: `causal` lets query i see keys j <= i (top-left aligned, as PyTorch's is_causal);
// `key_lengths[b]` hides keys j >= length (padding); `bool_mask` (1 = may attend) and `add_mask` are
// [mask_batch][mask_heads][n_q][n_k] where a dimension of 1 broadcasts.
// A query row whose keys are all masked gets weights of all 0 and an output of all 0 (PyTorch gives
// NaN there); the row of logits is all -inf.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels.h"
#include "scratch.h"
#include "status.h"

namespace qkv {

enum class Scoring : int { dot = 0, scaled_dot = 1, additive = 2 };

template <typename T>
struct MaskView {
  const T* data = nullptr;
  int batch = 1;  // 1 (broadcast) or the batch size
  int heads = 1;  // 1 (broadcast) or the number of heads
};

struct MaskOptions {
  bool causal = false;
  const int32_t* key_lengths = nullptr;  // [batch], each in [0, n_k]
  MaskView<uint8_t> bool_mask;           // nonzero = may attend
  MaskView<float> add_mask;              // added to the logits; -inf masks
  bool any() const { return causal || key_lengths || bool_mask.data || add_mask.data; }
};

struct AttentionArgs {
  int batch = 1, heads = 1, n_q = 0, n_k = 0, dim = 0, value_dim = 0;
  const float* q = nullptr;  // [batch][heads][n_q][dim]
  const float* k = nullptr;  // [batch][heads][n_k][dim]
  const float* v = nullptr;  // [batch][heads][n_k][value_dim]
  Scoring scoring = Scoring::scaled_dot;
  float scale = 0.0f;        // 0 = default: 1/√dim for scaled_dot, 1 for dot and additive
  float temperature = 1.0f;  // > 0; logits are divided by it
  MaskOptions mask;
  // Additive scoring (shared by all heads): W_q [dim][additive_dim], W_k [dim][additive_dim], v_a [additive_dim].
  const float* w_q = nullptr;
  const float* w_k = nullptr;
  const float* v_a = nullptr;
  int additive_dim = 0;
  // Outputs. `output` is required; the rest are written only when given.
  float* output = nullptr;   // [batch][heads][n_q][value_dim]
  float* weights = nullptr;  // [batch][heads][n_q][n_k]
  float* scores = nullptr;   // raw scores, before scale, temperature and masks
  float* logits = nullptr;   // after scale, temperature and masks
};

Status attention(const AttentionArgs& args, const Kernels& kernels, Scratch& scratch);

// Multi-head attention: Q = X·W_Q + b_Q, K = C·W_K + b_K, V = C·W_V + b_V with C = context (cross-
// attention) or X (self-attention); each head h uses columns h·d_head … (h+1)·d_head−1; the heads'
// outputs are concatenated and projected: output = concat·W_O + b_O. Matrices are [in][out].
struct MhaArgs {
  int batch = 1, n = 0, m = 0, d_model = 0, d_context = 0, heads = 1;  // m, d_context: of the context
  const float* x = nullptr;        // [batch][n][d_model]
  const float* context = nullptr;  // [batch][m][d_context]; null = self-attention (m = n, d_context = d_model)
  const float *w_q = nullptr, *w_k = nullptr, *w_v = nullptr, *w_o = nullptr;  // biases may be null
  const float *b_q = nullptr, *b_k = nullptr, *b_v = nullptr, *b_o = nullptr;
  // Smeared keys (self-attention only), one weight s_h per head: key_j ← s_h·key_j + (1 − s_h)·key_{j−1},
  // key_0 unchanged. Null: keys as projected. The k intermediate holds the smeared keys.
  const float* key_smear = nullptr;
  Scoring scoring = Scoring::scaled_dot;  // dot or scaled_dot (scale default 1/√d_head)
  float scale = 0.0f, temperature = 1.0f;
  MaskOptions mask;  // masks are per head: [batch][heads][n][m] with broadcasting
  float* output = nullptr;  // [batch][n][d_model]
  // Intermediates, each written only when given.
  float *q = nullptr, *k = nullptr, *v = nullptr;       // [batch][heads][n or m][d_head]
  float *scores = nullptr, *logits = nullptr, *weights = nullptr;  // [batch][heads][n][m]
  float* head_outputs = nullptr;                        // [batch][heads][n][d_head]
  float* concat = nullptr;                              // [batch][n][d_model]
};

Status multi_head_attention(const MhaArgs& args, const Kernels& kernels, Scratch& scratch);

// First index i in [0, n) where x[i] is NaN or ±inf, or n when all are finite.
size_t first_non_finite(const float* x, size_t n);

}  // namespace qkv
