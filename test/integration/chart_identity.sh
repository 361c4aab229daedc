#!/usr/bin/env bash
# The chart's identity for an operator the C integration suites start (issue 31: no
# suite's operator runs as admin). In cluster CLUSTER: the ServiceAccount, Role(s),
# ClusterRole and bindings `helm template` renders for release NAMESPACE in NAMESPACE
# (fullnameOverride NAMESPACE-operator, so a suite's own namespace never touches the
# eastwest-system install the shell suites share; rbac.homeClusterIsMember=false: no mesh
# there), with operator.leaderElectionID LEASE; then a kubeconfig at OUT with that
# ServiceAccount's token and the cluster's CA. With --delete: the cluster-scoped objects
# go (the namespace's go with the namespace).
#
#   bash test/integration/chart_identity.sh CLUSTER NAMESPACE LEASE OUT
#   bash test/integration/chart_identity.sh --delete CLUSTER NAMESPACE
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=hack/lib.sh
source "$root/hack/lib.sh"
dir="${EW_CLUSTERS_DIR:-/tmp/eastwest-clusters}"
if [ "${1:-}" = --delete ]; then
    "$EW_KUBECTL" --kubeconfig "$dir/$2/kubeconfig" delete clusterrole,clusterrolebinding \
        "$3-operator" --ignore-not-found >/dev/null
    exit 0
fi
[ $# -eq 4 ] || { echo "usage: $0 CLUSTER NAMESPACE LEASE OUT" >&2; exit 2; }
c=$1 ns=$2 lease=$3 out=$4
k() { "$EW_KUBECTL" --kubeconfig "$dir/$c/kubeconfig" "$@"; }
"$EW_HELM" template "$ns" "$root/charts/eastwest-operator" -n "$ns" --set "fullnameOverride=$ns-operator" \
    --set rbac.homeClusterIsMember=false --set "operator.leaderElectionID=$lease" \
    --show-only templates/serviceaccount.yaml --show-only templates/role.yaml \
    --show-only templates/clusterrole.yaml 2>"$out.helm-err" | k apply -f - >/dev/null ||
    { cat "$out.helm-err" >&2; exit 1; }
rm -f "$out.helm-err"
token=$(k -n "$ns" create token "$ns-operator" --duration=1h)
jq -n --arg server "https://127.0.0.1:$(cat "$dir/$c/apiserver.port")" \
    --arg ca "$(base64 -w0 <"$dir/$c/ca.crt")" --arg token "$token" '{apiVersion: "v1",
    kind: "Config", clusters: [{name: "home", cluster: {server: $server, "certificate-authority-data": $ca}}],
    users: [{name: "operator", user: {token: $token}}],
    contexts: [{name: "home", context: {cluster: "home", user: "operator"}}],
    "current-context": "home"}' >"$out"
chmod 600 "$out"
