#!/usr/bin/env bash
# `npm run fuzz [-- SECONDS]`: builds the libFuzzer targets of tests/fuzz/ (clang 14, libFuzzer, ASan +
# UBSan) and runs each for SECONDS (default 60), one after another under nice — attention, multi-head
# attention and the forward pass on x86-64 (every kernel set the CPU has), the size arithmetic built
# with -m32 (a 32-bit size_t, as in wasm32) — then the JavaScript fuzzer of the file loaders on both
# wasm builds (which must be built: `npm run build`). Each run starts from the committed seeds in
# tests/fuzz/corpus/<target>/ and grows its own corpus in build/fuzz/corpus/; findings go to
# build/fuzz/findings/. Prints one line of figures per target; exits 1 if anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
jobs="$(nproc 2>/dev/null || echo 2)"
mkdir -p build/fuzz/findings build/fuzz/logs

configure() { # build dir, extra cmake arguments
  [ -f "$1/CMakeCache.txt" ] || cmake -S tests/fuzz -B "$1" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=None "${@:2}" >/dev/null
  nice cmake --build "$1" -j"$jobs" >/dev/null
}
configure build/fuzz
configure build/fuzz32 -DQKV_FUZZ_M32=ON

status=0
run() { # target, binary
  local t="$1" bin="$2" log="build/fuzz/logs/$1.log"
  mkdir -p "build/fuzz/corpus/$t"
  # ASan's allocator may say no (a 2 GiB scratch in the 32-bit build) instead of aborting: the core
  # must then report out of memory, which the targets accept.
  if ! ASAN_OPTIONS=allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 nice "$bin" -max_total_time="$seconds" \
       -print_final_stats=1 -rss_limit_mb=4096 -max_len=1024 -len_control=0 -artifact_prefix="build/fuzz/findings/$t-" \
       "build/fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    status=1
    echo "fuzz $t: FINDING (see $log and build/fuzz/findings/)"
    grep -E "qkv fuzz finding|ERROR: |SUMMARY: " "$log" | head -5
  fi
  local execs cov
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  cov="$(grep -E '^#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|pulse|INITED)' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' || true)"
  echo "fuzz $t: ${execs:-?} executions in ${seconds} s, ${cov:-no coverage line}"
}
run attention build/fuzz/attention_fuzz
run mha build/fuzz/mha_fuzz
run model build/fuzz/model_fuzz
run sizes32 build/fuzz32/sizes32_fuzz
nice node tests/fuzz/loaders.mjs --seconds "$seconds" --out build/fuzz/findings/loaders || status=1
exit "$status"
