#!/usr/bin/env bash
# test.sh — build and run the whole test suite, in each configuration CI runs.
#
#   ./scripts/test.sh [plain|asan|tsan|fuzz|wrap|all]...     (default: all)
#
#   plain  release build (-O2, NDEBUG, with debug info): the suite, the
#          examples' checks, the gdb extension's test, the documentation
#          checks, the soak test (CSP_SOAK_SECONDS, default 60), and
#          `meson install` plus programs built against it through csp.pc and
#          CMake's find_package(csp), and a Meson project with csp as its
#          subproject
#   asan   AddressSanitizer + UndefinedBehaviorSanitizer (with LeakSanitizer),
#          -O2 -g with assertions, per-worker run queue capacity 4
#   tsan   ThreadSanitizer, -O2 -g with assertions, run queue capacity 4
#          (both also install, and build the pkg-config and CMake consumers
#          against the sanitized library, as docs/runtime.md tells users to)
#   fuzz   clang libFuzzer harness test/fuzz/chan_fuzz against a reference
#          model of channels, CSP_FUZZ_SECONDS (default 60) over the corpus
#          in test/fuzz/corpus/ (scripts/fuzz.sh); counts as one test
#   wrap   the offline ConcurrentQueue fallback: configures the library
#          alone with --force-fallback-for=concurrentqueue and
#          --wrap-mode=nodownload (as a machine without
#          libconcurrentqueue-dev would, and proving nothing is fetched)
#          and compiles the files that include it; counts as one test
#
# The sanitizer builds shrink the run queues (-Drunq_capacity=4) so their
# overflow and work-stealing paths run under the sanitizers too.
#
# Installs the missing Debian packages first (scripts/deps.sh). Build
# directories live under build/ (CSP_BUILD_ROOT overrides it) and are reused,
# so a rerun rebuilds only what changed. CSP_JOBS sets build and test
# parallelism (default: nproc). Ends with one line "N passed, N failed"
# counting every test of every configuration run (a configuration that fails
# to build counts as one failure) and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/deps.sh
csp_install_deps "${csp_test_packages[@]}" || exit 1

configs=()
for arg in "${@:-all}"; do
  case "$arg" in
    all) configs+=(plain asan tsan fuzz wrap) ;;
    plain|asan|tsan|fuzz|wrap) configs+=("$arg") ;;
    *) echo "usage: $0 [plain|asan|tsan|fuzz|wrap|all]..." >&2; exit 2 ;;
  esac
done

root="${CSP_BUILD_ROOT:-build}"
jobs="${CSP_JOBS:-$(nproc)}"
total_pass=0
total_fail=0
summary=()

# Sanitizer settings. halt_on_error: the first report ends the program with
# a non-zero status (ASan/UBSan 1, TSan 66), so the test fails even where the
# program would have exited 0. Not abort_on_error: the SIGABRT it raises runs
# doctest's crash handler, which allocates inside the signal handler and can
# deadlock in the sanitizer's allocator (seen under TSan): a hang, not a failure.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:print_summary=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:print_summary=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:print_summary=1"

# setup DIR OPTION... configures DIR, reusing it when it already exists.
setup() {
  local dir="$1"; shift
  if [[ -f "$dir/meson-private/coredata.dat" ]]; then
    meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

# tsan_launcher prints the command prefix TSan programs need on this machine
# (none, or setarch -R), or fails if none works. GCC 12's TSan maps its
# shadow at fixed addresses and dies with "unexpected memory mapping" when
# the kernel randomizes mmap with more than 28 bits (vm.mmap_rnd_bits);
# running with ASLR off (setarch -R) avoids that.
tsan_launcher() {
  local dir="$1" probe="$1/tsan-probe"
  printf 'int main() { return 0; }\n' |
    c++ -x c++ -fsanitize=thread -o "$probe" - || return 1
  if "$probe" 2>/dev/null; then
    return 0
  fi
  local sa=(setarch "$(uname -m)" -R)
  if "${sa[@]}" "$probe" 2>/dev/null; then
    echo "${sa[*]}"
    return 0
  fi
  if ((EUID == 0)) && [[ -w /proc/sys/vm/mmap_rnd_bits ]]; then
    echo "csp: TSan needs vm.mmap_rnd_bits <= 28; setting it (was $(cat /proc/sys/vm/mmap_rnd_bits))" >&2
    echo 28 >/proc/sys/vm/mmap_rnd_bits && "$probe" 2>/dev/null && return 0
  fi
  "$probe"  # show why
  return 1
}

# count_results DIR prints "PASS FAIL" from DIR's meson-logs/testlog.json.
count_results() {
  python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
ok = fail = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                ok += 1
            elif r != "SKIP":  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS
                fail += 1
except FileNotFoundError:
    fail = 1
print(ok, fail)
PY
}

# option DIR NAME prints the value of DIR's Meson option NAME.
option() {
  meson introspect "$1" --buildoptions |
    python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]))' "$2"
}

# install_check DIR LAUNCHER... installs DIR into a staging directory and
# builds and runs test/consumers/consumer.cpp against it as users of csp
# would: through pkg-config and through CMake's find_package(csp). A
# sanitizer build's csp.pc and csp::csp carry its -fsanitize flag, so both
# consumers come out sanitized too (run under LAUNCHER..., TSan's setarch).
install_check() {
  local dir="$1" dest; shift
  dest="$(realpath "$dir")/staging"
  rm -rf "$dest"
  meson install -C "$dir" --destdir "$dest" --quiet || return 1
  local pc prefix libdir version
  pc="$(find "$dest" -name csp.pc -print -quit)"
  [[ -n "$pc" ]] || { echo "csp.pc was not installed" >&2; return 1; }
  prefix="$dest$(option "$dir" prefix)"
  libdir="$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --define-variable=prefix="$prefix" --variable=libdir csp)"
  version="$(meson introspect "$dir" --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')"
  # The gdb extension, where gdb's auto-load finds it for the library.
  local gdbpy="$prefix/share/gdb/auto-load$(option "$dir" prefix)/$(option "$dir" libdir)/libcsp.so.$version-gdb.py"
  [[ -f "$gdbpy" && -f "$prefix/share/csp/csp-gdb.py" ]] || { echo "csp-gdb.py was not installed as $gdbpy" >&2; return 1; }

  echo "-- pkg-config consumer"
  # Large frames must probe their pages in programs built against csp too
  # (docs/runtime.md, "Stacks").
  PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --cflags csp | grep -- -fstack-clash-protection >/dev/null ||
    { echo "csp.pc does not pass -fstack-clash-protection" >&2; return 1; }
  # shellcheck disable=SC2046  # pkg-config's output is a list of flags
  c++ -std=c++20 -o "$dir/consumer" test/consumers/consumer.cpp \
    $(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --define-variable=prefix="$prefix" --cflags --libs csp) &&
    sanitized_like "$dir" "$dir/consumer" &&
    LD_LIBRARY_PATH="$libdir" "$@" "$dir/consumer" || return 1

  echo "-- CMake consumer: find_package(csp), csp::csp"
  local cm="$dir/consumer-cmake"
  rm -rf "$cm"
  cmake -S test/consumers/cmake -B "$cm" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$dir/consumer-cmake.log" 2>&1 &&
    cmake --build "$cm" >>"$dir/consumer-cmake.log" 2>&1 ||
    { cat "$dir/consumer-cmake.log"; return 1; }
  grep -q -- -fstack-clash-protection "$cm/build.ninja" ||
    { echo "csp::csp does not pass -fstack-clash-protection" >&2; return 1; }
  sanitized_like "$dir" "$cm/consumer" && "$@" "$cm/consumer"
}

# sanitized_like DIR PROGRAM: PROGRAM carries DIR's sanitizer (the flag
# came with csp.pc or csp::csp), or DIR has none.
sanitized_like() {
  local san
  san="$(option "$1" b_sanitize)"
  # grep reads all of nm's output (no -q): under pipefail, grep -q's early
  # exit kills nm with SIGPIPE and fails the check it just passed.
  case "$san" in
    none) return 0 ;;
    *thread*) nm "$2" | grep __tsan_init >/dev/null ;;
    *address*) nm "$2" | grep __asan_init >/dev/null ;;
  esac || { echo "$2 is not built with -fsanitize=$san" >&2; return 1; }
}

# subproject_check DIR builds test/consumers/meson, a project with csp as
# its Meson subproject, in DIR/consumer-meson (reused), runs its program,
# and checks that the project's `meson install` installs none of csp's files.
subproject_check() {
  local top
  top="$(realpath "$1")/consumer-meson"  # absolute: meson install's --destdir is relative to the build
  local src="$top/src" build="$top/build" dest="$top/staging"
  mkdir -p "$src/subprojects"
  # A subproject's default_options count only when it is first configured.
  cmp -s test/consumers/meson/meson.build "$src/meson.build" || rm -rf "$build"
  cp test/consumers/meson/meson.build test/consumers/consumer.cpp "$src/"
  ln -sfn "$(pwd)" "$src/subprojects/csp"
  echo "-- Meson subproject consumer"
  setup "$build" "$src" --force-fallback-for=csp >"$1/consumer-meson.log" 2>&1 &&
    ninja -C "$build" -j "$jobs" >>"$1/consumer-meson.log" 2>&1 ||
    { cat "$1/consumer-meson.log"; return 1; }
  "$build/consumer" || return 1
  rm -rf "$dest"
  meson install -C "$build" --destdir "$dest" --quiet || return 1
  local extra installed
  extra="$(find "$dest" -type f ! -name consumer)"
  [[ -z "$extra" ]] || { echo "the parent project's install also installed csp's files:" "$extra" >&2; return 1; }
  installed="$(find "$dest" -type f -name consumer -print -quit)"
  [[ -n "$installed" ]] && "$installed"  # csp linked in statically: runs alone
}

# run_config NAME MESON_OPTION... builds and tests one configuration.
run_config() {
  local name="$1"; shift
  local dir="$root/$name" prefix=() mult=1 pass fail
  echo
  echo "==== $name: meson setup $* ===="
  if ! setup "$dir" "$@" || ! ninja -C "$dir" -j "$jobs"; then
    summary+=("$name: build failed")
    total_fail=$((total_fail + 1))
    return
  fi
  if [[ "$name" != plain ]]; then
    mult=2
  fi
  if [[ "$name" == tsan ]]; then
    local launcher
    if ! launcher="$(tsan_launcher "$dir")"; then
      summary+=("$name: ThreadSanitizer cannot run on this machine")
      total_fail=$((total_fail + 1))
      return
    fi
    read -r -a prefix <<<"$launcher"
    ((${#prefix[@]})) && echo "TSan runs under: ${prefix[*]}"
  fi
  rm -f "$dir/meson-logs/testlog.json"
  "${prefix[@]}" meson test -C "$dir" --num-processes "$jobs" --timeout-multiplier "$mult" \
    --print-errorlogs
  read -r pass fail < <(count_results "$dir")
  echo "==== $name: install, and build programs against it with pkg-config and CMake ===="
  if install_check "$dir" "${prefix[@]}"; then
    pass=$((pass + 1))
  else
    echo "install check FAILED"
    fail=$((fail + 1))
  fi
  if [[ "$name" == plain ]]; then
    echo "==== $name: a Meson project with csp as its subproject ===="
    if subproject_check "$dir"; then
      pass=$((pass + 1))
    else
      echo "subproject check FAILED"
      fail=$((fail + 1))
    fi
  fi
  summary+=("$name: $pass passed, $fail failed")
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
}

# run_fuzz builds and runs the libFuzzer harness for a bounded time.
run_fuzz() {
  echo
  echo "==== fuzz: scripts/fuzz.sh ${CSP_FUZZ_SECONDS:-60} ===="
  if csp_install_deps "${csp_fuzz_packages[@]}" && CSP_BUILD_ROOT="$root" CSP_JOBS="$jobs" ./scripts/fuzz.sh; then
    summary+=("fuzz: 1 passed, 0 failed")
    total_pass=$((total_pass + 1))
  else
    summary+=("fuzz: 0 passed, 1 failed")
    total_fail=$((total_fail + 1))
  fi
}

# run_wrap builds what uses moodycamel::ConcurrentQueue against the
# checked-in wrap (subprojects/concurrentqueue.wrap) even though the Debian
# package is installed: the path a machine without it takes. Only the
# objects whose sources include it are compiled (seconds, not a library
# build), and their dependency records must show the wrap's header was the
# one read, not /usr/include's.
run_wrap() {
  local dir="$root/wrap" log="$root/wrap-setup.log" ok=1 src obj objs=()
  echo
  echo "==== wrap: the ConcurrentQueue fallback, offline ===="
  mkdir -p "$root"
  if setup "$dir" --force-fallback-for=concurrentqueue --wrap-mode=nodownload >"$log" 2>&1 &&
    grep -q "ConcurrentQueue from the wrap" "$log"; then
    for src in $(grep -rlE '^#include <concurrentqueue/' lib --include='*.cpp'); do
      obj="$(ninja -C "$dir" -t targets all | grep -oE "^lib/[^:]*\.p/$(tr / _ <<<"${src#lib/}")\.o" | head -n 1)"
      [[ -n "$obj" ]] && objs+=("$obj") || ok=0
    done
    ((${#objs[@]} > 0)) && ninja -C "$dir" -j "$jobs" "${objs[@]}" || ok=0
    for obj in "${objs[@]}"; do
      ninja -C "$dir" -t deps "$obj" | grep 'subprojects/concurrentqueue-1\.0\.3/concurrentqueue\.h' >/dev/null ||
        { echo "$obj did not read the wrap's concurrentqueue.h" >&2; ok=0; }
    done
  else
    cat "$log"
    ok=0
  fi
  if ((ok)); then
    summary+=("wrap: 1 passed, 0 failed")
    total_pass=$((total_pass + 1))
  else
    summary+=("wrap: 0 passed, 1 failed")
    total_fail=$((total_fail + 1))
  fi
}

for c in "${configs[@]}"; do
  case "$c" in
    # Not --buildtype=release: with it, Meson 1.0 ignores -Doptimization=2.
    # The options name everything built: a plain `meson setup` builds only
    # the library. plain keeps debug info (-g does not change the code) for
    # the gdb extension's test.
    plain) run_config plain -Doptimization=2 -Ddebug=true -Db_ndebug=true -Db_sanitize=none \
             -Dtests=true -Dexamples=true -Dbenchmarks=true \
             -Dsoak_seconds="${CSP_SOAK_SECONDS:-60}" ;;
    fuzz)  run_fuzz ;;
    wrap)  run_wrap ;;
    asan)  run_config asan --buildtype=debugoptimized -Db_ndebug=false \
             -Db_sanitize=address,undefined -Db_lundef=false -Drunq_capacity=4 \
             -Dtests=true -Dexamples=true -Dbenchmarks=false ;;
    tsan)  run_config tsan --buildtype=debugoptimized -Db_ndebug=false \
             -Db_sanitize=thread -Drunq_capacity=4 -Dtests=true -Dexamples=true -Dbenchmarks=false ;;
  esac
done

echo
echo "==== summary ===="
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
((total_fail == 0))
