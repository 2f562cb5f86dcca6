#!/usr/bin/env bash
# scaling.sh — csp, Go and Boost.Fiber at GOMAXPROCS 1, 2, 4, 8 and 16 (those
# up to the machine's CPUs), written to bench/RESULTS-scaling.md with a
# speed-up chart per workload in bench/scaling/. About 8 minutes on 16 cores.
# Builds what it needs first (bench/run.py's build: build/bench-release and
# the peers). Arguments go to bench/scaling.py (--procs, --only, --reps, ...).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/scaling.py "$@"
