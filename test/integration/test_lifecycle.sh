#!/usr/bin/env bash
# Nothing left behind, against real clusters: the tutorial deleted in every order
# (MeshNetwork first, CrossClusterService first, all at once with kubectl delete -f),
# a member removed from a three-cluster mesh (its watches closed too), a member
# removed while its API server is down and the operator restarted meanwhile, and 200
# CrossClusterServices created at once in a small vipRange (200 distinct addresses,
# none ever changed). Each deletion ends with zero objects labelled
# app.kubernetes.io/managed-by=eastwest-operator in every member (but cacerts,
# and the mesh root, retained by default) as soon as the CRs are gone, and the operator
# still running.
#
# Prints PASS/FAIL lines and a "# test_lifecycle: ..." total, like the C tests.
set -uo pipefail
suite=test_lifecycle
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"

managed_kinds=serviceentries.networking.istio.io,destinationrules.networking.istio.io,gateways.networking.istio.io,deployments,services,serviceaccounts,roles,rolebindings,secrets
# managed_left CLUSTER: what eastwest wrote there and is still there, but what
# onDelete: Retain (the default) keeps: cacerts, and the mesh root in the home cluster.
managed_left() {
    kc "$1" get "$managed_kinds" -A -l app.kubernetes.io/managed-by=eastwest-operator \
        -o custom-columns=KIND:.kind,NS:.metadata.namespace,NAME:.metadata.name --no-headers 2>&1 |
        grep -vE '^Secret +(istio-system +cacerts|eastwest-system +[a-z0-9-]+-root-ca)$'
}
# nothing_left NAME CLUSTER...: PASS when no cluster holds anything of eastwest's, now.
nothing_left() {
    local name=$1 c out left=""
    shift
    for c in "$@"; do
        out=$(managed_left "$c")
        [ -n "$out" ] && left="$left [$c: $(tr '\n' ' ' <<<"$out")]"
    done
    if [ -z "$left" ]; then pass "$name"; else fail "$name" "left:$left"; fi
}
operator_alive() {
    if kill -0 "$op_pid" 2>/dev/null; then pass "$1"; else fail "$1" "the operator exited"; fi
}
backing_service() { # backing_service CLUSTER NAME PORT
    kc "$1" create namespace echo >/dev/null 2>&1
    kc "$1" -n echo apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: $2-sa}
---
apiVersion: v1
kind: Service
metadata: {name: $2}
spec:
  selector: {app: $2}
  ports: [{name: http, port: $3, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: $2-0, labels: {app: $2}}
spec:
  serviceAccountName: $2-sa
  containers: [{name: app, image: example.invalid/$2:1}]
EOF
}
ccs_ready() { kc us -n echo get ccs "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -qx True; }
crs_gone() { not_found us meshnetwork training-mesh && not_found us -n echo ccs echo; }
has_se() { kc "$1" -n echo get serviceentries.networking.istio.io echo >/dev/null 2>&1; }

# converge NAME: apply the tutorial, play the cloud and istiod, wait for echo to be Ready
# with its objects in both members.
converge() {
    kc us apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null
    wait_for "gateway Services" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
    play_cloud us 203.0.113.10
    play_cloud eu 203.0.113.20
    wait_for "cacerts" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
    for c in us eu; do restart_istiod "$c"; done
    check "$1/ready" 60 ccs_ready echo
    check "$1/objects-written" 20 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get serviceentries.networking.istio.io/echo destinationrules.networking.istio.io/echo && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n echo get serviceentries.networking.istio.io/echo"
}

set_up_home
kc us create namespace echo >/dev/null 2>&1
for c in us eu; do play_istiod "$c" corp.local training-mesh; done
backing_service eu echo 80
start_operator

# ---- deletion, MeshNetwork first, the CrossClusterService a few ms later ----
converge mesh-first
kc us delete meshnetwork training-mesh --wait=false >/dev/null
kc us -n echo delete ccs echo --wait=false >/dev/null
check mesh-first/crs-gone 90 crs_gone
nothing_left mesh-first/nothing-left us eu
operator_alive mesh-first/operator-running

# ---- deletion, the CrossClusterService first ----
converge ccs-first
kc us -n echo delete ccs echo --wait=false >/dev/null
kc us delete meshnetwork training-mesh --wait=false >/dev/null
check ccs-first/crs-gone 90 crs_gone
nothing_left ccs-first/nothing-left us eu
operator_alive ccs-first/operator-running

# ---- deletion, all at once: kubectl delete -f of the tutorial ----
converge all-at-once
kc us delete -f "$root/deploy/examples/tutorial.yaml" --wait=false >/dev/null
check all-at-once/crs-gone 90 crs_gone
nothing_left all-at-once/nothing-left us eu
operator_alive all-at-once/operator-running

# ---- deleting the MeshNetwork alone: its members leave, the CrossClusterService stays ----
converge mesh-alone
kc us delete meshnetwork training-mesh --wait=false >/dev/null
check mesh-alone/mesh-gone 90 not_found us meshnetwork training-mesh
nothing_left mesh-alone/nothing-left us eu
check mesh-alone/ccs-says-why 20 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs echo -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}' | grep -qx MeshNetworkNotFound"
converge mesh-alone-back # the mesh comes back: so does the service
kc us delete -f "$root/deploy/examples/tutorial.yaml" --wait=false >/dev/null
check mesh-alone/cleaned 90 crs_gone

# ---- three members; one removed from spec.clusters ----
tri_mesh() { # tri_mesh CLUSTER...: the mesh with these members (us first)
    local c
    {
        cat <<EOF
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: training-mesh}
spec:
  meshID: training-mesh
  trustDomain: corp.local
  clusters:
  - {name: us, network: us-net}
  - {name: eu, network: eu-net, kubeconfigSecretRef: {name: prod-eu-west-1}}
EOF
        for c in "$@"; do
            echo "  - {name: $c, network: $c-net, kubeconfigSecretRef: {name: $c-kubeconfig}}"
        done
        cat <<EOF
  serviceClaims: {hosts: ["*.{namespace}.{meshID}.global", "*.mesh.local"], createNamespaces: true}
---
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: echo, namespace: echo}
spec:
  meshNetwork: training-mesh
  host: echo.eu.mesh.local
  exportFrom: [{cluster: eu, service: echo}]
  ports: [{number: 80, name: http, protocol: HTTP}]
EOF
    } | kc us apply -f - >/dev/null
}
cond() { kc us get meshnetwork training-mesh -o jsonpath="{.status.conditions[?(@.type==\"$1\")].status}/{.status.conditions[?(@.type==\"$1\")].reason}"; }
cond_is() { [ "$(cond "$1")" = "$2" ]; }
watches_on() { # watches_on CLUSTER RESOURCE: long-running WATCH requests its API server
    # serves; fails (prints nothing) when its metrics cannot be read or lack the gauge
    local page
    page=$(kc "$1" get --raw /metrics 2>/dev/null) && grep -q '^apiserver_longrunning_requests' <<<"$page" ||
        return 1
    awk -v r="resource=\"$2\"" '/^apiserver_longrunning_requests/ && index($0, r) && /verb="WATCH"/ { n += $NF } END { print n + 0 }' <<<"$page"
}
ap_clean() { [ -z "$(managed_left ap)" ]; }
no_watches_on_ap() { [ "$(watches_on ap serviceentries)" = 0 ] && [ "$(watches_on ap destinationrules)" = 0 ]; }
if bash "$root/hack/cluster.sh" up ap >"$tmp/ap.out" 2>&1; then
    play_istiod ap corp.local training-mesh
    # ap has no namespace echo (a fresh ap: test_istio took the last one down): the mesh
    # allows the operator to create it there (spec.serviceClaims.createNamespaces, below),
    # with the member's linked credentials
    ap_had_echo=0
    kc ap get namespace echo >/dev/null 2>&1 && ap_had_echo=1
    link_member ap ap-kubeconfig
    tri_mesh ap
    for c in us eu ap; do # the gateway Services are new: the cloud gives them addresses again
        wait_for "$c gateway Service" 40 kc "$c" -n istio-system get svc istio-eastwestgateway
    done
    play_cloud us 203.0.113.10
    play_cloud eu 203.0.113.20
    play_cloud ap 203.0.113.30
    wait_for "ap cacerts" 30 kc ap -n istio-system get secret cacerts
    restart_istiod ap
    check remove/ap-imports 60 has_se ap
    if [ "$ap_had_echo" = 1 ]; then
        fail remove/ap-namespace-created-as-allowed "ap had namespace echo before the mesh: not a fresh ap"
    elif kc ap get namespace echo >/dev/null 2>&1; then pass remove/ap-namespace-created-as-allowed
    else fail remove/ap-namespace-created-as-allowed "no namespace echo in ap"; fi
    # istiod watches ServiceEntries and DestinationRules too: without it, the watches counted
    # below are the operator's alone.
    bash "$root/hack/cluster.sh" stop-istiod ap >/dev/null 2>&1
    before=$(watches_on ap serviceentries)
    if [ "${before:-0}" -gt 0 ]; then pass remove/watched-before; else fail remove/watched-before "no watch of serviceentries on ap"; fi
    tri_mesh # ap leaves
    check remove/ap-cleaned 40 ap_clean
    nothing_left remove/nothing-left-in-ap ap
    if out=$(kc ap get namespace istio-system -o jsonpath='{.metadata.name} {.metadata.labels.topology\.istio\.io/network}' 2>&1) &&
        [ "$out" = "istio-system " ]; then pass remove/network-label-removed; else
        fail remove/network-label-removed "still '$out'"; fi
    check remove/watches-closed 20 no_watches_on_ap
    check remove/others-still-ready 30 ccs_ready echo
    [ "$failed" -gt 0 ] && kc us -n echo get ccs echo -o jsonpath='{.status}' >&2
    if has_se us; then pass remove/us-kept; else fail remove/us-kept "us lost its ServiceEntry"; fi

    # ---- removed while its API server is down; the operator restarts meanwhile ----
    tri_mesh ap
    check unreachable/ap-imports-again 60 has_se ap
    bash "$root/hack/cluster.sh" stop-apiserver ap >/dev/null 2>&1
    tri_mesh # ap leaves, but does not answer
    check unreachable/pending-named 40 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig get meshnetwork training-mesh -o jsonpath='{.status.removedClusters[*].name}' | grep -qx ap"
    check unreachable/condition 10 cond_is CleanupPending True/ClustersLeaving
    stop_operator
    start_operator
    sleep 3
    out=$(kc us get meshnetwork training-mesh -o jsonpath='{.status.removedClusters[*].name}')
    if [ "$out" = ap ]; then pass unreachable/survives-restart; else
        fail unreachable/survives-restart "removedClusters after a restart: '$out'"; fi
    bash "$root/hack/cluster.sh" start-apiserver ap >/dev/null 2>&1
    check unreachable/cleaned-on-return 90 ap_clean
    nothing_left unreachable/nothing-left-in-ap ap
    check unreachable/no-longer-pending 30 cond_is CleanupPending False/NoCleanup
    operator_alive unreachable/operator-running

    # ---- removed, then added again under the same name with new credentials ----
    # the old credentials: a token of the linked member identity bound to Secret
    # old-token in ap (deleting that Secret revokes the token at once)
    kc ap -n eastwest-system create secret generic old-token >/dev/null
    token=$(kc ap -n eastwest-system create token eastwest-member --bound-object-kind Secret \
        --bound-object-name old-token --duration=1h)
    server=$(kc ap config view --minify -o jsonpath='{.clusters[0].cluster.server}')
    cat >"$tmp/ap-old.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: ap, cluster: {server: "$server", certificate-authority-data: $(base64 -w0 "$dir/ap/ca.crt")}}]
users: [{name: old, user: {token: "$token"}}]
contexts: [{name: ap, context: {cluster: ap, user: old}}]
current-context: ap
EOF
    kc us -n eastwest-system create secret generic ap-kubeconfig --from-file=kubeconfig="$tmp/ap-old.kubeconfig" \
        --dry-run=client -o yaml | kc us apply -f - >/dev/null
    tri_mesh ap
    check readd/written-with-old-credentials 60 has_se ap
    tri_mesh
    check readd/cleaned 60 ap_clean
    old_uid=$(kc ap -n echo get serviceentries.networking.istio.io echo -o jsonpath='{.metadata.uid}' 2>/dev/null)
    kc ap -n eastwest-system delete secret old-token >/dev/null # its token stops working
    link_member ap ap-kubeconfig
    tri_mesh ap
    new_se() { local u; u=$(kc ap -n echo get serviceentries.networking.istio.io echo -o jsonpath='{.metadata.uid}') && [ -n "$u" ] && [ "$u" != "$old_uid" ]; }
    check readd/written-with-new-credentials 60 new_se
    kc us delete meshnetwork training-mesh --wait=false >/dev/null
    kc us -n echo delete ccs echo --wait=false >/dev/null
    check tri/crs-gone 90 crs_gone
    nothing_left tri/nothing-left us eu ap
    bash "$root/hack/cluster.sh" down ap >/dev/null 2>&1
else
    fail three/cluster-up "$(tail -n 5 "$tmp/ap.out")"
fi

# ---- 200 CrossClusterServices at once in a small vipRange ----
kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: vip-mesh}
spec:
  meshID: vip-mesh
  trustDomain: corp.local
  vipRange: 240.1.0.0/24
  clusters:
  - {name: us, network: us-net}
  - {name: eu, network: eu-net, kubeconfigSecretRef: {name: prod-eu-west-1}}
EOF
kc us create namespace vip >/dev/null 2>&1
kc us -n vip get ccs -w -o jsonpath='{.metadata.name}={.status.address}{"\n"}' >"$tmp/vip.watch" 2>/dev/null &
watch_pid=$!
sleep 1
for i in $(seq 1 200); do
    printf -- '---\napiVersion: eastwest.io/v1alpha1\nkind: CrossClusterService\nmetadata: {name: svc-%s, namespace: vip}\nspec:\n  meshNetwork: vip-mesh\n  exportFrom: [{cluster: eu}]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n' "$i"
done >"$tmp/vip.yaml"
kc us apply -f "$tmp/vip.yaml" >/dev/null
all_addressed() { [ "$(kc us -n vip get ccs -o jsonpath='{range .items[*]}{.status.address}{"\n"}{end}' | grep -c .)" = 200 ]; }
check vip/all-addressed 120 all_addressed
sleep 5 # a collision resolved late would show here
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
n=$(kc us -n vip get ccs -o jsonpath='{range .items[*]}{.status.address}{"\n"}{end}' | sort -u | grep -c .)
if [ "$n" = 200 ]; then pass vip/200-distinct; else fail vip/200-distinct "$n distinct addresses"; fi
# The watch saw every one of the 200 get its address, and the last it saw is the address
# each has now: the recorder captured the whole story, in which no address changed.
changed=$(awk -F= '$2 != "" { if (($1 in a) && a[$1] != $2) print $1 ": " a[$1] " -> " $2; a[$1] = $2 }' "$tmp/vip.watch" | head -n 5)
seen=$(awk -F= '$2 != "" { a[$1] = $2 } END { for (k in a) print k "=" a[k] }' "$tmp/vip.watch" | sort)
now=$(kc us -n vip get ccs -o jsonpath='{range .items[*]}{.metadata.name}={.status.address}{"\n"}{end}' | sort)
if [ "$(grep -c . <<<"$seen")" != 200 ] || [ "$seen" != "$now" ]; then
    fail vip/none-changed "the watch saw $(grep -c . <<<"$seen") of 200 addresses, or not the final ones"
elif [ -n "$changed" ]; then fail vip/none-changed "$changed"
else pass vip/none-changed; fi
kc us -n vip delete ccs --all --wait=false >/dev/null
kc us delete meshnetwork vip-mesh --wait=false >/dev/null
vip_cleaned() { not_found us meshnetwork vip-mesh && none_listed us -n vip ccs; }
check vip/cleaned 120 vip_cleaned
operator_alive vip/operator-running
# leave as found: the backing Service made here (its pod's service account is echo-sa)
kc eu -n echo delete --ignore-not-found pod/echo-0 service/echo serviceaccount/echo-sa >/dev/null 2>&1

finish
