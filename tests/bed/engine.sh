#!/usr/bin/env bash
# engine.sh - private Docker engines (dockerd + containerd) for checkpointd's
# real-engine tests. Each engine NAME is a separate "host": its own data
# root, exec root, containerd and TCP port on 127.0.0.1.
#
# Usage:
#   engine.sh start NAME PORT [--no-experimental] [--tls DIR]
#                           start (or restart) engine NAME on 127.0.0.1:PORT;
#                           prints the dockerd PID (only that) on stdout.
#                           --tls DIR: TLS only (--tlsverify) with DIR made by
#                           certs.sh (ca.pem, server-cert.pem, server-key.pem);
#                           clients need DIR's ca.pem, cert.pem and key.pem
#   engine.sh stop NAME     stop it (SIGTERM, 30 s, SIGKILL); no error when
#                           it is not running
#   engine.sh status NAME   exit 0 when running (and answering _ping)
#   engine.sh root NAME     print its data root (= DockerRootDir in /info)
#   engine.sh execroot NAME print its exec root (CRIU logs live under
#                           <execroot>/containerd/daemon/io.containerd.runtime.v2.task/moby/<id>/)
#   engine.sh port NAME     print the port it was last started on
#   engine.sh dir NAME      print its folder D (layout below)
#   engine.sh purge NAME    stop it and delete all its files
#
# Environment:
#   BED_DIR   where engines keep their files (default /var/tmp/checkpointd-bed)
#   BED_BIN   directory with the CRIU 4.2 wrapper put first on PATH
#             (default /opt/checkpointd-bed/bin, written by install.sh)
#   BED_START_TIMEOUT  seconds to wait for _ping (default 60)
#
# Files of engine NAME, D = $BED_DIR/NAME:
#   D/data           dockerd --data-root (containerd root in D/data/containerd)
#   D/exec           dockerd --exec-root (containerd state in D/exec/containerd)
#   D/tmp            TMPDIR of containerd: every restore leaves a ctrd-checkpoint*
#                    copy of the checkpoint here (containerd bug); emptied on start
#   D/dockerd.pid    D/containerd.pid     pid files (shims: found by their
#                    -address D/exec/containerd/containerd.sock argument)
#   D/dockerd.log    D/containerd.log     logs (appended)
#   D/daemon.json    empty dockerd config (a host /etc/docker/daemon.json
#                    that repeats a flag would make dockerd refuse to start)
#   D/containerd.toml, D/port
#   D/tls            the --tls DIR of the last start (absent without TLS)
#
# Why engine.sh runs containerd itself instead of letting dockerd do it:
# dockerd 20.10 silently uses the SYSTEM containerd when
# /run/containerd/containerd.sock exists (e.g. containerd.service on a
# systemd host after installing docker.io). runc is started by containerd's
# shims with containerd's environment, so with the system containerd it
# would find Debian 12's broken criu 3.17 instead of our wrapper, and all
# engines would share one containerd. Our own containerd gets our PATH. The
# layout mirrors the one dockerd uses for a containerd it manages.
set -euo pipefail

BED_DIR=${BED_DIR:-/var/tmp/checkpointd-bed}
BED_BIN=${BED_BIN:-/opt/checkpointd-bed/bin}
BED_START_TIMEOUT=${BED_START_TIMEOUT:-60}

# log, die and the helpers both engine scripts use; log lines start with
# BED_SCRIPT ("engine.sh: ...")
# shellcheck disable=SC2034 # read by lib.sh (shellcheck -x sees it)
BED_SCRIPT=engine.sh
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

usage() {
    sed -n '5,21p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------------------
# helpers (the shared ones are in lib.sh)
# ---------------------------------------------------------------------------

# pid_is PID COMM [ARG]: PID is alive, runs COMM (/proc/PID/comm, which is
# truncated to 15 chars) and, if ARG is given, has ARG among its arguments.
# Guards against pid files naming a recycled PID of an unrelated process.
pid_is() {
    local pid=$1 comm=$2 arg=${3:-} have
    pid_alive "$pid" || return 1
    have=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [[ $have == "${comm:0:15}" ]] || return 1
    [[ -z $arg ]] && return 0
    local -a args=()
    mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    local a
    for a in "${args[@]}"; do [[ $a == "$arg" ]] && return 0; done
    return 1
}

# read_tls: print the TLS folder engine NAME was last started with (or nothing).
read_tls() {
    local dir=""
    if [[ -r $D/tls ]]; then read -r dir 2>/dev/null <"$D/tls" || true; fi
    if [[ -n $dir ]]; then printf '%s\n' "$dir"; fi
}

# Set the per-engine paths for NAME.
set_paths() {
    NAME=$1
    [[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad engine name '$NAME'"
    D=$BED_DIR/$NAME
    DATA=$D/data
    EXEC=$D/exec
    CTD_STATE=$EXEC/containerd
    CTD_ROOT=$DATA/containerd
    CTD_SOCK=$CTD_STATE/containerd.sock
    DOCKERD_PID=$D/dockerd.pid
    CTD_PID=$D/containerd.pid
}

# ---------------------------------------------------------------------------
# stopping, also used to clear leftovers of a killed run
# ---------------------------------------------------------------------------

# Kill containers and shims that a killed run of NAME left behind (with a
# clean shutdown there are none). Only processes tied to NAME's own files
# are touched:
#  - each task folder of NAME's containerd holds init.pid, the container's
#    first process; it is killed when its parent is a shim of NAME;
#  - a shim of NAME is a containerd-shim-runc-v2 whose arguments name
#    NAME's containerd socket (-address $CTD_SOCK), a path no other engine
#    uses (containerd 1.6's shim writes no pid file of its own).
is_our_shim() {
    pid_is "$1" containerd-shim-runc-v2 "$CTD_SOCK"
}

kill_leftover_tasks() {
    local dir init ppid p
    for dir in "$CTD_STATE"/daemon/io.containerd.runtime.v2.task/*/*/; do
        [[ -d $dir ]] || continue
        init=$(read_pid "$dir/init.pid")
        if [[ -z $init ]] || ! pid_alive "$init"; then continue; fi
        ppid=$(awk '{print $4}' "/proc/$init/stat" 2>/dev/null || true)
        if [[ -n $ppid ]] && is_our_shim "$ppid"; then
            log "killing leftover container process $init (task $(basename "$dir"))"
            kill -KILL "$init" 2>/dev/null || true
        fi
    done
    local comm
    for p in /proc/[0-9]*; do
        # cheap pre-filter with builtins only: a scan must stay fast
        comm=""
        read -r comm 2>/dev/null <"$p/comm" || continue
        [[ $comm == containerd-shim* ]] || continue
        p=${p#/proc/}
        if is_our_shim "$p"; then
            log "stopping leftover shim $p"
            kill_wait "$p" 5
        fi
    done
}

# Stop engine NAME (paths set). Quiet and successful when nothing runs.
stop_engine() {
    local pid port stopped=0
    port=$(read_port)

    pid=$(read_pid "$DOCKERD_PID")
    if [[ -n $pid ]] && pid_is "$pid" dockerd "$DATA"; then
        log "stopping dockerd $pid ($NAME)"
        kill_wait "$pid" 30
        stopped=1
    fi
    pid=$(read_pid "$CTD_PID")
    if [[ -n $pid ]] && pid_is "$pid" containerd "$D/containerd.toml"; then
        log "stopping containerd $pid ($NAME)"
        kill_wait "$pid" 15
    fi
    # After a clean dockerd shutdown no task is left; after a SIGKILL there may be.
    kill_leftover_tasks
    rm -f "$DOCKERD_PID" "$CTD_PID"
    unmount_below_D

    # Only wait for the port if it was ours: it may belong to someone else now.
    if ((stopped)) && [[ -n $port ]] && ! wait_port_free "$port" 10; then
        die "port $port still in use after stopping engine $NAME"
    fi
}

# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------

cmd_start() {
    (($# >= 2)) || usage
    set_paths "$1"
    local port=$2 experimental=--experimental tls="" f
    check_port "$port"
    shift 2
    while (($#)); do
        case $1 in
        --no-experimental) experimental="" ;;
        --tls)
            (($# >= 2)) || usage
            [[ -d $2 ]] || die "--tls: no folder '$2' (make one with tests/bed/certs.sh)"
            tls=$(cd -- "$2" && pwd -P)
            shift
            ;;
        *) usage ;;
        esac
        shift
    done
    if [[ -n $tls ]]; then
        for f in ca.pem server-cert.pem server-key.pem cert.pem key.pem; do
            [[ -r $tls/$f ]] || die "--tls: no $tls/$f (make it with tests/bed/certs.sh $tls)"
        done
    fi
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    command -v dockerd >/dev/null || die "dockerd not found: run tests/bed/install.sh"
    command -v containerd >/dev/null || die "containerd not found: run tests/bed/install.sh"
    [[ -x $BED_BIN/criu ]] || log "WARNING: $BED_BIN/criu missing (run install.sh): checkpoints will fail"
    ((${#CTD_SOCK} < 100)) || die "socket path too long (${#CTD_SOCK} chars): $CTD_SOCK; use a shorter BED_DIR"

    # Leftovers of an earlier run of this NAME (also a killed one).
    stop_engine
    check_port_free "$port"

    # containerd never removes the ctrd-checkpoint* copies it makes on each
    # restore; they pile up in D/tmp while the engine runs. Start afresh.
    rm -rf -- "$D/tmp"
    mkdir -p "$DATA" "$EXEC" "$D/tmp" "$CTD_STATE" "$CTD_ROOT"
    printf '%s\n' "$port" >"$D/port"
    if [[ -n $tls ]]; then printf '%s\n' "$tls" >"$D/tls"; else rm -f "$D/tls"; fi
    printf '{}\n' >"$D/daemon.json"
    cat >"$D/containerd.toml" <<EOF
# Written by checkpointd tests/bed/engine.sh for engine $NAME.
version = 2
root = "$CTD_ROOT/daemon"
state = "$CTD_STATE/daemon"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
oom_score = 0

[grpc]
  address = "$CTD_SOCK"

[debug]
  address = "$CTD_STATE/containerd-debug.sock"
  level = "info"
EOF

    local path="$BED_BIN:$PATH" t0 i pid ctd
    t0=$(date +%s%N)
    {
        printf '\n===== %s engine.sh start %s %s %s%s =====\n' "$(date -u +%FT%TZ)" "$NAME" "$port" "$experimental" "${tls:+ --tls $tls}"
    } | tee -a "$D/containerd.log" >>"$D/dockerd.log"

    # containerd: own session (survives the caller's terminal / process group),
    # our PATH (runc -> criu 4.2), TMPDIR inside D.
    setsid env -u XDG_RUNTIME_DIR PATH="$path" TMPDIR="$D/tmp" \
        containerd --config "$D/containerd.toml" \
        </dev/null >>"$D/containerd.log" 2>&1 &
    ctd=$!
    printf '%s\n' "$ctd" >"$CTD_PID"
    for ((i = 0; i < 200; i++)); do
        [[ -S $CTD_SOCK ]] && break
        pid_alive "$ctd" || break
        sleep 0.1
    done
    if ! [[ -S $CTD_SOCK ]] || ! pid_alive "$ctd"; then
        tail -n 30 "$D/containerd.log" >&2 || true
        stop_engine
        die "containerd for engine $NAME did not start (log: $D/containerd.log)"
    fi

    # dockerd. Flags: no bridge, no iptables, loopback TCP only (with --tls:
    # TLS only, clients must show a certificate signed by the folder's CA).
    local -a tls_args=()
    if [[ -n $tls ]]; then
        tls_args=(--tlsverify --tlscacert "$tls/ca.pem" --tlscert "$tls/server-cert.pem"
            --tlskey "$tls/server-key.pem")
    fi
    local args=(
        ${experimental:+"$experimental"}
        "${tls_args[@]}"
        -H "tcp://127.0.0.1:$port"
        --containerd "$CTD_SOCK"
        --data-root "$DATA"
        --exec-root "$EXEC"
        -p "$DOCKERD_PID"
        --config-file "$D/daemon.json"
        --bridge=none --iptables=false --ip-masq=false --ip6tables=false
    )
    # the TLS flags are ours alone: dockerd would take DOCKER_TLS_VERIFY and
    # DOCKER_CERT_PATH from the environment as defaults
    setsid env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH PATH="$path" TMPDIR="$D/tmp" dockerd "${args[@]}" \
        </dev/null >>"$D/dockerd.log" 2>&1 &
    pid=$!

    for ((i = 0; i < BED_START_TIMEOUT * 10; i++)); do
        ping_ok "$port" "$tls" && break
        pid_alive "$pid" || break
        sleep 0.1
    done
    if ! pid_alive "$pid" || ! ping_ok "$port" "$tls"; then
        local why="did not answer _ping on 127.0.0.1:$port${tls:+ (TLS)} within ${BED_START_TIMEOUT}s"
        pid_alive "$pid" || why="dockerd exited during start-up"
        log "dockerd log tail ($D/dockerd.log):"
        tail -n 30 "$D/dockerd.log" >&2 || true
        printf '%s\n' "$pid" >"$DOCKERD_PID" # so stop_engine finds it
        stop_engine || true
        die "engine $NAME: $why"
    fi
    # dockerd writes the pid file itself; make sure it names our process.
    [[ $(read_pid "$DOCKERD_PID") == "$pid" ]] || printf '%s\n' "$pid" >"$DOCKERD_PID"
    log "engine $NAME up on 127.0.0.1:$port${tls:+ (TLS, $tls)} in $((($(date +%s%N) - t0) / 1000000)) ms (dockerd $pid, containerd $ctd, root $DATA)"
    printf '%s\n' "$pid"
}

cmd_stop() {
    (($# == 1)) || usage
    set_paths "$1"
    stop_engine
}

cmd_status() {
    (($# == 1)) || usage
    set_paths "$1"
    local pid port
    pid=$(read_pid "$DOCKERD_PID")
    port=$(read_port)
    if [[ -n $pid && -n $port ]] && pid_is "$pid" dockerd "$DATA" && ping_ok "$port" "$(read_tls)"; then
        log "engine $NAME running: dockerd $pid on 127.0.0.1:$port"
        return 0
    fi
    log "engine $NAME not running"
    return 1
}

cmd_purge() {
    (($# == 1)) || usage
    set_paths "$1"
    [[ -d $D ]] || return 0
    stop_engine
    rm -rf -- "$D"
    log "purged $D"
}

main() {
    (($# >= 1)) || usage
    local cmd=$1
    shift
    case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    purge) cmd_purge "$@" ;;
    root) (($# == 1)) || usage; set_paths "$1"; printf '%s\n' "$DATA" ;;
    dir) (($# == 1)) || usage; set_paths "$1"; printf '%s\n' "$D" ;;
    execroot) (($# == 1)) || usage; set_paths "$1"; printf '%s\n' "$EXEC" ;;
    port)
        (($# == 1)) || usage
        set_paths "$1"
        [[ -n $(read_port) ]] || die "engine $NAME was never started"
        read_port
        ;;
    -h | --help | help) usage ;;
    *) usage ;;
    esac
}

main "$@"
