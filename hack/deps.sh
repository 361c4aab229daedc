#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian machine, and
# only what is missing (a second run takes a few seconds):
#   - Debian packages: compiler, meson/ninja, the C libraries, clang (libFuzzer),
#     valgrind, openssl, jq;
#   - kube-apiserver and kubectl (k8s.io/kubernetes) and etcd, built from pinned
#     upstream sources through the Go module proxy (hack/tools/*/go.mod), cached
#     under ~/.cache/eastwest/<name>-<version>/;
#   - Istio's CRDs, from the Go module istio.io/api at a pinned tag.
# No prebuilt binary is downloaded.
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APT_PACKAGES=(build-essential meson ninja-build pkg-config libcurl4-openssl-dev libcjson-dev
    libssl-dev libyaml-dev libwebsockets-dev clang libclang-rt-14-dev clang-format valgrind
    openssl jq curl iproute2 ca-certificates git procps)

install_apt_packages() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    ew_log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

ensure_go() {
    command -v go >/dev/null 2>&1 && return 0
    ew_log "no Go toolchain at /usr/local/go; trying Debian's golang-go"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq golang-go >/dev/null
    local v
    v=$(go env GOVERSION | sed 's/^go//')
    [ "$(printf '%s\n1.26\n' "$v" | sort -V | head -n 1)" = "1.26" ] ||
        ew_die "Go >= 1.26 is needed to build the test binaries; found $v"
}

# build_tool MODULE_DIR OUT_DIR PACKAGES...: go build into a temp dir, then move into place.
build_tool() {
    local mod=$1 out=$2
    shift 2
    local tmp
    tmp=$(mktemp -d "${out}.tmp.XXXXXX")
    ew_log "building $* (cached in $out; takes a few minutes the first time)"
    (cd "$EW_ROOT/$mod" && GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$tmp/" "$@")
    rm -rf "$out"
    mv "$tmp" "$out"
}

build_test_binaries() {
    mkdir -p "$EW_CACHE"
    if [ ! -x "$EW_KUBE_APISERVER" ] || [ ! -x "$EW_KUBECTL" ]; then
        ensure_go
        build_tool hack/tools/kube "$(dirname "$EW_KUBE_APISERVER")" \
            k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
    fi
    if [ ! -x "$EW_ETCD" ]; then
        ensure_go
        build_tool hack/tools/etcd "$(dirname "$EW_ETCD")" .
    fi
}

fetch_istio_crds() {
    [ -s "$EW_ISTIO_CRDS" ] && return 0
    ensure_go
    local tmp dir
    tmp=$(mktemp -d)
    dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "istio.io/api@$ISTIO_API_VERSION" |
        jq -r .Dir)
    rm -rf "$tmp"
    [ -f "$dir/kubernetes/customresourcedefinitions.gen.yaml" ] ||
        ew_die "istio.io/api@$ISTIO_API_VERSION has no kubernetes/customresourcedefinitions.gen.yaml"
    mkdir -p "$(dirname "$EW_ISTIO_CRDS")"
    cp "$dir/kubernetes/customresourcedefinitions.gen.yaml" "$EW_ISTIO_CRDS.tmp"
    chmod 0644 "$EW_ISTIO_CRDS.tmp"
    mv "$EW_ISTIO_CRDS.tmp" "$EW_ISTIO_CRDS"
    local shared="$EW_ROOT/../shared/istio/crds-${ISTIO_API_VERSION#v}.yaml"
    if [ -f "$shared" ] && ! cmp -s "$shared" "$EW_ISTIO_CRDS"; then
        ew_log "warning: $shared differs from istio.io/api@$ISTIO_API_VERSION"
    fi
}

install_apt_packages
build_test_binaries
fetch_istio_crds
ew_log "ready: kube-apiserver $K8S_VERSION, kubectl $K8S_VERSION, etcd $ETCD_VERSION," \
    "Istio CRDs $ISTIO_API_VERSION"
