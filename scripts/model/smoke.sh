#!/usr/bin/env bash
# One-minute smoke run of the training pipeline: WordNet glosses (3,000 lines) cut into words by
# lib/tokenizer.js, a 1,000-piece vocabulary trained on them (train_pieces.py, SentencePiece), the words
# cut into pieces by lib/pieces.js, a 1-layer model with smeared keys trained for ~40 s. Exits non-zero
# unless the loss falls.
# Writes only under scripts/model/work/smoke-*; never touches models/.
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
need=()
$PY -c 'import torch' 2>/dev/null || need+=(python3-torch libopenblas0-pthread)
$PY -c 'import sentencepiece' 2>/dev/null || need+=(python3-sentencepiece)
[ -f /usr/share/wordnet/data.noun ] || need+=(wordnet-base)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
$PY build_corpus.py --sources wordnet --out work/smoke-corpus
node prepare_data.mjs --corpus work/smoke-corpus --out work/smoke-data --vocab 1000 --max-lines 3000 --val-every 5 > /dev/null
rm -f work/smoke-ckpt.pt*
# twice: the second run resumes the first from its checkpoint (model, optimizer, data order, counters)
$PY train.py --smoke --data work/smoke-data --out work/smoke-ckpt.pt --log work/smoke.log
$PY train.py --smoke --resume --data work/smoke-data --out work/smoke-ckpt.pt --log work/smoke.log
