# deps.sh — sourced by example.sh and test.sh. Installs, with apt-get, the
# Debian 12 packages a build needs that are not installed yet; when nothing
# is missing it does nothing, so reruns cost no network and no time.

# Build: compiler, Meson, Ninja, pkg-config, Boost.Context (the one fiber
# switch), moodycamel::ConcurrentQueue. libboost-context-dev is Boost 1.74 on
# Debian 12, hence the versioned name. libhttp-parser-dev: the HTTP examples
# (fanout, http_server) parse with it.
csp_build_packages=(g++ meson ninja-build pkg-config python3
                    libboost-context1.81-dev libconcurrentqueue-dev libhttp-parser-dev)
# Tests and benchmarks add doctest and Google Benchmark; the test run also
# builds a CMake consumer (cmake), tests the gdb extension (gdb) and
# generates the API reference (doxygen).
csp_test_packages=("${csp_build_packages[@]}" doctest-dev libbenchmark-dev cmake gdb doxygen)
# The fuzz configuration: clang with libFuzzer and the sanitizer runtimes.
csp_fuzz_packages=(clang libclang-rt-14-dev)

# csp_install_deps PACKAGE... installs those of PACKAGE... that are missing.
csp_install_deps() {
  local missing=() p
  for p in "$@"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != ii* ]]; then
      missing+=("$p")
    fi
  done
  ((${#missing[@]} == 0)) && return 0

  local sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "csp: missing packages: ${missing[*]}; run as root or install them" >&2
      return 1
    fi
  fi
  echo "csp: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q &&
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}
