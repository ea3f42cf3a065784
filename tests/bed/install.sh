#!/usr/bin/env bash
# install.sh - prepare an engine host for checkpointd's real-engine test bed.
#
# Run as root on Debian 12 (bookworm). Idempotent: a second run only checks
# and returns in well under two seconds.
#
#  1. Debian 12 packages: docker.io (dockerd 20.10, containerd 1.6, runc 1.1),
#     podman (4.3, with conmon and containernetworking-plugins; podman.sh's
#     engines), busybox-static, gcc, libc6-dev, curl, ca-certificates
#     (+ apparmor when the kernel has AppArmor enabled), without recommends.
#  2. CRIU 4.2+ from Debian testing (forky) unpacked into a PRIVATE prefix
#     (it needs glibc >= 2.38, Debian 12 has 2.36), plus a wrapper
#     ${BED_BIN}/criu that runs it with the prefix's own dynamic loader.
#     Debian 12's criu 3.17 is broken on Linux >= 6.13 and CRIU 4.1 cannot
#     dump inet sockets on Linux >= 6.16 (see ENGINE-NOTES.md), so engine.sh
#     and podman.sh put ${BED_BIN} first on the PATH of containerd/podman/runc.
#
# Environment (all optional):
#   CRIU_PREFIX     private prefix for CRIU   (default /opt/checkpointd-bed/criu)
#   BED_BIN         wrapper directory         (default /opt/checkpointd-bed/bin)
#   CRIU_SUITE      Debian suite to take CRIU from (default forky)
#   DEBIAN_MIRROR   mirror URL               (default http://deb.debian.org/debian)
#   CRIU_MIN        minimum CRIU version      (default 4.2)
#   BED_FORCE=1     redo the CRIU part even if the stamp says it is done
set -euo pipefail

CRIU_PREFIX=${CRIU_PREFIX:-/opt/checkpointd-bed/criu}
BED_BIN=${BED_BIN:-/opt/checkpointd-bed/bin}
CRIU_SUITE=${CRIU_SUITE:-forky}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CRIU_MIN=${CRIU_MIN:-4.2}
BED_FORCE=${BED_FORCE:-0}

# Work area for the private apt configuration (lists, caches, .debs).
# Lives next to the prefix, not inside it, so the prefix holds only CRIU.
APT_WORK="${CRIU_PREFIX%/}.apt"
STAMP="$CRIU_PREFIX/.checkpointd-bed-stamp"
WRAPPER="$BED_BIN/criu"

DEBIAN_PACKAGES=(docker.io podman busybox-static gcc libc6-dev curl ca-certificates)
# docker.io only recommends apparmor; on a kernel with AppArmor enabled
# (Debian's stock kernel) dockerd 20.10 wants apparmor_parser to load its
# docker-default profile, without it containers may fail to start.
if [[ $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null) == Y* ]]; then
    DEBIAN_PACKAGES+=(apparmor)
fi

log() { printf 'install.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# quiet CMD...: run CMD with its output going to $APT_LOG; on failure show
# the tail of that log and stop.
APT_LOG="${CRIU_PREFIX%/}.apt.log"
quiet() {
    if ! "$@" >>"$APT_LOG" 2>&1; then
        tail -n 25 "$APT_LOG" >&2
        die "failed: $* (full log: $APT_LOG)"
    fi
}

[[ $(id -u) -eq 0 ]] || die "must run as root"

# ---------------------------------------------------------------------------
# 1. Debian 12 packages
# ---------------------------------------------------------------------------

# Print the packages from DEBIAN_PACKAGES that are not installed.
missing_debian_packages() {
    local pkg status
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        [[ $status == installed ]] || printf '%s\n' "$pkg"
    done
}

mapfile -t missing < <(missing_debian_packages)
if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    mkdir -p "$(dirname "$APT_LOG")"
    quiet apt-get update
    # --no-install-recommends: docker.io would otherwise also pull Debian 12's
    # broken criu 3.17 (harmless since our wrapper comes first, but useless),
    # git, apparmor, needrestart ...; podman buildah, slirp4netns, uidmap,
    # fuse-overlayfs ... (podman.sh's engines need none of them).
    # Keep the system's docker/containerd/podman services from starting during
    # the install (the bed runs its own engines; a system dockerd would add a
    # docker0 bridge and iptables rules). Only when no policy-rc.d exists,
    # and only for the duration of the install.
    own_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\n# temporary, from checkpointd tests/bed/install.sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        own_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    quiet apt-get install -y --no-install-recommends "${missing[@]}"
    if ((own_policy)); then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
else
    log "Debian packages present: ${DEBIAN_PACKAGES[*]}"
fi

# ---------------------------------------------------------------------------
# 2. CRIU from Debian testing into a private prefix
# ---------------------------------------------------------------------------

# version_ge A B: true when version A >= version B (dpkg ordering).
version_ge() { dpkg --compare-versions "$1" ge "$2"; }

# Print the version number reported by `criu --version` via the wrapper.
criu_version() {
    "$WRAPPER" --version 2>/dev/null | sed -n 's/^Version: *//p' | head -n1
}

# Fast path: stamp present, wrapper works and is new enough.
if [[ $BED_FORCE != 1 && -f $STAMP && -x $WRAPPER ]]; then
    have=$(criu_version || true)
    if [[ -n $have ]] && version_ge "$have" "$CRIU_MIN"; then
        log "CRIU $have already installed in $CRIU_PREFIX ($(cat "$STAMP"))"
        exit 0
    fi
    log "stamp present but wrapper reports '${have:-nothing}': reinstalling"
fi

# Private apt configuration: own sources list, no host sources.list.d, own
# lists and cache directories, no host pinning. Nothing of the host's apt
# state is read or written (system apt can run concurrently).
mkdir -p "$APT_WORK"/{lists/partial,cache/archives/partial,debs}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r $keyring ]] || die "$keyring missing (package debian-archive-keyring)"
printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$DEBIAN_MIRROR" "$CRIU_SUITE" \
    >"$APT_WORK/sources.list"
arch=$(dpkg --print-architecture)
APT_OPTS=(
    -oDir::Etc::SourceList="$APT_WORK/sources.list"
    -oDir::Etc::SourceParts=/dev/null
    -oDir::Etc::Preferences=/dev/null
    -oDir::Etc::PreferencesParts=/dev/null
    -oDir::State::Lists="$APT_WORK/lists"
    -oDir::Cache="$APT_WORK/cache"
    -oAPT::Architecture="$arch"
    -oAPT::Architectures="$arch"
    # testing's Release file is valid for one week only; a machine with a
    # stale clock (or a frozen mirror snapshot) must still work.
    -oAcquire::Check-Valid-Until=false
    -oAcquire::Languages=none
    -oAcquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false
)

log "fetching $CRIU_SUITE package lists (private apt config in $APT_WORK)"
quiet apt-get "${APT_OPTS[@]}" update

# Dependency closure of criu: real package names only (virtual packages
# show up as "<name>", dependency lines start with a space).
mapfile -t closure < <(
    apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests \
        --no-conflicts --no-breaks --no-replaces --no-enhances criu |
        grep -v -e '^ ' -e '^<' | sort -u
)
((${#closure[@]})) || die "empty dependency closure for criu in $CRIU_SUITE"
pkgver=$(apt-cache "${APT_OPTS[@]}" show criu | sed -n 's/^Version: //p' | head -n1)
log "criu $pkgver from $CRIU_SUITE: ${#closure[@]} packages in its closure"

# Download the .debs (into a clean folder so only this closure is unpacked;
# owned by _apt so apt's download sandbox can write there).
rm -rf "$APT_WORK/debs" && mkdir -p "$APT_WORK/debs"
if id _apt >/dev/null 2>&1; then chown _apt "$APT_WORK/debs"; fi
log "downloading ${#closure[@]} packages"
(cd "$APT_WORK/debs" && quiet apt-get "${APT_OPTS[@]}" download "${closure[@]}")

# Unpack into a fresh prefix (dpkg -x does not run maintainer scripts).
tmp_prefix="${CRIU_PREFIX%/}.new"
rm -rf "$tmp_prefix" && mkdir -p "$tmp_prefix"
for deb in "$APT_WORK"/debs/*.deb; do
    dpkg -x "$deb" "$tmp_prefix"
done

# Locate the dynamic loader and the library folder inside the prefix.
# Debian (merged /usr) ships it as usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2;
# fall back to other layouts just in case.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
libdir=""
loader=""
for cand in "usr/lib/$multiarch" "lib/$multiarch" usr/lib64 lib64; do
    for ld in "$tmp_prefix/$cand"/ld-linux*.so.*; do
        [[ -e $ld ]] || continue
        libdir=$cand
        loader=$cand/$(basename "$ld")
        break 2
    done
done
[[ -n $loader ]] || die "no dynamic loader found in the unpacked closure"
[[ -x $tmp_prefix/usr/sbin/criu ]] || die "usr/sbin/criu missing in the unpacked closure"

# Swap the new prefix in atomically enough for a test machine.
rm -rf "$CRIU_PREFIX" && mv "$tmp_prefix" "$CRIU_PREFIX"

# The wrapper. --library-path covers both lib folders of the prefix; the
# loader of the prefix, not the host's, so glibc 2.38+ is used throughout.
mkdir -p "$BED_BIN"
libpath="$CRIU_PREFIX/$libdir"
[[ -d $CRIU_PREFIX/lib/$multiarch && $libdir != "lib/$multiarch" ]] &&
    libpath="$libpath:$CRIU_PREFIX/lib/$multiarch"
cat >"$WRAPPER.new" <<WRAP
#!/bin/sh
# Generated by checkpointd tests/bed/install.sh: CRIU $pkgver from Debian $CRIU_SUITE,
# run from its private prefix with its own glibc.
exec "$CRIU_PREFIX/$loader" --library-path "$libpath" "$CRIU_PREFIX/usr/sbin/criu" "\$@"
WRAP
chmod 0755 "$WRAPPER.new"
mv "$WRAPPER.new" "$WRAPPER"

# Verify.
have=$(criu_version || true)
[[ -n $have ]] || die "$WRAPPER --version failed: $("$WRAPPER" --version 2>&1 || true)"
version_ge "$have" "$CRIU_MIN" || die "CRIU $have is older than $CRIU_MIN"
log "CRIU $have installed: $WRAPPER"
log "criu check:"
check_rc=0
"$WRAPPER" check 2>&1 | sed 's/^/install.sh:   /' >&2 || check_rc=$?
((check_rc == 0)) || log "WARNING: criu check exited with $check_rc"

printf 'criu %s (package %s from %s) %s\n' "$have" "$pkgver" "$CRIU_SUITE" "$(date -u +%FT%TZ)" >"$STAMP"
log "done"
