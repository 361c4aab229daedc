#!/usr/bin/env bash
# The eastwest CRDs against a real API server: they install, every example is
# accepted, kubectl shows the printer columns and explains fields, and each object
# in a table of invalid ones is refused (server-side dry run) with a message that
# names the field. Prints PASS/FAIL lines and a "# test_crds: ..." total, like the
# C test binaries.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=hack/lib.sh
source "$root/hack/lib.sh"
kubeconfig="${EW_CLUSTERS_DIR:-/tmp/eastwest-clusters}/us/kubeconfig"
k() { "$EW_KUBECTL" --kubeconfig "$kubeconfig" "$@"; }
passed=0 failed=0
pass() { echo "PASS test_crds/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL test_crds/$1: $2"; failed=$((failed + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if k apply --server-side -f "$root/crds/" >"$tmp/apply.out" 2>&1 &&
    k wait --for=condition=Established crd/meshnetworks.eastwest.io \
        crd/crossclusterservices.eastwest.io --timeout=30s >>"$tmp/apply.out" 2>&1; then
    pass install
else
    fail install "$(cat "$tmp/apply.out")"
fi

ns=ew-crds-$$
k create namespace "$ns" >/dev/null 2>&1
k create namespace echo >/dev/null 2>&1
k create namespace payments >/dev/null 2>&1
for f in "$root"/deploy/examples/*.yaml; do
    name=examples/$(basename "$f" .yaml)
    if out=$(k apply --dry-run=server -f "$f" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
done

k apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null 2>&1
out=$(k get meshnet,ccs -A 2>&1)
if grep -q "MESH *CLUSTERS *READY *REASON *AGE" <<<"$out" &&
    grep -q "HOST *ADDRESS *FROM *TO *READY *AGE" <<<"$out" &&
    grep -q "training-mesh *training-mesh" <<<"$out"; then
    pass printer-columns
else fail printer-columns "$out"; fi
out=$(k get eastwest -A 2>&1)
if grep -q meshnetwork.eastwest.io/training-mesh <<<"$out" &&
    grep -q crossclusterservice.eastwest.io/echo <<<"$out"; then
    pass category-eastwest
else fail category-eastwest "$out"; fi
out=$(k explain crossclusterservice.spec.exportFrom 2>&1)
if grep -q "The members where the backing Service runs" <<<"$out"; then pass explain; else
    fail explain "$out"; fi
out=$(k get meshnetwork training-mesh -o jsonpath='{.spec.istioNamespace} {.spec.vipRange} {.spec.certificateAuthority.onDelete} {.spec.eastWestGateway.exposure}')
if [ "$out" = "istio-system 240.240.0.0/16 Retain ExportedOnly" ]; then pass defaults; else
    fail defaults "got '$out'"; fi
k delete -f "$root/deploy/examples/tutorial.yaml" --wait=false >/dev/null 2>&1

# ---- invalid objects: each is refused, and the message names the field ----
mesh() { # mesh NAME SPEC-YAML
    printf 'apiVersion: eastwest.io/v1alpha1\nkind: MeshNetwork\nmetadata: {name: %s}\nspec:\n%s\n' "$1" "$2"
}
ccs() {
    printf 'apiVersion: eastwest.io/v1alpha1\nkind: CrossClusterService\nmetadata: {name: %s, namespace: %s}\nspec:\n%s\n' "$1" "$ns" "$2"
}
M_OK='  meshID: m
  trustDomain: corp.local'
CL='  clusters: [{name: us, network: us-net}, {name: eu, network: eu-net}]'
C_OK='  meshNetwork: m
  exportFrom: [{cluster: eu}]'

reject() { # reject CASE EXPECTED-SUBSTRING OBJECT-YAML
    local case=$1 want=$2 out
    printf '%s\n' "$3" >"$tmp/obj.yaml"
    if out=$(k apply --dry-run=server -f "$tmp/obj.yaml" 2>&1); then
        fail "invalid/$case" "accepted"
    elif grep -qF -- "$want" <<<"$out"; then
        pass "invalid/$case"
    else
        fail "invalid/$case" "message lacks '$want': $out"
    fi
}

reject mesh-missing-fields 'spec.trustDomain: Required value' "$(mesh a '  meshID: m')"
reject mesh-missing-clusters 'spec.clusters: Required value' "$(mesh a "$M_OK")"
reject mesh-one-cluster 'spec.clusters: Invalid value: 1: spec.clusters in body should have at least 2 items' "$(mesh a "$M_OK
  clusters: [{name: us, network: n1}]")"
reject mesh-duplicate-cluster 'spec.clusters[1]: Duplicate value' "$(mesh a "$M_OK
  clusters: [{name: us, network: n1}, {name: us, network: n2}]")"
reject mesh-duplicate-network 'spec.clusters[].network must be unique' "$(mesh a "$M_OK
  clusters: [{name: us, network: n1}, {name: eu, network: n1}]")"
reject mesh-bad-cluster-name 'spec.clusters[0].name' "$(mesh a "$M_OK
  clusters: [{name: US_East, network: n1}, {name: eu, network: n2}]")"
reject mesh-bad-locality 'spec.clusters[0].locality' "$(mesh a "$M_OK
  clusters: [{name: us, network: n1, locality: a/b/c/d}, {name: eu, network: n2}]")"
reject mesh-empty-locality-part 'spec.clusters[0].locality' "$(mesh a "$M_OK
  clusters: [{name: us, network: n1, locality: /us}, {name: eu, network: n2}]")"
reject mesh-missing-network 'spec.clusters[0].network: Required value' "$(mesh a "$M_OK
  clusters: [{name: us}, {name: eu, network: n2}]")"
reject mesh-meshid-type 'spec.meshID: Invalid value: "integer"' "$(mesh a "  meshID: 7
  trustDomain: corp.local
$CL")"
reject mesh-bad-meshid 'spec.meshID' "$(mesh a "  meshID: Bad_Mesh
  trustDomain: corp.local
$CL")"
reject mesh-viprange-not-cidr 'spec.vipRange' "$(mesh a "$M_OK
$CL
  vipRange: 240.0.0.2")"
reject mesh-viprange-ipv6 'spec.vipRange' "$(mesh a "$M_OK
$CL
  vipRange: fd00::/64")"
reject mesh-negative-replicas 'spec.eastWestGateway.replicas' "$(mesh a "$M_OK
$CL
  eastWestGateway: {replicas: -1}")"
reject mesh-bad-exposure 'spec.eastWestGateway.exposure: Unsupported value: "Everything"' "$(mesh a "$M_OK
$CL
  eastWestGateway: {exposure: Everything}")"
reject mesh-bad-service-type 'spec.eastWestGateway.service.type: Unsupported value' "$(mesh a "$M_OK
$CL
  eastWestGateway: {service: {type: ClusterIP}}")"
reject mesh-bad-source-range 'spec.eastWestGateway.service.loadBalancerSourceRanges[0]' "$(mesh a "$M_OK
$CL
  eastWestGateway: {service: {loadBalancerSourceRanges: [10.0.0.1]}}")"
reject mesh-bad-key-algorithm 'spec.certificateAuthority.keyAlgorithm: Unsupported value' "$(mesh a "$M_OK
$CL
  certificateAuthority: {keyAlgorithm: DSA-1024}")"
reject mesh-bad-duration 'spec.certificateAuthority.renewBefore' "$(mesh a "$M_OK
$CL
  certificateAuthority: {renewBefore: 1 month}")"
reject mesh-renew-too-long 'renewBefore must be shorter than intermediateValidity' "$(mesh a "$M_OK
$CL
  certificateAuthority: {renewBefore: 9000h}")"
reject mesh-bad-ondelete 'spec.certificateAuthority.onDelete: Unsupported value' "$(mesh a "$M_OK
$CL
  certificateAuthority: {onDelete: Shred}")"
reject mesh-unknown-field 'unknown field "spec.clusters2"' "$(mesh a "$M_OK
$CL
  clusters2: x")"
reject ccs-missing-mesh 'spec.meshNetwork: Required value' "$(ccs a '  exportFrom: [{cluster: eu}]')"
reject ccs-missing-exportfrom 'spec.exportFrom: Required value' "$(ccs a '  meshNetwork: m')"
reject ccs-cidr-address 'spec.address' "$(ccs a "$C_OK
  address: 240.0.0.2/32")"
reject ccs-name-address 'spec.address' "$(ccs a "$C_OK
  address: echo.example.com")"
reject ccs-port-zero 'spec.ports[0].number' "$(ccs a "$C_OK
  ports: [{number: 0, name: http, protocol: HTTP}]")"
reject ccs-port-too-big 'spec.ports[0].number' "$(ccs a "$C_OK
  ports: [{number: 70000, name: http, protocol: HTTP}]")"
reject ccs-duplicate-port 'spec.ports[1]: Duplicate value' "$(ccs a "$C_OK
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 80, name: web, protocol: HTTP}]")"
reject ccs-duplicate-port-name 'spec.ports[].name must be unique' "$(ccs a "$C_OK
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 81, name: http, protocol: HTTP}]")"
reject ccs-unknown-protocol 'spec.ports[0].protocol: Unsupported value: "QUIC"' "$(ccs a "$C_OK
  ports: [{number: 80, name: http, protocol: QUIC}]")"
reject ccs-port-missing-name 'spec.ports[0].name: Required value' "$(ccs a "$C_OK
  ports: [{number: 80, protocol: HTTP}]")"
reject ccs-duplicate-exporter 'spec.exportFrom[1]: Duplicate value' "$(ccs a '  meshNetwork: m
  exportFrom: [{cluster: eu}, {cluster: eu}]')"
reject ccs-duplicate-importer 'spec.importTo[1]: Duplicate value' "$(ccs a "$C_OK
  importTo: [us, us]")"
reject ccs-empty-importto 'spec.importTo must name at least one cluster' "$(ccs a "$C_OK
  importTo: []")"
reject ccs-wildcard-host 'spec.host' "$(ccs a "$C_OK
  host: '*.eu.mesh.local'")"
# issue 32: hosts Istio refuses (one in the shared east-west Gateway blocks every host)
long_label=$(printf 'a%.0s' $(seq 64))
reject ccs-host-label-too-long 'every dot-separated label of spec.host must be at most 63 characters' "$(ccs a "$C_OK
  host: web.$long_label.example.com")"
reject ccs-host-numeric-tld 'the last label of spec.host must not be all digits' "$(ccs a "$C_OK
  host: 10.0.0.1")"
reject mesh-meshid-empty-label 'every dot-separated label of spec.meshID must be a DNS label' "$(mesh a "  meshID: a..b
  trustDomain: corp.local
$CL")"
reject mesh-meshid-label-hyphen 'every dot-separated label of spec.meshID must be a DNS label' "$(mesh a "  meshID: a-.b
  trustDomain: corp.local
$CL")"
reject mesh-nodeport 'spec.eastWestGateway.service.type must be LoadBalancer: a NodePort gateway never gets an address' "$(mesh a "$M_OK
$CL
  eastWestGateway: {service: {type: NodePort}}")"
# the default host <name>.<namespace>.<meshID>.global with a label of metadata.name
# longer than 63 characters (Kubernetes allows one)
reject ccs-default-host-label-too-long 'metadata.name has a label longer than 63 characters' "$(ccs "x$long_label" "$C_OK")"
accept() { # accept CASE OBJECT-YAML
    local out
    printf '%s\n' "$2" >"$tmp/obj.yaml"
    if out=$(k apply --dry-run=server -f "$tmp/obj.yaml" 2>&1); then pass "valid/$1"; else
        fail "valid/$1" "$out"; fi
}
accept ccs-host-label-63 "$(ccs a "$C_OK
  host: web.${long_label:1}.example.com")"
accept ccs-long-name-with-host "$(ccs "x$long_label" "$C_OK
  host: web.example.com")"
accept mesh-meshid-dotted "$(mesh a "  meshID: mesh.prod-1
  trustDomain: corp.local
$CL")"
reject ccs-bad-partition-policy 'spec.partitionPolicy: Unsupported value' "$(ccs a "$C_OK
  partitionPolicy: Forget")"
reject ccs-bad-interval 'spec.failover.outlierDetection.interval' "$(ccs a "$C_OK
  failover: {outlierDetection: {interval: soon}}")"
reject ccs-no-exporters 'spec.exportFrom: Invalid value: 0' "$(ccs a '  meshNetwork: m
  exportFrom: []')"

# ---- tenants (hack/cluster.sh seeds them): each team writes CrossClusterServices in its
# own namespace only, with its own identity (a token of ServiceAccount tenant there) ----
tenant_ccs() { # tenant_ccs TEAM NAMESPACE: create (server-side dry run) as TEAM's tenant
    local token
    token=$(k -n "$1" create token tenant --duration=10m 2>&1) || { echo "no token: $token"; return 1; }
    "$EW_KUBECTL" --server "$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')" \
        --certificate-authority "$(dirname "$kubeconfig")/ca.crt" --token "$token" \
        create --dry-run=server -f - 2>&1 <<EOF
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: tenant-probe, namespace: $2}
spec:
  meshNetwork: training-mesh
  exportFrom: [{cluster: eu}]
  ports: [{number: 80, name: http, protocol: HTTP}]
EOF
}
for t in team-a:team-b team-b:team-a; do
    own=${t%%:*} other=${t#*:}
    if out=$(tenant_ccs "$own" "$own"); then pass "tenants/$own-creates-in-own-namespace"; else
        fail "tenants/$own-creates-in-own-namespace" "$out"; fi
    out=$(tenant_ccs "$own" "$other")
    if grep -q "system:serviceaccount:$own:tenant\" cannot create resource \"crossclusterservices\" .* in the namespace \"$other\"" <<<"$out"; then
        pass "tenants/$own-refused-in-$other"
    else fail "tenants/$own-refused-in-$other" "${out:-created}"; fi
done
out=$(k auth can-i --list --as=system:serviceaccount:team-a:tenant -n team-b 2>&1)
if ! grep -q crossclusterservices <<<"$out"; then pass tenants/nothing-in-other-namespace; else
    fail tenants/nothing-in-other-namespace "$out"; fi

k delete namespace "$ns" --wait=false >/dev/null 2>&1
echo "# test_crds: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
