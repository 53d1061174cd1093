"""Forward-pass fixtures for the C++/wasm core: tests/fixtures/model/*.json.

Everything is computed in float64 from the dequantized weights exactly as stored in the .qkv file
(read back from disk), on ids produced by the package's tokenizer (lib/tokenizer.js words, lib/pieces.js
pieces, via node encode.mjs). Per sentence: tokens, ids, per layer and head Q, K (smeared where the
layer smears), V [T, d_head], the attention weights (row i holds the i+1 causal weights, i.e. the lower
triangle) and the head's scores (head_scores.py) with its label, top-20 logits at every position, the
full logit vector of the last position (two sentences), and the top-5 next-token predictions.

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
from head_scores import head_scores, is_punct_piece, label  # noqa: E402

SENTENCES = {
    "short": "The king said",
    "unknown_word": "The quokka smiled at the tourists.",
    "contraction_punct": "Don't worry, it's fine: we're here!",
    "hyphen_number": "In 1861, the well-known president spoke to Congress.",
    "animal": "The animal didn't cross the street because it was too tired.",
    "repeat": "Harry Potter went to the museum with Hermione Granger, and later Harry Potter met Hermione Granger again.",
    "other_scripts": "Tokyo is 東京 and hello is مرحبا 😀",
    "long": ("We must work together, because the strength of our nation depends on the courage of our "
             "people, and the future of our children is in our hands; let us build it with faith and hope."),
}
FULL_LOGITS = ("short", "long")  # the full last-position logit vector only here, to keep files small


def r(x, digits=7):
    return [float("%.*g" % (digits, v)) for v in np.asarray(x).ravel()]


def pieces_sample(data_dir, vocab, out, lines=400):
    """SentencePiece's own segmentation of validation lines (cut into words by lib/tokenizer.js), for
    the test that lib/pieces.js segments exactly as the trainer does."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(data_dir, "pieces.model"))
    assert [sp.id_to_piece(i) for i in range(sp.get_piece_size())] == vocab, "pieces.model is not this model's vocabulary"
    with open(os.path.join(data_dir, "val.txt"), encoding="utf-8") as f:
        text = [l for l in f.read().split("\n") if l.strip()]
    step = max(1, len(text) // lines)
    text = text[::step][:lines]
    words = json.loads(subprocess.run(
        ["node", "--input-type=module", "-e",
         "import { tokenize } from '../../lib/tokenizer.js'; let s = ''; process.stdin.on('data', (c) => { s += c; });"
         "process.stdin.on('end', () => process.stdout.write(JSON.stringify(JSON.parse(s).map((l) => tokenize(l).map((t) => t.norm)))));"],
        cwd=HERE, check=True, capture_output=True, text=True, input=json.dumps(text)).stdout)
    sample = [{"words": w, "ids": sp.encode(" ".join(w))} for w in words if w]
    with open(out, "w") as f:
        json.dump({"about": "SentencePiece %s's segmentation of validation lines, words joined by spaces" % spm.__version__,
                   "lines": sample}, f, separators=(",", ":"), ensure_ascii=False)
    print("pieces sample: %d lines, %d pieces" % (len(sample), sum(len(x["ids"]) for x in sample)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(HERE, "..", "..", "models", "tiny-lm.qkv"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "model"))
    ap.add_argument("--data", default=os.path.join(HERE, "work", "data"))
    args = ap.parse_args()
    header, tensors = read_qkv(args.model)
    cfg = header["config"]
    vocab = header["vocab"]
    model = TinyLM(cfg["vocab_size"], cfg["d_model"], cfg["n_layers"], cfg["n_heads"], cfg["d_ff"],
                   cfg["max_positions"], cfg["norm_eps"], cfg.get("smear_layers", [])).double()
    model.load_named(tensors)
    model.eval()
    enc = json.loads(subprocess.run(["node", os.path.join(HERE, "encode.mjs")], check=True,
                                    capture_output=True, text=True,
                                    input=json.dumps({"texts": list(SENTENCES.values()), "vocab": vocab,
                                                      "scores": tensors["piece_scores"].tolist()})).stdout)
    punct = np.array([is_punct_piece(p) for p in vocab])
    with open(args.model, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    os.makedirs(args.out, exist_ok=True)
    index = {"model": os.path.basename(args.model), "model_sha256": sha, "dtype": "float64",
             "weights": "dequantized from the .qkv file", "layout": {
                 "q/k/v": "[layer][head] -> row-major [T, d_head] flattened",
                 "weights": "[layer][head] -> rows i = 0..T-1 of the causal softmax, row i has i+1 entries, concatenated",
                 "pattern": "[layer][head] -> head_scores.py on this sentence, and its label",
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
                sc = head_scores(w, np.array(e["ids"]), punct)
                sc["label"] = label(sc)
                heads.append({"q": r(tr["q"][0, h], 6), "k": r(tr["k"][0, h], 6), "v": r(tr["v"][0, h], 6),
                              "weights": r(np.concatenate([w[i, :i + 1] for i in range(T)])), "pattern": sc})
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
    pieces_sample(args.data, vocab, os.path.join(args.out, "pieces-sample.json"))
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
