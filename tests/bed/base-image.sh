#!/usr/bin/env bash
# base-image.sh PORT - make sure the engine on 127.0.0.1:PORT has a
# `debian:12` image, so that the project's Dockerfile builds without a
# registry. When the engine lacks it, a Debian 12 (bookworm) minbase root
# filesystem is made with debootstrap from Debian's mirror and imported
# through the Engine API (POST /images/create?fromSrc=-).
#
# The root filesystem is cached as a tarball, $BASE_CACHE/debian12-rootfs.tar
# (default /var/cache/checkpointd-bed): only the first run on a machine
# downloads anything (a few minutes); later runs import the tarball (seconds)
# or, when the engine already has debian:12, do nothing.
#
# The image is close to Docker Hub's debian:12: apt sources for bookworm,
# bookworm-updates and bookworm-security on deb.debian.org, no apt lists,
# Cmd ["bash"], label checkpointd-bed.base=<sha256 of the tarball, 12 hex>.
# apt-get inside it needs the network: build with POST /build?networkmode=host
# on the bed's engines (they run with --bridge=none).
#
# Output: the image Id (sha256:...) on stdout; progress on stderr.
# Environment: BASE_CACHE (cache folder), DEBIAN_MIRROR (default
# http://deb.debian.org/debian), BASE_FORCE=1 (make the tarball again and
# re-import even when the engine has debian:12).
# Needs root for debootstrap (only when the tarball is not cached).
set -euo pipefail

BASE_CACHE=${BASE_CACHE:-/var/cache/checkpointd-bed}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
FORCE=${BASE_FORCE:-0}
REF=debian:12
TARBALL=$BASE_CACHE/debian12-rootfs.tar

log() { printf 'base-image.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if (($# != 1)) || ! [[ $1 =~ ^[0-9]+$ ]]; then echo "usage: base-image.sh PORT" >&2; exit 2; fi
API=http://127.0.0.1:$1

curl -sS --fail --max-time 5 "$API/_ping" >/dev/null 2>&1 || die "no engine answers on $API"

# image_id REF: the Id of image REF on the engine, nothing when absent.
image_id() {
    local body
    body=$(curl -sS --fail "$API/images/$1/json" 2>/dev/null) || return 0
    printf '%s' "$body" | grep -o '"Id":"sha256:[0-9a-f]*"' | head -n1 | cut -d'"' -f4
}

if [[ $FORCE != 1 ]]; then
    id=$(image_id "$REF")
    if [[ -n $id ]]; then
        log "$REF already present on $API"
        printf '%s\n' "$id"
        exit 0
    fi
fi

mkdir -p "$BASE_CACHE"
# One maker at a time per machine (two test sessions may start together).
exec 9>"$BASE_CACHE/.lock"
flock 9

# make_rootfs: debootstrap into a temporary folder, tidy it, tar it into
# $TARBALL (atomically: a killed run leaves no half tarball behind).
make_rootfs() {
    local work root t0
    [[ $(id -u) -eq 0 ]] || die "debootstrap needs root (or put a tarball at $TARBALL)"
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap (apt-get; log: $BASE_CACHE/apt.log)"
        export DEBIAN_FRONTEND=noninteractive
        if ! { apt-get update -o DPkg::Lock::Timeout=600 &&
            apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends \
                debootstrap; } >"$BASE_CACHE/apt.log" 2>&1; then
            tail -n 20 "$BASE_CACHE/apt.log" >&2
            die "installing debootstrap failed"
        fi
    fi
    work=$(mktemp -d "${TMPDIR:-/var/tmp}/checkpointd-base.XXXXXX")
    # shellcheck disable=SC2064 # expand $work now
    trap "rm -rf --one-file-system '$work'" EXIT
    root=$work/rootfs
    t0=$(date +%s)
    log "debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR (log: $work/debootstrap.log; takes a few minutes)"
    if ! debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1; then
        tail -n 30 "$work/debootstrap.log" >&2
        [[ -f $root/debootstrap/debootstrap.log ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
        die "debootstrap failed"
    fi
    log "debootstrap done in $(($(date +%s) - t0)) s"

    # apt sources as in Docker Hub's debian:12 (deb822 format).
    rm -f "$root/etc/apt/sources.list"
    mkdir -p "$root/etc/apt/sources.list.d"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    [[ -s $root/usr/share/keyrings/debian-archive-keyring.gpg ]] ||
        die "the rootfs has no debian-archive-keyring: apt-get would refuse the mirror"
    # Docker's own container files, and what a container image should not carry.
    printf 'debian12\n' >"$root/etc/hostname"
    : >"$root/etc/resolv.conf"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
        "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log \
        "$root"/var/log/apt/* "$root"/tmp/* "$root"/var/tmp/*
    log "packing the root filesystem ($(du -sm "$root" | cut -f1) MiB)"
    tar -C "$root" --numeric-owner --sort=name \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' \
        -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
    rm -rf --one-file-system "$work"
    trap - EXIT
}

# The cached tarball may have come while we waited for the lock, or on an
# earlier run; another engine may have got the image meanwhile too.
if [[ $FORCE == 1 || ! -s $TARBALL ]]; then
    make_rootfs
else
    log "reusing $TARBALL"
fi

hash=$(sha256sum "$TARBALL" | cut -c1-12)
log "importing $(du -m "$TARBALL" | cut -f1) MiB as $REF into $API"
# -T streams the file instead of reading it into memory.
resp=$(curl -sS --fail-with-body -X POST -T "$TARBALL" \
    -H 'Content-Type: application/x-tar' -H 'Expect:' \
    --url-query fromSrc=- --url-query repo=debian --url-query tag=12 \
    --url-query 'changes=CMD ["bash"]' \
    --url-query "changes=LABEL checkpointd-bed.base=$hash" \
    "$API/images/create") || die "import failed: $resp"
if grep -q '"error' <<<"$resp"; then die "import failed: $resp"; fi
id=$(image_id "$REF")
[[ -n $id ]] || die "$REF not found after the import (answer: $resp)"
log "imported $REF ($id)"
printf '%s\n' "$id"
