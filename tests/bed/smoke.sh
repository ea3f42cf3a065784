#!/usr/bin/env bash
# smoke.sh PORT [PORT2] - prove that the engine on 127.0.0.1:PORT can
# checkpoint a process and restore it into a NEW container, using only the
# Engine API (curl). With PORT2 the new container is on that second engine
# (a migration between two "hosts"). Must run on the engine host (it reads
# the engine's files to check and stage the checkpoint). Needs
# images.sh PORT [PORT2] to have run (the same image on both engines).
#
#  1. counter in a container (network none); checkpoint with Exit:true into
#     <DockerRootDir>/smoke-ck; files on disk; container stopped.
#  2. restore into a new container (on PORT2 if given): target created from
#     the same image, the
#     files staged into <root>/containers/<target>/checkpoints/ through the
#     archive API of a created-never-started helper with a bind mount
#     (ENGINE-NOTES' workaround for the refused checkpoint-dir), then
#     start?checkpoint= (retried on moby#42900 "already exists"); the count
#     continues instead of starting at 0.
#  3. tcpserver in network mode host on 127.0.0.1:$SMOKE_TCP_PORT: CRIU dumps
#     the listening socket, an in-place restore keeps answering and keeps
#     its connection count.
#
# Environment: SMOKE_TCP_PORT (default 23799), IMAGE (default
# checkpointd-test:latest), SMOKE_KEEP=1 keeps the containers for a look.
# Exit status 0 only when everything passed. Everything created is labelled
# checkpointd-smoke=1 and removed at the end.
set -euo pipefail

if (($# < 1 || $# > 2)) || ! [[ $1 =~ ^[0-9]+$ && ${2:-0} =~ ^[0-9]+$ ]]; then
    echo "usage: smoke.sh PORT [PORT2]" >&2
    exit 2
fi
API1=http://127.0.0.1:$1
API2=http://127.0.0.1:${2:-$1}
API=$API1 # the engine the api/create/... helpers talk to
IMAGE=${IMAGE:-checkpointd-test:latest}
TCP_PORT=${SMOKE_TCP_PORT:-23799}
LABEL='"Labels":{"checkpointd-smoke":"1"}'

log() { printf 'smoke.sh: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/checkpointd-smoke.XXXXXX")
CREATED=()   # "engine-url container-id" pairs to remove
CLEAN_DIRS=() # host folders to remove

cleanup() {
    local rc=$? c
    if [[ ${SMOKE_KEEP:-0} == 1 ]]; then
        log "SMOKE_KEEP=1: leaving containers ${CREATED[*]:-} and ${CLEAN_DIRS[*]:-}"
    else
        for c in "${CREATED[@]}"; do
            curl -sS -o /dev/null -X DELETE "${c% *}/containers/${c#* }?force=1&v=1" 2>/dev/null || true
        done
        for d in "${CLEAN_DIRS[@]}"; do rm -rf -- "$d"; done
    fi
    rm -rf -- "$WORK"
    if ((rc == 0)); then log "PASS"; else log "FAILED (exit $rc)"; fi
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

# expect CODE...: fail unless the last api call answered one of them.
expect() {
    local c
    for c in "$@"; do [[ $CODE == "$c" ]] && return 0; done
    fail "$LAST_CALL answered $CODE (expected $*): $BODY"
}

call() { # call METHOD PATH [JSON] -- EXPECTED...
    LAST_CALL="$1 $2"
    local m=$1 p=$2 d=""
    shift 2
    if [[ $# -gt 0 && $1 != -- ]]; then d=$1; shift; fi
    [[ ${1:-} == -- ]] && shift
    api "$m" "$p" "$d"
    expect "$@"
}

json_str() { # json_str KEY: first "KEY":"value" in BODY
    grep -o "\"$1\":\"[^\"]*\"" <<<"$BODY" | head -n1 | cut -d'"' -f4
}

# create JSON-FRAGMENT: create a container; its id goes to CREATED_ID (and CREATED).
create() {
    call POST /containers/create "{\"Image\":\"$IMAGE\",$LABEL,$1}" -- 201
    local id
    id=$(json_str Id)
    [[ -n $id ]] || fail "no Id in $BODY"
    CREATED+=("$API $id")
    CREATED_ID=$id
}

# logs ID: the container's stdout/stderr as text. The stream is multiplexed
# (8-byte frame headers); counter's lines are short, so each header is four
# bytes of 0..2 plus a size below 32: dropping control characters (but \n)
# leaves the text.
logs() {
    curl -sS "$API/containers/$1/logs?stdout=1&stderr=1" | tr -d '\000-\011\013-\037'
}

# show_criu_log MESSAGE: print the Error/Warn lines of the CRIU log an error
# message names ("criu failed: ... path= <...>/criu-dump.log"). The first
# Error line (rlimit) is harmless, the cause sits before "Dumping FAILED".
show_criu_log() {
    local f
    f=$(grep -o 'path= [^ ]*\.log' <<<"$1" | head -n1 | cut -d' ' -f2 || true)
    if [[ -n $f && -r $f ]]; then
        log "Error/Warn lines of $f:"
        grep -E 'Error|Warn' "$f" | tail -n 20 | sed 's/^/    /' >&2
    fi
}

running() { # running ID -> "true"/"false"
    call GET "/containers/$1/json" -- 200
    grep -o '"Running":[a-z]*' <<<"$BODY" | head -n1 | cut -d: -f2
}

# start_checkpoint ID NAME: POST start?checkpoint=NAME, retrying the known
# flaky "already exists" error (moby#42900) up to 3 attempts.
start_checkpoint() {
    local attempt
    for attempt in 1 2 3; do
        LAST_CALL="POST start?checkpoint=$2 (attempt $attempt)"
        api POST "/containers/$1/start?checkpoint=$2"
        [[ $CODE == 204 ]] && return 0
        if grep -q 'already exists' <<<"$BODY"; then
            log "attempt $attempt: $CODE $BODY (moby#42900, retrying)"
            continue
        fi
        show_criu_log "$BODY"
        expect 204
    done
    fail "start?checkpoint=$2 still failing after 3 attempts: $BODY"
}

# engine_root: check the engine $API, print its DockerRootDir.
engine_root() {
    local root
    call GET /_ping -- 200
    call GET /info -- 200
    root=$(json_str DockerRootDir)
    [[ -d $root ]] || fail "DockerRootDir '$root' of $API is not a folder on this host (run smoke.sh on the engine host)"
    grep -q '"ExperimentalBuild":true' <<<"$BODY" || fail "engine $API is not running with --experimental"
    call GET "/images/$IMAGE/json" -- 200
    printf '%s\n' "$root"
}

# ---------------------------------------------------------------------------
ROOT1=$(engine_root)
API=$API2
ROOT2=$(engine_root)
API=$API1
ROOT=$ROOT1
log "engine $API1 (root $ROOT1), restore target on $API2 (root $ROOT2), image $IMAGE"

# --- 1. checkpoint a counter ------------------------------------------------
create '"Cmd":["/usr/local/bin/counter"],"HostConfig":{"NetworkMode":"none"}'
SRC=$CREATED_ID
call POST "/containers/$SRC/start" -- 204
sleep 1
[[ $(running "$SRC") == true ]] || fail "source container not running: $(logs "$SRC")"

CKDIR=$ROOT/smoke-ck
rm -rf -- "$CKDIR"
CLEAN_DIRS+=("$CKDIR")
t0=$(now_ms)
LAST_CALL="POST checkpoints"
api POST "/containers/$SRC/checkpoints" "{\"CheckpointID\":\"smoke1\",\"CheckpointDir\":\"$CKDIR\",\"Exit\":true}"
[[ $CODE == 201 ]] || show_criu_log "$BODY"
expect 201
log "checkpoint smoke1 of counter: 201 in $(($(now_ms) - t0)) ms"

[[ $(running "$SRC") == false ]] || fail "source still running after checkpoint with Exit:true"
[[ -f $CKDIR/smoke1/inventory.img ]] || fail "no $CKDIR/smoke1/inventory.img"
compgen -G "$CKDIR/smoke1/pages-*.img" >/dev/null || fail "no pages-*.img in $CKDIR/smoke1"
log "files: $(find "$CKDIR/smoke1" -type f | wc -l) in $CKDIR/smoke1 ($(du -sh "$CKDIR/smoke1" | cut -f1))"
last_src=$(logs "$SRC" | sed -n 's/^count \([0-9]*\) .*/\1/p' | tail -n1)
[[ -n $last_src ]] || fail "no count lines in the source's logs"
log "source counted up to $last_src before the checkpoint"

# --- 2. restore into a new container (on engine 2) ---------------------------
API=$API2
ROOT=$ROOT2
create '"Cmd":["/usr/local/bin/counter"],"HostConfig":{"NetworkMode":"none"}'
TGT=$CREATED_ID
TGT_CK=$ROOT/containers/$TGT/checkpoints
create "\"Cmd\":[\"/bin/true\"],\"HostConfig\":{\"NetworkMode\":\"none\",\"Binds\":[\"$TGT_CK:/ck\"]}"
HELPER=$CREATED_ID

tar -C "$CKDIR" -cf "$WORK/ck.tar" smoke1
t0=$(now_ms)
LAST_CALL="PUT helper archive"
CODE=$(curl -sS -o "$WORK/body" -w '%{http_code}' -X PUT -H 'Content-Type: application/x-tar' \
    --data-binary "@$WORK/ck.tar" "$API/containers/$HELPER/archive?path=/ck") || CODE=000
BODY=$(cat "$WORK/body")
expect 200
[[ -f $TGT_CK/smoke1/inventory.img ]] || fail "staged files not in $TGT_CK/smoke1"
log "staged $(du -k "$WORK/ck.tar" | cut -f1) KiB into the target through the helper in $(($(now_ms) - t0)) ms"
call DELETE "/containers/$HELPER?force=1" -- 204

t0=$(now_ms)
start_checkpoint "$TGT" smoke1
log "restore into new container: 204 in $(($(now_ms) - t0)) ms"
sleep 1
[[ $(running "$TGT") == true ]] || fail "target not running after restore: $(logs "$TGT")"
tgt_logs=$(logs "$TGT")
first_tgt=$(sed -n 's/^count \([0-9]*\) .*/\1/p' <<<"$tgt_logs" | head -n1)
last_tgt=$(sed -n 's/^count \([0-9]*\) .*/\1/p' <<<"$tgt_logs" | tail -n1)
[[ -n $first_tgt ]] || fail "target printed nothing after restore"
log "target counts $first_tgt..$last_tgt (source stopped at $last_src)"
((first_tgt > last_src - 2 && first_tgt > 0)) ||
    fail "target started at $first_tgt: restarted, not restored"
# /tmp/count in the target's filesystem, read through the archive API.
count_file=$(curl -sS "$API/containers/$TGT/archive?path=/tmp/count" | tar -xOf - count) ||
    fail "cannot read /tmp/count of the target"
((count_file > last_src)) || fail "/tmp/count is $count_file, not beyond $last_src"
log "OK: counter continued after restore into a new container (/tmp/count = $count_file)"
API=$API1
ROOT=$ROOT1

# --- 3. a listening TCP socket (network mode host, 127.0.0.1 only) -----------
# hello: connect to 127.0.0.1:TCP_PORT and print the answer line.
hello() {
    local line=""
    exec 3<>"/dev/tcp/127.0.0.1/$TCP_PORT" || return 1
    IFS= read -r -t 5 line <&3 || true
    exec 3<&- 3>&-
    printf '%s\n' "$line"
}
port_in_use() {
    local hex
    hex=$(printf ':%04X' "$TCP_PORT")
    awk -v p="$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6
}

port_in_use && fail "port $TCP_PORT on this host is in use; set SMOKE_TCP_PORT"
create "\"Cmd\":[\"/usr/local/bin/tcpserver\",\"--port\",\"$TCP_PORT\"],\"HostConfig\":{\"NetworkMode\":\"host\"}"
TCPC=$CREATED_ID
call POST "/containers/$TCPC/start" -- 204
for _ in $(seq 50); do port_in_use && break; sleep 0.1; done
port_in_use || fail "tcpserver does not listen on $TCP_PORT: $(logs "$TCPC")"
a1=$(hello) a2=$(hello)
[[ $a1 == "hello 1" && $a2 == "hello 2" ]] || fail "tcpserver answered '$a1', '$a2'"

t0=$(now_ms)
LAST_CALL="POST checkpoints (tcpserver)"
api POST "/containers/$TCPC/checkpoints" '{"CheckpointID":"smoke-tcp","Exit":true}'
[[ $CODE == 201 ]] || show_criu_log "$BODY"
expect 201
log "checkpoint of tcpserver (listening socket): 201 in $(($(now_ms) - t0)) ms"
[[ $(running "$TCPC") == false ]] || fail "tcpserver still running after checkpoint"
port_in_use && fail "port $TCP_PORT still listening after checkpoint with Exit:true"

t0=$(now_ms)
start_checkpoint "$TCPC" smoke-tcp
log "in-place restore of tcpserver: 204 in $(($(now_ms) - t0)) ms"
for _ in $(seq 50); do port_in_use && break; sleep 0.1; done
a3=$(hello)
[[ $a3 == "hello 3" ]] || fail "restored tcpserver answered '$a3' (expected 'hello 3')"
log "OK: restored tcpserver answers '$a3' on 127.0.0.1:$TCP_PORT"
