#!/usr/bin/env bash
# podman.sh - private Podman engines (`podman system service`, Podman 4.3
# from Debian 12) for checkpointd's real-engine tests, the Podman twin of
# engine.sh. Each engine NAME is a separate "host": its own storage, run
# root, libpod state, locks, networks config and TCP port on 127.0.0.1.
#
# Usage:
#   podman.sh start NAME PORT  start (or restart) engine NAME on 127.0.0.1:PORT;
#                              prints the service PID (only that) on stdout
#   podman.sh stop NAME        stop it (SIGTERM, 30 s, SIGKILL), then kill its
#                              containers and conmon processes; no error when
#                              it is not running
#   podman.sh status NAME      exit 0 when running (and answering _ping)
#   podman.sh port NAME        print the port it was last started on
#   podman.sh dir NAME         print its folder D (layout below)
#   podman.sh root NAME        print its storage root (= D/storage)
#   podman.sh purge NAME       stop it and delete all its files
#
# Environment:
#   BED_DIR   where engines keep their files (default /var/tmp/checkpointd-bed);
#             Podman engine NAME lives in $BED_DIR/podman-NAME
#   BED_BIN   directory with the CRIU 4.2 wrapper put first on PATH
#             (default /opt/checkpointd-bed/bin, written by install.sh)
#   BED_START_TIMEOUT    seconds to wait for _ping (default 60)
#   BED_PODMAN_LOG_LEVEL podman --log-level (default warn; debug is verbose)
#
# Files of engine NAME, D = $BED_DIR/podman-NAME:
#   D/storage    podman --root (images, containers, checkpoints; the libpod
#                database in D/storage/libpod, volumes in D/storage/volumes)
#   D/run        run root           } both are "tmpfs-like": emptied on start,
#   D/libpod     podman --tmpdir    } which makes podman "refresh" its state as
#                after a reboot (libpod's alive file, file locks in
#                D/libpod/locks, exit files, events in D/libpod/events/events.log)
#   D/tmp        TMPDIR and image_copy_tmp_dir of the service: checkpoint
#                export/import tars in transit, images/create?fromSrc=- uploads
#                (api_load.tar*, which podman 4.3 never deletes); emptied on start
#   D/net        network config dir (empty: containers use network mode none)
#   D/containers.conf   the service's only containers.conf (CONTAINERS_CONF)
#   D/podman.pid D/podman.log (appended) D/port
#   $BED_DIR/.podman-runroot  an empty folder on the host; the --runroot of
#                every engine, bound to its D/run in its own mount namespace
#
# Why a mount namespace: podman 4.3 exports a container's conmon and
# container pid file paths (in the run root, under the OLD container id) and
# `restore?import=true` resets them to the new container's run dir only when
# they start with the restoring engine's run root. Between real hosts (both
# /run/containers/storage) they do; between engines with different run roots
# they would not: the restored container's conmon would write into the
# source engine's D/run, and the restore fails (500 "exit status 1", podman.log:
# "Failed to write conmon pidfile") once the source container is gone. With
# one run root path for all engines, migrations behave as between hosts.
# Mounts the service makes (overlay root filesystems, shm) live in that
# namespace: the host does not see them under D/storage (`nsenter -t PID -m`
# does), and they vanish with the engine's last process.
#
# Why these settings (containers.conf):
#   runtime runc: Debian 12's podman would also take crun; runc is what the
#     Docker engines use and it calls `criu` from PATH (our CRIU 4.2 wrapper;
#     Debian 12's criu 3.17 does not work on this kernel). conmon inherits the
#     service's PATH, so restores (run by conmon -> runc) use it too.
#   cgroupfs + file events logger: no systemd/journald needed.
#   lock_type file: the default "shm" locks live in ONE /dev/shm/libpod_lock
#     shared by every podman on the host; engines that are killed and purged
#     would leak lock numbers there, and a "refresh" re-claims numbers that
#     another engine may hold. File locks live in D/libpod/locks instead.
#   network_backend cni + network_config_dir D/net: never reads or writes the
#     host's /etc/cni/net.d; with network mode "none" no CNI plugin runs.
#   default_ulimits nofile/nproc 1024: without it podman asks runc for
#     nofile 1048576, above this host's hard limit, and containers created
#     without Ulimits do not start ("error setting rlimit type 7: operation
#     not permitted"); podman 4.3 applies default_ulimits to containers made
#     through the compat API as well. Ulimits in a request REPLACE the
#     defaults: give both nofile and nproc (1024:1024) or none (nofile alone
#     fails with "rlimit type 6": this host's root lacks CAP_SYS_RESOURCE).
#   Exec sessions keep podman's default exit_command_delay (300 s): each exec
#     leaves two conmon processes for 5 minutes; `stop` kills them.
#
# stop kills what still runs of NAME: only processes tied to NAME's own
# files (see is_ours: conmon/podman/runc whose bundle or storage root is in
# D, and the container processes such a conmon parents), never by name
# alone. Then it removes runc's state (/run/runc/<id>: runc's default root,
# which podman uses) of NAME's containers and unmounts whatever the host
# still has mounted below D. Containers killed that way show up as stopped
# ("created"/"exited") after the next start.
set -euo pipefail

BED_DIR=${BED_DIR:-/var/tmp/checkpointd-bed}
BED_BIN=${BED_BIN:-/opt/checkpointd-bed/bin}
BED_START_TIMEOUT=${BED_START_TIMEOUT:-60}
BED_PODMAN_LOG_LEVEL=${BED_PODMAN_LOG_LEVEL:-warn}
RUNC_ROOT=/run/runc

# log, die and the helpers both engine scripts use; log lines start with
# BED_SCRIPT ("podman.sh: ...")
# shellcheck disable=SC2034 # read by lib.sh (shellcheck -x sees it)
BED_SCRIPT=podman.sh
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

usage() {
    sed -n '7,25p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------------------
# helpers (the shared ones, same as engine.sh's, are in lib.sh)
# ---------------------------------------------------------------------------

# ppid_of PID: print the parent PID of PID (nothing when gone).
ppid_of() {
    local stat="" rest
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 0
    rest=${stat##*) } # "S PPID ..."
    rest=${rest#* }
    printf '%s\n' "${rest%% *}"
}

# comm_of PID: /proc/PID/comm (nothing when gone).
comm_of() {
    local c=""
    read -r c 2>/dev/null <"/proc/$1/comm" || true
    printf '%s\n' "$c"
}

# opt_value_below_D OPT...: true when, in the arguments loaded in ARGS, one
# of the options OPT has a value that is D or below D ("OPT VALUE" or
# "OPT=VALUE").
opt_value_below_D() {
    local i a o v
    for ((i = 0; i < ${#ARGS[@]}; i++)); do
        a=${ARGS[i]}
        for o in "$@"; do
            v=""
            if [[ $a == "$o" ]]; then
                v=${ARGS[i + 1]:-}
            elif [[ $a == "$o="* ]]; then
                v=${a#"$o="}
            fi
            [[ -n $v && ($v == "$D" || $v == "$D/"*) ]] && return 0
        done
    done
    return 1
}

# is_ours PID COMM: PID (alive, running COMM) belongs to engine NAME, judged
# by arguments whose value the owning engine chose from ITS OWN paths:
#   conmon: its bundle (-b/--bundle, the container's or exec session's
#           folder in the storage) or the --root of its exit command;
#   podman: its --root (the service, exit commands `container cleanup`);
#   runc:   its --bundle/-b or the folders of a checkpoint (--image-path,
#           --work-path); a runc without them is caught through its parent.
# Paths merely mentioned are not enough: podman 4.3 keeps the conmon and
# container pid file paths of the SOURCE engine in a container restored
# with restore?import=true, so a conmon of another engine can name files of
# NAME (-p, --conmon-pidfile).
is_ours() {
    local pid=$1 comm=$2 i
    pid_alive "$pid" || return 1
    ARGS=()
    mapfile -d '' -t ARGS 2>/dev/null <"/proc/$pid/cmdline" || return 1
    case $comm in
    conmon)
        opt_value_below_D -b --bundle && return 0
        # --exit-command-arg --root --exit-command-arg ROOT
        for ((i = 0; i + 3 < ${#ARGS[@]}; i++)); do
            [[ ${ARGS[i]} == --exit-command-arg && ${ARGS[i + 1]} == --root &&
                ${ARGS[i + 2]} == --exit-command-arg && ${ARGS[i + 3]} == "$ROOT" ]] && return 0
        done
        return 1
        ;;
    podman) opt_value_below_D --root ;;
    runc) opt_value_below_D -b --bundle --image-path --work-path ;;
    *) return 1 ;;
    esac
}

# is_our_service PID: PID is a `podman ... system service` of NAME.
is_our_service() {
    local pid=$1 a seen_root=0 seen_service=0 prev=""
    pid_alive "$pid" || return 1
    [[ $(comm_of "$pid") == podman ]] || return 1
    local -a args=()
    mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    for a in "${args[@]}"; do
        [[ $prev == --root && $a == "$ROOT" ]] && seen_root=1
        [[ $a == service ]] && seen_service=1
        prev=$a
    done
    ((seen_root && seen_service))
}

# Set the per-engine paths for NAME.
set_paths() {
    NAME=$1
    [[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad engine name '$NAME'"
    D=$BED_DIR/podman-$NAME
    ROOT=$D/storage
    RUNROOT=$D/run
    # the path under which the service sees RUNROOT (see "Why a mount
    # namespace" above); the same for every engine of this BED_DIR
    RUNROOT_SEEN=$BED_DIR/.podman-runroot
    LIBPOD_TMP=$D/libpod
    TMP=$D/tmp
    NETDIR=$D/net
    CONF=$D/containers.conf
    PIDFILE=$D/podman.pid
    LOG=$D/podman.log
}

# ---------------------------------------------------------------------------
# stopping, also used to clear leftovers of a killed run
# ---------------------------------------------------------------------------

# Kill everything of NAME that still runs after the service is gone:
#  - container processes: the children of NAME's conmon processes (conmon is
#    their subreaper) that are not conmon themselves, and the PIDs in
#    D/run/overlay-containers/*/userdata/pidfile whose parent is such a
#    conmon; SIGKILL of a container's init ends its whole PID namespace
#    (exec sessions included);
#  - conmon processes of NAME (container monitors and the pairs each exec
#    session leaves for exit_command_delay): SIGKILL, so that none of them
#    runs its exit command (`podman container cleanup`) while we clean up;
#  - podman and runc processes of NAME (exit commands, a service whose pid
#    file got lost, a runc started by NAME's conmon or podman): SIGTERM,
#    then SIGKILL.
# "Of NAME": see is_ours.
kill_leftovers() {
    local p comm pid ppid
    local -a conmons=() others=() victims=() runcs=()
    for p in /proc/[0-9]*; do
        # cheap pre-filter with builtins only: a scan must stay fast
        comm=""
        read -r comm 2>/dev/null <"$p/comm" || continue
        case $comm in
        conmon | podman | runc) ;;
        *) continue ;;
        esac
        pid=${p#/proc/}
        if is_ours "$pid" "$comm"; then
            if [[ $comm == conmon ]]; then conmons+=("$pid"); else others+=("$pid"); fi
        elif [[ $comm == runc ]]; then
            runcs+=("$pid")
        fi
    done
    # runc processes without telling arguments: ours when their parent is a
    # conmon or podman process of NAME
    local -A parent_ok=()
    for pid in "${conmons[@]}" "${others[@]}"; do parent_ok[$pid]=1; done
    for pid in "${runcs[@]}"; do
        ppid=$(ppid_of "$pid")
        [[ -n $ppid && -n ${parent_ok[$ppid]:-} ]] && others+=("$pid")
    done
    if ((${#conmons[@]})); then
        local -A is_conmon=()
        for pid in "${conmons[@]}"; do is_conmon[$pid]=1; done
        for p in /proc/[0-9]*; do
            pid=${p#/proc/}
            [[ -n ${is_conmon[$pid]:-} ]] && continue
            ppid=$(ppid_of "$pid")
            [[ -n $ppid && -n ${is_conmon[$ppid]:-} ]] && victims+=("$pid")
        done
        local f
        for f in "$RUNROOT"/overlay-containers/*/userdata/pidfile; do
            [[ -e $f ]] || continue
            pid=$(read_pid "$f")
            if [[ -z $pid ]] || ! pid_alive "$pid"; then continue; fi
            ppid=$(ppid_of "$pid")
            [[ -n $ppid && -n ${is_conmon[$ppid]:-} ]] && victims+=("$pid")
        done
        if ((${#victims[@]})); then
            log "killing leftover container processes of $NAME: $(printf '%s\n' "${victims[@]}" | sort -un | tr '\n' ' ')"
            kill -KILL "${victims[@]}" 2>/dev/null || true
        fi
        log "killing leftover conmon processes of $NAME: ${conmons[*]}"
        kill -KILL "${conmons[@]}" 2>/dev/null || true
    fi
    for pid in "${others[@]}"; do
        log "stopping leftover $(comm_of "$pid") process $pid of $NAME"
        kill_wait "$pid" 5
    done
    # let the kernel finish off what got SIGKILL (a container's PID namespace
    # takes a moment to die)
    local i
    for pid in "${victims[@]}" "${conmons[@]}"; do
        for ((i = 0; i < 50; i++)); do
            pid_alive "$pid" || break
            sleep 0.1
        done
        pid_alive "$pid" && log "WARNING: pid $pid still present after SIGKILL"
    done
    return 0
}

# runc keeps a state folder per container in its root (/run/runc, podman
# passes no --root); a killed container's folder and cgroup stay behind
# until `runc delete`. Only NAME's container IDs (the folders of
# D/storage/overlay-containers, 64 hex digits) are touched.
delete_runc_state() {
    local dir id
    [[ -d $RUNC_ROOT ]] || return 0
    for dir in "$ROOT"/overlay-containers/*/; do
        id=$(basename "$dir")
        [[ $id =~ ^[0-9a-f]{64}$ ]] || continue
        [[ -d $RUNC_ROOT/$id ]] || continue
        runc --root "$RUNC_ROOT" delete --force "$id" >/dev/null 2>&1 ||
            rm -rf -- "${RUNC_ROOT:?}/$id"
    done
}

# Stop engine NAME (paths set). Quiet and successful when nothing runs.
stop_engine() {
    local pid port stopped=0
    port=$(read_port)

    pid=$(read_pid "$PIDFILE")
    if [[ -n $pid ]] && is_our_service "$pid"; then
        log "stopping podman service $pid ($NAME)"
        kill_wait "$pid" 30
        stopped=1
    fi
    # podman's service leaves containers running when it exits; a killed
    # one also leaves exec sessions and exit commands behind.
    kill_leftovers
    delete_runc_state
    rm -f "$PIDFILE"
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
    (($# == 2)) || usage
    set_paths "$1"
    local port=$2
    check_port "$port"
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    command -v podman >/dev/null || die "podman not found: run tests/bed/install.sh"
    command -v conmon >/dev/null || die "conmon not found: run tests/bed/install.sh"
    command -v runc >/dev/null || die "runc not found: run tests/bed/install.sh"
    [[ -x $BED_BIN/criu ]] || log "WARNING: $BED_BIN/criu missing (run install.sh): checkpoints will fail"

    # Leftovers of an earlier run of this NAME (also a killed one).
    stop_engine
    check_port_free "$port"

    # run root and libpod tmpdir are meant to be tmpfs: start them empty, as
    # after a reboot (podman then resets the state of every container, which
    # is right: none of NAME's containers runs any more). D/tmp holds only
    # transit files.
    rm -rf -- "$RUNROOT" "$LIBPOD_TMP" "$TMP"
    mkdir -p "$ROOT" "$RUNROOT" "$LIBPOD_TMP" "$TMP" "$NETDIR"
    printf '%s\n' "$port" >"$D/port"
    cat >"$CONF" <<EOF
# Written by checkpointd tests/bed/podman.sh for podman engine $NAME.
# The service's only containers.conf (CONTAINERS_CONF): host files in
# /etc/containers and /usr/share/containers are not read.

[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[network]
network_backend = "cni"
network_config_dir = "$NETDIR"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
lock_type = "file"
image_copy_tmp_dir = "$TMP"
EOF

    mkdir -p "$RUNROOT_SEEN"
    local path="$BED_BIN:$PATH" t0 i pid
    t0=$(date +%s%N)
    printf '\n===== %s podman.sh start %s %s =====\n' "$(date -u +%FT%TZ)" "$NAME" "$port" >>"$LOG"

    # Own session (survives the caller's terminal / process group), own
    # mount namespace with D/run bound onto RUNROOT_SEEN (unshare execs, so
    # $! ends up being podman's PID), our PATH (runc -> criu 4.2; conmon and
    # so restores inherit it), TMPDIR inside D, no client settings from the
    # caller's environment.
    # shellcheck disable=SC2016 # $1... are for the inner sh
    setsid env -u XDG_RUNTIME_DIR -u CONTAINERS_STORAGE_CONF -u CONTAINERS_REGISTRIES_CONF \
        -u CONTAINER_HOST -u CONTAINER_CONNECTION -u DOCKER_HOST \
        PATH="$path" TMPDIR="$TMP" CONTAINERS_CONF="$CONF" \
        unshare --mount --propagation slave \
        sh -c 'mount --bind "$1" "$2" || exit 1; shift 2; exec "$@"' sh "$RUNROOT" "$RUNROOT_SEEN" \
        podman --log-level "$BED_PODMAN_LOG_LEVEL" \
        --root "$ROOT" --runroot "$RUNROOT_SEEN" --tmpdir "$LIBPOD_TMP" \
        system service --time 0 "tcp:127.0.0.1:$port" \
        </dev/null >>"$LOG" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$PIDFILE"

    for ((i = 0; i < BED_START_TIMEOUT * 10; i++)); do
        ping_ok "$port" && break
        pid_alive "$pid" || break
        sleep 0.1
    done
    if ! pid_alive "$pid" || ! ping_ok "$port"; then
        local why="did not answer _ping on 127.0.0.1:$port within ${BED_START_TIMEOUT}s"
        pid_alive "$pid" || why="podman exited during start-up"
        log "podman log tail ($LOG):"
        tail -n 30 "$LOG" >&2 || true
        stop_engine || true
        die "engine $NAME: $why"
    fi
    log "podman engine $NAME up on 127.0.0.1:$port in $((($(date +%s%N) - t0) / 1000000)) ms (service $pid, root $ROOT)"
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
    pid=$(read_pid "$PIDFILE")
    port=$(read_port)
    if [[ -n $pid && -n $port ]] && is_our_service "$pid" && ping_ok "$port"; then
        log "podman engine $NAME running: service $pid on 127.0.0.1:$port"
        return 0
    fi
    log "podman engine $NAME not running"
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
    dir) (($# == 1)) || usage; set_paths "$1"; printf '%s\n' "$D" ;;
    root) (($# == 1)) || usage; set_paths "$1"; printf '%s\n' "$ROOT" ;;
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
