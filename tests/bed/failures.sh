#!/usr/bin/env bash
# failures.sh PORT [CASE...] - make CRIU fail on purpose on the engine on
# 127.0.0.1:PORT, through the Engine API (curl), and save what a user of
# checkpointd would get: Docker's error message and CRIU's log. These are
# the fixtures of tests/unit/test_criu.c (src/criu.c explains them).
# Must run on the engine host: it reads the CRIU logs that Docker's errors
# name (files under the engine's exec and data roots) and serves a unix
# socket to one container from a temporary folder. Needs images.sh PORT.
#
# Cases (all containers in network mode none; TCP only on their own loopback):
#   external_unix_socket  a host unix socket bind-mounted into the container
#                         (like /var/run/docker.sock), with a live connection
#   tcp_established       a server and a client in one container, connected
#   tcp_in_flight         a listener that never accepts, one connection queued
#   file_locks            flock(2) held on a file
#   inotify               an inotify watch on /tmp (overlayfs)
#   ghost_file            a deleted file of 2 MiB still open
#   restore_mount_missing checkpoint with a bind mount, restore into a new
#                         container created without it
#   restore_file_missing  the process holds a file it created; restore into a
#                         new container from the original image (file absent)
#   restore_bad_size      the process holds /etc/passwd after appending to it;
#                         restore into a new container from the original image
#   restore_tty           checkpoint a container with Tty + OpenStdin running
#                         sh (that works), restore into one without a TTY
#   dump_ok               a successful checkpoint (counter), its dump.log
# With no CASE, all of the above. Two more need another engine set-up:
#   too_old               any checkpoint, on an engine whose criu is Debian
#                         12's 3.17 (too old for Linux 6.13+):
#                           failures.sh old-criu DIR    (once: fetches criu
#                              3.17 with apt-get download into DIR, writes
#                              the wrapper DIR/criu)
#                           BED_BIN=DIR engine.sh start NAME PORT
#                           failures.sh PORT too_old
#   no_experimental       any checkpoint, on an engine started with
#                         engine.sh start NAME PORT --no-experimental
#                         (Docker's refusal: no CRIU log, the error only)
#
# Output in $FAILURES_OUT (default tests/unit/data/criu of this repo):
# CASE.log (CRIU's log, untouched) and CASE.docker-error.txt (the "message"
# of Docker's JSON answer, unescaped, no trailing newline). Prints one line
# per case on stdout: CASE <tab> its first Error line that is not the
# harmless rlimit one or a summary (a rough look, not the parser's choice).
#
# The helper program `hold` (workloads/hold.c, in the test image) holds what
# a dump refuses: busybox here has no flock applet, and its nc speaks
# neither unix sockets nor "connect but never accept".
#
# Environment: IMAGE (default checkpointd-test:latest), FAILURES_OUT,
# FAILURES_TCP_PORT (port on the containers' own loopback, default 5000),
# FAILURES_KEEP=1 keeps containers and the work folder.
# Everything created is labelled checkpointd-failures=1 and removed at the end.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

# old_criu DIR: Debian 12's criu 3.17 and its missing libraries (as on this
# host kind) unpacked into DIR/prefix, and DIR/criu running it.
old_criu() {
    local dir=$1 deb lib=""
    mkdir -p "$dir/debs" "$dir/prefix"
    dir=$(cd "$dir" && pwd)
    (cd "$dir/debs" && apt-get download criu libnet1 libnl-3-200 libprotobuf-c1 libnftables1)
    for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/prefix"; done
    lib=$dir/prefix/usr/lib/x86_64-linux-gnu:$dir/prefix/lib/x86_64-linux-gnu
    printf '#!/bin/sh\n# Debian 12 criu 3.17, by checkpointd tests/bed/failures.sh old-criu\nLD_LIBRARY_PATH=%s exec %s "$@"\n' \
        "$lib" "$dir/prefix/usr/sbin/criu" >"$dir/criu"
    chmod 755 "$dir/criu"
    "$dir/criu" --version >&2
    printf '%s\n' "$dir"
}

if [[ ${1:-} == old-criu ]]; then
    (($# == 2)) || usage
    old_criu "$2"
    exit 0
fi
if (($# < 1)) || ! [[ $1 =~ ^[0-9]+$ ]]; then usage; fi
API=http://127.0.0.1:$1
shift
IMAGE=${IMAGE:-checkpointd-test:latest}
OUT=${FAILURES_OUT:-$HERE/../unit/data/criu}
TCP_PORT=${FAILURES_TCP_PORT:-5000}
LABEL='"Labels":{"checkpointd-failures":"1"}'
ALL_CASES=(external_unix_socket tcp_established tcp_in_flight file_locks inotify ghost_file
    restore_mount_missing restore_file_missing restore_bad_size restore_tty dump_ok)

log() { printf 'failures.sh: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/checkpointd-failures.XXXXXX")
CREATED=()     # container ids to remove
HOST_PIDS=()   # processes this script started on the host
CLEAN_DIRS=()  # host folders to remove

cleanup() {
    local rc=$? c p
    for p in "${HOST_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [[ ${FAILURES_KEEP:-0} == 1 ]]; then
        log "FAILURES_KEEP=1: leaving containers ${CREATED[*]:-}, $WORK, ${CLEAN_DIRS[*]:-}"
    else
        for c in "${CREATED[@]}"; do
            curl -sS -o /dev/null -X DELETE "$API/containers/$c?force=1&v=1" 2>/dev/null || true
        done
        for c in "${CLEAN_DIRS[@]}"; do rm -rf -- "$c"; done
        rm -rf -- "$WORK"
    fi
    if ((rc == 0)); then log "done"; else log "FAILED (exit $rc)"; fi
}
trap cleanup EXIT

# api METHOD PATH [JSON]: sets CODE and BODY.
api() {
    local method=$1 path=$2 data=${3:-}
    local args=(-sS -o "$WORK/body" -w '%{http_code}' -X "$method")
    [[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    CODE=$(curl "${args[@]}" "$API$path") || CODE=000
    BODY=$(cat "$WORK/body" 2>/dev/null || true)
}

call() { # call METHOD PATH [JSON] -- EXPECTED...
    local m=$1 p=$2 d="" c
    shift 2
    if [[ $# -gt 0 && $1 != -- ]]; then d=$1; shift; fi
    [[ ${1:-} == -- ]] && shift
    api "$m" "$p" "$d"
    for c in "$@"; do [[ $CODE == "$c" ]] && return 0; done
    fail "$m $p answered $CODE (expected $*): $BODY"
}

json_str() { # json_str KEY: first "KEY":"value" in BODY (no escaped quotes)
    grep -o "\"$1\":\"[^\"]*\"" <<<"$BODY" | head -n1 | cut -d'"' -f4
}

# message_of BODY: the "message" of Docker's JSON error, unescaped (\" \\ \n).
message_of() {
    sed -e 's/^{"message":"//' -e 's/"}$//' -e 's/\\"/"/g' -e 's/\\n/\n/g' -e 's/\\\\/\\/g' <<<"$1"
}

# create JSON-FRAGMENT: create a container; its id goes to ID (and CREATED).
create() {
    call POST /containers/create "{\"Image\":\"$IMAGE\",$LABEL,$1}" -- 201
    ID=$(json_str Id)
    [[ -n $ID ]] || fail "no Id in $BODY"
    CREATED+=("$ID")
}


logs() { # logs ID: stdout+stderr of the container, frame headers dropped
    curl -sS "$API/containers/$1/logs?stdout=1&stderr=1" | tr -d '\000-\011\013-\037'
}

running() { # running ID -> "true"/"false"
    call GET "/containers/$1/json" -- 200
    grep -o '"Running":[a-z]*' <<<"$BODY" | head -n1 | cut -d: -f2
}

# start_wait ID TEXT: start ID and wait until its output contains TEXT.
start_wait() {
    local i
    call POST "/containers/$1/start" -- 204
    for ((i = 0; i < 50; i++)); do
        logs "$1" | grep -qF -- "$2" && return 0
        sleep 0.1
    done
    fail "container $1 never printed '$2': $(logs "$1")"
}

# save CASE MESSAGE [COPY]: store Docker's message and the CRIU log it
# names ("path= X.log" after a dump, "log file: X.log" after a restore), or
# COPY, a copy of that log made while it existed.
save() {
    local case=$1 msg=$2 path
    printf '%s' "$msg" >"$OUT/$case.docker-error.txt"
    path=$(grep -o -e 'path= [^ ]*\.log' -e 'log file: [^ ]*\.log' <<<"$msg" | head -n1 |
        sed -e 's/^path= //' -e 's/^log file: //' || true)
    [[ -n $path || -n ${3:-} ]] || fail "$case: no CRIU log named in Docker's error: $msg"
    [[ -z ${3:-} ]] || path=$3
    [[ -r $path ]] || fail "$case: $path not readable (run this on the engine host)"
    cp -- "$path" "$OUT/$case.log"
    chmod 644 "$OUT/$case.log"
    report "$case"
}

# report CASE: print CASE and its first Error line that is not the rlimit
# one or a summary (a rough look; src/criu.c chooses better).
report() {
    local line
    line=$(grep 'Error (' "$OUT/$1.log" | grep -v -e 'RLIMIT_NOFILE' -e 'Dumping FAILED' \
        -e 'Restoring FAILED' -e 'cr-restore.c.*Restoring' | head -n1 || true)
    printf '%s\t%s\n' "$1" "${line:-(no Error line)}"
}

# dump_fails CASE ID: a checkpoint of running ID must fail; save, and check
# that the container still runs (a failed dump must leave it as it was).
dump_fails() {
    local case=$1 id=$2
    api POST "/containers/$id/checkpoints" '{"CheckpointID":"ck","Exit":true}'
    [[ $CODE != 201 ]] || fail "$case: the checkpoint succeeded"
    save "$case" "$(message_of "$BODY")"
    [[ $(running "$id") == true ]] || fail "$case: container $id stopped after the failed checkpoint"
}

# restore_fails CASE SOURCE TARGET: checkpoint SOURCE straight into the
# checkpoints folder of the created container TARGET, then start TARGET
# from it, which must fail. The retry covers moby#42900 ("already exists").
restore_fails() {
    local case=$1 src=$2 tgt=$3 attempt
    call POST "/containers/$src/checkpoints" \
        "{\"CheckpointID\":\"ck\",\"CheckpointDir\":\"$ROOT/containers/$tgt/checkpoints\",\"Exit\":true}" -- 201
    # A file naming this run makes the tar Docker sends to containerd unique
    # (else moby#42900 "already exists" when the bytes were seen before).
    printf '%s %s\n' "$case" "$(date +%s%N)" >"$ROOT/containers/$tgt/checkpoints/ck/checkpointd-failures.txt"
    for attempt in 1 2 3; do
        keep_log "$(task_dir "$tgt")/restore.log" &
        WATCHER=$!
        api POST "/containers/$tgt/start?checkpoint=ck"
        # dockerd refuses "already exists" before CRIU runs: no log to wait for
        if grep -q 'already exists' <<<"$BODY"; then kill "$WATCHER" 2>/dev/null || true; fi
        wait "$WATCHER" || true
        [[ $CODE == 204 ]] && fail "$case: the restore succeeded"
        grep -q 'already exists' <<<"$BODY" || break
        log "$case: attempt $attempt: moby#42900, retrying"
    done
    save "$case" "$(message_of "$BODY")" "$KEEP/restore.log"
}

# task_dir ID: containerd's folder for the task of container ID under the
# data root (the exec root's <id>/work links to it). CRIU works there.
task_dir() {
    printf '%s\n' "$ROOT/containerd/daemon/io.containerd.runtime.v2.task/moby/$1"
}

# keep_log FILE: wait for FILE to appear and hard-link it to $KEEP/, where it
# outlives its folder. Needed for CRIU's logs in the task's folder:
# restore.log after a failed restore (Docker's error names it as
# <exec-root>/.../<id>/work/restore.log, but containerd deletes that folder
# when it cleans up the failed task, before the error reaches the client),
# and criu-work/dump.log of a successful checkpoint (deleted on success).
# A link made while CRIU writes keeps every byte. Gives up after 60 s.
keep_log() {
    local f=$1 i
    rm -f "$KEEP/${f##*/}"
    for ((i = 0; i < 12000; i++)); do
        ln -f "$f" "$KEEP/${f##*/}" 2>/dev/null && return 0
        sleep 0.005
    done
    log "$f never appeared"
    return 1
}

# --- the helper ---------------------------------------------------------------
# (its source is workloads/hold.c; images.sh puts it in the image)

# --- the cases -----------------------------------------------------------------
case_external_unix_socket() {
    # The seed's case: like -v /var/run/docker.sock:/var/run/docker.sock.
    local dir=$WORK/host
    mkdir -p "$dir"
    "$WORK/hold" unix-listen "$dir/docker.sock" >"$WORK/listener.out" 2>&1 &
    HOST_PIDS+=("$!")
    for _ in $(seq 50); do [[ -S $dir/docker.sock ]] && break; sleep 0.1; done
    [[ -S $dir/docker.sock ]] || fail "host listener did not start: $(cat "$WORK/listener.out")"
    create "\"Cmd\":[\"/usr/local/bin/hold\",\"unix\",\"/var/run/docker.sock\"],\"HostConfig\":{\"NetworkMode\":\"none\",\"Binds\":[\"$dir/docker.sock:/var/run/docker.sock\"]}"
    start_wait "$ID" "connected to"
    dump_fails external_unix_socket "$ID"
}

case_tcp_established() {
    create "\"Cmd\":[\"/usr/local/bin/hold\",\"tcp\",\"$TCP_PORT\"],\"HostConfig\":{\"NetworkMode\":\"none\"}"
    start_wait "$ID" "tcp connection"
    dump_fails tcp_established "$ID"
}

case_tcp_in_flight() {
    create "\"Cmd\":[\"/usr/local/bin/hold\",\"inflight\",\"$TCP_PORT\"],\"HostConfig\":{\"NetworkMode\":\"none\"}"
    start_wait "$ID" "inflight connection"
    dump_fails tcp_in_flight "$ID"
}

case_restore_tty() {
    # A checkpoint of a container with a TTY works here (runc hands CRIU the
    # console); restoring it into a container without one does not.
    local src
    create '"Cmd":["/bin/sh"],"Tty":true,"OpenStdin":true,"HostConfig":{"NetworkMode":"none"}'
    src=$ID
    call POST "/containers/$src/start" -- 204
    sleep 0.5
    [[ $(running "$src") == true ]] || fail "restore_tty: sh exited"
    create '"Cmd":["/bin/sh"],"OpenStdin":true,"HostConfig":{"NetworkMode":"none"}'
    restore_fails restore_tty "$src" "$ID"
}

case_file_locks() {
    create '"Cmd":["/usr/local/bin/hold","flock","/tmp/app.lock"],"HostConfig":{"NetworkMode":"none"}'
    start_wait "$ID" "flock on"
    dump_fails file_locks "$ID"
}

case_inotify() {
    create '"Cmd":["/usr/local/bin/hold","inotify","/tmp"],"HostConfig":{"NetworkMode":"none"}'
    start_wait "$ID" "watching"
    dump_fails inotify "$ID"
}

case_ghost_file() {
    create '"Cmd":["/bin/sh","-c","dd if=/dev/zero of=/tmp/scratch.bin bs=1M count=2 2>/dev/null; exec 3</tmp/scratch.bin; rm /tmp/scratch.bin; echo deleted; exec sleep 100000"],"HostConfig":{"NetworkMode":"none"}'
    start_wait "$ID" deleted
    dump_fails ghost_file "$ID"
}

case_restore_mount_missing() {
    local dir=$WORK/appdata src
    mkdir -p "$dir"
    create "\"Cmd\":[\"/usr/local/bin/counter\"],\"HostConfig\":{\"NetworkMode\":\"none\",\"Binds\":[\"$dir:/data\"]}"
    src=$ID
    start_wait "$src" count
    create '"Cmd":["/usr/local/bin/counter"],"HostConfig":{"NetworkMode":"none"}'
    restore_fails restore_mount_missing "$src" "$ID"
}

case_restore_file_missing() {
    local src
    create '"Cmd":["/usr/local/bin/hold","open","/tmp/session.db"],"HostConfig":{"NetworkMode":"none"}'
    src=$ID
    start_wait "$src" holding
    # The target comes from the original image: no /tmp/session.db (hold is
    # copied in, so that the held file is the only one missing).
    create '"Cmd":["/usr/local/bin/counter"],"HostConfig":{"NetworkMode":"none"}'
    restore_fails restore_file_missing "$src" "$ID"
}

case_restore_bad_size() {
    local src tgt
    create '"Cmd":["/usr/local/bin/hold","open","/etc/passwd"],"HostConfig":{"NetworkMode":"none"}'
    src=$ID
    start_wait "$src" holding
    # hold must exist in the target (else CRIU stops at the missing binary).
    create '"Cmd":["/usr/local/bin/counter"],"HostConfig":{"NetworkMode":"none"}'
    tgt=$ID
    restore_fails restore_bad_size "$src" "$tgt"
}

case_dump_ok() {
    create '"Cmd":["/usr/local/bin/counter"],"HostConfig":{"NetworkMode":"none"}'
    start_wait "$ID" count
    keep_log "$(task_dir "$ID")/criu-work/dump.log" &
    WATCHER=$!
    call POST "/containers/$ID/checkpoints" '{"CheckpointID":"ok","Exit":true}' -- 201
    wait "$WATCHER" || fail "dump_ok: no dump.log seen in $(task_dir "$ID")/criu-work"
    cp -- "$KEEP/dump.log" "$OUT/dump_ok.log"
    chmod 644 "$OUT/dump_ok.log"
    report dump_ok
}

case_too_old() {
    create '"Cmd":["/usr/local/bin/counter"],"HostConfig":{"NetworkMode":"none"}'
    start_wait "$ID" count
    dump_fails too_old "$ID"
}

case_no_experimental() {
    create '"Cmd":["/usr/local/bin/counter"],"HostConfig":{"NetworkMode":"none"}'
    start_wait "$ID" count
    api POST "/containers/$ID/checkpoints" '{"CheckpointID":"ck","Exit":true}'
    [[ $CODE != 201 ]] || fail "no_experimental: the checkpoint succeeded"
    printf '%s' "$(message_of "$BODY")" >"$OUT/no_experimental.docker-error.txt"
    printf 'no_experimental\t%s %s\n' "$CODE" "$(message_of "$BODY")"
}

# --- main ------------------------------------------------------------------------
call GET /_ping -- 200
call GET /info -- 200
ROOT=$(json_str DockerRootDir)
[[ -d $ROOT ]] || fail "DockerRootDir '$ROOT' is not a folder here (run this on the engine host)"
if (($# > 0)); then CASES=("$@"); else CASES=("${ALL_CASES[@]}"); fi
if ! grep -q '"ExperimentalBuild":true' <<<"$BODY" && [[ ${CASES[*]} != no_experimental ]]; then
    fail "engine $API runs without --experimental: only the case no_experimental works there"
fi
call GET "/images/$IMAGE/json" -- 200
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# Hard links to restore logs must be on the data root's mount (dockerd
# bind-mounts the data root onto itself: a link from outside is EXDEV).
KEEP=$(mktemp -d "$ROOT/checkpointd-failures.XXXXXX")
CLEAN_DIRS+=("$KEEP")

# the host side of the unix socket case runs the same program
gcc -static -O2 -Wall -Wextra -o "$WORK/hold" "$HERE/workloads/hold.c"

for c in "${CASES[@]}"; do
    declare -F "case_$c" >/dev/null || fail "unknown case '$c'"
    log "case $c"
    "case_$c"
done
