# checkpointd's service image: built on debian:12 in two stages, so the
# runtime image holds the binary and its shared libraries, no compiler.
#   docker build -t checkpointd .
#   docker run -d -p 127.0.0.1:8780:8780 -v checkpointd:/var/lib/checkpointd \
#       -e CHECKPOINTD_ENGINE=default=tcp://ENGINE-HOST:2375 checkpointd
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc make pkg-config libc6-dev \
      libmicrohttpd-dev libcurl4-openssl-dev libjson-c-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY tools ./tools
COPY src ./src
COPY sql ./sql
COPY openapi ./openapi
RUN make -j2 build/checkpointd

FROM debian:12
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmicrohttpd12 libcurl4 libjson-c5 \
      libsqlite3-0 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/checkpointd /usr/local/bin/checkpointd
VOLUME /var/lib/checkpointd
EXPOSE 8780
USER root
ENTRYPOINT ["/usr/local/bin/checkpointd", "--listen", "0.0.0.0:8780", "--data-dir", "/var/lib/checkpointd"]
