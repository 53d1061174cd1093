#!/usr/bin/env bash
# Regenerate everything under models/ and tests/fixtures/model/ from packages (Debian + npm).
# About two hours on 2 cores, nearly all of it training in two phases (wall-clock budgets, so the
# number of steps depends on the machine's load; the log records what a run did). Usage:
#   bash scripts/model/regenerate.sh [--minutes 50]   (phase 1; phase 2 runs 55 minutes)
set -euo pipefail
cd "$(dirname "$0")"
MINUTES=50
[ "${1:-}" = "--minutes" ] && MINUTES=$2
PY=/usr/bin/python3   # Debian's python3 with python3-torch, not a pyenv one
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch libopenblas0-pthread sword-text-web diatheke wordnet-base
npm ci --no-audit --no-fund
$PY cut_glove.py --words 10000                       # models/glove-10k.qkv
$PY build_corpus.py                                  # work/corpus/{sotu,web,wordnet}.txt
node prepare_data.mjs --vocab 5000                   # work/data: tokenized by lib/tokenizer.js
rm -f ../../models/tiny-lm.train.log
nice -n 10 $PY train.py --minutes "$MINUTES" --layers 3 --d-ff 256 --seed 1234 --log ../../models/tiny-lm.train.log
cp work/ckpt.pt work/ckpt-phase1.pt
echo "== phase 2: warm start from phase 1, fresh schedule, other window order" >> ../../models/tiny-lm.train.log
nice -n 15 $PY train.py --minutes 55 --layers 3 --d-ff 256 --seed 1235 --lr 1e-3 --warmup 50 --threads 1 \
  --init work/ckpt-phase1.pt --out work/ckpt2.pt --log ../../models/tiny-lm.train.log
$PY export.py --ckpt work/ckpt2.pt                                        # models/tiny-lm.qkv + validation perplexity
$PY make_fixtures.py                                 # tests/fixtures/model/*.json
$PY head_patterns.py --json ../../models/tiny-lm.heads.json
node check_qkv.mjs                                   # the file alone reproduces the fixtures
(cd ../../models && sha256sum glove-10k.qkv tiny-lm.qkv > SHA256SUMS)
