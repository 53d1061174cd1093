"""Forward-pass fixtures for the C++/wasm core: tests/fixtures/model/*.json.

Everything is computed in float64 from the dequantized weights exactly as stored in the .qkv file
(read back from disk), on ids produced by lib/tokenizer.js (via node encode.mjs).
Per sentence: tokens, ids, per layer and head Q, K, V [T, d_head] and attention weights (row i holds
the i+1 causal weights, i.e. the lower triangle), top-20 logits at every position, the full logit
vector of the last position (two sentences), and the top-5 next-word predictions.

usage: python3 make_fixtures.py [--model ../../models/tiny-lm.qkv] [--out ../../tests/fixtures/model]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import TinyLM  # noqa: E402
from qkv import read_qkv  # noqa: E402

SENTENCES = {
    "short": "The king said",
    "unknown_word": "The quokka smiled at the tourists.",
    "contraction_punct": "Don't worry, it's fine: we're here!",
    "hyphen_number": "In 1861, the well-known president spoke to Congress.",
    "long": ("We must work together, because the strength of our nation depends on the courage of our "
             "people, and the future of our children is in our hands; let us build it with faith and hope."),
}
FULL_LOGITS = ("short", "long")  # the full last-position logit vector only here, to keep files small


def r(x, digits=7):
    return [float("%.*g" % (digits, v)) for v in np.asarray(x).ravel()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(HERE, "..", "..", "models", "tiny-lm.qkv"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "model"))
    args = ap.parse_args()
    header, tensors = read_qkv(args.model)
    cfg = header["config"]
    vocab = header["vocab"]
    model = TinyLM(cfg["vocab_size"], cfg["d_model"], cfg["n_layers"], cfg["n_heads"], cfg["d_ff"],
                   cfg["max_positions"], cfg["norm_eps"]).double()
    model.load_named(tensors)
    model.eval()
    enc = json.loads(subprocess.run(["node", os.path.join(HERE, "encode.mjs")], check=True,
                                    capture_output=True, text=True,
                                    input=json.dumps({"texts": list(SENTENCES.values()), "vocab": vocab})).stdout)
    with open(args.model, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    os.makedirs(args.out, exist_ok=True)
    index = {"model": os.path.basename(args.model), "model_sha256": sha, "dtype": "float64",
             "weights": "dequantized from the .qkv file", "layout": {
                 "q/k/v": "[layer][head] -> row-major [T, d_head] flattened",
                 "weights": "[layer][head] -> rows i = 0..T-1 of the causal softmax, row i has i+1 entries, concatenated",
                 "top20": "per position: ids and logits sorted by descending logit",
                 "last_logits": "all vocab_size logits of the last position (only in %s)" % ", ".join(FULL_LOGITS)},
             "tolerance": "1e-4 absolute for weights and logits (float32 core)", "fixtures": []}
    for (name, text), e in zip(SENTENCES.items(), enc):
        ids = torch.tensor([e["ids"]])
        with torch.no_grad():
            logits, traces = model(ids, trace=True)
        T = ids.shape[1]
        layers = []
        for tr in traces:
            heads = []
            for h in range(cfg["n_heads"]):
                w = tr["weights"][0, h].numpy()
                heads.append({"q": r(tr["q"][0, h], 6), "k": r(tr["k"][0, h], 6), "v": r(tr["v"][0, h], 6),
                              "weights": r(np.concatenate([w[i, :i + 1] for i in range(T)]))})
            layers.append({"heads": heads})
        lg = logits[0].numpy()
        top20 = [{"ids": [int(j) for j in np.argsort(-lg[i])[:20]],
                  "logits": r(np.sort(lg[i])[::-1][:20])} for i in range(T)]
        p = torch.softmax(logits[0, -1], -1).numpy()
        top5 = [{"id": int(j), "word": vocab[j], "prob": float("%.6g" % p[j])} for j in np.argsort(-p)[:5]]
        fx = {"name": name, "text": text, "tokens": e["tokens"], "ids": e["ids"], "unknown": e["unknown"],
              "pieces": e["pieces"], "n_positions": T, "layers": layers, "top20": top20,
              "next_top5": top5}
        if name in FULL_LOGITS:
            fx["last_logits"] = r(lg[-1])
        path = os.path.join(args.out, name + ".json")
        with open(path, "w") as f:
            json.dump(fx, f, separators=(",", ":"), ensure_ascii=False)
        index["fixtures"].append({"name": name, "file": name + ".json", "text": text, "n_positions": T,
                                  "next_top5": [t["word"] for t in top5]})
        print("%-18s T=%2d %7d bytes  next: %s" % (name, T, os.path.getsize(path),
                                                   ", ".join("%s %.3f" % (t["word"], t["prob"]) for t in top5)))
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
