#!/usr/bin/env bash
# The MeshNetwork controller end to end, against real clusters (hack/cluster.sh):
# us is the home cluster (it runs the operator's API objects) and a member; eu is
# a member reached through a kubeconfig Secret; a third cluster, ap, joins for the
# three-member case. The test plays istiod and the cloud (mesh_env.sh).
#
# Prints PASS/FAIL lines and a "# test_meshnetwork: ..." total, like the C tests.
set -uo pipefail
suite=test_meshnetwork
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"

cond() { # cond MESH TYPE -> status/reason
    kc us get meshnetwork "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}/{.status.conditions[?(@.type==\"$2\")].reason}"
}
cond_is() { [ "$(cond "$1" "$2")" = "$3" ]; }
exists() { kc "$1" -n istio-system get "$2" "$3" >/dev/null 2>&1; }
gone() { not_found "$1" -n istio-system "$2" "$3"; } # the API server says NotFound
home_state() { # what the operator writes in the home cluster: the MeshNetwork (status,
    # finalizer), Events, the root Secret (fails when one cannot be read). (The leader
    # Lease is renewed every 2 s.)
    kc us get meshnetwork training-mesh -o jsonpath='{.metadata.resourceVersion}' &&
        kc us get events.events.k8s.io -A -o jsonpath='{range .items[*]}{.metadata.resourceVersion} {end}' &&
        kc us -n eastwest-system get secret training-mesh-root-ca -o jsonpath='{.metadata.resourceVersion}'
}
# not_after_epoch PEM-FILE: the certificate's notAfter as a Unix time
not_after_epoch() { date -u -d "$(openssl x509 -enddate -noout -in "$1" | cut -d= -f2)" +%s; }
# expiry_gauge PAGE LABELS: the value of eastwest_certificate_expiry_timestamp_seconds{LABELS}
expiry_gauge() {
    awk -v want="eastwest_certificate_expiry_timestamp_seconds{$2}" '$1 == want { printf "%d\n", $2 }' <<<"$1"
}

# ---- set-up ----
set_up_home
kc us create namespace echo >/dev/null 2>&1
for c in us eu; do play_istiod "$c" corp.local training-mesh; done
start_operator

# ---- the tutorial's MeshNetwork: objects in every member ----
kc us apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null
check finalizer 20 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig get meshnetwork training-mesh -o jsonpath='{.metadata.finalizers}' | grep -q eastwest.io/cleanup"
for c in us eu; do
    check "$c/gateway-objects" 30 sh -c "for o in serviceaccount/istio-eastwestgateway role/istio-eastwestgateway rolebinding/istio-eastwestgateway deployment/istio-eastwestgateway service/istio-eastwestgateway secret/cacerts; do $EW_KUBECTL --kubeconfig $dir/$c/kubeconfig -n istio-system get \$o >/dev/null || exit 1; done"
    out=$(kc "$c" get namespace istio-system -o jsonpath='{.metadata.labels.topology\.istio\.io/network}')
    if [ "$out" = "$c-net" ]; then pass "$c/network-label"; else fail "$c/network-label" "got '$out'"; fi
done
# eu exports echo.eu.mesh.local: its Gateway passes it through; us exports nothing.
check eu/istio-gateway 20 exists eu gateways.networking.istio.io cross-network-gateway
out=$(kc eu -n istio-system get gateways.networking.istio.io cross-network-gateway -o jsonpath='{.spec.servers[0].port.number} {.spec.servers[0].tls.mode} {.spec.servers[0].hosts}' 2>&1)
if [ "$out" = '15443 AUTO_PASSTHROUGH ["echo.eu.mesh.local"]' ]; then pass eu/istio-gateway-spec; else
    fail eu/istio-gateway-spec "got '$out'"; fi
if gone us gateways.networking.istio.io cross-network-gateway; then pass us/no-istio-gateway; else
    fail us/no-istio-gateway "us exports nothing, yet has a Gateway (or it cannot be read): $(kc us -n istio-system get gateways.networking.istio.io cross-network-gateway -o name 2>&1)"; fi
out=$(kc eu -n istio-system get deployment istio-eastwestgateway -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].value} {.spec.template.metadata.annotations.inject\.istio\.io/templates} {.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem}')
if [ "$out" = "2 auto eu-net gateway true" ]; then pass eu/deployment-spec; else
    fail eu/deployment-spec "got '$out'"; fi
out=$(kc eu -n istio-system get service istio-eastwestgateway -o jsonpath='{.spec.type} {.spec.ports[*].port} {.metadata.labels.eastwest\.io/mesh}')
if [ "$out" = "LoadBalancer 15021 15443 15012 15017 training-mesh" ]; then pass eu/service-spec; else
    fail eu/service-spec "got '$out'"; fi

# ---- certificates: one root, one intermediate per member, the root key at home only ----
for c in us eu; do
    for f in root-cert ca-cert; do
        kc "$c" -n istio-system get secret cacerts -o jsonpath="{.data.$f\.pem}" | base64 -d >"$tmp/$c-$f.pem"
    done
done
if cmp -s "$tmp/us-root-cert.pem" "$tmp/eu-root-cert.pem" &&
    openssl verify -CAfile "$tmp/us-root-cert.pem" "$tmp/us-ca-cert.pem" >/dev/null 2>&1 &&
    openssl verify -CAfile "$tmp/us-root-cert.pem" "$tmp/eu-ca-cert.pem" >/dev/null 2>&1; then
    pass certs/chain-to-shared-root
else fail certs/chain-to-shared-root "$(openssl verify -CAfile "$tmp/us-root-cert.pem" "$tmp/eu-ca-cert.pem" 2>&1)"; fi
if ! cmp -s "$tmp/us-ca-cert.pem" "$tmp/eu-ca-cert.pem"; then pass certs/intermediates-differ; else
    fail certs/intermediates-differ "us and eu have the same intermediate"; fi
subject=$(openssl x509 -in "$tmp/eu-ca-cert.pem" -noout -subject -ext basicConstraints,keyUsage,subjectAltName 2>&1)
if grep -q 'L *= *eu' <<<"$subject" && grep -q 'pathlen:0' <<<"$subject" &&
    grep -q 'DNS:istiod.istio-system.svc' <<<"$subject"; then pass certs/intermediate-extensions; else
    fail certs/intermediate-extensions "$subject"; fi
rootkey=$(kc us -n eastwest-system get secret training-mesh-root-ca -o jsonpath='{.data.tls\.key}')
holders=$( (kc us get secrets -A -o json; kc eu get secrets -A -o json) | grep -c "$rootkey" || true)
if [ -n "$rootkey" ] && [ "$holders" = 1 ]; then pass certs/root-key-home-only; else
    fail certs/root-key-home-only "root key found in $holders Secrets (want only eastwest-system/training-mesh-root-ca)"; fi

# ---- istiod and the cloud catch up: Ready ----
if cond_is training-mesh GatewaysReady False/NoGatewayAddress; then pass status/no-address-yet; else
    fail status/no-address-yet "$(cond training-mesh GatewaysReady)"; fi
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20 203.0.113.21
check status/istiod-not-using-root 20 cond_is training-mesh CertificatesReady False/IstiodNotUsingMeshRoot
for c in us eu; do restart_istiod "$c"; done
if kc us wait --for=condition=Ready meshnetwork/training-mesh --timeout=60s >/dev/null 2>&1; then
    pass status/ready
else fail status/ready "$(kc us get meshnetwork training-mesh -o jsonpath='{.status}')"; fi
out=$(kc us get meshnetwork training-mesh -o jsonpath='{.status.clusters[?(@.name=="eu")].gatewayAddresses} {.status.readyClusters} {.status.observedGeneration}')
if [ "$out" = '["203.0.113.20","203.0.113.21"] 2/2 1' ]; then pass status/gateway-addresses; else
    fail status/gateway-addresses "got '$out'"; fi
out=$(kc us get meshnetwork training-mesh -o jsonpath='{.status.rootCA.sha256Fingerprint}')
want=$(openssl x509 -in "$tmp/us-root-cert.pem" -outform DER | sha256sum | cut -d' ' -f1)
if [ "$out" = "$want" ]; then pass status/root-fingerprint; else fail status/root-fingerprint "got '$out', want '$want'"; fi
out=$(kc us get meshnetwork training-mesh 2>&1)
if grep -q 'training-mesh *training-mesh *2/2 *True *AllClustersReady' <<<"$out"; then pass status/printer-columns; else
    fail status/printer-columns "$out"; fi
# The gauges are the certificates' own notAfter: eu's intermediate (its cacerts'
# ca-cert.pem) and the mesh root.
metrics=$(metrics_page "$port")
got_eu=$(expiry_gauge "$metrics" 'mesh="training-mesh",cluster="eu",kind="intermediate"')
got_root=$(expiry_gauge "$metrics" 'mesh="training-mesh",cluster="",kind="root"')
want_eu=$(not_after_epoch "$tmp/eu-ca-cert.pem") want_root=$(not_after_epoch "$tmp/us-root-cert.pem")
if [ -n "$want_eu" ] && [ "$got_eu" = "$want_eu" ] && [ -n "$want_root" ] && [ "$got_root" = "$want_root" ]; then
    pass metrics/cert-expiry
else fail metrics/cert-expiry "eu intermediate '$got_eu' (want notAfter $want_eu), root '$got_root' (want $want_root)"; fi
# Events: about this MeshNetwork (kind, name, uid), each naming what and where.
uid=$(kc us get meshnetwork training-mesh -o jsonpath='{.metadata.uid}')
fingerprint=$(kc us get meshnetwork training-mesh -o jsonpath='{.status.rootCA.sha256Fingerprint}')
kc us get events.events.k8s.io -n default --field-selector "regarding.uid=$uid" -o json 2>&1 |
    jq -r '.items[] | "\(.regarding.kind)/\(.regarding.name) \(.reason): \(.note)"' >"$tmp/events" 2>&1
missing=""
for want in "MeshNetwork/training-mesh Created: created Deployment istio-system/istio-eastwestgateway in cluster eu" \
    "MeshNetwork/training-mesh Created: created Deployment istio-system/istio-eastwestgateway in cluster us" \
    "MeshNetwork/training-mesh CertificateIssued: issued the intermediate CA of cluster eu " \
    "MeshNetwork/training-mesh CertificateIssued: issued the intermediate CA of cluster us " \
    "MeshNetwork/training-mesh RootGenerated: generated the mesh root CA (sha256 $fingerprint)"; do
    grep -qF -- "$want" "$tmp/events" || missing="$missing; $want"
done
if [ -n "$uid" ] && [ -n "$fingerprint" ] && [ -z "$missing" ]; then pass events/recorded; else
    fail events/recorded "uid '$uid'; missing${missing:-: nothing}; have: $(head -c 1500 "$tmp/events" | tr '\n' '|')"; fi

# ---- drift is put back; a steady state writes nothing ----
# The edit must have been made (the patched object shows 16443 where the tls port 15443
# was) for its revert to mean anything: a refused patch leaves 15443 there too.
if edited=$(kc eu -n istio-system patch service istio-eastwestgateway --type=json -o jsonpath='{.spec.ports[1].port}' \
    -p '[{"op":"test","path":"/spec/ports/1/port","value":15443},{"op":"replace","path":"/spec/ports/1/port","value":16443}]' 2>&1) &&
    [ "$edited" = 16443 ]; then
    check drift/service-edit-reverted 15 sh -c "$EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get service istio-eastwestgateway -o jsonpath='{.spec.ports[1].port}' | grep -qx 15443"
else
    fail drift/service-edit-reverted "the edit was not made, so there is nothing to revert: $edited"
fi
kc us -n istio-system delete service istio-eastwestgateway --wait=false >/dev/null
check drift/service-delete-reverted 15 exists us service istio-eastwestgateway
play_cloud us 203.0.113.10
check drift/ready-again 30 cond_is training-mesh Ready True/AllClustersReady
sleep 3 # let the last events settle
before=$(member_write_count "$port") && home_before=$(home_state) || before=""
sleep 60
after=$(member_write_count "$port") && home_after=$(home_state) || after=""
if [ -z "$before" ] || [ -z "$after" ]; then
    fail steady-state/zero-writes-in-60s "the operator's metrics or the home objects could not be read (before '$before', after '$after')"
elif [ "$before" = "$after" ] && [ "$home_before" = "$home_after" ]; then
    pass steady-state/zero-writes-in-60s
else
    fail steady-state/zero-writes-in-60s "member write requests went from $before to $after; home objects changed: $home_before -> $home_after"
fi

# ---- istiod with another trust domain ----
play_istiod eu other.local training-mesh
check istio/trust-domain-mismatch 15 cond_is training-mesh IstioConfigured False/TrustDomainMismatch
msg=$(kc us get meshnetwork training-mesh -o jsonpath='{.status.conditions[?(@.type=="IstioConfigured")].message}')
if grep -q 'eu' <<<"$msg" && grep -q 'other.local' <<<"$msg" && grep -q 'corp.local' <<<"$msg"; then
    pass istio/mismatch-message
else fail istio/mismatch-message "$msg"; fi
play_istiod eu corp.local training-mesh
check istio/fixed 15 cond_is training-mesh Ready True/AllClustersReady

# ---- a member's API server goes away, and comes back ----
# us's gateway objects and cacerts, by resourceVersion (a failed read is not "unchanged")
us_objects() {
    kc us -n istio-system get deployment,service,serviceaccount,role,rolebinding,secret \
        -l eastwest.io/mesh=training-mesh -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}'
}
us_rv=$(us_objects) || us_rv="unreadable: $(us_objects 2>&1)"
bash "$root/hack/cluster.sh" stop-apiserver eu >/dev/null 2>&1
check partition/eu-unreachable 40 cond_is training-mesh ClustersReachable False/ClusterUnreachable
out=$(kc us get meshnetwork training-mesh -o jsonpath='{.status.clusters[?(@.name=="eu")].reachable} {.status.clusters[?(@.name=="us")].reachable} {.status.clusters[?(@.name=="eu")].gatewayAddresses}')
if [ "$out" = 'false true ["203.0.113.20","203.0.113.21"]' ]; then pass partition/last-known-kept; else
    fail partition/last-known-kept "got '$out'"; fi
now_rv=$(us_objects) || now_rv="unreadable: $(us_objects 2>&1)"
if [[ $us_rv == *Deployment/istio-eastwestgateway=*Secret/cacerts=* ]] && [ "$us_rv" = "$now_rv" ]; then
    pass partition/us-untouched; else
    fail partition/us-untouched "resourceVersions $us_rv -> $now_rv"; fi
bash "$root/hack/cluster.sh" start-apiserver eu >/dev/null 2>&1
check partition/ready-after-return 60 cond_is training-mesh Ready True/AllClustersReady

# ---- deletion: gateways go, cacerts stay (onDelete: Retain) ----
kc us -n echo delete crossclusterservice echo --timeout=60s >/dev/null 2>&1 # test_ccs's part
kc us delete meshnetwork training-mesh --timeout=60s >/dev/null 2>&1
check delete/meshnetwork-gone 60 not_found us meshnetwork training-mesh
for c in us eu; do
    left=$(kc "$c" -n istio-system get deployment,service,serviceaccount,role,rolebinding,gateways.networking.istio.io -l eastwest.io/mesh=training-mesh -o name 2>&1)
    if [ -z "$left" ]; then pass "delete/$c-gateways-removed"; else fail "delete/$c-gateways-removed" "$left"; fi
    if exists "$c" secret cacerts; then pass "delete/$c-cacerts-retained"; else
        fail "delete/$c-cacerts-retained" "cacerts was deleted"; fi
done
if out=$(kc eu get namespace istio-system -o jsonpath='{.metadata.name} {.metadata.labels.topology\.istio\.io/network}' 2>&1) &&
    [ "$out" = "istio-system " ]; then pass delete/network-label-removed; else
    fail delete/network-label-removed "still '$out'"; fi

# ---- three members; a foreign cacerts is left alone until adopted ----
if bash "$root/hack/cluster.sh" up ap >"$tmp/ap.out" 2>&1; then
    play_istiod ap corp.local tri-mesh
    for c in us eu; do play_istiod "$c" corp.local tri-mesh; done
    printf 'not a certificate\n' >"$tmp/foreign"
    kc ap -n istio-system create secret generic cacerts --from-file=ca-cert.pem="$tmp/foreign" >/dev/null
    foreign_rv=$(kc ap -n istio-system get secret cacerts -o jsonpath='{.metadata.resourceVersion}')
    link_member ap ap-kubeconfig
    cat >"$tmp/tri.yaml" <<EOF
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: tri-mesh}
spec:
  meshID: tri-mesh
  trustDomain: corp.local
  clusters:
  - {name: us, network: us-net}
  - {name: eu, network: eu-net, kubeconfigSecretRef: {name: prod-eu-west-1}}
  - {name: ap, network: ap-net, kubeconfigSecretRef: {name: ap-kubeconfig}}
  eastWestGateway: {replicas: 1, exposure: AllLocal}
  certificateAuthority: {onDelete: Delete}
EOF
    kc us apply -f "$tmp/tri.yaml" >/dev/null
    check three/gateways-in-all 30 sh -c "for c in us eu ap; do $EW_KUBECTL --kubeconfig $dir/\$c/kubeconfig -n istio-system get deployment/istio-eastwestgateway gateways.networking.istio.io/cross-network-gateway >/dev/null || exit 1; done"
    # AllLocal passes every host, the default <name>.<ns>.<meshID>.global ones too ("*.local" did not)
    out=$(kc eu -n istio-system get gateways.networking.istio.io cross-network-gateway -o jsonpath='{.spec.servers[0].hosts}')
    if [ "$out" = '["*"]' ]; then pass three/all-local-passes-every-host; else
        fail three/all-local-passes-every-host "hosts $out"; fi
    check three/foreign-cacerts-reported 20 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig get meshnetwork tri-mesh -o jsonpath='{.status.clusters[?(@.name==\"ap\")].conditions[?(@.type==\"CertificatesReady\")].reason}' | grep -qx ForeignCACerts"
    msg=$(kc us get meshnetwork tri-mesh -o jsonpath='{.status.conditions[?(@.type=="CertificatesReady")].message}')
    now=$(kc ap -n istio-system get secret cacerts -o jsonpath='{.metadata.resourceVersion}')
    if [ "$now" = "$foreign_rv" ] && grep -q 'cluster ap' <<<"$msg"; then pass three/foreign-cacerts-untouched; else
        fail three/foreign-cacerts-untouched "rv $foreign_rv -> $now; message: $msg"; fi
    kc us patch meshnetwork tri-mesh --type=merge -p '{"spec":{"certificateAuthority":{"adoptExisting":true}}}' >/dev/null
    check three/adopted 30 sh -c "$EW_KUBECTL --kubeconfig $dir/ap/kubeconfig -n istio-system get secret cacerts -o jsonpath='{.metadata.labels.eastwest\.io/mesh}' | grep -qx tri-mesh"
    kc us delete meshnetwork tri-mesh --timeout=60s >/dev/null 2>&1
    check three/deleted 60 not_found us meshnetwork tri-mesh
    left=""
    for c in us eu ap; do gone "$c" secret cacerts || left="$left $c"; done
    if [ -z "$left" ] && not_found us -n eastwest-system secret tri-mesh-root-ca; then
        pass three/on-delete-delete-removes-cacerts-and-root
    else fail three/on-delete-delete-removes-cacerts-and-root "cacerts left in:$left (or the root Secret)"; fi
    bash "$root/hack/cluster.sh" down ap >/dev/null 2>&1
else
    fail three/cluster-up "$(tail -n 5 "$tmp/ap.out")"
fi

finish
