"""Bits per character of a .qkv model on a text file, measured the same way for any model: each line
tokenized exactly as the package does (encode.mjs: word vocabulary or subword pieces, whichever the
file has), the lines' ids concatenated, cut into windows of --window - 1 tokens after <bos>, every token
predicted once; summed loss / ln 2 / characters of the lines (line breaks not counted). Per-token
perplexity is printed too, but it is not comparable between vocabularies; bits per character is.
A word-level model predicts an <unk> target as one token, which costs it far less than spelling the
word: its figure is a lower bound of what it would cost to predict the text itself (the share of
<unk> targets is printed).

--known-to OTHER.qkv measures only the lines in which that (word-level) model has no <unk> target,
so that both models are measured on the same characters and neither predicts a word it cannot spell.

usage: python3 bits_per_char.py --model ../../models/tiny-lm.qkv --text work/data/val.txt [--window 128]
                                [--known-to old-tiny-lm.qkv]
"""
import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import TinyLM  # noqa: E402
from qkv import read_qkv  # noqa: E402
from train import val_windows, evaluate  # noqa: E402


def encode(lines, vocab, scores=None):
    """The package's tokenization of each line (encode.mjs), <bos> first."""
    request = {"texts": lines, "vocab": vocab}
    if scores is not None:
        request["scores"] = scores
    return json.loads(subprocess.run(["node", os.path.join(HERE, "encode.mjs")], check=True, capture_output=True,
                                     text=True, input=json.dumps(request)).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--known-to", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    header, tensors = read_qkv(args.model)
    cfg, vocab = header["config"], header["vocab"]
    model = TinyLM(cfg["vocab_size"], cfg["d_model"], cfg["n_layers"], cfg["n_heads"], cfg["d_ff"],
                   cfg["max_positions"], cfg["norm_eps"], cfg.get("smear_layers", []))
    model.load_named(tensors)
    model.eval()
    with open(args.text, encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n") if l.strip()]
    if args.known_to:
        other = read_qkv(args.known_to)[0]
        enc = encode(lines, other["vocab"])
        unk = other["vocab"].index("<unk>")
        lines = [l for l, e in zip(lines, enc) if unk not in e["ids"]]
    enc = encode(lines, vocab, tensors["piece_scores"].tolist() if cfg.get("tokenizer") == "unigram" else None)
    ids = np.concatenate([np.asarray(e["ids"][1:], dtype=np.int64) for e in enc])  # without each line's <bos>
    window = min(args.window, cfg["max_positions"])
    total, count = evaluate(model, val_windows(ids, window, vocab.index("<bos>")))
    chars = sum(len(l) for l in lines)
    unk = vocab.index("<unk>")
    print(json.dumps({"model": os.path.basename(args.model), "text": args.text, "known_to": args.known_to,
                      "lines": len(lines), "characters": chars,
                      "tokens": count, "window": window, "bits_per_char": round(total / math.log(2) / chars, 4),
                      "per_token_perplexity": round(math.exp(total / count), 2),
                      "unk_target_share": round(float(np.mean(ids == unk)), 4)}))


if __name__ == "__main__":
    main()
