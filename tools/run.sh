#!/bin/sh
# run.sh - what `make run` does: runs build/checkpointd in the foreground.
#
# When no engine is configured (no CHECKPOINTD_ENGINE, no DOCKER_HOST) and
# nothing answers on tcp://127.0.0.1:2375, it first starts a local
# development engine with the test bed's scripts (Docker + CRIU 4.2, data in
# /var/tmp/checkpointd-bed/dev) and loads the small test image, so the
# README's examples work at once.  That engine keeps running after
# checkpointd stops: `tests/bed/engine.sh stop dev` stops it.
set -eu
cd "$(dirname "$0")/.."

if [ -z "${CHECKPOINTD_ENGINE:-}" ] && [ -z "${DOCKER_HOST:-}" ] &&
	! curl -fsS -m 2 http://127.0.0.1:2375/_ping >/dev/null 2>&1; then
	echo "run: no engine answers on tcp://127.0.0.1:2375: starting a development engine there" >&2
	echo "run: (Docker with CRIU 4.2, data in /var/tmp/checkpointd-bed/dev; stop it with 'tests/bed/engine.sh stop dev')" >&2
	tests/bed/install.sh
	tests/bed/engine.sh start dev 2375 >/dev/null
	tests/bed/images.sh 2375 >/dev/null
	echo "run: development engine ready; image checkpointd-test:latest loaded" >&2
fi
exec build/checkpointd "$@"
