#!/usr/bin/env bash
# tomcat-image.sh PORT - make sure the engine on 127.0.0.1:PORT has the
# benchmark's real application server, `checkpointd-bench/tomcat:10`:
# Tomcat 10 on OpenJDK 17 from Debian 12's packages, serving Tomcat's
# examples, with the JDK's tools (openjdk-17-jdk-headless: jcmd, which the
# service's "jvm" profile runs, `jcmd 1 GC.run`), built on the bed's local
# `debian:12` (tests/bed/base-image.sh, debootstrap from Debian's mirror,
# cached) through the Engine API:
# POST /build?t=...&networkmode=host with a small Dockerfile sent as a tar.
# No registry, no docker CLI.
#
# The image runs Tomcat in the foreground, as root, with the environment of Debian's systemd unit (CATALINA_HOME=/usr/share/tomcat10,
# CATALINA_BASE=/var/lib/tomcat10, CATALINA_TMPDIR=/tmp,
# JAVA_OPTS=-Djava.awt.headless=true) and default JVM options otherwise.
# `catalina.sh run` execs java, so the JVM is the container's PID 1 (what
# the jvm profile's `jcmd 1` needs).
# Root, not Debian's `tomcat` user: on these machines the engine's CRIU runs
# without CAP_SYS_RESOURCE, and then it cannot read the rlimits of a process
# of another uid ("Can't get rlimit 0: Operation not permitted", cr-dump.c),
# so a checkpoint of Tomcat as `tomcat` fails.
# Tomcat listens on 8080 inside the container's own network namespace: run it
# with NetworkMode "none". Ready = inside the container,
#   curl -fs http://127.0.0.1:8080/examples/servlets/servlet/HelloWorldExample
#
# Cache: the engine keeps the image. It is labelled
# checkpointd-bench.recipe=<sha256 of this script, 12 hex>; when the engine
# has the tag with that label nothing is done; any change to this script
# (such as the JDK added for jcmd) changes the label, so an older image is
# rebuilt, not reused. The first build downloads about 150 MB of packages
# from Debian's mirror (a few minutes).
#
# Output: the image Id (sha256:...) on stdout; progress on stderr.
# Environment: TOMCAT_IMAGE_FORCE=1 rebuilds even when the image is there.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REF=checkpointd-bench/tomcat:10
FORCE=${TOMCAT_IMAGE_FORCE:-0}

log() { printf 'tomcat-image.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if (($# != 1)) || ! [[ $1 =~ ^[0-9]+$ ]]; then echo "usage: tomcat-image.sh PORT" >&2; exit 2; fi
PORT=$1
API=http://127.0.0.1:$PORT
curl -sS --fail --max-time 5 "$API/_ping" >/dev/null 2>&1 || die "no engine answers on $API"

RECIPE=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)

# The engine's answer about REF (its Id, its labels), empty when it lacks it.
inspect=$(curl -sS --fail "$API/images/${REF/:/%3A}/json" 2>/dev/null || true)
if [[ $FORCE != 1 && -n $inspect ]] &&
    grep -q "\"checkpointd-bench.recipe\":\"$RECIPE\"" <<<"$inspect"; then
    log "$REF already present on $API"
    grep -o '"Id":"sha256:[0-9a-f]*"' <<<"$inspect" | head -n1 | cut -d'"' -f4
    exit 0
fi

old=$(grep -o '"Id":"sha256:[0-9a-f]*"' <<<"$inspect" | head -n1 | cut -d'"' -f4 || true)
"$HERE/../tests/bed/base-image.sh" "$PORT" >/dev/null

work=$(mktemp -d "${TMPDIR:-/var/tmp}/checkpointd-tomcat.XXXXXX")
# shellcheck disable=SC2064 # expand $work now
trap "rm -rf '$work'" EXIT
cat >"$work/Dockerfile" <<EOF
FROM debian:12
# /usr/share/man/man1: openjdk's postinst links its man pages there
RUN mkdir -p /usr/share/man/man1 \\
 && apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      openjdk-17-jre-headless openjdk-17-jdk-headless tomcat10 tomcat10-examples curl \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/log/*.log
ENV CATALINA_HOME=/usr/share/tomcat10 \\
    CATALINA_BASE=/var/lib/tomcat10 \\
    CATALINA_TMPDIR=/tmp \\
    JAVA_OPTS=-Djava.awt.headless=true
WORKDIR /var/lib/tomcat10
EXPOSE 8080
LABEL checkpointd-bench.recipe=$RECIPE
CMD ["/usr/share/tomcat10/bin/catalina.sh", "run"]
EOF
tar -C "$work" -cf "$work/context.tar" Dockerfile

log "building $REF on $API (apt-get from Debian's mirror; log: $work/build.log)"
t0=$(date +%s)
# The answer is a stream of JSON lines; an error is a line with "error".
if ! curl -sS --fail-with-body -X POST -T "$work/context.tar" \
    -H 'Content-Type: application/x-tar' -H 'Expect:' \
    --url-query "t=$REF" --url-query networkmode=host --url-query rm=1 \
    --url-query forcerm=1 "$API/build" >"$work/build.log"; then
    tail -c 3000 "$work/build.log" >&2
    die "POST /build failed"
fi
if grep -q '"error' "$work/build.log"; then
    grep -o '"stream":"[^"]*"' "$work/build.log" | tail -n 20 >&2 || true
    grep '"error' "$work/build.log" >&2
    die "the build of $REF failed"
fi
inspect=$(curl -sS --fail "$API/images/${REF/:/%3A}/json") || die "$REF missing after the build"
id=$(grep -o '"Id":"sha256:[0-9a-f]*"' <<<"$inspect" | head -n1 | cut -d'"' -f4)
# an earlier build (another recipe) goes, unless a container still uses it
if [[ -n $old && $old != "$id" ]]; then
    curl -sS -X DELETE "$API/images/$old" >/dev/null 2>&1 || true
fi
log "built $REF ($id) in $(($(date +%s) - t0)) s"
printf '%s\n' "$id"
