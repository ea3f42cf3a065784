#!/usr/bin/env bash
# selftest.sh - the whole bed, end to end: install, two engines side by side
# ("a" on 23751, "b" on 23752), test image into both, smoke test on each,
# a migration a -> b, stop both. Exit 0 only when all passed; no engine is left running.
#
# Environment: BED_PORT_A (23751), BED_PORT_B (23752), SKIP_INSTALL=1, plus
# whatever the other scripts read (BED_DIR, BED_BIN, CRIU_PREFIX ...).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT_A=${BED_PORT_A:-23751}
PORT_B=${BED_PORT_B:-23752}

log() { printf 'selftest.sh: %s\n' "$*" >&2; }

cleanup() {
    "$HERE/engine.sh" stop a || true
    "$HERE/engine.sh" stop b || true
}
trap cleanup EXIT

[[ ${SKIP_INSTALL:-0} == 1 ]] || "$HERE/install.sh"

# Start both engines at the same time.
"$HERE/engine.sh" start a "$PORT_A" >"${TMPDIR:-/tmp}/bed-a.pid" &
start_a=$!
"$HERE/engine.sh" start b "$PORT_B" >"${TMPDIR:-/tmp}/bed-b.pid" &
start_b=$!
wait "$start_a"
wait "$start_b"
log "engines up: a dockerd $(cat "${TMPDIR:-/tmp}/bed-a.pid"), b dockerd $(cat "${TMPDIR:-/tmp}/bed-b.pid")"
rm -f "${TMPDIR:-/tmp}/bed-a.pid" "${TMPDIR:-/tmp}/bed-b.pid"

"$HERE/engine.sh" status a
"$HERE/engine.sh" status b

log "image on a and b: $("$HERE/images.sh" "$PORT_A" "$PORT_B")"

# One after the other: all use the same host port for the tcpserver part.
"$HERE/smoke.sh" "$PORT_A"
"$HERE/smoke.sh" "$PORT_B"
# Migration: checkpoint on a, restore into a new container on b.
"$HERE/smoke.sh" "$PORT_A" "$PORT_B"
log "all passed"
