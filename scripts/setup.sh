#!/usr/bin/env bash
# Installs what `npm start` and `npm test` need and is quick when it is already there:
# Debian's emscripten, cmake, GoogleTest, wabt (wasm-validate checks the relaxed-SIMD build) and
# Chromium (and, when asked, PyTorch and the fuzzers' clang); the npm devDependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v em++ >/dev/null 2>&1 || missing+=(emscripten)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
[ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
command -v wasm-validate >/dev/null 2>&1 || missing+=(wabt)
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

# The fuzzers (`npm run fuzz`, and a short run in `npm test`): clang 14 with its libFuzzer and
# sanitizer runtimes, and the i386 C++ libraries for the -m32 target (a 32-bit size_t, as in wasm32).
if [ "${QKV_NEED_FUZZ:-0}" = 1 ]; then
  command -v clang++-14 >/dev/null 2>&1 || missing+=(clang-14)
  compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-i386.a' >/dev/null || missing+=(libclang-rt-14-dev)
  dpkg -s g++-multilib >/dev/null 2>&1 || missing+=(g++-multilib)
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
