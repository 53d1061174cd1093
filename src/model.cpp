#include "model.h"

#include <cmath>
#include <cstring>

#include "sizes.h"

namespace qkv {
namespace {

struct Layer {
  const float *ln1_w, *ln1_b, *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo, *smear, *ln2_w, *ln2_b, *w1, *b1, *w2, *b2;
};

bool smears(const ModelConfig& c, int layer) { return layer < 32 && (c.smear_layers >> layer & 1u); }

struct Weights {
  const float *tok_emb, *pos_emb, *lnf_w, *lnf_b;
  std::vector<Layer> layers;
};

// Walks the packed block in model_tensor_layout() order. Only for a config that layout accepted: every
// product below is then one of its checked counts.
Weights unpack(const ModelConfig& c, const float* p) {
  const size_t D = c.d_model, F = c.d_ff;
  Weights w;
  auto take = [&p](size_t n) { const float* r = p; p += n; return r; };
  w.tok_emb = take(size_t(c.vocab_size) * D);
  w.pos_emb = take(size_t(c.max_positions) * D);
  for (int i = 0; i < c.n_layers; ++i) {
    Layer l;
    l.ln1_w = take(D), l.ln1_b = take(D);
    l.wq = take(D * D), l.bq = take(D), l.wk = take(D * D), l.bk = take(D);
    l.wv = take(D * D), l.bv = take(D), l.wo = take(D * D), l.bo = take(D);
    l.smear = smears(c, i) ? take(c.n_heads) : nullptr;
    l.ln2_w = take(D), l.ln2_b = take(D);
    l.w1 = take(D * F), l.b1 = take(F), l.w2 = take(F * D), l.b2 = take(D);
    w.layers.push_back(l);
  }
  w.lnf_w = take(D), w.lnf_b = take(D);
  return w;
}

void layer_norm(size_t n, size_t d, const float* x, const float* g, const float* b, float eps, float* y) {
  for (size_t i = 0; i < n; ++i) {
    const float* xi = x + i * d;
    double mean = 0, var = 0;
    for (size_t c = 0; c < d; ++c) mean += xi[c];
    mean /= double(d);
    for (size_t c = 0; c < d; ++c) var += (xi[c] - mean) * (xi[c] - mean);
    const float inv = float(1.0 / std::sqrt(var / double(d) + eps));
    for (size_t c = 0; c < d; ++c) y[i * d + c] = float(xi[c] - mean) * inv * g[c] + b[c];
  }
}

void gelu(size_t n, float* x) {
  for (size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

}  // namespace

Status model_tensor_layout(const ModelConfig& c, std::vector<ModelTensor>* layout, size_t* total) {
  Status s = check_model_config(c);
  if (!s.ok()) return s;
  const int V = c.vocab_size, D = c.d_model, F = c.d_ff, P = c.max_positions;
  // name, rows, cols (0: a vector of `rows`)
  struct Tensor {
    const char* name;
    int rows, cols;
  };
  const Tensor first[] = {{"tok_emb", V, D}, {"pos_emb", P, D}};
  const Tensor per_layer[] = {
      {"ln1.weight", D, 0}, {"ln1.bias", D, 0}, {"attn.wq", D, D}, {"attn.bq", D, 0}, {"attn.wk", D, D}, {"attn.bk", D, 0},
      {"attn.wv", D, D},    {"attn.bv", D, 0},  {"attn.wo", D, D}, {"attn.bo", D, 0}, {"ln2.weight", D, 0}, {"ln2.bias", D, 0},
      {"mlp.w1", D, F},     {"mlp.b1", F, 0},   {"mlp.w2", F, D},  {"mlp.b2", D, 0}};
  const Tensor last[] = {{"ln_f.weight", D, 0}, {"ln_f.bias", D, 0}};

  // The sizes: one layer's once, times n_layers (a million layers cost no more than one).
  auto count = [](const Tensor& t) { return t.cols ? product(t.rows, t.cols) : Size(t.rows); };
  Size sum = 0, layer = 0;
  auto too_big = [](const std::string& name) {
    return Status::Error(Code::out_of_memory, "model config: tensor " + name + " holds more numbers than the address space");
  };
  for (const Tensor& t : per_layer) {
    if (!fits_floats(count(t))) return too_big("layers.0." + std::string(t.name));
    layer += count(t);
  }
  for (const Tensor& t : first) {
    if (!fits_floats(count(t))) return too_big(t.name);
    sum += count(t);
  }
  for (const Tensor& t : last) sum += count(t);  // vectors of d_model: they fit when tok_emb does
  sum += layer * Size(c.n_layers);
  for (int i = 0; i < c.n_layers && i < 32; ++i)
    if (smears(c, i)) sum += Size(c.n_heads);  // attn.smear: one logit per head
  if (!fits_floats(sum))
    return Status::Error(Code::out_of_memory, "model config: the tensors together hold more numbers than the address space");
  if (total) *total = sum.value();

  // The list, with names, only when asked for: model_forward needs the total alone, on every run.
  if (layout) {
    layout->clear();
    auto add = [&](const std::string& name, const Tensor& t) {
      layout->push_back({name, t.cols ? std::vector<int>{t.rows, t.cols} : std::vector<int>{t.rows}, count(t).value()});
    };
    for (const Tensor& t : first) add(t.name, t);
    for (int i = 0; i < c.n_layers; ++i)
      for (const Tensor& t : per_layer) {
        add("layers." + std::to_string(i) + "." + t.name, t);
        if (smears(c, i) && std::string(t.name) == "attn.bo") add("layers." + std::to_string(i) + ".attn.smear", {"", c.n_heads, 0});
      }
    for (const Tensor& t : last) add(t.name, t);
  }
  return Status::Ok();
}

Status check_model_config(const ModelConfig& c) {
  const std::pair<const char*, int> dims[] = {{"vocab_size", c.vocab_size}, {"d_model", c.d_model}, {"n_layers", c.n_layers},
                                              {"n_heads", c.n_heads}, {"d_ff", c.d_ff}, {"max_positions", c.max_positions}};
  for (auto [name, v] : dims)
    if (v < 1 || v > kMaxModelDim)
      return Status::Error(Code::invalid_argument, std::string("model config: ") + name + " must be in [1, " +
                                                       std::to_string(kMaxModelDim) + "], received " + std::to_string(v));
  if (c.d_model % c.n_heads)
    return Status::Error(Code::invalid_argument, "model config: n_heads " + std::to_string(c.n_heads) + " must divide d_model " + std::to_string(c.d_model));
  if (c.n_layers < 32 && (c.smear_layers >> c.n_layers) != 0)
    return Status::Error(Code::invalid_argument, "model config: smear_layers names a layer past n_layers " + std::to_string(c.n_layers));
  if (!(c.norm_eps > 0.0f) || !std::isfinite(c.norm_eps))
    return Status::Error(Code::invalid_argument, "model config: norm_eps must be a finite number > 0");
  return Status::Ok();
}

namespace {

Status check_weight_count(const ModelConfig& c, size_t count) {
  size_t expected = 0;
  Status s = model_tensor_layout(c, nullptr, &expected);
  if (s.ok() && count != expected)
    return Status::Error(Code::invalid_argument, "model weights: expected " + std::to_string(expected) + " numbers for this config, received " + std::to_string(count));
  return s;
}

}  // namespace

Status check_model_weights(const ModelConfig& c, const float* weights, size_t count) {
  Status s = check_weight_count(c, count);
  if (!s.ok()) return s;
  if (!weights) return Status::Error(Code::invalid_argument, "model weights: none given");
  const size_t bad = first_non_finite(weights, count);
  if (bad < count) {
    std::vector<ModelTensor> layout;
    model_tensor_layout(c, &layout);
    size_t at = 0;
    for (auto& t : layout) {
      if (bad < at + t.count)
        return Status::Error(Code::non_finite, "model weights: " + t.name + " holds a non-finite number at index " + std::to_string(bad - at));
      at += t.count;
    }
  }
  return Status::Ok();
}

Status model_forward(const ModelRunArgs& a, const Kernels& kn, Scratch& model_scratch, Scratch& attn_scratch) {
  const ModelConfig& c = a.cfg;
  Status s = check_weight_count(c, a.weight_count);
  if (!s.ok()) return s;
  if (!a.weights || !a.ids) return Status::Error(Code::invalid_argument, "model: no weights or no token ids");
  if (a.n < 1 || a.n > c.max_positions)
    return Status::Error(Code::out_of_range, "model: the input must hold 1 to " + std::to_string(c.max_positions) +
                                                 " tokens (with <bos>), received " + std::to_string(a.n));
  for (int i = 0; i < a.n; ++i)
    if (a.ids[i] < 0 || a.ids[i] >= c.vocab_size)
      return Status::Error(Code::out_of_range, "model: token id " + std::to_string(a.ids[i]) + " at position " + std::to_string(i) +
                                                   " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
  if (a.logit_rows < 0 || a.logit_rows > a.n)
    return Status::Error(Code::out_of_range, "model: logit rows must be in [0, " + std::to_string(a.n) + "]");

  // Scratch n·(3·d_model + d_ff) and the per-layer outputs, checked: with d_ff = 2^20, n·F wraps a
  // 32-bit size_t from 4,097 tokens on.
  const int L = c.n_layers, H = c.n_heads;
  const Size need = product(a.n, c.d_model) * Size(3) + product(a.n, c.d_ff) + Size(H);  // + one layer's smear weights
  const Size head_elems = product(L, H, a.n, c.d_model / H), plane_elems = product(L, H, a.n, a.n);
  if (!fits_floats(need) || ((a.q || a.k || a.v) && !fits_floats(head_elems)) ||
      ((a.scores || a.logits || a.attn_weights) && !fits_floats(plane_elems)) ||
      (a.out_logits && !fits_floats(product(a.logit_rows, c.vocab_size))))
    return Status::Error(Code::out_of_memory, "model: " + std::to_string(a.n) + " tokens need more memory than the address space has");
  const Weights w = unpack(c, a.weights);
  const size_t n = a.n, D = c.d_model, F = c.d_ff, dh = D / H;
  float* buf = model_scratch.get(need.value());
  if (!buf) return Status::Error(Code::out_of_memory, "model: out of memory");
  float* smear = buf + n * D * 3 + n * F;  // one layer's mixing weights, sigmoid(logit)
  float* x = buf;            // residual stream
  float* h = x + n * D;      // normalised input of a sub-layer
  float* y = h + n * D;      // a sub-layer's output
  float* ff = y + n * D;     // MLP hidden

  for (size_t i = 0; i < n; ++i)
    for (size_t c2 = 0; c2 < D; ++c2) x[i * D + c2] = w.tok_emb[size_t(a.ids[i]) * D + c2] + w.pos_emb[i * D + c2];

  const size_t head_rows = H * n * dh, planes = H * n * n;  // L times these were checked above
  for (int l = 0; l < c.n_layers; ++l) {
    const Layer& L = w.layers[l];
    layer_norm(n, D, x, L.ln1_w, L.ln1_b, c.norm_eps, h);
    MhaArgs m;
    m.batch = 1, m.n = a.n, m.d_model = c.d_model, m.heads = c.n_heads;
    m.x = h;
    m.w_q = L.wq, m.w_k = L.wk, m.w_v = L.wv, m.w_o = L.wo, m.b_q = L.bq, m.b_k = L.bk, m.b_v = L.bv, m.b_o = L.bo;
    if (L.smear) {
      for (int hh = 0; hh < H; ++hh) smear[hh] = float(1.0 / (1.0 + std::exp(-double(L.smear[hh]))));
      m.key_smear = smear;
    }
    m.mask.causal = true;
    m.output = y;
    m.q = a.q ? a.q + l * head_rows : nullptr;
    m.k = a.k ? a.k + l * head_rows : nullptr;
    m.v = a.v ? a.v + l * head_rows : nullptr;
    m.scores = a.scores ? a.scores + l * planes : nullptr;
    m.logits = a.logits ? a.logits + l * planes : nullptr;
    m.weights = a.attn_weights ? a.attn_weights + l * planes : nullptr;
    s = multi_head_attention(m, kn, attn_scratch);
    if (!s.ok()) return s;
    for (size_t i = 0; i < n * D; ++i) x[i] += y[i];
    layer_norm(n, D, x, L.ln2_w, L.ln2_b, c.norm_eps, h);
    kn.gemm_nn(n, F, D, h, D, L.w1, F, L.b1, ff, F);
    gelu(n * F, ff);
    kn.gemm_nn(n, D, F, ff, F, L.w2, D, L.b2, y, D);
    for (size_t i = 0; i < n * D; ++i) x[i] += y[i];
  }
  if (a.out_logits && a.logit_rows > 0) {
    const size_t first = n - a.logit_rows;
    layer_norm(a.logit_rows, D, x + first * D, w.lnf_w, w.lnf_b, c.norm_eps, h);
    kn.gemm_nt(a.logit_rows, c.vocab_size, D, 1.0f, h, D, w.tok_emb, D, a.out_logits, c.vocab_size);  // tied head
  }
  return Status::Ok();
}

}  // namespace qkv
