# shellcheck shell=bash disable=SC2154
# hostile_certs: what a user's PKI may hand eastwest as the mesh root, and what a member's
# cacerts may hold beside it (issue 32). Sourced by test_hostile.sh; defines one function
# and leaves the clusters as it found them. Needs mesh_env.sh, the operator running against
# us, us and eu in no other mesh (it runs before the tutorial), the kubeconfig Secret
# prod-eu-west-1 (set_up_home), istiod played in each (corp.local, training-mesh), and no
# cacerts in us or eu.
#
#   - rootSecretRef naming an intermediate of the user's PKI (not self-signed): refused,
#     CertificatesReady=False/RootSecretInvalid naming the Secret and "not self-signed";
#     over several reconciles no cacerts is written in us or eu (before: a new
#     intermediate for every member on every reconcile, a write loop);
#   - the same mesh's rootSecretRef pointed at the user's self-signed root: each member's
#     cacerts is written once and then left as it is over several reconciles;
#   - an extra trust anchor added to us's root-cert.pem: removed (root-cert.pem the mesh
#     root alone again); eu's cert-chain.pem leading to another root: rewritten to lead
#     from its ca-cert.pem to the mesh root.
# Certificates are made with openssl(1) in $tmp; none is printed.

hcert_mesh=hostile-certs
# hcert_ca NAME [ISSUER]: an EC P-256 CA in $tmp/NAME.{crt,key}, self-signed or signed by
# ISSUER (then an intermediate of the user's PKI: CA:TRUE, no pathlen).
hcert_ca() {
    local name=$1 issuer=${2:-}
    printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" \
        "subjectKeyIdentifier=hash" >"$tmp/$name.ext"
    if [ -z "$issuer" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
            -keyout "$tmp/$name.key" -out "$tmp/$name.crt" -subj "/O=corp/CN=$name" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
    else
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$tmp/$name.key" -out "$tmp/$name.csr" -subj "/O=corp/CN=$name" >/dev/null 2>&1 &&
            openssl x509 -req -in "$tmp/$name.csr" -CA "$tmp/$issuer.crt" -CAkey "$tmp/$issuer.key" \
                -CAcreateserial -days 300 -extfile "$tmp/$name.ext" -out "$tmp/$name.crt" >/dev/null 2>&1
    fi
}
hcert_apply() { # hcert_apply ROOT-SECRET
    kc us apply -f - >/dev/null <<YAML
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: $hcert_mesh}
spec:
  meshID: training-mesh
  trustDomain: corp.local
  clusters:
  - {name: us, network: us-net}
  - {name: eu, network: eu-net, kubeconfigSecretRef: {name: prod-eu-west-1}}
  eastWestGateway: {replicas: 1}
  certificateAuthority: {rootSecretRef: {name: $1}, onDelete: Delete}
YAML
}
hcert_cond() { # hcert_cond FIELD: the mesh's CertificatesReady condition's FIELD
    kc us get meshnetwork "$hcert_mesh" -o jsonpath="{.status.conditions[?(@.type==\"CertificatesReady\")].$1}" 2>/dev/null
}
hcert_refused() {
    local m
    m=$(hcert_cond message)
    [ "$(hcert_cond status)/$(hcert_cond reason)" = False/RootSecretInvalid ] &&
        [[ $m == *"Secret eastwest-system/hcert-mesh-ca"* && $m == *"not self-signed"* ]]
}
hcert_rv() { # hcert_rv CLUSTER: cacerts' resourceVersion, "none" when there is none
    kc "$1" -n istio-system get secret cacerts -o jsonpath='{.metadata.resourceVersion}' 2>/dev/null || echo none
}
hcert_data() { # hcert_data CLUSTER KEY: a cacerts data entry, decoded
    kc "$1" -n istio-system get secret cacerts -o jsonpath="{.data.${2//./\\.}}" 2>/dev/null | base64 -d
}
hcert_fps() { # hcert_fps: the SHA-256 fingerprints of the PEM certificates on stdin, one a line
    local f=$tmp/hcert-fps n=0 i line
    : >"$f"
    while IFS= read -r line; do
        [[ $line == "-----BEGIN CERTIFICATE-----" ]] && n=$((n + 1)) && : >"$f.$n"
        [ "$n" -gt 0 ] && printf '%s\n' "$line" >>"$f.$n"
    done
    for ((i = 1; i <= n; i++)); do
        openssl x509 -in "$f.$i" -noout -fingerprint -sha256 | sed 's/.*=//'
    done
}
hcert_reconciles() { metric_sum "$port" '/^eastwest_reconcile_total\{/ && /controller="meshnetwork"/'; }
# hcert_quiet NAME: over at least three MeshNetwork reconciles (each nudged by an annotation)
# no cacerts in us or eu changes.
hcert_quiet() {
    local before r0 r1 i
    before="$(hcert_rv us) $(hcert_rv eu)"
    r0=$(hcert_reconciles)
    for i in 1 2 3 4; do
        kc us annotate meshnetwork "$hcert_mesh" --overwrite "hostile-certs/nudge=$i" >/dev/null
        sleep 2
    done
    sleep 3
    r1=$(hcert_reconciles)
    if [ -z "$r0" ] || [ -z "$r1" ] || [ "$((r1 - r0))" -lt 3 ]; then
        fail "$1" "fewer than 3 reconciles seen (${r0:-?} -> ${r1:-?})"
    elif [ "$(hcert_rv us) $(hcert_rv eu)" != "$before" ]; then
        fail "$1" "cacerts rewritten over $((r1 - r0)) reconciles: resourceVersions $before -> $(hcert_rv us) $(hcert_rv eu)"
    else pass "$1"; fi
}
hcert_root_alone() { # hcert_root_alone CLUSTER: root-cert.pem is the corp root alone
    [ "$(hcert_data "$1" root-cert.pem | hcert_fps)" = "$hcert_root_fp" ]
}
hcert_both_root_alone() { hcert_root_alone us && hcert_root_alone eu; }
hcert_chain_to_root() { # hcert_chain_to_root CLUSTER: cert-chain.pem is ca-cert.pem, then the root
    local want
    want="$(hcert_data "$1" ca-cert.pem | hcert_fps)
$hcert_root_fp"
    [ -n "$hcert_root_fp" ] && [ "$(hcert_data "$1" cert-chain.pem | hcert_fps)" = "$want" ]
}
hcert_patch_data() { # hcert_patch_data CLUSTER KEY FILE: as a user with kubectl would
    kc "$1" -n istio-system patch secret cacerts --type=merge \
        -p "{\"data\":{\"$2\":\"$(base64 -w0 <"$3")\"}}" >/dev/null
}

hostile_certs() {
    local c
    for c in us eu; do
        if [ "$(hcert_rv "$c")" != none ]; then
            fail certs/start-without-cacerts "cluster $c has a Secret istio-system/cacerts already"
            return
        fi
    done
    if ! { hcert_ca hcert-corp-root && hcert_ca hcert-mesh-ca hcert-corp-root && hcert_ca hcert-other; }; then
        fail certs/openssl "cannot make the test CAs"
        return
    fi
    hcert_root_fp=$(hcert_fps <"$tmp/hcert-corp-root.crt")
    for c in hcert-mesh-ca hcert-corp-root; do
        kc us -n eastwest-system create secret tls "$c" --cert="$tmp/$c.crt" --key="$tmp/$c.key" \
            --dry-run=client -o yaml | kc us apply -f - >/dev/null
    done

    # ---- an intermediate of the user's PKI as the root: refused, nothing written ----
    hcert_apply hcert-mesh-ca
    check certs/intermediate-root-refused 40 hcert_refused
    hcert_quiet certs/intermediate-root-no-write-loop
    for c in us eu; do
        if [ "$(hcert_rv "$c")" = none ]; then pass "certs/intermediate-root-no-cacerts-$c"; else
            fail "certs/intermediate-root-no-cacerts-$c" "a cacerts was written from a refused root"; fi
    done

    # ---- the user's self-signed root: each cacerts written once, then left alone ----
    hcert_apply hcert-corp-root
    check certs/own-root-in-both 60 hcert_both_root_alone
    hcert_quiet certs/own-root-no-write-loop

    # ---- an extra trust anchor in us, a chain to another root in eu: rewritten ----
    { hcert_data us root-cert.pem && cat "$tmp/hcert-other.crt"; } >"$tmp/hcert-bundle"
    hcert_patch_data us root-cert.pem "$tmp/hcert-bundle"
    { hcert_data eu ca-cert.pem && cat "$tmp/hcert-other.crt"; } >"$tmp/hcert-chain"
    hcert_patch_data eu cert-chain.pem "$tmp/hcert-chain"
    check certs/extra-trust-anchor-removed 40 hcert_root_alone us
    check certs/cert-chain-to-mesh-root 40 hcert_chain_to_root eu

    # ---- leave as found: the mesh deletes its cacerts (onDelete: Delete) ----
    kc us delete meshnetwork "$hcert_mesh" --wait=false >/dev/null 2>&1
    check certs/teardown-mesh-deleted 90 not_found us meshnetwork "$hcert_mesh"
    for c in us eu; do check "certs/teardown-no-cacerts-$c" 30 not_found "$c" -n istio-system secret cacerts; done
    kc us -n eastwest-system delete secret hcert-mesh-ca hcert-corp-root --ignore-not-found >/dev/null 2>&1
}
