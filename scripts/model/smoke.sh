#!/usr/bin/env bash
# One-minute smoke run of the training pipeline: WordNet glosses (3,000 lines) tokenized by
# lib/tokenizer.js, a 1-layer model trained for ~40 s. Exits non-zero unless the loss falls.
# Writes only under scripts/model/work/smoke-*; never touches models/.
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
need=()
$PY -c 'import torch' 2>/dev/null || need+=(python3-torch libopenblas0-pthread)
[ -f /usr/share/wordnet/data.noun ] || need+=(wordnet-base)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
$PY build_corpus.py --sources wordnet --out work/smoke-corpus
node prepare_data.mjs --corpus work/smoke-corpus --out work/smoke-data --vocab 1000 --max-lines 3000 --val-every 5 > /dev/null
$PY train.py --smoke --data work/smoke-data --log work/smoke.log
