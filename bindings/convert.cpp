#include "convert.h"

#include <cstdint>

namespace qkv::frames {
namespace {

template <typename T>
const T* addr(Word w) {
  return reinterpret_cast<const T*>(static_cast<uintptr_t>(w.ptr));
}
float* out_addr(Word w) { return reinterpret_cast<float*>(static_cast<uintptr_t>(w.ptr)); }

template <typename Field>
struct Reader {
  const Word* frame;
  Word operator[](Field f) const { return frame[static_cast<int>(f)]; }
};

template <typename Field, typename Frame>
MaskOptions masks(const Frame& f) {
  MaskOptions m;
  m.causal = f[Field::causal].i32 != 0;
  m.key_lengths = addr<int32_t>(f[Field::keyLengths]);
  m.bool_mask = {addr<uint8_t>(f[Field::mask]), f[Field::maskBatch].i32, f[Field::maskHeads].i32};
  m.add_mask = {addr<float>(f[Field::additiveMask]), f[Field::additiveMaskBatch].i32, f[Field::additiveMaskHeads].i32};
  return m;
}

}  // namespace

AttentionArgs to_attention_args(const Word* frame) {
  using F = AttentionField;
  const Reader<F> f{frame};
  AttentionArgs a;
  a.batch = f[F::batch].i32, a.heads = f[F::heads].i32, a.n_q = f[F::queries].i32, a.n_k = f[F::keys].i32;
  a.dim = f[F::dim].i32, a.value_dim = f[F::valueDim].i32;
  a.q = addr<float>(f[F::q]), a.k = addr<float>(f[F::k]), a.v = addr<float>(f[F::v]);
  a.scoring = static_cast<Scoring>(f[F::scoring].i32);
  a.scale = f[F::scale].f32, a.temperature = f[F::temperature].f32;
  a.mask = masks<F>(f);
  a.w_q = addr<float>(f[F::wq]), a.w_k = addr<float>(f[F::wk]), a.v_a = addr<float>(f[F::va]);
  a.additive_dim = f[F::additiveDim].i32;
  a.output = out_addr(f[F::output]), a.weights = out_addr(f[F::weights]);
  a.scores = out_addr(f[F::scores]), a.logits = out_addr(f[F::logits]);
  return a;
}

MhaArgs to_mha_args(const Word* frame) {
  using F = MhaField;
  const Reader<F> f{frame};
  MhaArgs a;
  a.batch = f[F::batch].i32, a.n = f[F::n].i32, a.m = f[F::m].i32, a.d_model = f[F::dModel].i32;
  a.d_context = f[F::dContext].i32, a.heads = f[F::heads].i32;
  a.x = addr<float>(f[F::x]), a.context = addr<float>(f[F::context]);
  a.w_q = addr<float>(f[F::wq]), a.w_k = addr<float>(f[F::wk]), a.w_v = addr<float>(f[F::wv]), a.w_o = addr<float>(f[F::wo]);
  a.b_q = addr<float>(f[F::bq]), a.b_k = addr<float>(f[F::bk]), a.b_v = addr<float>(f[F::bv]), a.b_o = addr<float>(f[F::bo]);
  a.scoring = static_cast<Scoring>(f[F::scoring].i32);
  a.scale = f[F::scale].f32, a.temperature = f[F::temperature].f32;
  a.mask = masks<F>(f);
  a.output = out_addr(f[F::output]);
  a.q = out_addr(f[F::q]), a.k = out_addr(f[F::k]), a.v = out_addr(f[F::v]);
  a.scores = out_addr(f[F::scores]), a.logits = out_addr(f[F::logits]), a.weights = out_addr(f[F::weights]);
  a.head_outputs = out_addr(f[F::headOutputs]), a.concat = out_addr(f[F::concat]);
  return a;
}

ModelRunArgs to_model_args(const Word* frame) {
  using F = ModelField;
  const Reader<F> f{frame};
  ModelRunArgs a;
  a.cfg.vocab_size = f[F::vocabSize].i32, a.cfg.d_model = f[F::dModel].i32, a.cfg.n_layers = f[F::layers].i32;
  a.cfg.n_heads = f[F::heads].i32, a.cfg.d_ff = f[F::dFF].i32, a.cfg.max_positions = f[F::maxPositions].i32;
  a.cfg.norm_eps = f[F::normEps].f32, a.cfg.smear_layers = static_cast<uint32_t>(f[F::smearLayers].i32);
  a.weights = addr<float>(f[F::params]), a.weight_count = static_cast<size_t>(f[F::paramCount].i32);
  a.ids = addr<int32_t>(f[F::ids]), a.n = f[F::n].i32;
  a.q = out_addr(f[F::q]), a.k = out_addr(f[F::k]), a.v = out_addr(f[F::v]);
  a.scores = out_addr(f[F::scores]), a.logits = out_addr(f[F::logits]), a.attn_weights = out_addr(f[F::weights]);
  a.out_logits = out_addr(f[F::nextLogits]), a.logit_rows = f[F::logitRows].i32;
  return a;
}

#define QKV_FIELD_NAME(type, name) #name ":" #type ","
std::string attention_layout() { return QKV_ATTENTION_FRAME(QKV_FIELD_NAME); }
std::string mha_layout() { return QKV_MHA_FRAME(QKV_FIELD_NAME); }
std::string model_layout() { return QKV_MODEL_FRAME(QKV_FIELD_NAME); }
#undef QKV_FIELD_NAME

}  // namespace qkv::frames
