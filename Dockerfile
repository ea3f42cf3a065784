# checkpointd's service image: two stages on debian:12, so the runtime image
# holds the binary, its shared libraries and curl (for the health check), no
# compiler. It runs as an unprivileged user (uid 10001) with its database on
# a volume. Tested by tests/e2e/test_dockerfile.py; deploy/GUIDE.md explains
# running it.
#
#   docker build -t checkpointd .
#   docker run -d --name checkpointd -p 127.0.0.1:8780:8780 \
#       -v checkpointd:/var/lib/checkpointd \
#       -e CHECKPOINTD_ENGINE=default=tcp://ENGINE-HOST:2375 checkpointd
#
# Configure it through the environment (CHECKPOINTD_LISTEN, _ENGINE,
# _THREADS, _WORKERS: see `checkpointd --help`); arguments after the image
# name are checkpointd's flags and win over the environment. To move the
# port, set CHECKPOINTD_LISTEN: the health check follows it.

FROM debian:12 AS build
# lets a test bed remove earlier builds of this stage (they are untagged)
LABEL org.checkpointd.stage=build
# gcc + libc6-dev also build the static probe helper (src/probe); tar,
# coreutils, sed and diffutils (cmp), which the Makefile uses, are essential
# in Debian.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev make pkg-config \
      libmicrohttpd-dev libcurl4-openssl-dev libjson-c-dev libsqlite3-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY tools ./tools
COPY sql ./sql
COPY openapi ./openapi
COPY src ./src
RUN make -j"$(nproc)" build/checkpointd \
 && strip build/checkpointd \
 && ./build/checkpointd --version

FROM debian:12
LABEL org.opencontainers.image.title="checkpointd" \
      org.opencontainers.image.description="Docker checkpoint/restore (CRIU) as a REST service"
# curl costs little: libcurl4 is needed anyway.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libcurl4 libssl3 libjson-c5 libsqlite3-0 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 checkpointd \
 && useradd --system --uid 10001 --gid checkpointd --no-create-home \
      --home-dir /var/lib/checkpointd --shell /usr/sbin/nologin checkpointd \
 && install -d -o checkpointd -g checkpointd -m 0700 /var/lib/checkpointd
COPY --from=build /src/build/checkpointd /usr/local/bin/checkpointd
ENV CHECKPOINTD_LISTEN=0.0.0.0:8780 \
    CHECKPOINTD_DATA_DIR=/var/lib/checkpointd
# A new volume takes the folder's owner (checkpointd) from the image.
VOLUME /var/lib/checkpointd
EXPOSE 8780
USER 10001:10001
# Healthy means "the service answers": /health is 200 also while an engine
# is unreachable (it says "degraded"), which a restart would not cure.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD l="${CHECKPOINTD_LISTEN:-0.0.0.0:8780}"; h="${l%:*}"; \
      case "$h" in ""|0.0.0.0|"[::]") h=127.0.0.1 ;; esac; \
      curl -fsS -o /dev/null --max-time 4 "http://$h:${l##*:}/health" || exit 1
# SIGTERM (docker stop): stop accepting, finish requests and jobs, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/checkpointd"]
