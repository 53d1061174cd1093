"""Measure what each attention head looks at on held-out text, using the weights as stored in the
.qkv file. For every query position i >= 2 of validation windows (<bos> + 127 tokens), take the key
j with the largest weight and count how often it is: the previous token (j = i-1), the <bos> token
(j = 0), the query itself (j = i), a punctuation token, or an earlier occurrence of the same word
(j < i, same id). Categories can overlap (e.g. a previous token that is punctuation).

usage: python3 head_patterns.py [--model ../../models/tiny-lm.qkv] [--windows 300]  (prints Markdown)
"""
import argparse
import json
import os
import sys
import unicodedata

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import TinyLM  # noqa: E402
from qkv import read_qkv  # noqa: E402
from train import load_split  # noqa: E402


def is_punct(w):
    return len(w) > 0 and all(unicodedata.category(c).startswith("P") for c in w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(HERE, "..", "..", "models", "tiny-lm.qkv"))
    ap.add_argument("--data", default=os.path.join(HERE, "work", "data"))
    ap.add_argument("--windows", type=int, default=300)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(2)
    header, tensors = read_qkv(args.model)
    cfg = header["config"]
    vocab = header["vocab"]
    model = TinyLM(cfg["vocab_size"], cfg["d_model"], cfg["n_layers"], cfg["n_heads"], cfg["d_ff"],
                   cfg["max_positions"], cfg["norm_eps"]).double()
    model.load_named(tensors)
    model.eval()
    val_ids, _ = load_split(args.data, "val")
    punct = np.array([is_punct(w) for w in vocab])
    n = args.length - 1
    L, H = cfg["n_layers"], cfg["n_heads"]
    cats = ["previous", "bos", "self", "punct", "same_word"]
    counts = np.zeros((L, H, len(cats)))
    mean_bos = np.zeros((L, H))
    queries = 0
    for s in range(0, min(len(val_ids) - n, args.windows * n), n):
        ids = np.concatenate([[cfg["bos_id"]], val_ids[s:s + n]])
        with torch.no_grad():
            _, traces = model(torch.as_tensor(ids)[None], trace=True)
        T = len(ids)
        qi = np.arange(2, T)
        queries += len(qi)
        for l, tr in enumerate(traces):
            w = tr["weights"][0].numpy()  # [H, T, T]
            top = w[:, qi, :].argmax(-1)  # [H, len(qi)]
            counts[l, :, 0] += (top == qi - 1).sum(-1)
            counts[l, :, 1] += (top == 0).sum(-1)
            counts[l, :, 2] += (top == qi).sum(-1)
            counts[l, :, 3] += punct[ids[top]].sum(-1)
            counts[l, :, 4] += ((top < qi) & (ids[top] == ids[qi])).sum(-1)
            mean_bos[l] += w[:, qi, 0].sum(-1)
    share = counts / queries
    mean_bos /= queries
    print("Measured on %d query positions (validation text, windows of %d tokens after <bos>, "
          "queries at positions >= 2)\n" % (queries, n))
    print("| layer.head | previous token | `<bos>` | itself | punctuation | same word earlier | mean weight on `<bos>` |")
    print("|---|---|---|---|---|---|---|")
    for l in range(L):
        for h in range(H):
            print("| %d.%d | %s | %.1f%% |" % (l, h, " | ".join("%.1f%%" % (100 * v) for v in share[l, h]),
                                              100 * mean_bos[l, h]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"queries": int(queries), "categories": cats, "share": share.round(4).tolist(),
                       "mean_weight_on_bos": mean_bos.round(4).tolist()}, f, indent=1)


if __name__ == "__main__":
    main()
