#!/usr/bin/env bash
# example.sh — build and run the flagship example, or any other.
#
#   ./scripts/example.sh                 examples/fanout: fetch URLs concurrently
#   ./scripts/example.sh NAME [ARGS...]  examples/NAME (e.g. prime_sieve 20)
#
# Installs the missing Debian packages first (scripts/deps.sh), builds a
# release build in build/example (CSP_BUILD_ROOT overrides build/), then
# runs the program.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/deps.sh
csp_install_deps "${csp_build_packages[@]}"

name="${1:-fanout}"
shift || true
dir="${CSP_BUILD_ROOT:-build}/example"
opts=(--buildtype=release -Dexamples=true -Dtests=false -Dbenchmarks=false)
if [[ -f "$dir/meson-private/coredata.dat" ]]; then
  meson setup --reconfigure "$dir" "${opts[@]}" >/dev/null
else
  meson setup "$dir" "${opts[@]}" >/dev/null
fi
ninja -C "$dir" -j "${CSP_JOBS:-$(nproc)}" "examples/$name"

echo "== examples/$name $*"
exec "$dir/examples/$name" "$@"
