#!/bin/sh
# bench/run.sh - what `make bench` runs: the real-engine test bed (installed
# when missing, quick otherwise), then the benchmark, Python stdlib only.
#
#   make bench            full: heaps 64 and 256 MiB, 5 runs each
#   make bench QUICK=1    quick: heap 64 MiB, 3 runs (QUICK=1 sh bench/run.sh works too)
#
# Needs build/checkpointd (`make bench` builds it). Results: bench/results/latest.json.
set -eu
cd "$(dirname "$0")/.."
tests/bed/install.sh
exec /usr/bin/python3 bench/bench.py
