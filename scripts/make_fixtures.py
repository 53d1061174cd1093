#!/usr/bin/python3
"""Reference numbers from PyTorch (Debian's python3-torch) for tests/js/torch.test.js.

Inputs are float32 (what the package takes); PyTorch computes the expected results from them in
float64, so the committed numbers are an independent reference, not a copy of our arithmetic.
Regenerate with:  /usr/bin/python3 scripts/make_fixtures.py   (deterministic: fixed seeds)
"""
import json
import math
import pathlib

import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torch-attention.json"


def f32(shape, gen, scale=1.0):
    return (torch.randn(*shape, generator=gen) * scale).to(torch.float32)


def flat(t):
    # 9 significant digits round-trip a float32 exactly, and keep float64 results far below the
    # tests' tolerances (1e-5) while keeping the file small.
    return [float("%.9g" % x) for x in t.detach().to(torch.float64).reshape(-1).tolist()]


def sdpa_case(name, b, h, nq, nk, d, dv, seed, causal=False, bool_mask=False, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    q, k, v = f32((b, h, nq, d), gen, scale), f32((b, h, nk, d), gen, scale), f32((b, h, nk, dv), gen)
    mask = None
    if bool_mask:
        mask = torch.rand(nq, nk, generator=gen) > 0.3
        mask[:, 0] = True  # PyTorch gives NaN for a fully masked row; keep every row open
    out, w = F._scaled_dot_product_attention(q.double(), k.double(), v.double(), mask, 0.0, True, causal)
    case = {"name": name, "kind": "sdpa", "batch": b, "heads": h, "queries": nq, "keys": nk, "dim": d,
            "valueDim": dv, "causal": causal, "q": flat(q), "k": flat(k), "v": flat(v),
            "output": flat(out), "weights": flat(w)}
    if mask is not None:
        case["mask"] = [bool(x) for x in mask.reshape(-1).tolist()]
    return case


def mha_case(name, b, n, d_model, heads, seed, m=None, d_context=None, causal=False, key_lengths=None):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cross = m is not None
    kdim = d_context if cross else d_model
    mha = torch.nn.MultiheadAttention(d_model, heads, bias=True, batch_first=True, kdim=kdim, vdim=kdim).double()
    with torch.no_grad():  # PyTorch initialises biases to zero; make them matter
        for p in mha.parameters():
            if p.dim() == 1:
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5)
            p.copy_(p.to(torch.float32).double())  # parameters exactly representable in float32
    x = f32((b, n, d_model), gen)
    ctx = f32((b, m, d_context), gen) if cross else x
    length = m if cross else n
    attn_mask = torch.triu(torch.ones(n, length, dtype=torch.bool), 1) if causal else None  # True = masked
    kpm = None
    if key_lengths is not None:
        kpm = torch.arange(length)[None, :] >= torch.tensor(key_lengths)[:, None]
    out, w = mha(x.double(), ctx.double(), ctx.double(), attn_mask=attn_mask, key_padding_mask=kpm,
                 need_weights=True, average_attn_weights=False)
    if mha._qkv_same_embed_dim:
        wq, wk, wv = mha.in_proj_weight.chunk(3)
    else:
        wq, wk, wv = mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight
    bq, bk, bv = mha.in_proj_bias.chunk(3)
    # PyTorch stores Linear weights [out][in]; the package takes [in][out] (X·W).
    params = {"wq": flat(wq.T), "wk": flat(wk.T), "wv": flat(wv.T), "wo": flat(mha.out_proj.weight.T),
              "bq": flat(bq), "bk": flat(bk), "bv": flat(bv), "bo": flat(mha.out_proj.bias)}
    case = {"name": name, "kind": "mha", "batch": b, "length": n, "dModel": d_model, "heads": heads,
            "causal": causal, "x": flat(x), "params": params, "output": flat(out), "weights": flat(w)}
    if cross:
        case.update({"context": flat(ctx), "contextLength": m, "dContext": d_context})
    if key_lengths is not None:
        case["keyLengths"] = key_lengths
    return case


def main():
    cases = [
        sdpa_case("sdpa basic", 2, 3, 5, 7, 8, 6, seed=1),
        sdpa_case("sdpa causal square", 1, 2, 9, 9, 16, 16, seed=2, causal=True),
        sdpa_case("sdpa odd sizes (SIMD tails)", 1, 1, 13, 11, 13, 5, seed=3),
        sdpa_case("sdpa boolean mask", 2, 2, 6, 10, 4, 3, seed=4, bool_mask=True),
        sdpa_case("sdpa large scores", 1, 1, 8, 8, 64, 64, seed=5, scale=4.0),
        sdpa_case("sdpa d=64 n=40", 1, 2, 40, 40, 64, 64, seed=6),
        mha_case("mha self-attention", 2, 6, 12, 3, seed=7),
        mha_case("mha causal self-attention", 1, 9, 16, 4, seed=8, causal=True),
        mha_case("mha cross-attention", 2, 5, 8, 2, seed=9, m=7, d_context=10),
        mha_case("mha padding", 2, 6, 12, 4, seed=10, key_lengths=[6, 3]),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"generator": "scripts/make_fixtures.py", "torch": torch.__version__,
                               "cases": cases}, separators=(",", ":")))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
