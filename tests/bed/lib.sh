# shellcheck shell=bash
# lib.sh - helpers shared by the test bed's engine scripts, engine.sh (Docker
# engines) and podman.sh (Podman engines): logging, process checks through
# /proc, stopping a PID, port checks and _ping. Sourced, never run:
#   BED_SCRIPT=engine.sh
#   . "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"
# Uses, from the sourcing script: BED_SCRIPT (its name: log lines start with
# it, "engine.sh: ...") and, in read_port and unmount_below_D, D (the folder
# of the engine at hand, set by the script's set_paths). Sets no options:
# the scripts keep their own `set -euo pipefail`.

log() { printf '%s: %s\n' "$BED_SCRIPT" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# pid_alive PID: true when PID exists and is not a zombie.
pid_alive() {
    local pid=$1 stat="" state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
    state=${stat##*) } # field 3, after "(comm) "
    state=${state:0:1}
    [[ -n $state && $state != Z && $state != X ]]
}

# read_pid FILE: print the PID stored in FILE (nothing if absent/garbage).
read_pid() {
    local pid=""
    if [[ -r $1 ]]; then read -r pid 2>/dev/null <"$1" || true; fi
    if [[ $pid =~ ^[0-9]+$ ]]; then printf '%s\n' "$pid"; fi
}

# read_port: print the port engine NAME was last started on (or nothing).
read_port() {
    local port=""
    if [[ -r $D/port ]]; then read -r port 2>/dev/null <"$D/port" || true; fi
    if [[ $port =~ ^[0-9]+$ ]]; then printf '%s\n' "$port"; fi
}

# kill_wait PID SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL and wait.
kill_wait() {
    local pid=$1 secs=$2 i
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    log "pid $pid did not stop within ${secs}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    log "WARNING: pid $pid still present after SIGKILL"
}

# port_listening PORT: some socket in this network namespace listens on
# TCP PORT (any address). Reads /proc, sends no traffic.
port_listening() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
                     END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# wait_port_free PORT SECONDS
wait_port_free() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        port_listening "$1" || return 0
        sleep 0.1
    done
    return 1
}

# check_port PORT: die unless PORT is a TCP port number.
check_port() {
    if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 65535)); then
        die "bad port '$1'"
    fi
}

# check_port_free PORT: die, naming the owner when ss can tell, when some
# process listens on PORT (called by start once NAME's own engine is stopped).
check_port_free() {
    if port_listening "$1"; then
        local who
        who=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:.*' | head -n1 || true)
        die "port $1 on 127.0.0.1 is already in use by another process ${who:-(unknown)}"
    fi
}

# ping_ok PORT [TLS_DIR]: the engine answers _ping (with TLS_DIR: over TLS,
# verified against TLS_DIR/ca.pem, with TLS_DIR's client certificate; only
# engine.sh has TLS engines).
ping_ok() {
    local -a certs=()
    if [[ -n ${2:-} ]]; then
        certs=(--cacert "$2/ca.pem" --cert "$2/cert.pem" --key "$2/key.pem")
        [[ $(curl -s --max-time 2 "${certs[@]}" "https://127.0.0.1:$1/_ping" 2>/dev/null) == OK ]]
        return
    fi
    [[ $(curl -s --max-time 2 "http://127.0.0.1:$1/_ping" 2>/dev/null) == OK ]]
}

# unmount_below_D: unmount whatever is still mounted below D, deepest first.
# Docker engines: dockerd bind-mounts its data root onto itself and mounts
# exec/netns/default; a clean shutdown does not always undo that (never
# after a SIGKILL), nor the overlay/shm mounts of containers of a killed run.
# Podman engines: the overlay driver's private bind mount of
# D/storage/overlay, containers' rootfs overlays and shm tmpfs (a killed
# container is never unmounted by podman).
unmount_below_D() {
    local m
    while read -r m; do
        umount -l "$m" 2>/dev/null || log "WARNING: could not unmount $m"
    done < <(awk -v d="$D/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}
