#!/usr/bin/env bash
# selftest.sh - the whole bed, end to end: install, two engines side by side
# ("a" on 23751, "b" on 23752), test image into both, smoke test on each,
# a migration a -> b, stop both. Then the same for two Podman engines
# (podman.sh "pa" on 23761, "pb" on 23762): image copied pa -> pb, a counter
# checkpointed with export on pa, its source removed, restored with import
# into a new container on pb, counting on. Exit 0 only when all passed; no
# engine is left running.
#
# Environment: BED_PORT_A (23751), BED_PORT_B (23752), BED_PODMAN_PORT_A
# (23761), BED_PODMAN_PORT_B (23762), SKIP_INSTALL=1, SKIP_PODMAN=1, plus
# whatever the other scripts read (BED_DIR, BED_BIN, CRIU_PREFIX ...).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT_A=${BED_PORT_A:-23751}
PORT_B=${BED_PORT_B:-23752}
PPORT_A=${BED_PODMAN_PORT_A:-23761}
PPORT_B=${BED_PODMAN_PORT_B:-23762}

log() { printf 'selftest.sh: %s\n' "$*" >&2; }

cleanup() {
    "$HERE/engine.sh" stop a || true
    "$HERE/engine.sh" stop b || true
    if [[ ${SKIP_PODMAN:-0} != 1 ]]; then
        "$HERE/podman.sh" stop pa || true
        "$HERE/podman.sh" stop pb || true
    fi
    rm -f "${TMPDIR:-/tmp}/bed-podman-ck.tar"
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

if [[ ${SKIP_PODMAN:-0} == 1 ]]; then
    log "all passed (Podman skipped)"
    exit 0
fi

# --- Podman: two engines, a migration pa -> pb through the libpod API -----
fail() { log "FAIL: $*"; exit 1; }
"$HERE/podman.sh" start pa "$PPORT_A" >/dev/null &
start_a=$!
"$HERE/podman.sh" start pb "$PPORT_B" >/dev/null &
start_b=$!
wait "$start_a"
wait "$start_b"
log "podman image on pa and pb: $("$HERE/images.sh" "$PPORT_A" "$PPORT_B")"
PA=http://127.0.0.1:$PPORT_A
PB=http://127.0.0.1:$PPORT_B
TAR=${TMPDIR:-/tmp}/bed-podman-ck.tar
# last_count API NAME: the last "count N" the counter of NAME printed.
last_count() {
    curl -sS "$1/containers/$2/logs?stdout=1" | tr -d '\000-\011\013-\037' |
        sed -n 's/^count \([0-9]*\) .*/\1/p' | tail -n1
}
for api in "$PA" "$PB"; do # leftovers of an interrupted run
    curl -sS -o /dev/null -X DELETE "$api/containers/selftest-counter?force=1" || true
done
# No Ulimits: podman.sh's default_ulimits must make the container startable
# and restorable.
curl -sS --fail-with-body -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"Image":"checkpointd-test:latest","HostConfig":{"NetworkMode":"none"}}' \
    "$PA/containers/create?name=selftest-counter" || fail "create on pa"
curl -sS --fail-with-body -X POST "$PA/containers/selftest-counter/start" || fail "start on pa"
sleep 1
before=$(last_count "$PA" selftest-counter)
[[ -n $before ]] || fail "no count lines on pa"
curl -sS --fail-with-body -o "$TAR" -X POST \
    "$PA/v4.0.0/libpod/containers/selftest-counter/checkpoint?export=true" || fail "checkpoint on pa: $(cat "$TAR")"
# the source goes away first: the restore must not need anything of pa
curl -sS --fail-with-body -o /dev/null -X DELETE "$PA/containers/selftest-counter?force=1" || fail "rm on pa"
curl -sS --fail-with-body -o /dev/null -X POST -H 'Content-Type: application/x-tar' --data-binary "@$TAR" \
    "$PB/v4.0.0/libpod/containers/selftest-counter/restore?import=true&name=selftest-counter" ||
    fail "restore on pb"
sleep 0.5
after=$(last_count "$PB" selftest-counter)
if [[ -z $after ]] || ((after <= before)); then fail "counter on pb at '$after', not beyond $before"; fi
curl -sS --fail-with-body -o /dev/null -X DELETE "$PB/containers/selftest-counter?force=1" || fail "rm on pb"
log "OK: podman migration pa -> pb, counter $before -> $after"
log "all passed"
