#!/usr/bin/env bash
# Certificates end to end, against real clusters (hack/cluster.sh up us eu): us is the
# home cluster and a member, eu a member reached through a kubeconfig Secret. The test
# plays istiod (mesh_env.sh) and makes its own CAs with openssl(1).
#   - a mesh root inside its last renewBefore (a user root valid for 10 days, renewBefore
#     720h): reported as CertificatesReady=False/RootExpiring with its expiry, an Event,
#     and no cacerts rewritten, no reconcile every second;
#   - a cacerts with eastwest's labels and owner annotation but another root: left
#     untouched, ForeignCACerts;
#   - a cacerts retained by an earlier MeshNetwork of the same name (onDelete: Retain,
#     another UID, the same root): still eastwest's, kept as it is.
# It leaves no cacerts, root Secret, istio-ca-root-cert or MeshNetwork behind.
#
# Prints PASS/FAIL lines and a "# test_certs: ..." total, like the C tests.
set -uo pipefail
suite=test_certs
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"

mesh=cert-mesh
short_root=cert-mesh-short-root

cond() { # cond TYPE -> status/reason of the MeshNetwork's condition
    kc us get meshnetwork "$mesh" -o jsonpath="{.status.conditions[?(@.type==\"$1\")].status}/{.status.conditions[?(@.type==\"$1\")].reason}"
}
cond_is() { [ "$(cond "$1")" = "$2" ]; }
member_cond() { # member_cond CLUSTER TYPE -> status/reason of that member's condition
    kc us get meshnetwork "$mesh" -o jsonpath="{.status.clusters[?(@.name==\"$1\")].conditions[?(@.type==\"$2\")].status}/{.status.clusters[?(@.name==\"$1\")].conditions[?(@.type==\"$2\")].reason}"
}
member_msg() { # member_msg CLUSTER TYPE -> that condition's message
    kc us get meshnetwork "$mesh" -o jsonpath="{.status.clusters[?(@.name==\"$1\")].conditions[?(@.type==\"$2\")].message}"
}
member_cond_is() { [ "$(member_cond "$1" "$2")" = "$3" ]; }
# rv CLUSTER: cacerts' resourceVersion; fails (prints nothing) when it cannot be read
rv() {
    local v
    v=$(kc "$1" -n istio-system get secret cacerts -o jsonpath='{.metadata.resourceVersion}' 2>/dev/null) &&
        [ -n "$v" ] && echo "$v"
}
root_pem() { # root_pem CLUSTER: the cacerts' root-cert.pem
    kc "$1" -n istio-system get secret cacerts -o jsonpath='{.data.root-cert\.pem}' | base64 -d
}
reconciles() { # MeshNetwork reconciles so far; fails when the metrics cannot be read
    metric_sum "$port" '/^eastwest_reconcile_total\{/ && /controller="meshnetwork"/'
}
# new_ca NAME DAYS [ISSUER]: an EC P-256 key and CA certificate in $tmp/NAME.key and
# $tmp/NAME.crt, self-signed (a root) or signed by ISSUER (an intermediate).
new_ca() {
    local name=$1 days=$2 issuer=${3:-}
    if [ -z "$issuer" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$tmp/$name.key" -out "$tmp/$name.crt" -days "$days" \
            -subj "/O=Istio/OU=$name/CN=Root CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" >/dev/null 2>&1
    else
        printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
            "keyUsage=critical,keyCertSign,digitalSignature" \
            "subjectAltName=DNS:istiod.istio-system.svc" >"$tmp/$name.ext"
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$tmp/$name.key" -out "$tmp/$name.csr" \
            -subj "/O=Istio/CN=Intermediate CA/L=$name" >/dev/null 2>&1 &&
            openssl x509 -req -in "$tmp/$name.csr" -CA "$tmp/$issuer.crt" \
                -CAkey "$tmp/$issuer.key" -CAcreateserial -days "$days" \
                -extfile "$tmp/$name.ext" -out "$tmp/$name.crt" >/dev/null 2>&1
    fi
}
mesh_yaml() { # mesh_yaml CERTIFICATE_AUTHORITY (a flow mapping)
    cat <<EOF
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: $mesh}
spec:
  meshID: $mesh
  trustDomain: corp.local
  clusters:
  - {name: us, network: us-net}
  - {name: eu, network: eu-net, kubeconfigSecretRef: {name: prod-eu-west-1}}
  eastWestGateway: {replicas: 1}
  certificateAuthority: $1
EOF
}
delete_mesh() { # delete_mesh NAME-OF-CHECK
    kc us delete meshnetwork "$mesh" --timeout=60s >/dev/null 2>&1
    check "$1" 60 not_found us meshnetwork "$mesh"
}

# ---- set-up ----
set_up_home
for c in us eu; do
    play_istiod "$c" corp.local "$mesh"
    # an earlier suite's mesh retained its cacerts (onDelete: Retain): start from none
    kc "$c" -n istio-system delete secret cacerts --ignore-not-found >/dev/null 2>&1
done
start_operator

# ---- a root inside its last renewBefore: reported, nothing rewritten ----
new_ca short 10
kc us -n eastwest-system create secret tls "$short_root" --cert="$tmp/short.crt" \
    --key="$tmp/short.key" >/dev/null
expires=$(date -u -d "$(openssl x509 -enddate -noout -in "$tmp/short.crt" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
mesh_yaml "{rootSecretRef: {name: $short_root}, onDelete: Delete}" | kc us apply -f - >/dev/null
check expiring/cacerts-issued 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
for c in us eu; do wait_for "istiod's root in $c" 30 restart_istiod "$c"; done
check expiring/reported 30 cond_is CertificatesReady False/RootExpiring
for c in us eu; do
    msg=$(member_msg "$c" CertificatesReady)
    if member_cond_is "$c" CertificatesReady False/RootExpiring && grep -q "cluster $c" <<<"$msg" &&
        grep -q "$expires" <<<"$msg"; then
        pass "expiring/$c-names-the-root-expiry"
    else fail "expiring/$c-names-the-root-expiry" "$(member_cond "$c" CertificatesReady): $msg (want $expires)"; fi
    root_pem "$c" >"$tmp/$c-root.pem"
    kc "$c" -n istio-system get secret cacerts -o jsonpath='{.data.ca-cert\.pem}' | base64 -d >"$tmp/$c-ca.pem"
    if cmp -s "$tmp/$c-root.pem" "$tmp/short.crt" &&
        openssl verify -CAfile "$tmp/short.crt" "$tmp/$c-ca.pem" >/dev/null 2>&1; then
        pass "expiring/$c-intermediate-valid"
    else fail "expiring/$c-intermediate-valid" "$(openssl verify -CAfile "$tmp/short.crt" "$tmp/$c-ca.pem" 2>&1)"; fi
done
sleep 2 # the reconcile that issued and the one that reported
before="$(rv us) $(rv eu)" runs_before=$(reconciles)
sleep 10
after="$(rv us) $(rv eu)" runs_after=$(reconciles)
# both read (two resourceVersions) before they are compared
if [[ $before =~ ^[0-9]+\ [0-9]+$ ]] && [ "$before" = "$after" ]; then pass expiring/no-cacerts-write-in-10s; else
    fail expiring/no-cacerts-write-in-10s "cacerts resourceVersions (us eu) went from '$before' to '$after'"; fi
# the reconciles counted (the mesh was reconciled: it issued and reported), at most 3 more
if [ -z "$runs_before" ] || [ -z "$runs_after" ] || [ "$runs_before" -lt 1 ]; then
    fail expiring/no-requeue-every-second "reconciles unreadable or none counted: '$runs_before' -> '$runs_after'"
elif [ $((runs_after - runs_before)) -le 3 ]; then pass expiring/no-requeue-every-second; else
    fail expiring/no-requeue-every-second "$((runs_after - runs_before)) reconciles in 10 s"; fi
uid=$(kc us get meshnetwork "$mesh" -o jsonpath='{.metadata.uid}')
out=$(kc us get events.events.k8s.io -n default --field-selector "regarding.uid=$uid,regarding.kind=MeshNetwork,regarding.name=$mesh" -o jsonpath='{range .items[?(@.reason=="RootExpiring")]}{.note}{"\n"}{end}')
if [ -n "$uid" ] && grep -q "cluster eu.*$expires" <<<"$out" && grep -q "cluster us.*$expires" <<<"$out"; then
    pass expiring/event-recorded
else fail expiring/event-recorded "RootExpiring events: $out"; fi
delete_mesh expiring/deleted
kc us -n eastwest-system delete secret "$short_root" --ignore-not-found >/dev/null 2>&1

# ---- eastwest's labels and annotation, another root: not ours ----
new_ca other 365
new_ca eu 300 other
cat "$tmp/eu.crt" "$tmp/other.crt" >"$tmp/eu-chain.pem"
kc eu -n istio-system create secret generic cacerts --from-file=root-cert.pem="$tmp/other.crt" \
    --from-file=ca-cert.pem="$tmp/eu.crt" --from-file=ca-key.pem="$tmp/eu.key" \
    --from-file=cert-chain.pem="$tmp/eu-chain.pem" >/dev/null
kc eu -n istio-system label secret cacerts app.kubernetes.io/managed-by=eastwest-operator \
    "eastwest.io/mesh=$mesh" >/dev/null
kc eu -n istio-system annotate secret cacerts eastwest.io/owner-uid=not-this-meshnetwork >/dev/null
foreign_rv=$(rv eu)
mesh_yaml "{}" | kc us apply -f - >/dev/null
check foreign/reported 30 member_cond_is eu CertificatesReady False/ForeignCACerts
msg=$(member_msg eu CertificatesReady)
if grep -q 'cluster eu' <<<"$msg" && grep -q 'root-cert.pem is not the mesh root' <<<"$msg"; then
    pass foreign/message-says-why
else fail foreign/message-says-why "$msg"; fi
check foreign/us-issued 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts"
sleep 10
if [ -n "$foreign_rv" ] && [ "$(rv eu)" = "$foreign_rv" ] && root_pem eu | cmp -s - "$tmp/other.crt"; then
    pass foreign/untouched-after-10s
else fail foreign/untouched-after-10s "rv $foreign_rv -> $(rv eu)"; fi

# ---- retained by an earlier MeshNetwork of the same name: still ours ----
wait_for "istiod's root in us" 30 restart_istiod us
check retained/us-issued 30 member_cond_is us CertificatesReady True/Issued
us_rv=$(rv us)
delete_mesh retained/first-deleted
if [ -n "$us_rv" ] && [ "$(rv us)" = "$us_rv" ]; then pass retained/cacerts-retained; else
    fail retained/cacerts-retained "rv $us_rv -> $(rv us)"; fi
mesh_yaml "{}" | kc us apply -f - >/dev/null
check retained/recognised 30 member_cond_is us CertificatesReady True/Issued
if [ -n "$us_rv" ] && [ "$(rv us)" = "$us_rv" ] && [ -n "$foreign_rv" ] && [ "$(rv eu)" = "$foreign_rv" ]; then
    pass retained/kept-as-it-is; else
    fail retained/kept-as-it-is "us rv $us_rv -> $(rv us), eu rv $foreign_rv -> $(rv eu)"; fi

# ---- clean up: leave no cacerts, root or MeshNetwork ----
# The foreign one first: deletion is not what this suite is about.
kc eu -n istio-system delete secret cacerts --ignore-not-found >/dev/null 2>&1
kc us patch meshnetwork "$mesh" --type=merge -p '{"spec":{"certificateAuthority":{"onDelete":"Delete"}}}' >/dev/null
delete_mesh cleanup/deleted
for c in us eu; do kc "$c" -n istio-system delete configmap istio-ca-root-cert --ignore-not-found >/dev/null 2>&1; done
left=""
for c in us eu; do not_found "$c" -n istio-system secret cacerts || left="$left $c"; done
if [ -z "$left" ] && not_found us -n eastwest-system secret "$mesh-root-ca"; then
    pass cleanup/nothing-left
else fail cleanup/nothing-left "cacerts left in:$left (or Secret $mesh-root-ca)"; fi

finish
