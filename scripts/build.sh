#!/usr/bin/env bash
# Builds the core: `wasm` (the package: the three WebAssembly modules — SIMD128, relaxed SIMD, scalar —
# and the element's styles in dist/, custom-elements.json, and the demo page's bundle), `native` (library and
# GoogleTest tests), `sanitize` (the same tests under ASan and UBSan), `all` (those three), or
# `bench` (wasm, and the kernel modules bench/bench.mjs measures the wasm SIMD peaks with). Incremental: a
# second run with nothing changed takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
jobs="$(nproc 2>/dev/null || echo 2)"

build_native() {
  [ -f build/native/CMakeCache.txt ] || cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/native -j"$jobs"
}

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer (g++'s, no extra packages).
build_sanitize() {
  [ -f build/asan/CMakeCache.txt ] || cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DQKV_SANITIZE=ON >/dev/null
  cmake --build build/asan -j"$jobs"
}

build_wasm() {
  if [ ! -f build/wasm/CMakeCache.txt ]; then
    NODE_PATH=/usr/share/nodejs emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build build/wasm -j"$jobs"
  # The relaxed-SIMD wasm loads through the SIMD build's glue: the two glues must differ only in the
  # name of their wasm file.
  if ! sed 's/qkv-simd-fma\.wasm/qkv-simd.wasm/g' build/wasm/qkv-simd-fma.js | cmp -s - build/wasm/qkv-simd.js; then
    echo "build.sh: build/wasm/qkv-simd-fma.js differs from qkv-simd.js: the FMA wasm cannot share the SIMD glue" >&2
    exit 1
  fi
  mkdir -p dist
  for f in qkv-simd.js qkv-simd.wasm relaxed/qkv-simd-fma.wasm qkv-scalar.js qkv-scalar.wasm; do
    cmp -s "build/wasm/$f" "dist/${f#relaxed/}" || cp "build/wasm/$f" "dist/${f#relaxed/}"
  done
  build_css
  node scripts/custom-elements.mjs
  build_page
}

# The element's styles as a module (dist/attention-css.js) that its JavaScript imports: no separate
# fetch, and nothing for an application's bundler to configure (a css-loader rule once turned the
# stylesheet into something else). web/attention.css stays the source, and the page links it.
build_css() {
  node -e '
    const fs = require("fs");
    const text = "// Made from web/attention.css by scripts/build.sh: the styles of <qkv-attention>.\n" +
      "export default " + JSON.stringify(fs.readFileSync("web/attention.css", "utf8")) + ";\n";
    const out = "dist/attention-css.js";
    if (!fs.existsSync(out) || fs.readFileSync(out, "utf8") !== text) fs.writeFileSync(out, text);'
}

# The demo page's scripts as one module (dist/page.js, next to the wasm it loads): 17 modules are
# ~20 requests that a browser answers over six connections, level after level; one file cut the
# cold load by ~200 ms in Chromium here. Not minified, so that the page stays readable in the
# browser's source view. web/*.js stay the sources (and what the npm package ships for the element).
# The element in the bundle starts the model's worker from beside the bundle, so the worker is
# bundled into dist/ too, as one module of its own.
build_page() {
  node_modules/.bin/esbuild web/page.js --bundle --format=esm --target=es2022 --charset=utf8 \
    --outfile=dist/page.js --log-level=warning
  node_modules/.bin/esbuild web/model-worker.js --bundle --format=esm --target=es2022 --charset=utf8 \
    --outfile=dist/model-worker.js --log-level=warning
}

build_bench() {
  build_wasm
  cmake --build build/wasm -j"$jobs" --target qkv-bench-kernels qkv-bench-kernels-relaxed
}

case "$what" in
  wasm) build_wasm ;;
  bench) build_bench ;;
  native) build_native ;;
  sanitize) build_sanitize ;;
  all) build_native; build_sanitize; build_wasm ;;
  *) echo "usage: build.sh [wasm|native|sanitize|all|bench]" >&2; exit 2 ;;
esac
