#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer harness (test/fuzz/chan_fuzz.cpp) with clang,
# ASan and UBSan, and run it for a bounded time over the committed corpus.
#
#   ./scripts/fuzz.sh [SECONDS]        (default: $CSP_FUZZ_SECONDS, else 60)
#   CSP_FUZZ_MERGE=1 ./scripts/fuzz.sh  also merges what the run found into
#                                       test/fuzz/corpus/ (minimized), to commit
#
# New inputs go to $CSP_BUILD_ROOT/fuzz/new-corpus (build/ by default), so a CI
# run leaves the tree clean. A divergence from the reference model, a
# sanitizer report or a crash stops the run; libFuzzer writes the input to
# $CSP_BUILD_ROOT/fuzz/crash-* and the script exits non-zero. Replay one with
#   build/fuzz/test/fuzz/chan_fuzz build/fuzz/crash-<hash>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-${CSP_FUZZ_SECONDS:-60}}"
root="${CSP_BUILD_ROOT:-build}"
dir="$root/fuzz"
jobs="${CSP_JOBS:-$(nproc)}"
opts=(--buildtype=debugoptimized -Db_ndebug=false -Db_sanitize=address,undefined
      -Db_lundef=false -Dfuzz=true -Dtests=false -Dexamples=false -Dbenchmarks=false)

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is not installed (apt-get install clang)" >&2; exit 1; }
if [[ -f "$dir/meson-private/coredata.dat" ]]; then
  meson setup --reconfigure "$dir" "${opts[@]}" >/dev/null || CXX=clang++ meson setup --wipe "$dir" "${opts[@]}"
else
  CXX=clang++ meson setup "$dir" "${opts[@]}"
fi
ninja -C "$dir" -j "$jobs" test/fuzz/chan_fuzz

mkdir -p "$dir/new-corpus"
# detect_leaks=0: the runtime keeps goroutine control blocks and stacks in
# pools across inputs, which libFuzzer's per-input leak check would report;
# the ASan test configuration checks leaks at exit instead.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
log="$dir/fuzz.log"
status=0
(cd "$dir" && ./test/fuzz/chan_fuzz -max_total_time="$seconds" -print_final_stats=1 \
   -timeout=30 -rss_limit_mb=4096 new-corpus "$OLDPWD/test/fuzz/corpus") >"$log" 2>&1 || status=$?
grep -E "^(stat::number_of_executed_units|stat::new_units_added|chan_fuzz:|SUMMARY)" "$log" || true
if ((status != 0)); then
  tail -n 40 "$log"
  echo "fuzz.sh: the fuzzer failed (status $status); the input is $dir/crash-*" >&2
  exit 1
fi
if [[ "${CSP_FUZZ_MERGE:-0}" == 1 ]]; then
  # A set-cover merge of the old corpus and the new inputs: the fewest
  # inputs that keep every feature, replacing the committed corpus.
  rm -rf "$dir/merged" && mkdir -p "$dir/merged"
  (cd "$dir" && ./test/fuzz/chan_fuzz -merge=1 -set_cover_merge=1 merged \
     "$OLDPWD/test/fuzz/corpus" new-corpus) >>"$log" 2>&1
  find test/fuzz/corpus -type f -delete
  cp "$dir"/merged/* test/fuzz/corpus/
  echo "merged into test/fuzz/corpus: $(find test/fuzz/corpus -type f | wc -l) inputs"
fi
