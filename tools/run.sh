#!/bin/sh
# run.sh - what `make run` does: runs build/checkpointd in the foreground.
#
# When no engine is configured (no CHECKPOINTD_ENGINE, no DOCKER_HOST), it
# serves two local development engines, starting with the test bed's
# scripts whichever does not answer yet, and loads the small test image
# into both, so the README's examples work at once:
#   default  Docker + CRIU 4.2 on tcp://127.0.0.1:2375
#            (data in /var/tmp/checkpointd-bed/dev)
#   podman   a Podman service on tcp://127.0.0.1:8888
#            (data in /var/tmp/checkpointd-bed/podman-dev)
# Both keep running after checkpointd stops: `tests/bed/engine.sh stop dev`
# and `tests/bed/podman.sh stop dev` stop them.
set -eu
cd "$(dirname "$0")/.."

answers() { curl -fsS -m 2 "http://127.0.0.1:$1/_ping" >/dev/null 2>&1; }

# dev SCRIPT PORT KIND FOLDER: unless something answers on PORT, starts the
# test bed's development engine of SCRIPT there and loads the test image.
dev() {
	answers "$2" && return 0
	echo "run: no engine answers on tcp://127.0.0.1:$2: starting a development $3 engine there" >&2
	echo "run: (data in /var/tmp/checkpointd-bed/$4; stop it with 'tests/bed/$1 stop dev')" >&2
	"tests/bed/$1" start dev "$2" >/dev/null
	tests/bed/images.sh "$2" >/dev/null
	echo "run: development $3 engine ready; image checkpointd-test:latest loaded" >&2
}

if [ -z "${CHECKPOINTD_ENGINE:-}" ] && [ -z "${DOCKER_HOST:-}" ]; then
	tests/bed/install.sh
	dev engine.sh 2375 Docker dev
	dev podman.sh 8888 Podman podman-dev
	if curl -fsS -m 2 http://127.0.0.1:8888/version 2>/dev/null | grep -q 'Podman Engine'; then
		CHECKPOINTD_ENGINE="default=tcp://127.0.0.1:2375 podman=podman+tcp://127.0.0.1:8888"
	else
		echo "run: port 8888 is not a Podman engine: serving the Docker engine only" >&2
		CHECKPOINTD_ENGINE="default=tcp://127.0.0.1:2375"
	fi
	export CHECKPOINTD_ENGINE
fi
exec build/checkpointd "$@"
