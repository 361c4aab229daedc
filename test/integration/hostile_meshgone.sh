# shellcheck shell=bash disable=SC2154
# hostile_meshgone: nothing of a MeshNetwork is left behind (issue 32). A MeshNetwork
# gone-mesh over us, eu and ap (onDelete: Delete); ap is removed from it: once ap is
# cleaned, the operator's /metrics has no series of ap in gone-mesh any more. Then its
# spec is made one the API server admits but the operator cannot parse (vipRange
# 0.0.0.0/0: a CIDR of at most /30 for the CRD, no /0 for the parse) and it is deleted:
# us and eu must hold nothing labelled eastwest.io/mesh=gone-mesh (gateway Deployment,
# Service, Gateway, ServiceAccount, Role, RoleBinding) and no cacerts, and /metrics no
# series naming gone-mesh. Runs with no other mesh (its members are the tutorial's).
# Leaves nothing behind: whatever the operator left is deleted at the end.
# Needs mesh_env.sh, the operator running against us with its metrics on $port, clusters
# us, eu and ap with the kubeconfig Secrets prod-eu-west-1 and ap-kubeconfig, and istiod
# played in each (corp.local, training-mesh).

hm_kinds=deployments,services,serviceaccounts,roles,rolebindings,gateways.networking.istio.io
hm_mesh() { # hm_mesh VIPRANGE [noap]
    local ap_member="  - {name: ap, network: ap-net, kubeconfigSecretRef: {name: ap-kubeconfig}}"
    [ "${2:-}" = noap ] && ap_member=""
    kc us apply -f - >/dev/null <<YAML
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: gone-mesh}
spec:
  meshID: training-mesh
  trustDomain: corp.local
  vipRange: $1
  clusters:
  - {name: us, network: us-net}
  - {name: eu, network: eu-net, kubeconfigSecretRef: {name: prod-eu-west-1}}
$ap_member
  eastWestGateway: {replicas: 1, exposure: AllLocal}
  certificateAuthority: {onDelete: Delete}
YAML
}
hm_written() { # hm_written CLUSTER: its gateway and cacerts are gone-mesh's
    kc "$1" -n istio-system get deployment istio-eastwestgateway \
        -o jsonpath='{.metadata.labels.eastwest\.io/mesh}' | grep -qx gone-mesh &&
        kc "$1" -n istio-system get secret cacerts >/dev/null
}
hm_all_written() { hm_written us && hm_written eu && hm_written ap; }
hm_series() { # hm_series ERE: the /metrics lines (not comments) matching ERE, or fails
    local page
    page=$(metrics_page "$port") || return 1
    grep -v '^#' <<<"$page" | grep -E "$1" || true
}
hm_ap_series='mesh="gone-mesh",cluster="ap"'
hm_has_ap_series() { [ -n "$(hm_series "$hm_ap_series")" ]; }
hm_no_ap_series() { local s; s=$(hm_series "$hm_ap_series") && [ -z "$s" ]; }
hm_no_mesh_series() { local s; s=$(hm_series 'gone-mesh') && [ -z "$s" ]; }
hm_ap_clean() { none_listed ap -n istio-system "$hm_kinds" -l eastwest.io/mesh=gone-mesh; }
hm_unreadable() { # the operator read the new spec and refuses it
    [ "$(kc us get meshnetwork gone-mesh -o jsonpath='{.status.observedGeneration}/{.status.conditions[?(@.type=="Ready")].reason}')" = \
        "$(kc us get meshnetwork gone-mesh -o jsonpath='{.metadata.generation}')/InvalidSpec" ]
}
hm_left() { # hm_left CLUSTER: what gone-mesh left there, one line (empty: nothing)
    local out
    out=$(kc "$1" get -A "$hm_kinds" -l eastwest.io/mesh=gone-mesh -o name 2>&1) || out="list failed: $out"
    kc "$1" -n istio-system get secret cacerts -o name >/dev/null 2>&1 && out="$out secret/cacerts"
    echo "$out" | tr '\n' ' ' | sed 's/ *$//'
}
hm_clean_up() { # whatever happened above, nothing of gone-mesh stays
    local c
    if kc us get meshnetwork gone-mesh >/dev/null 2>&1; then
        kc us delete meshnetwork gone-mesh --wait=false >/dev/null 2>&1
        wait_for "gone-mesh deleted" 60 not_found us meshnetwork gone-mesh ||
            kc us patch meshnetwork gone-mesh --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    fi
    for c in us eu ap; do
        kc "$c" delete -A "$hm_kinds" -l eastwest.io/mesh=gone-mesh --ignore-not-found >/dev/null 2>&1
        kc "$c" -n istio-system delete secret cacerts --ignore-not-found >/dev/null 2>&1
    done
    kc us -n eastwest-system delete secret gone-mesh-root-ca --ignore-not-found >/dev/null 2>&1
}

hostile_meshgone() {
    local c left
    hm_mesh 240.240.0.0/16
    check meshgone/written 90 hm_all_written
    check meshgone/ap-series 30 hm_has_ap_series

    # ap leaves: once it is cleaned, its series go (on main they stayed)
    hm_mesh 240.240.0.0/16 noap
    check meshgone/ap-cleaned 60 hm_ap_clean
    if wait_for "ap's series gone" 15 hm_no_ap_series; then pass meshgone/ap-series-gone; else
        fail meshgone/ap-series-gone "stay: $(hm_series "$hm_ap_series" | head -n 5 | tr '\n' ' ')"; fi

    # an unreadable spec, deleted: cleaned by what it wrote (on main: let go at once,
    # everything stayed)
    hm_mesh 0.0.0.0/0 noap
    check meshgone/spec-unreadable 30 hm_unreadable
    kc us delete meshnetwork gone-mesh --wait=false >/dev/null 2>&1
    check meshgone/unreadable-deleted 90 not_found us meshnetwork gone-mesh
    for c in us eu; do
        left=$(hm_left "$c")
        if [ -z "$left" ]; then pass "meshgone/$c-cleaned"; else
            fail "meshgone/$c-cleaned" "left in $c by the unreadable gone-mesh: $left"; fi
    done
    if wait_for "gone-mesh's series gone" 15 hm_no_mesh_series; then
        pass meshgone/mesh-series-gone; else
        fail meshgone/mesh-series-gone "stay: $(hm_series gone-mesh | head -n 5 | tr '\n' ' ')"; fi
    hm_clean_up
    return 0
}
