"""What one attention head does on one sequence, as numbers a teacher can name. The Python twin of
lib/heads.js (the page computes the same scores live on the learner's sentence; a test checks that
both give the same numbers on the fixtures). W is the head's [T, T] weight matrix (row i: how query i
spreads its attention over keys 0..i), ids the token ids with ids[0] = <bos>, punct[id] whether a
vocabulary entry is punctuation.

  previous     mean over queries i >= 2 of W[i, i-1]
  start        mean over queries i >= 1 of W[i, 0] (the <bos> token)
  self         mean over queries i >= 1 of W[i, i]
  punctuation  mean over queries i that have punctuation at some 1 <= j < i of the weight on those keys
  duplicate    mean over queries i whose token appeared before (1 <= j < i) of the weight on those
               earlier copies
  induction    mean over queries i whose token appeared before at j with j + 1 < i of the weight on
               the keys j + 1 (the tokens that came right after the earlier copies)
  entropy      mean over queries i >= 2 of the row's entropy / log(i + 1): 1 = uniform, 0 = one key
A score is None where no query qualifies (a sentence with no repeated token has no induction score).
"""
import math
import unicodedata

import numpy as np

KINDS = ("previous", "start", "self", "punctuation", "duplicate", "induction")


def is_punct_piece(piece):
    """A vocabulary entry that is punctuation: its text, without the word-start mark, is all
    Unicode punctuation (P*)."""
    w = piece.lstrip("\u2581")
    return len(w) > 0 and not piece.startswith("<") and all(unicodedata.category(c).startswith("P") for c in w)


def head_scores(W, ids, punct):
    W = np.asarray(W, dtype=np.float64)
    T = len(ids)
    out = {k: None for k in KINDS}
    out["entropy"] = None
    if T >= 3:
        i = np.arange(2, T)
        out["previous"] = float(W[i, i - 1].mean())
        rows = [W[q, :q + 1] for q in range(2, T)]
        out["entropy"] = float(np.mean([-(r[r > 0] * np.log(r[r > 0])).sum() / math.log(len(r)) for r in rows]))
    if T >= 2:
        i = np.arange(1, T)
        out["start"] = float(W[i, 0].mean())
        out["self"] = float(W[i, i].mean())
    sums = {"punctuation": [], "duplicate": [], "induction": []}
    for q in range(2, T):
        earlier = np.arange(1, q)
        p = earlier[punct[ids[earlier]]]
        if len(p):
            sums["punctuation"].append(W[q, p].sum())
        same = earlier[ids[earlier] == ids[q]]
        if len(same):
            sums["duplicate"].append(W[q, same].sum())
        after = np.unique(same[same + 1 < q] + 1)
        if len(after):
            sums["induction"].append(W[q, after].sum())
    for k, v in sums.items():
        if v:
            out[k] = float(np.mean(v))
    return out


def label(scores, threshold=0.4, broad=0.75):
    """The head's name on this sequence: the kind with the highest score if it reaches `threshold`,
    else 'broad' when attention is spread out, else 'mixed'. lib/heads.js has the same rule."""
    best, value = None, -1.0
    for k in KINDS:
        v = scores.get(k)
        if v is not None and v > value:
            best, value = k, v
    if best is not None and value >= threshold:
        return best
    if scores.get("entropy") is not None and scores["entropy"] >= broad:
        return "broad"
    return "mixed"
