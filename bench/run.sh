#!/bin/sh
# bench/run.sh - what `make bench` runs: the real-engine test bed (installed
# when missing, quick otherwise), then the benchmark (Python stdlib; gnuplot
# for the chart and wrk for the API, installed with apt-get when missing).
#
#   make bench            full: slowboot 64/256/512 MiB x 2/10 s boot + Tomcat
#                         (default and with the jvm profile), 5 runs
#   make bench QUICK=1    quick: slowboot 64 and 256 MiB x 2 s + Tomcat (both), 3 runs
#                         (QUICK=1 sh bench/run.sh works too)
#
# Needs build/checkpointd (`make bench` builds it; `make` also builds
# build/bench/bare_mhd for the API figures). The first run on a machine also
# builds the Tomcat image (bench/tomcat-image.sh: Debian's mirror, a few
# minutes); the engine keeps it. Results: bench/results/latest.json and
# bench/results/time-to-ready.png.
set -eu
cd "$(dirname "$0")/.."
tests/bed/install.sh
exec /usr/bin/python3 bench/bench.py
