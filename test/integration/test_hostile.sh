#!/usr/bin/env bash
# The hostile cases of issue 31 end to end, against real clusters (hack/cluster.sh): what
# users' clusters hold before eastwest, and what a tenant or a member Secret may try. Each
# case is a function hostile_<name> in hostile_<name>.sh that leaves the clusters as it
# found them. Order: hostile_foreign first, with no other mesh (its foreign-mesh lists us
# and eu, which a second mesh may not also list); then the tutorial (training-mesh over us
# and eu, Ready) for the cases that play against a working mesh (creds, claims). ap is brought up when
# it is not, and taken down again then; istiod is played in all three.
#
# Prints PASS/FAIL lines and a "# test_hostile: ..." total, like the C tests.
set -uo pipefail
suite=test_hostile
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=test/integration/mesh_env.sh
source "$here/mesh_env.sh"
# shellcheck source=test/integration/hostile_foreign.sh
source "$here/hostile_foreign.sh"
# shellcheck source=test/integration/hostile_creds.sh
source "$here/hostile_creds.sh"
# shellcheck source=test/integration/hostile_claims.sh
source "$here/hostile_claims.sh"
# shellcheck source=test/integration/hostile_meshgone.sh
source "$here/hostile_meshgone.sh"
# shellcheck source=test/integration/hostile_limits.sh
source "$here/hostile_limits.sh"
# shellcheck source=test/integration/hostile_moved.sh
source "$here/hostile_moved.sh"
# shellcheck source=test/integration/hostile_certs.sh
source "$here/hostile_certs.sh"

mesh_ready() { kc us get meshnetwork training-mesh -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -qx True; }

# ---- set-up: the home cluster, a third member ap, istiod played, the operator ----
ap_was_up=1
if ! kc ap get namespace default >/dev/null 2>&1; then
    ap_was_up=0
    EW_KUBECTL=$EW_KUBECTL bash "$root/hack/cluster.sh" up ap >"$tmp/ap.out" 2>&1 ||
        fail set-up/ap-up "$(tail -n 5 "$tmp/ap.out")"
fi
set_up_home
# an earlier suite's mesh retained its cacerts (onDelete: Retain): these clusters start
# with none, as a user's that never ran eastwest (a retained one is foreign to the meshes
# below and would rightly block them)
for c in us eu ap; do kc "$c" -n istio-system delete secret cacerts --ignore-not-found >/dev/null 2>&1; done
link_member ap ap-kubeconfig || fail set-up/link-ap "kubectl eastwest link ap"
for c in us eu ap; do play_istiod "$c" corp.local training-mesh; done
start_operator

# ---- cases with no other mesh ----
hostile_foreign
hostile_meshgone # a mesh over us, eu and ap of its own: before the tutorial's
hostile_certs # its mesh lists us and eu: with no other mesh

# ---- the tutorial (echo exported from eu to us), with istiod and the cloud played ----
tutorial_prepare eastwest-system
kc us apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null
wait_for "gateway Services" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
wait_for "cacerts" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
for c in us eu; do restart_istiod "$c"; done
check mesh-ready 60 mesh_ready

# ---- cases beside a working mesh ----
hostile_creds
hostile_claims
hostile_limits
hostile_moved

# ---- leave as found ----
kc us -n echo delete ccs --all --timeout=60s >/dev/null 2>&1
kc us delete meshnetwork training-mesh --timeout=90s >/dev/null 2>&1
check teardown/mesh-deleted 30 not_found us meshnetwork training-mesh
kc us -n eastwest-system delete secret ap-kubeconfig --ignore-not-found >/dev/null 2>&1
[ "$ap_was_up" = 1 ] || bash "$root/hack/cluster.sh" down ap >/dev/null 2>&1
finish
