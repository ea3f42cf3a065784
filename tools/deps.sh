#!/bin/sh
# deps.sh build|test - installs the Debian 12 packages that building (and
# testing) checkpointd needs, only those missing, with apt-get.  Quick when
# everything is there.  Needs root only when something must be installed.
set -eu
build="gcc libc6-dev make pkg-config libmicrohttpd-dev libcurl4-openssl-dev libjson-c-dev libsqlite3-dev libssl-dev"
test="$build libcmocka-dev python3 python3-pytest python3-jsonschema curl"
case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
*) echo "usage: deps.sh build|test" >&2; exit 2 ;;
esac
missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
if [ "$(id -u)" != 0 ]; then
	echo "deps: run as root, or install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq -o DPkg::Lock::Timeout=600
# shellcheck disable=SC2086
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $missing >&2
