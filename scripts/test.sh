#!/usr/bin/env bash
# Runs every test: native GoogleTest (ctest), a short run of each fuzzer, then the JavaScript suites
# (node --test): every wasm build against float64 and PyTorch references, bad input, hostile files,
# packaging, and the page in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== native tests (GoogleTest: scalar, SSE2 and, where the CPU has them, AVX2 + FMA kernels)"
(cd build/native && ctest --output-on-failure -j"$(nproc 2>/dev/null || echo 2)")

echo "== native tests again under AddressSanitizer + UndefinedBehaviorSanitizer"
(cd build/asan && ctest --output-on-failure -j"$(nproc 2>/dev/null || echo 2)")

echo "== training smoke run (tiny model, tiny data: the loss must fall; never touches models/)"
bash scripts/model/smoke.sh

echo "== fuzzing, a few seconds per target (npm run fuzz runs longer: scripts/fuzz.sh)"
bash scripts/fuzz.sh 5

echo "== JavaScript tests (node --test)"
node --test --test-reporter=spec tests/js/*.test.js tests/browser/*.test.js
