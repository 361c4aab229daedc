#!/usr/bin/env bash
# kubectl-eastwest against real clusters: "member-rbac" grants every call the operator
# makes in a member (a table from lib/mesh) and little more, and is deploy/member/rbac.yaml;
# "plan" prints objects the API server (with Istio's CRDs) accepts; "link" creates the
# member's least-privilege identity and the kubeconfig Secret, and the operator then
# drives the tutorial in eu with nothing but that identity (so the RBAC suffices),
# while the identity is refused what it does not need; "status" prints the table.
#
# Prints PASS/FAIL lines and a "# test_plugin: ..." total, like the C tests.
set -uo pipefail
suite=test_plugin
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"
plugin="${EW_PLUGIN:-$root/build-asan/cmd/kubectl-eastwest/kubectl-eastwest}"
[ -x "$plugin" ] || plugin="$root/build/cmd/kubectl-eastwest/kubectl-eastwest"
export KUBECONFIG="$dir/us/kubeconfig:$dir/eu/kubeconfig" # contexts us and eu

# ---- member-rbac: what the operator's calls in a member need, and little more ----
# Every call the operator makes in a member (lib/mesh), as "SCOPE GROUP RESOURCE VERB...";
# SCOPE cluster is every namespace (or a cluster-scoped resource), istio-system the Istio
# namespace only:
#   members.c: a cache (list, watch) of each gateway kind, cacerts and istiod's ConfigMaps
#     in the Istio namespace, and of that Namespace (a field selector, so cluster-wide);
#   member_sync.c: kube_get of the Istio Namespace (reachability), server-side apply
#     (patch; create when missing) of its network label, the gateway objects and cacerts,
#     merge patch (patch), deletes of stale objects and member_cleanup's list + delete
#     (ServiceEntries and DestinationRules in every namespace, the rest in the Istio one;
#     Secrets: cacerts only, listed with fieldSelector metadata.name=cacerts);
#   root_rotate_member.c: cacerts applied (patch);
#   ccs.c: caches of Services, Pods, ServiceEntries and DestinationRules in every
#     namespace; apply and delete of ServiceEntries and DestinationRules; kube_create of a
#     missing namespace;
#   foreign.c: kube_get by name of a gateway object, ServiceEntry or DestinationRule
#     about to be written that the cache does not hold (a same-named object eastwest did
#     not write is left alone);
#   objects.c: the gateway's Role grants nothing (it reads no Secret), so its writer
#     needs no Secret read for RBAC's escalation check.
# RES/NAME: only that object (a rule with resourceNames); create cannot be named.
member_needs='cluster core namespaces get list watch create patch
cluster core services list watch
cluster core pods list watch
cluster networking.istio.io serviceentries get list watch create patch delete
cluster networking.istio.io destinationrules get list watch create patch delete
istio-system core serviceaccounts get list watch create patch delete
istio-system core services get list watch create patch delete
istio-system core secrets create
istio-system core secrets/cacerts list watch patch delete
istio-system core configmaps list watch
istio-system apps deployments get list watch create patch delete
istio-system rbac.authorization.k8s.io roles get list watch create patch delete
istio-system rbac.authorization.k8s.io rolebindings get list watch create patch delete
istio-system networking.istio.io gateways get list watch create patch delete'
needed=$(while read -r scope group res verbs; do
    for v in $verbs; do
        if [[ $res == */* ]]; then echo "$scope $group ${res%%/*} $v names=${res#*/}"; else
            echo "$scope $group $res $v"; fi
    done
done <<<"$member_needs")
# granted FILE: "SCOPE GROUP RESOURCE VERB[ names=A,B]" for every rule of member-rbac's output
granted() {
    grep -vE '^(#|---)' "$1" | jq -r 'select(.kind == "ClusterRole" or .kind == "Role") |
        (if .kind == "ClusterRole" then "cluster" else .metadata.namespace end) as $s | .rules[] |
        (if .resourceNames then " names=" + (.resourceNames | join(",")) else "" end) as $n | .apiGroups[] as $g |
        (.resources // ["nonResourceURLs"])[] as $r | .verbs[] as $v |
        "\($s) \(if $g == "" then "core" else $g end) \($r) \($v)\($n)"'
}
if "$plugin" member-rbac >"$tmp/rbac.yaml" && have=$(granted "$tmp/rbac.yaml") && [ -n "$have" ]; then
    lacking="" extra=""
    while read -r scope group res verb; do # a cluster-wide grant serves the namespace too
        grep -qxF "$scope $group $res $verb" <<<"$have" || grep -qxF "cluster $group $res $verb" <<<"$have" ||
            lacking="$lacking, $scope $group/$res $verb"
    done <<<"$needed"
    while read -r scope group res verb names; do # beyond the calls: nothing (not even get or update)
        grep -qxF "$scope $group $res $verb${names:+ $names}" <<<"$needed" && continue
        extra="$extra, $scope $group/$res $verb${names:+ (resourceNames)}"
    done <<<"$have"
    if [ -z "$lacking" ]; then pass member-rbac/grants-the-operators-calls; else
        fail member-rbac/grants-the-operators-calls "not granted:${lacking#,}"; fi
    if [ -z "$extra" ]; then pass member-rbac/grants-nothing-more; else
        fail member-rbac/grants-nothing-more "granted beyond the operator's calls:${extra#,}"; fi
else
    fail member-rbac/grants-the-operators-calls "no rules in 'kubectl eastwest member-rbac': $(head -c 300 "$tmp/rbac.yaml")"
    fail member-rbac/grants-nothing-more "no rules to check"
fi
# deploy/member/rbac.yaml is that output, regenerated
if cmp -s "$tmp/rbac.yaml" "$root/deploy/member/rbac.yaml"; then pass member-rbac/deploy-file-is-its-output; else
    fail member-rbac/deploy-file-is-its-output "deploy/member/rbac.yaml differs from 'kubectl eastwest member-rbac' (regenerate it)"; fi

# ---- plan: valid objects, written nowhere ----
# plan must be able to write for "writes nothing" to mean anything: the namespaces of
# everything it prints exist in both clusters, and KUBECONFIG names both (contexts us
# and eu, the members' names). Every object of every kind plan prints, with its
# resourceVersion, is the same after plan as before (no controller runs here, so only a
# write changes one).
declare -A plan_resource=([Namespace]=namespaces [ServiceAccount]=serviceaccounts
    [Role]=roles.rbac.authorization.k8s.io [RoleBinding]=rolebindings.rbac.authorization.k8s.io
    [Deployment]=deployments.apps [Service]=services [Gateway]=gateways.networking.istio.io
    [ServiceEntry]=serviceentries.networking.istio.io
    [DestinationRule]=destinationrules.networking.istio.io)
plan_kinds=$(IFS=,; echo "${plan_resource[*]}")
for c in us eu; do
    kc "$c" create namespace echo >/dev/null 2>&1
    kc "$c" create namespace istio-system >/dev/null 2>&1
done
snapshot() { # every object of those kinds in both clusters, with its resourceVersion
    local c
    for c in us eu; do
        kc "$c" get "$plan_kinds" -A -o jsonpath='{range .items[*]}{.kind} {.metadata.namespace}/{.metadata.name} {.metadata.resourceVersion}{"\n"}{end}' |
            sed "s/^/$c /" || return 1
    done
}
before=$(snapshot)
tutorial="$root/deploy/examples/tutorial.yaml"
if "$plugin" plan -f "$tutorial" >"$tmp/plan.out" 2>"$tmp/plan.err" &&
    "$plugin" plan -f "$tutorial" -o json >"$tmp/plan.json" 2>>"$tmp/plan.err" &&
    "$plugin" plan -f "$tutorial" --cluster us >"$tmp/plan-us.yaml" 2>>"$tmp/plan.err" &&
    "$plugin" plan -f "$tutorial" -o yaml --cluster eu >"$tmp/plan-eu.yaml" 2>>"$tmp/plan.err"; then
    pass plan/runs
else fail plan/runs "$(cat "$tmp/plan.err")"; fi
after=$(snapshot)
# the whole output (every member's documents) and each member's own, in its own cluster
if out=$(kc us apply --dry-run=server -f "$tmp/plan.out" 2>&1 &&
    kc us apply --dry-run=server -f "$tmp/plan-us.yaml" 2>&1 &&
    kc eu apply --dry-run=server -f "$tmp/plan-eu.yaml" 2>&1 &&
    kc eu apply --dry-run=server -f "$tmp/plan.json" 2>&1); then pass plan/accepted-by-api-server; else
    fail plan/accepted-by-api-server "$out"; fi
# YAML by default: one document per object, each opened by "---" and its cluster
docs=$(grep -c '^---$' "$tmp/plan.out")
named=$(grep -c '^# cluster: \(us\|eu\)$' "$tmp/plan.out")
if grep -q '^kind: ServiceEntry$' "$tmp/plan.out" && grep -q '^kind: DestinationRule$' "$tmp/plan.out" &&
    grep -q '^kind: Gateway$' "$tmp/plan-eu.yaml" && grep -q '^      mode: AUTO_PASSTHROUGH$' "$tmp/plan.out" &&
    [ "$docs" -gt 0 ] && [ "$docs" = "$named" ] && [ "$docs" = "$(grep -c '^kind: ' "$tmp/plan.out")" ] &&
    ! grep -q '^# cluster: eu$' "$tmp/plan-us.yaml" && ! grep -q '^# cluster: us$' "$tmp/plan-eu.yaml" &&
    ! grep -q $'\t' "$tmp/plan.out"; then
    pass plan/has-gateway-and-service-objects
else fail plan/has-gateway-and-service-objects "$docs documents, $named named: $(head -c 600 "$tmp/plan.out")"; fi
# -o json: a v1 List per member (us, then eu), 2-space indented; the same objects as the YAML
if jq -se 'length == 2 and all(.[]; .kind == "List") and
        (.[1].items | map(select(.kind == "Gateway"))[0].spec.servers[0].hosts == ["echo.eu.mesh.local"]) and
        (.[0].items | map(select(.kind == "ServiceEntry"))[0].spec.hosts == ["echo.eu.mesh.local"]) and
        (.[0].items | map(select(.kind == "DestinationRule")) | length == 1)' "$tmp/plan.json" >/dev/null &&
    [ "$(jq -s '[.[].items[]] | length' "$tmp/plan.json")" = "$docs" ] &&
    grep -q '^  "kind": "List",$' "$tmp/plan.json" && ! grep -q $'\t' "$tmp/plan.json"; then
    pass plan/json-output
else fail plan/json-output "$(head -c 600 "$tmp/plan.json")"; fi
# the kinds of the printed objects (one top-level kind per document)
printed=$(grep -oE '^kind: [A-Za-z]+$' "$tmp/plan.out" | sed 's/^kind: //' | sort -u)
uncovered=$(for k in $printed; do [ -n "${plan_resource[$k]:-}" ] || echo "$k"; done)
if ! grep -q '^us Namespace /istio-system ' <<<"$before" || ! grep -q '^eu Namespace /echo ' <<<"$before"; then
    fail plan/writes-nothing "cannot list the clusters' objects: $(head -c 600 <<<"$before")"
elif [ -n "$uncovered" ]; then
    fail plan/writes-nothing "plan prints kinds the snapshot does not list (add them): $uncovered"
elif [ "$before" != "$after" ]; then
    fail plan/writes-nothing "objects changed in the clusters during plan: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -n 10 | tr '\n' ' ')"
else pass plan/writes-nothing; fi
# objects that do not parse: each one reported, exit status 1, and (ASan build) no leak
cat >"$tmp/bad.yaml" <<'EOF'
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: bad-mesh}
spec:
  meshID: bad-mesh
  trustDomain: corp.local
  clusters: [{name: us, network: us-net}, {name: eu, network: eu-net, kubeconfigSecretRef: {name: eu-kc}}]
  eastWestGateway: {service: {annotations: {a: b}, loadBalancerSourceRanges: [10.0.0.0/8]}}
  vipRange: 240.0.0.2
---
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: echo, namespace: echo}
spec:
  meshNetwork: bad-mesh
  exportFrom: [{cluster: eu}]
  ports: [{number: 80, name: http, protocol: HTTP}]
---
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: web, namespace: echo}
spec:
  meshNetwork: bad-mesh
  exportFrom: [{cluster: eu}, {cluster: eu}]
EOF
"$plugin" plan -f "$tmp/bad.yaml" >/dev/null 2>"$tmp/bad.err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'MeshNetwork: spec.vipRange' "$tmp/bad.err" &&
    grep -q 'echo/echo: its MeshNetwork bad-mesh is invalid' "$tmp/bad.err" &&
    grep -q 'duplicate exporting cluster' "$tmp/bad.err" && ! grep -q Sanitizer "$tmp/bad.err"; then
    pass plan/invalid-objects-reported
else fail plan/invalid-objects-reported "rc $rc: $(grep -E 'kubectl-eastwest|ERROR|SUMMARY' "$tmp/bad.err" | head -n 8)"; fi

# a claim outside the MeshNetwork's serviceClaims (issue 31): refused as the operator
# refuses it, nothing planned for it; the other service still planned, with exportTo
sed -e 's/^  host: echo.eu.mesh.local$/  host: api.partner.com/' "$tutorial" >"$tmp/claim.yaml"
cat >>"$tmp/claim.yaml" <<'EOF'
---
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: web, namespace: team-a}
spec:
  meshNetwork: training-mesh
  exportFrom: [{cluster: eu}]
  ports: [{number: 80, name: http, protocol: HTTP}]
EOF
"$plugin" plan -f "$tmp/claim.yaml" >"$tmp/claim.out" 2>"$tmp/claim.err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'echo/echo: refused (HostNotAllowed): host api.partner.com' "$tmp/claim.err" &&
    ! grep -q 'api.partner.com' "$tmp/claim.out" && grep -q 'web.team-a.training-mesh.global' "$tmp/claim.out" &&
    grep -q '^  exportTo:' "$tmp/claim.out"; then
    pass plan/claim-outside-policy-refused
else fail plan/claim-outside-policy-refused "rc $rc: $(cat "$tmp/claim.err")"; fi

# ---- link: the member identity and the Secret ----
set_up_home
for c in us eu; do play_istiod "$c" corp.local training-mesh; done
if out=$("$plugin" link eu --context eu --home-context us 2>&1); then pass link/runs; else
    fail link/runs "$out"; fi
if grep -qE 'eyJ|token:' <<<"$out"; then fail link/no-token-printed "$out"; else pass link/no-token-printed; fi
kc us -n eastwest-system get secret eu-kubeconfig -o jsonpath='{.data.kubeconfig}' | base64 -d >"$tmp/eu-linked"
who=$("$EW_KUBECTL" --kubeconfig "$tmp/eu-linked" auth whoami -o jsonpath='{.status.userInfo.username}' 2>&1)
if [ "$who" = system:serviceaccount:eastwest-system:eastwest-member ]; then pass link/kubeconfig-works; else
    fail link/kubeconfig-works "whoami: $who"; fi
can() { "$EW_KUBECTL" --kubeconfig "$tmp/eu-linked" auth can-i "$@" 2>/dev/null; }
# every call in the table above, asked of eu's API server with the linked identity
refused=""
while read -r scope group res verb names; do
    kind=$res
    [ "$group" = core ] || kind="$res.$group"
    [ -n "$names" ] && kind="$kind/${names#names=}"
    if [ "$scope" = cluster ]; then where=-A; else where="--namespace=$scope"; fi
    [ "$(can "$verb" "$kind" "$where")" = yes ] || refused="$refused, $verb $kind $where"
done <<<"$needed"
if [ -n "$needed" ] && [ -z "$refused" ]; then pass rbac/member-can-what-it-needs; else
    fail rbac/member-can-what-it-needs "refused:${refused#,}"; fi
refused=""
for q in "get secrets -n kube-system" "get secrets -n eastwest-system" "list secrets -A" \
    "delete namespaces" "create clusterroles" "create deployments -n kube-system" \
    "get configmaps -n kube-system" "create pods -n istio-system" \
    "get secrets -n istio-system" "list secrets -n istio-system" "watch secrets -n istio-system" \
    "get secrets/istio-ca-secret -n istio-system" "patch secrets/istio-ca-secret -n istio-system" \
    "delete secrets/istio-ca-secret -n istio-system" "update secrets/cacerts -n istio-system"; do
    # shellcheck disable=SC2086
    a=$(can $q) # "no", not an error that prints nothing
    [[ $a == no* ]] || refused="$refused; not refused: $q (${a:-no answer})"
done
if [ -z "$refused" ]; then pass rbac/member-refused-the-rest; else fail rbac/member-refused-the-rest "${refused#; }"; fi
# On the wire, with the linked kubeconfig: of the Istio namespace's Secrets only cacerts,
# and a list of it only when it names it (fieldSelector metadata.name=cacerts, as the
# operator's cache and cleanup do). These two Forbidden requests are deliberate
# (test_least_privilege allows them by their user agent).
linked() { "$EW_KUBECTL" --kubeconfig "$tmp/eu-linked" --namespace istio-system "$@" 2>&1; }
kc eu -n istio-system create secret generic not-eastwests --from-literal=k=v >/dev/null 2>&1
out=$(linked get secret not-eastwests)
if grep -q 'Forbidden' <<<"$out" && grep -q 'cannot get resource "secrets"' <<<"$out"; then
    pass rbac/member-reads-no-other-istio-secret
else fail rbac/member-reads-no-other-istio-secret "$out"; fi
out=$(linked get secrets -o name)
if grep -q 'Forbidden' <<<"$out"; then pass rbac/member-lists-no-istio-secrets; else
    fail rbac/member-lists-no-istio-secrets "$out"; fi
if out=$(linked get secrets --field-selector metadata.name=cacerts -o name); then
    pass rbac/member-lists-cacerts-by-name
else fail rbac/member-lists-cacerts-by-name "$out"; fi
kc eu -n istio-system delete secret not-eastwests >/dev/null 2>&1

# ---- the operator drives eu with the linked identity only ----
backing() {
    kc eu create namespace echo >/dev/null 2>&1
    kc eu -n echo apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: echo}
---
apiVersion: v1
kind: Pod
metadata: {name: echo-0, labels: {app: echo}}
spec:
  serviceAccountName: echo
  containers: [{name: app, image: example.invalid/echo:1}]
EOF
}
backing
start_operator
sed 's/name: prod-eu-west-1/name: eu-kubeconfig/' "$root/deploy/examples/tutorial.yaml" | kc us apply -f - >/dev/null
wait_for "gateway Services" 40 sh -c "$EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
wait_for "cacerts" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
for c in us eu; do restart_istiod "$c"; done
if kc us wait --for=condition=Ready meshnetwork/training-mesh --timeout=60s >/dev/null 2>&1; then
    pass linked/mesh-ready
else fail linked/mesh-ready "$(kc us get meshnetwork training-mesh -o jsonpath='{.status.conditions}')"; fi
# The gateway's ServiceAccount reads no Secret (issue 31: it could read cacerts, the
# intermediate CA's key): its Role, written by the operator, has no rule (the API
# server returns the empty list as null).
gw_sa=system:serviceaccount:istio-system:istio-eastwestgateway
gw_can=""
for q in "get secrets/cacerts" "list secrets" "watch secrets" "get secrets"; do
    # shellcheck disable=SC2086
    a=$(kc eu auth can-i $q -n istio-system --as "$gw_sa" 2>/dev/null)
    [[ $a == no* ]] || gw_can="$gw_can; $q (${a:-no answer})"
done
rules=$(kc eu -n istio-system get role istio-eastwestgateway -o jsonpath='{.rules}' 2>&1)
if [ -z "$gw_can" ] && { [ -z "$rules" ] || [ "$rules" = "[]" ] || [ "$rules" = null ]; }; then pass gateway/reads-no-secret; else
    fail gateway/reads-no-secret "the gateway may:${gw_can#;}; its Role's rules: $rules"; fi
if kc us -n echo wait --for=condition=Ready ccs/echo --timeout=60s >/dev/null 2>&1 &&
    kc eu -n echo get serviceentries.networking.istio.io echo >/dev/null 2>&1; then
    pass linked/ccs-ready
else fail linked/ccs-ready "$(kc us -n echo get ccs echo -o jsonpath='{.status.conditions}')"; fi
managers=$(kc eu -n istio-system get deployment istio-eastwestgateway -o jsonpath='{.metadata.managedFields[*].manager}')
if [ "$managers" = eastwest-operator ]; then pass linked/written-by-operator; else fail linked/written-by-operator "managers: $managers"; fi
if grep -qE 'forbidden|Forbidden' "$oplog"; then fail linked/no-forbidden "$(grep -m 3 -iE 'forbidden' "$oplog")"; else
    pass linked/no-forbidden; fi

# ---- status: the table ----
out=$("$plugin" status --home-context us 2>&1)
if grep -q 'MeshNetwork training-mesh: Ready=True' <<<"$out" &&
    grep -qE '^  eu +eu-net +true +203.0.113.20 +[0-9T:Z-]+ +True +1 +0$' <<<"$out" &&
    grep -qE '^  us +us-net +true +203.0.113.10 +[0-9T:Z-]+ +True +0 +1$' <<<"$out"; then
    pass status/table
else fail status/table "$out"; fi

# ---- rotate-root: one command starts a rotation; a second one while it runs refuses ----
if out=$("$plugin" rotate-root training-mesh --home-context us 2>&1) &&
    grep -q 'root rotation requested' <<<"$out" &&
    kc us get meshnetwork training-mesh -o jsonpath='{.spec.certificateAuthority.rotationRequest}' |
    grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+Z$'; then
    pass rotate-root/requested
else fail rotate-root/requested "$out"; fi
check rotate-root/phase-in-status 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig get meshnetwork training-mesh -o jsonpath='{.status.rootCA.rotation.phase}' | grep -qx TrustBoth"
if out=$("$plugin" rotate-root training-mesh --home-context us 2>&1); then
    fail rotate-root/second-refused "exit 0: $out"
elif grep -q 'a root rotation is running (phase TrustBoth)' <<<"$out"; then pass rotate-root/second-refused
else fail rotate-root/second-refused "$out"; fi
if out=$("$plugin" rotate-root no-such-mesh --home-context us 2>&1); then
    fail rotate-root/unknown-mesh "exit 0: $out"
elif grep -q 'reading meshnetwork no-such-mesh' <<<"$out"; then pass rotate-root/unknown-mesh
else fail rotate-root/unknown-mesh "$out"; fi

# ---- link again: a new token, picked up without a restart ----
"$plugin" link eu --context eu --home-context us >/dev/null 2>&1
check link/rotation-picked-up 20 grep -q 'member cluster credentials updated.*"cluster":"eu"' "$oplog"
check link/still-ready 20 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig get meshnetwork training-mesh -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"

# ---- remove-finalizer: a MeshNetwork whose member is gone can still be let go ----
kc us -n echo delete ccs echo --timeout=60s >/dev/null 2>&1
bash "$root/hack/cluster.sh" stop-apiserver eu >/dev/null 2>&1
check finalizer/eu-unreachable 40 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig get meshnetwork training-mesh -o jsonpath='{.status.conditions[?(@.type==\"ClustersReachable\")].status}' | grep -qx False"
kc us delete meshnetwork training-mesh --wait=false >/dev/null 2>&1
check finalizer/cleanup-pending 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig get meshnetwork training-mesh -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}' | grep -qx CleanupPending"
out=$("$plugin" remove-finalizer meshnetwork training-mesh --home-context us 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q 'WARNING: removing finalizer eastwest.io/cleanup' <<<"$out" &&
    grep -q 'left in: eu' <<<"$out" && grep -q 'nothing changed' <<<"$out" &&
    kc us get meshnetwork training-mesh >/dev/null 2>&1; then
    pass finalizer/warns-without-force
else fail finalizer/warns-without-force "rc $rc: $out"; fi
if out=$("$plugin" remove-finalizer meshnetwork training-mesh --home-context us --force 2>&1); then
    pass finalizer/removed-with-force
else fail finalizer/removed-with-force "$out"; fi
check finalizer/meshnetwork-gone 20 not_found us meshnetwork training-mesh
out=$("$plugin" remove-finalizer ccs echo --home-context us 2>&1)
if [ $? -eq 2 ] && grep -q -- '-n NAMESPACE is required' <<<"$out"; then pass finalizer/ccs-needs-namespace; else
    fail finalizer/ccs-needs-namespace "$out"; fi
bash "$root/hack/cluster.sh" start-apiserver eu >/dev/null 2>&1
# what the forced deletion left in eu is still there, labelled for a manual clean-up
if kc eu -n istio-system get deployment -l eastwest.io/mesh=training-mesh -o name 2>/dev/null | grep -q istio-eastwestgateway; then
    pass finalizer/left-behind-labelled
else fail finalizer/left-behind-labelled "no labelled gateway Deployment left in eu"; fi
kc eu -n istio-system delete deployment,service,serviceaccount,role,rolebinding,gateways.networking.istio.io -l eastwest.io/mesh=training-mesh >/dev/null 2>&1
# rotate-root left a rotation in TrustBoth (its state at home, the members' bundles old +
# new): with the mesh gone it would resume in the next suite's training-mesh. The suites
# after this one start from the retained root alone.
kc us -n eastwest-system delete secret training-mesh-root-ca-next --ignore-not-found >/dev/null 2>&1
for c in us eu; do kc "$c" -n istio-system delete secret cacerts --ignore-not-found >/dev/null 2>&1; done
finish
