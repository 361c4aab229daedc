#!/usr/bin/env bash
# The Helm chart (charts/eastwest-operator) against real clusters: "helm lint --strict"
# is clean; values outside values.schema.json are refused with a message naming the key;
# "helm install" into the home cluster us creates the CRDs and the RBAC; deploy/ is a
# fresh generation of the chart; the operator, run in-cluster with the chart's
# ServiceAccount token and the Deployment's own flags, converges the tutorial in us and
# eu and cleans up after it (so the RBAC suffices) while that identity is refused the
# Secrets and powers it does not need (so it is not too broad); "helm uninstall" leaves
# nothing of the chart's templates behind (the CRDs stay, as Helm does with crds/).
#
# Prints PASS/FAIL lines and a "# test_chart: ..." total, like the C tests.
set -uo pipefail
suite=test_chart
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"
chart="$root/charts/eastwest-operator"
ns=eastwest-system release=eastwest sa=eastwest-operator
me="system:serviceaccount:$ns:$sa"
# Helm's own state stays in the test's temporary directory.
export HELM_CONFIG_HOME="$tmp/helm/config" HELM_CACHE_HOME="$tmp/helm/cache" \
    HELM_DATA_HOME="$tmp/helm/data"
hm() { "$EW_HELM" --kubeconfig "$dir/us/kubeconfig" "$@"; }
if [ ! -x "$EW_HELM" ]; then
    fail helm/installed "no helm at $EW_HELM (hack/deps.sh installs it)"
    echo "# $suite: $passed passed, $failed failed"
    exit 1
fi

# ---- lint ----
if out=$(hm lint --strict "$chart" 2>&1) && grep -q '1 chart(s) linted, 0 chart(s) failed' <<<"$out" &&
    ! grep -qE '^\[(WARNING|ERROR)\]' <<<"$out"; then
    pass lint/strict-clean
else fail lint/strict-clean "$out"; fi

# ---- the CRDs come from crds/ (chart/crds is a symbolic link), packaged too ----
mkdir -p "$tmp/pkg"
chart_version=$(sed -nE 's/^version: *([^ ]+)$/\1/p' "$chart/Chart.yaml")
if hm package "$chart" -d "$tmp/pkg" >/dev/null 2>&1 &&
    tar -xzf "$tmp/pkg/eastwest-operator-$chart_version.tgz" -C "$tmp/pkg" &&
    diff -r "$root/crds" "$tmp/pkg/eastwest-operator/crds" >/dev/null; then
    pass package/crds-from-crds-dir
else fail package/crds-from-crds-dir "the packaged chart's crds/ differ from crds/"; fi

# ---- values outside the schema: refused, naming the key ----
refused() { # refused NAME EXPECTED-MESSAGE ARGS...: helm template and helm install refuse
    local name=$1 want=$2 out1 out2 rc1 rc2
    shift 2
    out1=$(hm template "$release" "$chart" -n "$ns" "$@" 2>&1 >/dev/null)
    rc1=$?
    out2=$(hm install "$release" "$chart" -n "$ns" --create-namespace "$@" 2>&1 >/dev/null)
    rc2=$?
    if [ $rc1 -ne 0 ] && [ $rc2 -ne 0 ] && grep -qF -- "$want" <<<"$out1" &&
        grep -qF -- "$want" <<<"$out2" && grep -q "schema" <<<"$out2"; then
        pass "schema/$name"
    else fail "schema/$name" "want '$want'; template (rc $rc1): $out1; install (rc $rc2): $out2"; fi
}
refused unknown-key "at '': additional properties 'replica' not allowed" --set replica=2
refused unknown-nested-key "at '/image': additional properties 'digest' not allowed" \
    --set image.digest=sha256:0
refused replicas-not-integer "at '/replicas': got string, want integer" --set replicas=two
refused replicas-minimum "at '/replicas': minimum: got 0, want 1" --set replicas=0
refused log-format-enum "at '/operator/logFormat': value must be one of 'json', 'text'" \
    --set operator.logFormat=yaml
refused pull-policy-enum "at '/image/pullPolicy': value must be one of" --set image.pullPolicy=Sometimes
# Durations as Prometheus Operator's CRD takes them (no fractions, units in order).
refused servicemonitor-interval "at '/metrics/serviceMonitor/interval'" \
    --set metrics.serviceMonitor.interval=1.5s
refused servicemonitor-timeout-order "at '/metrics/serviceMonitor/scrapeTimeout'" \
    --set metrics.serviceMonitor.scrapeTimeout=10s1m
refused istio-namespace-pattern "at '/rbac/istioNamespace'" --set rbac.istioNamespace=Istio_System
refused member-kubeconfig-bool "at '/operator/memberKubeconfig/allowExec': got string, want boolean" \
    --set-string operator.memberKubeconfig.allowExec=yes
if [ -z "$(hm list -A -q 2>&1)" ]; then pass schema/nothing-installed; else
    fail schema/nothing-installed "releases: $(hm list -A -q 2>&1)"; fi

# ---- what the templates render for other values ----
out=$(hm template "$release" "$chart" -n "$ns" --set metrics.serviceMonitor.enabled=true 2>/dev/null)
if grep -q '^kind: ServiceMonitor$' <<<"$out" &&
    ! hm template "$release" "$chart" -n "$ns" 2>/dev/null | grep -q '^kind: ServiceMonitor$'; then
    pass render/servicemonitor-optional
else fail render/servicemonitor-optional "no ServiceMonitor when enabled, or one when not"; fi
out=$(hm template "$release" "$chart" -n "$ns" --set rbac.homeClusterIsMember=false 2>/dev/null)
if ! grep -q 'namespace: istio-system' <<<"$out" && ! grep -q 'serviceentries' <<<"$out" &&
    grep -q 'meshnetworks' <<<"$out"; then
    pass render/home-not-member
else fail render/home-not-member "rbac.homeClusterIsMember=false still grants member rules"; fi

# a member's kubeconfig Secret may not use files or exec unless the values say so
out=$(hm template "$release" "$chart" -n "$ns" --show-only templates/deployment.yaml 2>/dev/null)
out2=$(hm template "$release" "$chart" -n "$ns" --show-only templates/deployment.yaml \
    --set operator.memberKubeconfig.allowFiles=true --set operator.memberKubeconfig.allowExec=true 2>/dev/null)
if grep -qx -- '        - --allow-member-kubeconfig-files=false' <<<"$out" &&
    grep -qx -- '        - --allow-member-exec=false' <<<"$out" &&
    grep -qx -- '        - --allow-member-kubeconfig-files=true' <<<"$out2" &&
    grep -qx -- '        - --allow-member-exec=true' <<<"$out2"; then
    pass render/member-kubeconfig-flags
else fail render/member-kubeconfig-flags "default: $(grep -- --allow <<<"$out"); allowed: $(grep -- --allow <<<"$out2")"; fi

# ---- the ServiceMonitor against Prometheus Operator's own CRD ----
# The CRD that controller-gen makes from Prometheus Operator's API types (hack/deps.sh);
# the API server validates the rendered ServiceMonitor against its schema.
if kc us apply --server-side -f "$EW_SERVICEMONITOR_CRD" >/dev/null 2>&1 &&
    kc us wait --for=condition=Established crd/servicemonitors.monitoring.coreos.com --timeout=30s >/dev/null 2>&1; then
    pass servicemonitor/prometheus-operator-crd
else fail servicemonitor/prometheus-operator-crd "cannot install $EW_SERVICEMONITOR_CRD"; fi
kc us create namespace "$ns" >/dev/null 2>&1
sm_values=(--set metrics.serviceMonitor.enabled=true --set metrics.serviceMonitor.interval=1m30s
    --set metrics.serviceMonitor.scrapeTimeout=15s --set metrics.serviceMonitor.labels.release=prometheus)
if out=$(hm template "$release" "$chart" -n "$ns" "${sm_values[@]}" --show-only templates/servicemonitor.yaml 2>/dev/null |
    kc us apply --dry-run=server --validate=strict -o jsonpath='{.spec.endpoints[0].interval} {.spec.endpoints[0].scrapeTimeout}' -f - 2>&1) &&
    [ "$out" = "1m30s 15s" ]; then
    pass servicemonitor/accepted-by-the-crd
else fail servicemonitor/accepted-by-the-crd "$out"; fi

# ---- helm install into us (with the ServiceMonitor) ----
for c in us eu; do play_istiod "$c" corp.local training-mesh; done # Istio comes first
if out=$(hm install "$release" "$chart" -n "$ns" --create-namespace "${sm_values[@]}" 2>&1); then
    pass install/runs
else fail install/runs "$out"; fi
if grep -q 'kubectl eastwest link' <<<"$out" && grep -q 'kubectl get meshnet' <<<"$out" &&
    grep -q 'bash hack/image.sh' <<<"$out" && grep -q 'kubectl apply --server-side --force-conflicts -f crds/' <<<"$out"; then
    pass install/notes-next-step
else fail install/notes-next-step "$out"; fi
if [ "$(hm status "$release" -n "$ns" -o json 2>/dev/null | jq -r .info.status)" = deployed ]; then
    pass install/deployed
else fail install/deployed "$(hm status "$release" -n "$ns" 2>&1)"; fi
if kc us wait --for=condition=Established crd/meshnetworks.eastwest.io \
    crd/crossclusterservices.eastwest.io --timeout=30s >/dev/null 2>&1; then
    pass install/crds
else fail install/crds "$(kc us get crd 2>&1 | grep eastwest)"; fi
missing=""
for o in serviceaccount/$sa role/$sa rolebinding/$sa deployment/$sa service/$sa-metrics; do
    kc us -n "$ns" get "$o" >/dev/null 2>&1 || missing="$missing $ns/$o"
done
for o in role/$sa-istio rolebinding/$sa-istio; do
    kc us -n istio-system get "$o" >/dev/null 2>&1 || missing="$missing istio-system/$o"
done
for o in clusterrole/$sa clusterrolebinding/$sa; do
    kc us get "$o" >/dev/null 2>&1 || missing="$missing $o"
done
if [ -z "$missing" ]; then pass install/serviceaccount-rbac-deployment; else
    fail install/serviceaccount-rbac-deployment "missing:$missing"; fi
# The ServiceMonitor selects the metrics Service, in its namespace, by a port it has.
sel=$(kc us -n "$ns" get servicemonitor "$sa" -o json 2>/dev/null |
    jq -r '.spec.selector.matchLabels | to_entries | map("\(.key)=\(.value)") | join(",")')
port_name=$(kc us -n "$ns" get servicemonitor "$sa" -o jsonpath='{.spec.endpoints[0].port}' 2>/dev/null)
svcs=$(kc us -n "$ns" get services -l "$sel" -o jsonpath='{range .items[*]}{.metadata.name}:{.spec.ports[*].name}{"\n"}{end}' 2>&1)
if [ -n "$sel" ] && [ "$svcs" = "$sa-metrics:$port_name" ]; then pass servicemonitor/selects-metrics-service; else
    fail servicemonitor/selects-metrics-service "selector '$sel', port '$port_name', services: $svcs"; fi
pod='{.spec.replicas} {.spec.template.spec.serviceAccountName} {.spec.template.spec.securityContext.runAsNonRoot} {.spec.template.spec.securityContext.runAsUser} {.spec.template.spec.securityContext.seccompProfile.type}'
ctr='{.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem} {.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation} {.spec.template.spec.containers[0].securityContext.capabilities.drop} {.spec.template.spec.containers[0].livenessProbe.httpGet.path} {.spec.template.spec.containers[0].readinessProbe.httpGet.path} {.spec.template.spec.containers[0].resources.requests.cpu} {.spec.template.spec.containers[0].resources.limits.memory}'
out=$(kc us -n "$ns" get deployment "$sa" -o jsonpath="$pod $ctr" 2>&1)
if [ "$out" = "1 $sa true 65532 RuntimeDefault true false [\"ALL\"] /healthz /readyz 50m 256Mi" ]; then
    pass install/deployment-hardened
else fail install/deployment-hardened "got '$out'"; fi
args=$(kc us -n "$ns" get deployment "$sa" -o jsonpath='{range .spec.template.spec.containers[0].args[*]}{@}{"\n"}{end}')
if grep -qx -- --leader-elect=true <<<"$args" && grep -qx -- "--namespace=$ns" <<<"$args" &&
    grep -qx -- --metrics-bind-address=:8080 <<<"$args" && grep -qx -- --log-format=json <<<"$args"; then
    pass install/deployment-args
else fail install/deployment-args "$args"; fi
# Two replicas (leader election decides who writes) render to a Deployment the server takes.
if out=$(hm template "$release" "$chart" -n "$ns" --set replicas=2 --show-only templates/deployment.yaml 2>/dev/null |
    kc us apply --dry-run=server -o jsonpath='{.spec.replicas}' -f - 2>"$tmp/err") && [ "$out" = 2 ]; then
    pass render/two-replicas-accepted
else fail render/two-replicas-accepted "$out $(cat "$tmp/err")"; fi

# ---- deploy/: the same install, generated from the chart ----
if out=$(bash "$root/hack/gen-deploy.sh" --check 2>&1); then pass deploy/fresh-generation; else
    fail deploy/fresh-generation "$(head -c 1500 <<<"$out")"; fi
if out=$(kc us apply --dry-run=server -f "$root/deploy/" 2>&1); then pass deploy/accepted-by-api-server; else
    fail deploy/accepted-by-api-server "$out"; fi

# ---- the home RBAC holds every member rule (the home cluster is a member too) ----
covers() { # covers MEMBER-KIND INSTALLED-JSON: each member rule's verbs are granted
    jq -nr --arg kind "$1" --argjson have "$2" --slurpfile docs "$tmp/member.json" '
        [$docs[] | select(.kind == $kind) | .rules[] | .resourceNames as $n | .apiGroups[] as $g |
         .resources[] as $r | .verbs[] as $v | select([$have.rules[] | select((.apiGroups | index($g)) and
             (.resources | index($r)) and ((.verbs | index($v)) or (.verbs | index("*"))) and
             (.resourceNames == null or .resourceNames == $n))] | length == 0) |
         "\($g)/\($r) \($v)\(if $n then " \($n)" else "" end)"] | join(", ")'
}
grep -vE '^(#|---)' "$root/deploy/member/rbac.yaml" >"$tmp/member.json"
# but a namespace create: the home cluster always has a CrossClusterService's namespace
# (it lives there), so the chart does not grant it (test_least_privilege: unused)
gaps="$(covers ClusterRole "$(kc us get clusterrole "$sa" -o json)")"
gaps="$gaps $(covers Role "$(kc us -n istio-system get role "$sa-istio" -o json)")"
gaps=${gaps//\/namespaces create/}
if [ -z "${gaps// /}" ]; then pass rbac/home-covers-member-rules; else
    fail rbac/home-covers-member-rules "not granted: $gaps"; fi

# ---- the operator, in-cluster, as the chart's ServiceAccount with the Deployment's flags ----
tutorial_prepare "$ns"
mapfile -t deploy_args <<<"$args"
start_operator_in_cluster "$ns" "$sa" "${deploy_args[@]}"
who=$("$EW_KUBECTL" --server "https://127.0.0.1:$(cat "$dir/us/apiserver.port")" \
    --certificate-authority "$tmp/serviceaccount/ca.crt" --token "$(cat "$tmp/serviceaccount/token")" \
    auth whoami -o jsonpath='{.status.userInfo.username}' 2>&1)
if [ "$who" = "$me" ]; then pass in-cluster/identity; else fail in-cluster/identity "whoami: $who"; fi
check in-cluster/leader 30 grep -q '"msg":"controllers started"' "$oplog"
check in-cluster/lease 20 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n $ns get lease eastwest-operator -o jsonpath='{.spec.holderIdentity}' | grep -q ."
tutorial_converge in-cluster "$ns"
uid=$(kc us get meshnetwork training-mesh -o jsonpath='{.metadata.uid}')
# Events about the MeshNetwork (its uid, kind and name) that name the object and the
# cluster written, in both members.
out=$(kc us -n default get events.events.k8s.io -o json |
    jq -r --arg uid "$uid" '.items[] | select(.regarding.uid == $uid) |
        "\(.regarding.kind)/\(.regarding.name) \(.reason): \(.note)"')
if [ -n "$uid" ] &&
    grep -qxF "MeshNetwork/training-mesh Created: created Deployment istio-system/istio-eastwestgateway in cluster us" <<<"$out" &&
    grep -qxF "MeshNetwork/training-mesh Created: created Deployment istio-system/istio-eastwestgateway in cluster eu" <<<"$out"; then
    pass in-cluster/events
else fail in-cluster/events "uid '$uid': $(head -c 1000 <<<"$out" | tr '\n' '|')"; fi

# ---- not too broad: the identity is refused what it does not need ----
can() { kc us auth can-i --as="$me" "$@" 2>/dev/null; }
missing=""
for q in "list secrets -n $ns" "watch secrets -n $ns" "create secrets -n $ns" \
    "patch secrets -n $ns" "delete secrets -n $ns" "create secrets -n istio-system" \
    "list secrets/cacerts -n istio-system" "watch secrets/cacerts -n istio-system" \
    "patch secrets/cacerts -n istio-system" "delete secrets/cacerts -n istio-system" "create roles -n istio-system" \
    "update leases/eastwest-operator -n $ns" "watch meshnetworks" "patch meshnetworks --subresource=status" \
    "patch crossclusterservices -n echo" "create events.events.k8s.io -n echo" \
    "create serviceentries.networking.istio.io -n echo" "list pods -A" "watch pods -A" "watch services -A"; do
    # shellcheck disable=SC2086
    [ "$(can $q)" = yes ] || missing="$missing; refused: $q"
done
if [ -z "$missing" ]; then pass rbac/can-what-it-needs; else fail rbac/can-what-it-needs "${missing#; }"; fi
allowed=""
for q in "get secrets -n kube-system" "get secrets -n default" "get secrets -n echo" "list secrets -A" \
    "watch secrets -A" "create secrets -n kube-system" "update secrets -n $ns" \
    "get secrets -n istio-system" "list secrets -n istio-system" "watch secrets -n istio-system" \
    "get secrets/istio-ca-secret -n istio-system" "patch secrets/istio-ca-secret -n istio-system" \
    "delete secrets/istio-ca-secret -n istio-system" "update secrets/cacerts -n istio-system" \
    "get configmaps -n kube-system" "get configmaps -n $ns" "create clusterroles" \
    "create clusterrolebindings" "bind clusterroles" "escalate roles -n istio-system" \
    "create rolebindings -n kube-system" "delete namespaces" "update namespaces" \
    "create pods -n istio-system" "create pods --subresource=exec -n istio-system" \
    "create deployments -n kube-system" "create serviceaccounts --subresource=token -n istio-system" \
    "create serviceaccounts --subresource=token -n $ns" "impersonate users" \
    "update leases/kube-controller-manager -n kube-system" "get leases/other -n $ns" \
    "delete meshnetworks" "create meshnetworks" "update customresourcedefinitions" \
    "create mutatingwebhookconfigurations" "delete events.events.k8s.io -n echo"; do
    # shellcheck disable=SC2086
    a=$(can $q) # "no", not an error that prints nothing
    [[ $a == no* ]] || allowed="$allowed; not refused: $q (${a:-no answer})"
done
if [ -z "$allowed" ]; then pass rbac/refused-the-rest; else fail rbac/refused-the-rest "${allowed#; }"; fi
# The same with the token itself, on the wire: a 403 for another namespace's Secrets.
token_get() {
    "$EW_KUBECTL" --server "https://127.0.0.1:$(cat "$dir/us/apiserver.port")" \
        --certificate-authority "$tmp/serviceaccount/ca.crt" \
        --token "$(cat "$tmp/serviceaccount/token")" "$@" 2>&1
}
out=$(token_get -n kube-system get secrets)
if grep -q 'Forbidden' <<<"$out" && grep -q "\"$me\" cannot list resource \"secrets\"" <<<"$out"; then
    pass rbac/token-refused-kube-system-secrets
else fail rbac/token-refused-kube-system-secrets "$out"; fi
# (as the operator reads them: a list, here of one by its name; it never gets one)
own=(-n "$ns" get secrets --field-selector metadata.name=prod-eu-west-1 -o name)
if [ "$(token_get "${own[@]}")" = secret/prod-eu-west-1 ]; then pass rbac/token-reads-own-secrets; else
    fail rbac/token-reads-own-secrets "$(token_get "${own[@]}")"; fi

# ---- cleanup by the finalizers, with the same identity ----
tutorial_clean_up in-cluster
if grep -qiE 'forbidden' "$oplog"; then fail in-cluster/no-forbidden "$(grep -m 3 -iE 'forbidden' "$oplog")"; else
    pass in-cluster/no-forbidden; fi
stop_operator # before its RBAC goes

# ---- helm uninstall: nothing of the templates is left; the CRDs stay ----
if out=$(hm uninstall "$release" -n "$ns" 2>&1); then pass uninstall/runs; else fail uninstall/runs "$out"; fi
sel="app.kubernetes.io/instance=$release"
left=$( (kc us get serviceaccounts,deployments,services,roles,rolebindings,configmaps,secrets,servicemonitors -A -l "$sel" -o name
    kc us get clusterroles,clusterrolebindings -l "$sel" -o name
    kc us -n "$ns" get secrets -l owner=helm -o name) 2>&1)
if [ -z "$left" ]; then pass uninstall/nothing-left; else fail uninstall/nothing-left "$left"; fi
if kc us get crd meshnetworks.eastwest.io crossclusterservices.eastwest.io >/dev/null 2>&1; then
    pass uninstall/crds-kept
else fail uninstall/crds-kept "Helm removed the CRDs"; fi

# ---- helm upgrade from the previous chart version (test/data/charts, as released) ----
prev=$(ls "$root"/test/data/charts/eastwest-operator-*.tgz)
mkdir -p "$tmp/prev"
tar -xzf "$prev" -C "$tmp/prev"
# The cluster as the previous chart found it: its CRDs (these clusters have this tree's;
# Helm, applying its own on the first install, would conflict on the fields that differ).
kc us apply --server-side --force-conflicts -f "$tmp/prev/eastwest-operator/crds/" >/dev/null 2>&1
if out=$(hm install "$release" "$prev" -n "$ns" 2>&1); then pass upgrade/previous-installs; else
    fail upgrade/previous-installs "$out"; fi
# Helm never upgrades crds/: the NOTES say to apply the new ones first, as here.
if out=$(kc us apply --server-side --force-conflicts -f "$root/crds/" 2>&1) &&
    diff <(kc us get crd meshnetworks.eastwest.io -o jsonpath='{.spec.versions[0].schema}') \
        <(kc us apply --server-side --dry-run=server -f "$root/crds/meshnetworks.eastwest.io.yaml" -o jsonpath='{.spec.versions[0].schema}') >/dev/null; then
    pass upgrade/crds-applied-as-the-notes-say
else fail upgrade/crds-applied-as-the-notes-say "$out"; fi
if out=$(hm upgrade "$release" "$chart" -n "$ns" 2>&1); then pass upgrade/runs; else
    fail upgrade/runs "$out"; fi
got=$(hm status "$release" -n "$ns" -o json 2>/dev/null | jq -r '"\(.info.status) \(.version)"')
if [ "$got" = "deployed 2" ] && [ "$(hm list -n "$ns" -o json | jq -r '.[0].chart')" = "eastwest-operator-$chart_version" ]; then
    pass upgrade/deployed-revision-2
else fail upgrade/deployed-revision-2 "status, revision: $got; $(hm list -n "$ns" 2>&1)"; fi
# The release now is exactly this chart's rendering, and the server has it all.
if diff -B <(hm get manifest "$release" -n "$ns") <(hm template "$release" "$chart" -n "$ns" 2>/dev/null) >"$tmp/manifest.diff" 2>&1 &&
    hm get manifest "$release" -n "$ns" | kc us diff -f - >"$tmp/server.diff" 2>&1; then
    pass upgrade/release-is-this-chart
else fail upgrade/release-is-this-chart "$(head -c 1500 "$tmp/manifest.diff" "$tmp/server.diff")"; fi
hm uninstall "$release" -n "$ns" >/dev/null 2>&1
left=$( (kc us get serviceaccounts,deployments,services,roles,rolebindings -A -l "$sel" -o name
    kc us get clusterroles,clusterrolebindings -l "$sel" -o name) 2>&1)
if [ -z "$left" ]; then pass upgrade/uninstall-nothing-left; else fail upgrade/uninstall-nothing-left "$left"; fi
finish
