#!/usr/bin/env bash
# example.sh — build and run the flagship examples (examples/).
#
#   ./scripts/example.sh [N]     N: how many primes the sieve prints (default 10)
#
# Installs the missing Debian packages first (scripts/deps.sh), builds a
# release build in build/example (CSP_BUILD_ROOT overrides build/), then
# runs examples/worker_pool and examples/prime_sieve.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/deps.sh
csp_install_deps "${csp_build_packages[@]}"

dir="${CSP_BUILD_ROOT:-build}/example"
opts=(--buildtype=release -Dexamples=true -Dtests=false -Dbenchmarks=false)
if [[ -f "$dir/meson-private/coredata.dat" ]]; then
  meson setup --reconfigure "$dir" "${opts[@]}"
else
  meson setup "$dir" "${opts[@]}"
fi
ninja -C "$dir" -j "${CSP_JOBS:-$(nproc)}" examples/worker_pool examples/prime_sieve

echo "== worker_pool"
"$dir/examples/worker_pool"
echo "== prime_sieve ${1:-10}"
"$dir/examples/prime_sieve" "${1:-10}"
