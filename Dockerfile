# eastwest-operator image: build on Debian 12 with the same packages as hack/deps.sh,
# run on Debian 12 slim with only the shared libraries the binary links, as a non-root
# user. Build: docker build -t ghcr.io/eastwest/eastwest-operator:0.1.0 .
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        gcc meson ninja-build pkg-config \
        libcurl4-openssl-dev libcjson-dev libssl-dev libyaml-dev libwebsockets-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY meson.build meson_options.txt ./
COPY lib lib
COPY cmd cmd
COPY test test
RUN meson setup /build --buildtype=release -Db_ndebug=true \
    && ninja -C /build cmd/eastwest-operator/eastwest-operator cmd/kubectl-eastwest/kubectl-eastwest \
    && strip /build/cmd/eastwest-operator/eastwest-operator

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        ca-certificates libcurl4 libcjson1 libssl3 libyaml-0-2 libwebsockets17 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/cmd/eastwest-operator/eastwest-operator /usr/local/bin/eastwest-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/eastwest-operator"]
