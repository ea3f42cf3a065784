#!/usr/bin/env bash
# images.sh PORT [PORT...] - build the test image and import it into the
# engine on 127.0.0.1:PORT through the Engine API only (no registry, no
# docker CLI). Further PORTs get a copy of that very image through
# GET /images/{name}/get -> POST /images/load, so the image Id is the same on
# all engines (two separate imports would give two Ids: the import stamps
# the creation time into the image config).
#
# Image checkpointd-test:latest (also tagged checkpointd-test:<hash>, where
# <hash> is the first 12 hex digits of a SHA-256 over everything that goes
# into the image: this script, tests/bed/workloads/*.c, /bin/busybox, gcc's
# version). When checkpointd-test:<hash> already exists nothing is built;
# :latest is just (re)pointed at it.
#
# Contents:
#   /bin/busybox + applet symlinks (/bin/sh, /bin/ls, /usr/bin/wc ...)
#   /usr/local/bin/counter     prints "count N pid P" every 100 ms, N in /tmp/count
#   /usr/local/bin/slowboot    --boot-seconds S --heap-mib N [--port P]
#   /usr/local/bin/tcpserver   --port P: "hello N" per connection
#   /tmp (1777), /etc/passwd, /etc/group
# Config: Cmd ["/usr/local/bin/counter"], Env PATH, label
# checkpointd-test.hash=<hash>.
#
# Earlier builds (other hash tags, untagged images with our label) are
# removed unless a container still uses them.
# Output: the image id (sha256:...) on stdout, one line; progress on stderr.
# Environment: IMAGE_REPO (default checkpointd-test), BED_IMAGE_FORCE=1 to
# rebuild and re-import even when the hash tag exists.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=${IMAGE_REPO:-checkpointd-test}
FORCE=${BED_IMAGE_FORCE:-0}
BUSYBOX=/bin/busybox
WORKLOADS=(counter slowboot tcpserver hold)

log() { printf 'images.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() { echo "usage: images.sh PORT [PORT...]" >&2; exit 2; }
(($# >= 1)) || usage
for p in "$@"; do [[ $p =~ ^[0-9]+$ ]] || usage; done
PORTS=("$@")
API=http://127.0.0.1:${PORTS[0]}

command -v gcc >/dev/null || die "gcc missing: run tests/bed/install.sh"
[[ -x $BUSYBOX ]] || die "$BUSYBOX missing: run tests/bed/install.sh (busybox-static)"
[[ $(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null) == installed ]] ||
    die "busybox-static not installed ($BUSYBOX may be dynamic): run tests/bed/install.sh"

# --- content hash of all inputs -------------------------------------------
hash=$(
    cd "$HERE"
    {
        sha256sum images.sh
        for w in "${WORKLOADS[@]}"; do sha256sum "workloads/$w.c"; done
        sha256sum "$BUSYBOX"
        gcc -dumpfullversion -dumpversion
        dpkg-query -W -f='${Version}\n' libc6-dev
    } | sha256sum | cut -c1-12
)
log "content hash $hash"

# image_id API REF: print the Id of image REF on engine API, nothing if absent.
image_id() {
    local body
    body=$(curl -sS --fail "$1/images/$2/json" 2>/dev/null) || return 0
    printf '%s' "$body" | grep -o '"Id":"sha256:[0-9a-f]*"' | head -n1 | cut -d'"' -f4
}

# tag API SRC TAG: tag image SRC as $REPO:TAG on engine API.
tag() {
    curl -sS --fail-with-body -X POST "$1/images/$2/tag?repo=$REPO&tag=$3" >/dev/null ||
        die "tagging $2 as $REPO:$3 on $1 failed"
}

for p in "${PORTS[@]}"; do
    curl -sS --fail --max-time 5 "http://127.0.0.1:$p/_ping" >/dev/null 2>&1 ||
        die "no engine answers on http://127.0.0.1:$p"
done

# build_and_import: build the image and import it into $API; sets id.
build_and_import() {
    local work root tarball resp w
    work=$(mktemp -d "${TMPDIR:-/tmp}/checkpointd-image.XXXXXX")
    # shellcheck disable=SC2064 # expand $work now
    trap "rm -rf '$work'" EXIT
    root=$work/root
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,root,proc,sys,dev,var/tmp}
    install -d -m 1777 "$root/tmp"

    for w in "${WORKLOADS[@]}"; do
        log "compiling $w"
        gcc -static -O2 -Wall -Wextra -o "$root/usr/local/bin/$w" "$HERE/workloads/$w.c"
    done

    cp "$BUSYBOX" "$root/bin/busybox"
    # Applet links as busybox would install them, but pointing at /bin/busybox
    # inside the image (busybox --install -s would use the host's path).
    local applet
    while read -r applet; do
        if [[ -n $applet && ! -e $root/$applet ]]; then ln -s /bin/busybox "$root/$applet"; fi
    done < <("$BUSYBOX" --list-full)
    [[ -L $root/bin/sh ]] || die "busybox has no sh applet?"

    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

    tarball=$work/image.tar
    tar -C "$root" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$tarball" .
    log "importing $(du -k "$tarball" | cut -f1) KiB as $REPO:latest into $API"

    resp=$(curl -sS --fail-with-body -X POST \
        -H 'Content-Type: application/x-tar' \
        --data-binary "@$tarball" \
        --url-query "fromSrc=-" --url-query "repo=$REPO" --url-query "tag=latest" \
        --url-query 'changes=CMD ["/usr/local/bin/counter"]' \
        --url-query 'changes=ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --url-query "changes=LABEL checkpointd-test.hash=$hash" \
        "$API/images/create") || die "import failed: $resp"
    # The answer is a JSON stream of status objects; errors come as "error".
    if grep -q '"error' <<<"$resp"; then die "import failed: $resp"; fi
    tag "$API" "$REPO:latest" "$hash"
    id=$(image_id "$API" "$REPO:latest")
    [[ -n $id ]] || die "image $REPO:latest not found after import (answer: $resp)"
    rm -rf "$work"
    trap - EXIT
    log "imported $REPO:latest = $REPO:$hash"
}

# prune_old API: remove earlier builds of the test image from engine API:
# other $REPO:<hash> tags, then untagged images carrying our label. Images
# still used by a container stay (the engine answers 409).
prune_old() {
    local t i
    for t in $(curl -sS "$1/images/json" | grep -o "\"$REPO:[0-9a-f]\{12\}\"" | tr -d '"' | sort -u); do
        [[ $t == "$REPO:$hash" ]] && continue
        curl -sS -o /dev/null -X DELETE "$1/images/$t" || true
    done
    for i in $(curl -sS -G --url-query 'filters={"dangling":["true"],"label":["checkpointd-test.hash"]}' \
        "$1/images/json" | grep -o '"Id":"sha256:[0-9a-f]*"' | cut -d'"' -f4); do
        curl -sS -o /dev/null -X DELETE "$1/images/$i" || true
    done
}

# --- first engine: import unless present ----------------------------------
id=""
[[ $FORCE == 1 ]] || id=$(image_id "$API" "$REPO:$hash")
if [[ -n $id ]]; then
    log "$REPO:$hash already present on $API"
    [[ $(image_id "$API" "$REPO:latest") == "$id" ]] || tag "$API" "$REPO:$hash" latest
else
    build_and_import
fi

# --- further engines: copy the same image ---------------------------------
for p in "${PORTS[@]:1}"; do
    other=http://127.0.0.1:$p
    if [[ $(image_id "$other" "$REPO:$hash") != "$id" ]]; then
        log "copying $REPO:$hash to $other (images/get -> images/load)"
        resp=$(curl -sS --fail "$API/images/$REPO:$hash/get" |
            curl -sS --fail-with-body -X POST -H 'Content-Type: application/x-tar' \
                --data-binary @- "$other/images/load?quiet=1") || die "load into $other failed: $resp"
        [[ $(image_id "$other" "$REPO:$hash") == "$id" ]] || die "copy to $other failed: $resp"
    else
        log "$REPO:$hash already present on $other"
    fi
    [[ $(image_id "$other" "$REPO:latest") == "$id" ]] || tag "$other" "$REPO:$hash" latest
done

for p in "${PORTS[@]}"; do prune_old "http://127.0.0.1:$p"; done
printf '%s\n' "$id"
