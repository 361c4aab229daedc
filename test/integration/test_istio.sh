#!/usr/bin/env bash
# Istio's own control plane in the loop: a real istiod (pilot-discovery) per cluster, and
# what it sends proxies, read with the xDS probe (hack/tools/istio/xdsprobe) and checked
# content by content. The tutorial (echo in eu, called from us as echo.eu.mesh.local):
#   - trust: each istiod publishes the mesh root, none fell back to its own CA, each
#     istiod's serving certificate and the workload certificates its CA issues verify
#     against the other cluster's published root;
#   - a sidecar in us: the cluster, its endpoints (eu's gateway :15443, eu's locality),
#     mTLS with the SNI and the pinned SPIFFE identity, the HTTP route, the DNS table;
#   - eu's east-west gateway, its node built from the Deployment eastwest wrote: the
#     15443 listener, the SNI filter chain to the echo pods, nothing for hosts not exported;
#   - changes reaching xDS: readiness, gateway addresses, hostnames, service accounts,
#     named target ports, deletion, three clusters with two exporters (active-active);
#   - istioctl analyze on the objects eastwest wrote; 1.30's CRDs accept them too.
# Only the kubelet (Pods' status, the cacerts volume) and the cloud's load balancer are
# played. No Envoy runs here: what is proven is what istiod computes, not bytes on a wire.
#
# Prints PASS/FAIL lines and a "# test_istio: ..." total, like the C tests.
set -uo pipefail
suite=test_istio
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"

if [ ! -x "$EW_XDSPROBE" ] || [ ! -x "$EW_ISTIOD" ] || [ ! -x "$EW_ISTIOCTL" ]; then
    echo "FAIL $suite/tools: xdsprobe, pilot-discovery or istioctl not built (run hack/deps.sh)"
    echo "# $suite: 0 passed, 1 failed"
    exit 1
fi
cluster_sh() { bash "$root/hack/cluster.sh" "$@"; }
# shellcheck source=hack/xds.sh
source "$root/hack/xds.sh"

# ---- the kubelet, played -------------------------------------------------------------

# workload CLUSTER NS NAME APP SA IP [PORTNAME PORT]: a pod as injection leaves it (the
# tlsMode label, a named container port), running and Ready.
workload() {
    kc "$1" -n "$2" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $3
  labels: {app: $4, security.istio.io/tlsMode: istio, service.istio.io/canonical-name: $4}
spec:
  serviceAccountName: $5
  containers:
  - name: app
    image: example.invalid/$4:1
    ports: [{name: ${7:-http}, containerPort: ${8:-8080}}]
EOF
    play_pod_status "$1" "$2" "$3" "$6" True
}
gateway_pod() { play_pod_from_deployment "$1" istio-system istio-eastwestgateway "$2"; }

# ---- the probe -----------------------------------------------------------------------

xds_port() { cluster_sh istiod-port "$1" xds; }
# dump CLUSTER NODE-ARGS...: what istiod sends that proxy (JSON), in $tmp/xds.json.
dump() {
    "$EW_XDSPROBE" dump --xds "127.0.0.1:$(xds_port "$1")" --cluster-id "$1" --timeout 15s \
        "${@:2}" >"$tmp/xds.json" 2>"$tmp/xds.err"
}
# A sidecar in CLUSTER (client pod NAME, locality LOC, network NET), DNS capture on.
sidecar() { # sidecar CLUSTER IP LOC NET
    dump "$1" --type sidecar --ip "$2" --pod "client-$1" --namespace echo --labels app=client \
        --service-account client --locality "$3" --meta NETWORK="$4" --meta DNS_CAPTURE=true
}
# The east-west gateway of CLUSTER, its node from the Deployment eastwest wrote.
gateway() { # gateway CLUSTER IP LOC
    kc "$1" -n istio-system get deployment istio-eastwestgateway -o json >"$tmp/gw-$1.json" &&
        dump "$1" --type router --deployment "$tmp/gw-$1.json" --ip "$2" \
            --pod istio-eastwestgateway-0 --locality "$3"
}
q() { jq -r "$@" "$tmp/xds.json"; }
endpoints_of() { xds_endpoints "$tmp/xds.json" "$1"; }
addrs_of() { xds_addrs "$tmp/xds.json" "$1"; }
cluster_field() { xds_cluster_field "$tmp/xds.json" "$1" "$2"; }
has_cluster() { [ -n "$(cluster_field "$1" .name)" ]; }
mtls_of() { xds_mtls "$tmp/xds.json" "$1"; }
chains_of() { xds_chains "$tmp/xds.json" "$1"; }
chain_cluster() { xds_chain_cluster "$tmp/xds.json" "$1" "$2"; }
listener_filters() { xds_listener_filters "$tmp/xds.json" "$1"; }
# wait_xds NAME SECONDS NODE-FUNCTION NODE-ARGS -- JQ-CHECK...: re-dump until CHECK holds.
wait_xds() {
    local name=$1 secs=$2 end
    shift 2
    local node=() check=()
    while [ "$1" != -- ]; do node+=("$1"); shift; done
    shift
    check=("$@")
    end=$((SECONDS + secs))
    while true; do
        if "${node[@]}" && "${check[@]}" >/dev/null 2>&1; then pass "$name"; return 0; fi
        if [ "$SECONDS" -ge "$end" ]; then
            fail "$name" "timed out after ${secs}s: $("${check[@]}" 2>&1 | head -c 300); probe: $(head -c 300 "$tmp/xds.err")"
            cp "$tmp/xds.json" "${EW_TEST_LOGS_DIR:-$tmp}/$suite-${name//\//-}.json" 2>/dev/null
            return 1
        fi
        sleep 1
    done
}
is() { # is WANT COMMAND...: COMMAND prints WANT (else says what it printed)
    local got
    got=$("${@:2}")
    [ "$got" = "$1" ] || { echo "got '$got', want '$1'"; return 1; }
}
has() { # has PART COMMAND...: COMMAND prints something containing PART
    local got
    got=$("${@:2}")
    [[ $got == *"$1"* ]] || { echo "got '$got', want it to contain '$1'"; return 1; }
}
# expect NAME COMMAND...: PASS when COMMAND succeeds, else FAIL with what it printed.
expect() {
    local out
    if out=$("${@:2}" 2>&1); then pass "$1"; else fail "$1" "$out"; fi
}
no_invalid() { [ "$(q '.invalid | length')" = 0 ]; }

# ---- set-up: two clusters, istiod after cacerts ---------------------------------------
# A clean slate from earlier suites: no istiod, no CA of istiod's own, no published root.
for c in us eu; do
    cluster_sh stop-istiod "$c" >/dev/null 2>&1
    kc "$c" -n istio-system delete secret istio-ca-secret --ignore-not-found >/dev/null 2>&1
    kc "$c" -n istio-system delete configmap istio-ca-root-cert --ignore-not-found >/dev/null 2>&1
done
# Earlier suites' workloads in namespace echo would be selected too.
clean_echo() {
    local c
    for c in us eu; do
        kc "$c" -n echo delete pods --all --grace-period=0 --force >/dev/null 2>&1
        kc "$c" -n echo delete services,serviceaccounts --all >/dev/null 2>&1
    done
}
clean_echo
set_up_home
for c in us eu; do
    play_istiod "$c" corp.local training-mesh
    kc "$c" create namespace echo >/dev/null 2>&1
    kc "$c" -n echo create serviceaccount client >/dev/null 2>&1
    kc "$c" -n echo create serviceaccount echo >/dev/null 2>&1
done
kc eu -n echo apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: private}
spec:
  selector: {app: private}
  ports: [{name: http, port: 80, targetPort: 8080}]
EOF
workload eu echo echo-0 echo echo 10.20.1.10
workload eu echo echo-1 echo echo 10.20.1.11
workload eu echo private-0 private echo 10.20.1.20
start_operator
kc us apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null
wait_for "gateway Services" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
check setup/cacerts 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
for c in us eu; do check "setup/istiod-$c" 60 cluster_sh start-istiod "$c"; done
gateway_pod eu 10.20.0.100
gateway_pod us 10.10.0.100
mesh_cond() { kc us get meshnetwork training-mesh -o jsonpath="{.status.conditions[?(@.type==\"$1\")].status}"; }
check setup/mesh-ready 60 is True mesh_cond Ready
check setup/ccs-ready 60 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs echo -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"

# ---- trust ---------------------------------------------------------------------------
# The mesh root, as eastwest wrote it into every member's cacerts.
kc us -n istio-system get secret cacerts -o jsonpath='{.data.root-cert\.pem}' | base64 -d >"$tmp/mesh-root.pem"
if cmp -s "$tmp/mesh-root.pem" <(kc eu -n istio-system get secret cacerts -o jsonpath='{.data.root-cert\.pem}' | base64 -d); then
    pass trust/one-root-in-both-cacerts
else fail trust/one-root-in-both-cacerts "us and eu cacerts hold different roots"; fi
for c in us eu; do
    istiod_published_root "$c" >"$tmp/published-$c.pem"
    if [ -s "$tmp/published-$c.pem" ] && cmp -s "$tmp/published-$c.pem" "$tmp/mesh-root.pem"; then
        pass "trust/$c-publishes-mesh-root"
    else fail "trust/$c-publishes-mesh-root" "istio-ca-root-cert in $c is not the mesh root"; fi
    ns_root=$(kc "$c" -n echo get configmap istio-ca-root-cert -o jsonpath='{.data.root-cert\.pem}' 2>/dev/null)
    if [ "$ns_root" = "$(cat "$tmp/mesh-root.pem")" ]; then pass "trust/$c-namespaces-get-mesh-root"; else
        fail "trust/$c-namespaces-get-mesh-root" "echo's istio-ca-root-cert differs"; fi
    if not_found "$c" -n istio-system secret istio-ca-secret; then
        pass "trust/$c-no-self-signed-ca"
    else fail "trust/$c-no-self-signed-ca" "istiod in $c made istio-ca-secret (or it cannot be read): $(kc "$c" -n istio-system get secret istio-ca-secret -o name 2>&1)"; fi
done
# istiod's serving certificate (TLS xDS and CA port) against the other cluster's root.
serving_chain() { # serving_chain CLUSTER FILE
    openssl s_client -connect "127.0.0.1:$(cluster_sh istiod-port "$1" ca)" \
        -servername istiod.istio-system.svc -showcerts </dev/null 2>/dev/null |
        awk '/BEGIN CERTIFICATE/,/END CERTIFICATE/' >"$2"
}
# verify_chain ROOT CHAIN: the first certificate of CHAIN, with the rest as intermediates.
verify_chain() {
    awk -v d="$tmp/vc" 'BEGIN{n=0} /BEGIN CERTIFICATE/{n++} {print > (d "." n)}' "$2"
    cat "$tmp"/vc.[2-9] >"$tmp/vc.rest" 2>/dev/null || : >"$tmp/vc.rest"
    local out
    out=$(openssl verify -CAfile "$1" -untrusted "$tmp/vc.rest" "$tmp/vc.1" 2>&1)
    rm -f "$tmp"/vc.*
    [[ $out == *": OK" ]] || { echo "$out"; return 1; }
}
for pair in us:eu eu:us; do
    c=${pair%%:*} other=${pair##*:}
    serving_chain "$c" "$tmp/serving-$c.pem"
    if out=$(verify_chain "$tmp/published-$other.pem" "$tmp/serving-$c.pem") &&
        openssl x509 -in "$tmp/serving-$c.pem" -noout -ext subjectAltName 2>/dev/null |
        grep -q 'istiod.istio-system.svc'; then
        pass "trust/$c-istiod-serving-cert-trusted-by-$other"
    else fail "trust/$c-istiod-serving-cert-trusted-by-$other" "${out:-no istiod.istio-system.svc SAN}"; fi
done
# A workload certificate from each istiod's CA, for the identity eastwest pins, against
# the other's root.
pinned=$(kc us -n echo get serviceentries.networking.istio.io echo -o jsonpath='{.spec.subjectAltNames[0]}')
for pair in us:eu eu:us; do
    c=${pair%%:*} other=${pair##*:}
    kc "$c" -n echo create token echo --audience istio-ca --duration 10m >"$tmp/token-$c"
    if "$EW_XDSPROBE" csr --ca "127.0.0.1:$(cluster_sh istiod-port "$c" ca)" \
        --root "$tmp/published-$c.pem" --token-file "$tmp/token-$c" --cluster-id "$c" \
        --spiffe "$pinned" >"$tmp/workload-$c.pem" 2>"$tmp/csr-$c.err" &&
        out=$(verify_chain "$tmp/published-$other.pem" "$tmp/workload-$c.pem") &&
        openssl x509 -in "$tmp/workload-$c.pem" -noout -ext subjectAltName | grep -qF "URI:$pinned"; then
        pass "trust/$c-workload-cert-trusted-by-$other"
    else fail "trust/$c-workload-cert-trusted-by-$other" "pinned '$pinned': ${out:-} $(head -c 300 "$tmp/csr-$c.err")"; fi
done
if [ "$pinned" = "spiffe://corp.local/ns/echo/sa/echo" ]; then pass trust/pinned-is-echo-identity; else
    fail trust/pinned-is-echo-identity "got '$pinned'"; fi

# ---- a sidecar in us -------------------------------------------------------------------
us_sidecar() { sidecar us 10.10.2.5 us-east-1 us-net; }
eu_gateway() { gateway eu 10.20.0.100 eu-west-1; }
C='outbound|80||echo.eu.mesh.local' SNI='outbound_.80_._.echo.eu.mesh.local'
wait_xds us/cluster 30 us_sidecar -- has_cluster "$C"
if no_invalid; then pass us/every-resource-valid; else fail us/every-resource-valid "$(q -c .invalid | head -c 400)"; fi
expect us/eds-eu-gateway is "203.0.113.20:15443 eu-west-1 0" endpoints_of "$C"
expect us/mtls-sni-and-san is "$SNI spiffe://corp.local/ns/echo/sa/echo" mtls_of "$C"
tls_type=$(cluster_field "$C" '[.. | objects | .typedConfig?["@type"]? // empty] | join(",")')
if [[ $tls_type == *UpstreamTlsContext* ]] && has istio "cluster_field" "$C" '[.. | objects | .alpnProtocols? // empty | .[]] | join(",")'; then
    pass us/istio-mtls-transport-socket
else fail us/istio-mtls-transport-socket "types: $tls_type"; fi
vhost=$(q '[.routes[]? | .virtualHosts[]? | select(.domains | index("echo.eu.mesh.local"))] | .[0]')
if [ "$vhost" != null ] && jq -e --arg c "$C" '(.domains | index("240.0.0.2")) and
    ([.. | objects | .cluster? // empty] | index($c))' <<<"$vhost" >/dev/null; then
    pass us/http-route-by-name-and-vip
else fail us/http-route-by-name-and-vip "virtual host: $(head -c 300 <<<"$vhost")"; fi
expect us/dns-table-vip is 240.0.0.2 xds_dns "$tmp/xds.json" echo.eu.mesh.local

# ---- eu's east-west gateway ------------------------------------------------------------
wait_xds eu/filter-chain 30 eu_gateway -- has "$SNI" chains_of 15443
if no_invalid; then pass eu/every-resource-valid; else fail eu/every-resource-valid "$(q -c .invalid | head -c 400)"; fi
expect eu/tls-inspector has tls_inspector listener_filters 15443
gc=$(chain_cluster 15443 "$SNI")
if [ "$gc" = "$SNI" ] || [[ $gc == *echo.eu.mesh.local* ]]; then pass eu/chain-forwards-to-sni-cluster; else
    fail eu/chain-forwards-to-sni-cluster "cluster '$gc'"; fi
# (Pod endpoints have no locality here: no kubelet registers a Node with topology labels.)
expect eu/endpoints-are-echo-pods is "10.20.1.10:8080,10.20.1.11:8080" addrs_of "$gc"
# Service private exists in eu with a Ready pod but is not exported: no filter chain.
# (istiod builds SNI clusters for every service; only the Gateway's hosts get a chain, and
# a TLS connection whose server name has no chain is closed.)
if [ "$(chains_of 15443)" = "$SNI" ]; then pass eu/nothing-for-hosts-not-exported; else
    fail eu/nothing-for-hosts-not-exported "chains: $(chains_of 15443)"; fi
if [ "$(q -r '.node.metadata.NETWORK // empty')" = eu-net ]; then pass eu/node-network-from-deployment; else
    fail eu/node-network-from-deployment "node: $(q -c .node | head -c 300)"; fi

# ---- istioctl analyze ------------------------------------------------------------------
# Expected, about the played parts only: IST0146 (Deployment) and IST0147 (Pod) "contains
# `image: auto` but does not match any Istio injection webhook selectors": these clusters
# have no sidecar injector webhook (no kubelet runs pods, webhook patching is off), so
# nothing would fill in the gateway's image. In a real install the injector matches the
# gateway's sidecar.istio.io/inject label. Anything else about eastwest's objects fails.
# (Not about the user's: the clusters hold the user's own Gateway istio-system/ingressgateway,
# hack/user-world/, whose ingress pods do not run here; eastwest's Gateway is
# cross-network-gateway.)
played='^(IST0146|IST0147)$'
for c in us eu; do
    "$EW_ISTIOCTL" analyze --kubeconfig "$dir/$c/kubeconfig" --all-namespaces -o json \
        >"$tmp/analyze-$c.json" 2>"$tmp/analyze-$c.err"
    cp "$tmp/analyze-$c.json" "${EW_TEST_LOGS_DIR:-$tmp}/$suite-analyze-$c.json" 2>/dev/null
    ours=$(jq -r --arg played "$played" '[.[]? | select(.code | test($played) | not) |
        select(.origin | test("echo.eu.mesh.local|istio-eastwestgateway|cross-network-gateway|ServiceEntry echo/|DestinationRule echo/"))
        | "\(.code) \(.origin): \(.message)"] | join("; ")' "$tmp/analyze-$c.json" 2>/dev/null)
    if jq -e 'type == "array"' "$tmp/analyze-$c.json" >/dev/null 2>&1 && [ -z "$ours" ]; then
        pass "analyze/$c-nothing-about-eastwest-objects"
    else fail "analyze/$c-nothing-about-eastwest-objects" "${ours:-$(head -c 300 "$tmp/analyze-$c.err")}"; fi
    codes=$(jq -r '[.[]?.code] | unique | join(",")' "$tmp/analyze-$c.json" 2>/dev/null)
    echo "# istioctl analyze in $c reports: ${codes:-nothing}" >&2
done

# ---- changes reach xDS -------------------------------------------------------------------
play_pod_status eu echo echo-0 10.20.1.10 False
play_pod_status eu echo echo-1 10.20.1.11 False
wait_xds change/not-ready-empties-gateway 30 eu_gateway -- is "" addrs_of "$gc"
play_pod_status eu echo echo-0 10.20.1.10 True
play_pod_status eu echo echo-1 10.20.1.11 True
wait_xds change/ready-again 30 eu_gateway -- is "10.20.1.10:8080,10.20.1.11:8080" addrs_of "$gc"
play_cloud eu 203.0.113.21
wait_xds change/gateway-address-followed 30 us_sidecar -- is "203.0.113.21:15443 eu-west-1 0" endpoints_of "$C"
play_cloud eu a1b2.elb.eu-west-1.amazonaws.com
dns_cluster() { is STRICT_DNS cluster_field "$C" .type && is "a1b2.elb.eu-west-1.amazonaws.com:15443 eu-west-1 0" endpoints_of "$C"; }
wait_xds change/hostname-gives-dns-cluster 30 us_sidecar -- dns_cluster
play_cloud eu 203.0.113.20
wait_xds change/ip-again 30 us_sidecar -- is "203.0.113.20:15443 eu-west-1 0" endpoints_of "$C"

# A ServiceAccount change: the pods are replaced by pods of another account.
kc eu -n echo create serviceaccount echo-v2 >/dev/null 2>&1
kc eu -n echo delete pod echo-0 echo-1 --wait=false >/dev/null
kc eu -n echo delete pod echo-0 echo-1 --grace-period=0 --force >/dev/null 2>&1
workload eu echo echo-2 echo echo-v2 10.20.1.12
wait_xds change/service-account-reaches-sans 20 us_sidecar -- is "$SNI spiffe://corp.local/ns/echo/sa/echo-v2" mtls_of "$C"

# A named targetPort: istiod resolves it to the pods' container port of that name.
kc eu -n echo apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: named}
spec:
  selector: {app: named}
  ports: [{name: http, port: 80, targetPort: http-named}]
EOF
workload eu echo named-0 named echo 10.20.1.30 http-named 9191
kc us apply -f - >/dev/null <<'EOF'
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: named, namespace: echo}
spec:
  meshNetwork: training-mesh
  host: named.eu.mesh.local
  exportFrom: [{cluster: eu}]
  importTo: [us]
EOF
NSNI='outbound_.80_._.named.eu.mesh.local'
named_endpoints() { is "10.20.1.30:9191" addrs_of "$(chain_cluster 15443 "$NSNI")"; }
wait_xds change/named-target-port-is-container-port 40 eu_gateway -- named_endpoints

# ---- deletion: the cluster and the filter chain go ---------------------------------------
kc us -n echo delete ccs named --timeout=30s >/dev/null 2>&1
not_cluster() { ! has_cluster 'outbound|80||named.eu.mesh.local'; }
wait_xds delete/sidecar-cluster-gone 30 us_sidecar -- not_cluster
no_named_chain() { [[ "$(chains_of 15443)" != *named.eu.mesh.local* ]]; }
wait_xds delete/gateway-chain-gone 30 eu_gateway -- no_named_chain

# ---- three clusters, two exporters, active-active ------------------------------------------
# A fresh ap: earlier suites leave one with their cacerts and istiod.
cluster_sh down ap >/dev/null 2>&1
if cluster_sh up ap >"$tmp/ap.out" 2>&1; then
    # Istio installed first, joined later: ap's istiod starts on its own CA.
    play_istiod ap corp.local training-mesh
    kc ap -n istio-system delete secret istio-ca-secret --ignore-not-found >/dev/null 2>&1
    check three/ap-istiod-before-cacerts 60 cluster_sh restart-istiod ap
    kc ap create namespace echo >/dev/null 2>&1
    kc ap -n echo create serviceaccount echo >/dev/null 2>&1
    for c in eu ap; do
        kc "$c" -n echo apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: multi}
spec:
  selector: {app: multi}
  ports: [{name: http, port: 80, targetPort: 8080}]
EOF
    done
    workload eu echo multi-0 multi echo 10.20.1.40
    workload ap echo multi-0 multi echo 10.30.1.40
    link_member ap ap-kubeconfig
    kc us patch meshnetwork training-mesh --type=json -p '[{"op":"add","path":"/spec/clusters/-","value":{"name":"ap","network":"ap-net","locality":"ap-south-1","kubeconfigSecretRef":{"name":"ap-kubeconfig"}}}]' >/dev/null
    wait_for "ap gateway" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/ap/kubeconfig -n istio-system get svc istio-eastwestgateway"
    play_cloud ap 203.0.113.30
    ap_cond() { kc us get meshnetwork training-mesh -o jsonpath='{.status.clusters[?(@.name=="ap")].conditions[?(@.type=="CertificatesReady")].reason}'; }
    check three/ap-istiod-not-using-mesh-root 40 is IstiodNotUsingMeshRoot ap_cond
    check three/ap-restart-after-cacerts 60 restart_istiod ap
    check three/ap-condition-cleared-by-istiod 40 is Issued ap_cond
    gateway_pod ap 10.30.0.100
    kc us apply -f - >/dev/null <<'EOF'
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: multi, namespace: echo}
spec:
  meshNetwork: training-mesh
  host: multi.mesh.local
  exportFrom: [{cluster: eu}, {cluster: ap}]
  importTo: [us, eu]
EOF
    M='outbound|80||multi.mesh.local'
    both() { is "203.0.113.20:15443 eu-west-1 0,203.0.113.30:15443 ap-south-1 0" endpoints_of "$M"; }
    # us: neither gateway is local; both at the same priority, failover by locality on.
    wait_xds three/us-both-gateways 40 us_sidecar -- both
    od=$(cluster_field "$M" '.outlierDetection | type')
    if [ "$od" = object ]; then pass three/us-outlier-detection; else fail three/us-outlier-detection "outlierDetection: $od"; fi
    # eu imports and exports: its own Service first (priority 0), ap's gateway after.
    eu_sidecar() { sidecar eu 10.20.2.5 eu-west-1 eu-net; }
    local_first() {
        local e
        e=$(endpoints_of "$M")
        [[ $e == *"203.0.113.30:15443 ap-south-1 1"* ]] && [[ $e == *"eu-west-1 0"* ]] &&
            [[ $e != *"203.0.113.20"* ]]
    }
    wait_xds three/eu-local-first 40 eu_sidecar -- local_first
    [ "$failed" -gt 0 ] && echo "eu sidecar endpoints of $M: $(endpoints_of "$M")" >&2
    kc us -n echo delete ccs multi --timeout=30s >/dev/null 2>&1
    kc us patch meshnetwork training-mesh --type=json -p '[{"op":"remove","path":"/spec/clusters/2"}]' >/dev/null
    sleep 3
    cluster_sh down ap >/dev/null 2>&1
else
    fail three/ap-cluster "$(tail -n 5 "$tmp/ap.out")"
fi

# ---- Istio 1.30's CRDs accept what eastwest wrote ----------------------------------------
if EW_CLUSTER_ISTIO_CRDS="$EW_ISTIO_CRDS_RELEASE" cluster_sh up r130 >"$tmp/r130.out" 2>&1; then
    kc r130 create namespace echo >/dev/null 2>&1
    kc r130 create namespace istio-system >/dev/null 2>&1
    # What eastwest wrote for the tutorial, now that named and multi are gone: us imports
    # echo (a ServiceEntry and a DestinationRule), eu exports it (a ServiceEntry, the
    # Gateway). Each list is read, and each object is accepted, so none is skipped.
    want=" us/serviceentries=1 us/destinationrules=1 us/gateways=0 eu/serviceentries=1 eu/destinationrules=0 eu/gateways=1"
    bad="" counts=""
    for c in us eu; do
        for kind in serviceentries destinationrules gateways; do
            if ! kc "$c" get "$kind.networking.istio.io" -A -l app.kubernetes.io/managed-by=eastwest-operator \
                -o json >"$tmp/list.json" 2>"$tmp/list.err"; then
                bad="$bad $c/$kind: $(cat "$tmp/list.err")"
                continue
            fi
            n=$(jq '.items | length' "$tmp/list.json")
            counts="$counts $c/$kind=$n"
            [ "$n" -gt 0 ] || continue
            jq '.items[] | {apiVersion, kind, metadata: {name: .metadata.name, namespace: .metadata.namespace}, spec}' \
                "$tmp/list.json" >"$tmp/objs.json"
            if ! out=$(kc r130 apply --dry-run=server -o name -f "$tmp/objs.json" 2>&1); then
                bad="$bad $c/$kind: $out"
            elif [ "$(grep -c . <<<"$out")" != "$n" ]; then bad="$bad $c/$kind: $n objects, accepted: $out"; fi
        done
    done
    if [ -z "$bad" ] && [ "$counts" = "$want" ]; then pass release-crds/objects-valid-for-1.30; else
        fail release-crds/objects-valid-for-1.30 "objects:$counts (want$want) $(head -c 400 <<<"$bad")"; fi
    cluster_sh down r130 >/dev/null 2>&1
else
    fail release-crds/cluster "$(tail -n 5 "$tmp/r130.out")"
fi

kc us -n echo delete ccs --all --timeout=60s >/dev/null 2>&1
kc us delete -f "$root/deploy/examples/tutorial.yaml" --timeout=60s >/dev/null 2>&1
clean_echo
finish
