"""The causal pre-LN transformer of models/FORMAT.md in PyTorch. Parameter names and layouts match
the .qkv tensor names (matrices [in, out], y = x @ W + b), so export is a plain copy.

Smeared keys (Olsson et al. 2022, "In-context learning and induction heads"): in the layers listed in
`smear_layers`, each head h mixes every key with the key before it,
    key_j <- sigmoid(a_h) * key_j + (1 - sigmoid(a_h)) * key_{j-1}   (key_0 unchanged),
with one learned scalar a_h per head (tensor layers.{i}.attn.smear). A head can then match a query
against "the token before this key", which is half of an induction head, in a single layer."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, d, d_ff, n_heads=4, smear=False):
        super().__init__()
        std = 1.0 / math.sqrt(d)
        self.ln1 = nn.LayerNorm(d)
        self.ln2 = nn.LayerNorm(d)
        for name in ("wq", "wk", "wv", "wo"):
            setattr(self, name, nn.Parameter(torch.randn(d, d) * std))
        for name in ("bq", "bk", "bv", "bo"):
            setattr(self, name, nn.Parameter(torch.zeros(d)))
        self.w1 = nn.Parameter(torch.randn(d, d_ff) * std)
        self.b1 = nn.Parameter(torch.zeros(d_ff))
        self.w2 = nn.Parameter(torch.randn(d_ff, d) * (1.0 / math.sqrt(d_ff)))
        self.b2 = nn.Parameter(torch.zeros(d))
        # sigmoid(1) = 0.73: each key starts as mostly itself
        self.smear = nn.Parameter(torch.full((n_heads,), 1.0)) if smear else None


def smear_keys(k, a):
    """k [B, H, T, dh], a [H] -> the smeared keys (see the module docstring)."""
    s = torch.sigmoid(a).to(k.dtype)[None, :, None, None]
    prev = torch.cat([k[:, :, :1], k[:, :, :-1]], dim=2)
    return s * k + (1 - s) * prev


class TinyLM(nn.Module):
    def __init__(self, vocab_size, d_model=100, n_layers=2, n_heads=4, d_ff=256, max_positions=256,
                 norm_eps=1e-5, smear_layers=()):
        super().__init__()
        smear_layers = sorted(int(i) for i in smear_layers)
        assert all(0 <= i < n_layers for i in smear_layers), smear_layers
        self.config = dict(vocab_size=vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                           d_ff=d_ff, max_positions=max_positions, norm_eps=norm_eps, smear_layers=smear_layers)
        self.n_heads = n_heads
        self.tok_emb = nn.Parameter(torch.randn(vocab_size, d_model) * 0.1)
        self.pos_emb = nn.Parameter(torch.randn(max_positions, d_model) * 0.02)
        self.layers = nn.ModuleList([Layer(d_model, d_ff, n_heads, i in smear_layers) for i in range(n_layers)])
        for layer in self.layers:
            layer.ln1.eps = layer.ln2.eps = norm_eps
        self.ln_f = nn.LayerNorm(d_model, eps=norm_eps)

    def forward(self, ids, trace=False):
        """ids [B, T] -> logits [B, T, V]; with trace=True also per layer {q, k, v, scores, weights}
        with shape [B, H, T, d_head] / [B, H, T, T] (k: the keys the scores use, smeared where the layer
        smears)."""
        B, T = ids.shape
        H = self.n_heads
        x = self.tok_emb[ids] + self.pos_emb[:T]
        dh = x.shape[-1] // H
        mask = torch.ones(T, T, dtype=torch.bool, device=ids.device).triu(1)
        traces = []
        for L in self.layers:
            a = L.ln1(x)
            split = lambda y: y.view(B, T, H, dh).transpose(1, 2)  # noqa: E731
            q, k, v = split(a @ L.wq + L.bq), split(a @ L.wk + L.bk), split(a @ L.wv + L.bv)
            if L.smear is not None:
                k = smear_keys(k, L.smear)
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
            w = scores.masked_fill(mask, float("-inf")).softmax(-1)
            o = (w @ v).transpose(1, 2).reshape(B, T, H * dh)
            x = x + o @ L.wo + L.bo
            x = x + F.gelu(L.ln2(x) @ L.w1 + L.b1) @ L.w2 + L.b2
            if trace:
                traces.append(dict(q=q, k=k, v=v, scores=scores, weights=w))
        logits = self.ln_f(x) @ self.tok_emb.t()
        return (logits, traces) if trace else logits

    def named_tensors(self):
        """(name, tensor) in .qkv order and naming."""
        out = [("tok_emb", self.tok_emb), ("pos_emb", self.pos_emb)]
        for i, L in enumerate(self.layers):
            p = "layers.%d." % i
            out += [(p + "ln1.weight", L.ln1.weight), (p + "ln1.bias", L.ln1.bias)]
            for n in ("wq", "wk", "wv", "wo", "bq", "bk", "bv", "bo"):
                out.append((p + "attn." + n, getattr(L, n)))
            if L.smear is not None:
                out.append((p + "attn.smear", L.smear))
            out += [(p + "ln2.weight", L.ln2.weight), (p + "ln2.bias", L.ln2.bias)]
            out += [(p + "mlp.w1", L.w1), (p + "mlp.b1", L.b1), (p + "mlp.w2", L.w2), (p + "mlp.b2", L.b2)]
        out += [("ln_f.weight", self.ln_f.weight), ("ln_f.bias", self.ln_f.bias)]
        return out

    def load_named(self, tensors):
        """Load {qkv name: array} (e.g. the dequantized weights read back from a .qkv file)."""
        with torch.no_grad():
            for name, p in self.named_tensors():
                p.copy_(torch.as_tensor(tensors[name], dtype=p.dtype))
