#!/usr/bin/env bash
# The hostile cases of issue 31, end to end against real clusters: each
# hostile_*.sh named here defines one function that plays a case and leaves the
# clusters as it found them. The set-up is the tutorial (training-mesh over us
# and eu, Ready), with ap up and istiod played in all three.
#
# Prints PASS/FAIL lines and a "# test_hostile: ..." total, like the C tests.
set -uo pipefail
suite=test_hostile
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=test/integration/mesh_env.sh
source "$here/mesh_env.sh"
# shellcheck source=test/integration/hostile_creds.sh
source "$here/hostile_creds.sh"

mesh_ready() { kc us get meshnetwork training-mesh -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -qx True; }

# ---- set-up: the tutorial, with istiod and the cloud played; ap up ----
if ! kc ap get namespace default >/dev/null 2>&1; then
    EW_KUBECTL=$EW_KUBECTL bash "$root/hack/cluster.sh" up ap >"$tmp/ap.out" 2>&1 ||
        fail set-up/ap-up "$(tail -n 5 "$tmp/ap.out")"
fi
set_up_home
for c in us eu ap; do play_istiod "$c" corp.local training-mesh; done
start_operator
kc us apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null
wait_for "gateway Services" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
wait_for "cacerts" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
for c in us eu; do restart_istiod "$c"; done
check mesh-ready 60 mesh_ready

# ---- the cases ----
hostile_creds

# ---- leave as found ----
kc us -n echo delete ccs --all --timeout=60s >/dev/null 2>&1
kc us delete meshnetwork training-mesh --timeout=90s >/dev/null 2>&1
check teardown/mesh-deleted 30 not_found us meshnetwork training-mesh
finish
