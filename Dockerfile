# eastwest-operator image. The build stage compiles on Debian 12 with the packages of
# hack/deps.sh; the runtime is FROM scratch with only what the binary loads: the
# Debian packages of its shared libraries, CA certificates and tzdata
# (hack/image-rootfs.sh), no shell and no package manager, run as user 65532.
#
#   docker build -t ghcr.io/eastwest/eastwest-operator:0.1.0 .     # with Docker
#   bash hack/image.sh                                               # without: buildah
#
# hack/image.sh builds this same file with buildah, from a debian:12 made locally by
# mmdebstrap; the version below is the chart's appVersion and meson.build's (the image
# test checks that they agree).
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        gcc libc6-dev meson ninja-build pkg-config \
        libcurl4-openssl-dev libcjson-dev libssl-dev libyaml-dev libwebsockets-dev \
        ca-certificates tzdata >/dev/null
COPY hack/image-rootfs.sh /usr/local/sbin/image-rootfs
WORKDIR /src
COPY meson.build meson_options.txt ./
COPY lib lib
COPY cmd cmd
COPY test test
RUN meson setup /build --buildtype=release -Db_ndebug=true >/dev/null \
    && ninja -C /build cmd/eastwest-operator/eastwest-operator >/dev/null \
    && strip /build/cmd/eastwest-operator/eastwest-operator
RUN bash /usr/local/sbin/image-rootfs /build/cmd/eastwest-operator/eastwest-operator /rootfs

FROM scratch
COPY --from=build /rootfs /
LABEL org.opencontainers.image.title="eastwest-operator" \
      org.opencontainers.image.description="Joins Istio meshes in clusters on different networks: east-west gateways, a shared root CA, cross-cluster ServiceEntries" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="https://github.com/eastwest/eastwest" \
      org.opencontainers.image.base.name="scratch"
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/eastwest-operator"]
