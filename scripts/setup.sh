#!/usr/bin/env bash
# Installs what `npm start` and `npm test` need and is quick when it is already there:
# Debian's emscripten, cmake, GoogleTest and Chromium; the npm devDependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v em++ >/dev/null 2>&1 || missing+=(emscripten)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
[ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# npm test also runs a one-minute smoke run of the training pipeline: Debian's PyTorch (with the
# threaded OpenBLAS, ~15x faster matrix products here), SentencePiece (the subword vocabulary) and
# WordNet's glosses as its tiny corpus.
if [ "${QKV_NEED_TORCH:-0}" = 1 ]; then
  /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || missing+=(python3-torch)
  /usr/bin/python3 -c 'import sentencepiece' >/dev/null 2>&1 || missing+=(python3-sentencepiece)
  dpkg -s libopenblas0-pthread >/dev/null 2>&1 || missing+=(libopenblas0-pthread)
  [ -f /usr/share/wordnet/data.noun ] || missing+=(wordnet-base)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing from Debian: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm dependencies: (re)install when missing or when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund
fi
