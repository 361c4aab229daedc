# Shared by the shell integration tests that run the operator (source it after setting
# suite=NAME): where the clusters are, kubectl per cluster, PASS/FAIL lines, waiting,
# the operator process, and the parts the test plays: istiod (its ConfigMaps istio and
# istio-ca-root-cert) and the cloud (the gateway Service's status.loadBalancer.ingress).
# EW_OPERATOR: the operator binary (default: the ASan build, else the plain one).
# EW_OPERATOR_LOG: where to keep the operator's log (default: SUITE-operator.log in
# EW_TEST_LOGS_DIR, hack/test.sh's logs directory, when set; else a temporary file).
#
# The world every suite runs in is a user's (issue 31):
# - The operator runs as the chart's ServiceAccount with exactly the chart's rendered RBAC
#   (chart_rbac, operator_token, start_operator, spawn_operator): a request the chart does
#   not grant is a 403 here as for users. A suite that needs more says so and why.
# - Member kubeconfig Secrets are made by `kubectl eastwest link` (link_member): the
#   member's least-privilege identity, never the admin kubeconfig.
# - hack/cluster.sh starts every cluster with Istio's namespace, istiod's own RBAC and the
#   user's objects (hack/user-world/: a Gateway and a Secret in istio-system, a tenant's
#   ServiceEntry and DestinationRule, tenants team-a and team-b whose ServiceAccount tenant
#   may write CrossClusterServices in its own namespace only); test_user_objects, the last
#   suite, checks that none of them was touched.
# - Istio's guide's east-west gateway (istio-eastwestgateway, cross-network-gateway,
#   written by the user: hack/user-world/eastwest-gateway.yaml) is in NO standard cluster:
#   us and eu are meshed by nearly every suite and ap by test_ccs, test_istio and
#   test_lifecycle, all of which need eastwest's own gateway written there, which it must
#   refuse over a user's objects. The hostile suite (test_hostile.sh) decides where: it
#   starts a cluster of its own (e.g. `hack/cluster.sh up user` then
#   `hack/cluster.sh seed-guide-gateway user`), meshes it, and takes it down; the seeding
#   records the objects, so test_user_objects checks them too while that cluster is up.
# shellcheck shell=bash disable=SC2154
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=hack/lib.sh
source "$root/hack/lib.sh"
# shellcheck source=hack/play.sh
source "$root/hack/play.sh"
dir="${EW_CLUSTERS_DIR:-/tmp/eastwest-clusters}"
operator="${EW_OPERATOR:-$root/build-asan/cmd/eastwest-operator/eastwest-operator}"
[ -x "$operator" ] || operator="$root/build/cmd/eastwest-operator/eastwest-operator"
passed=0 failed=0
pass() { echo "PASS $suite/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL $suite/$1: $2"; failed=$((failed + 1)); }
kc() { local c=$1; shift; "$EW_KUBECTL" --kubeconfig "$dir/$c/kubeconfig" "$@"; }
tmp=$(mktemp -d)
op_pid=""
if [ -n "${EW_OPERATOR_LOG:-}" ]; then oplog=$EW_OPERATOR_LOG
elif [ -n "${EW_TEST_LOGS_DIR:-}" ]; then oplog="$EW_TEST_LOGS_DIR/$suite-operator.log"
else oplog="$tmp/operator.log"; fi
cleanup() {
    [ -n "$op_pid" ] && kill "$op_pid" 2>/dev/null && wait "$op_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for DESCRIPTION SECONDS COMMAND...: retry COMMAND every 0.25 s.
wait_for() {
    local what=$1 secs=$2 end
    shift 2
    end=$((SECONDS + secs))
    while ! "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$end" ]; then
            echo "timed out after ${secs}s waiting for $what" >"$tmp/why"
            return 1
        fi
        sleep 0.25
    done
}
check() { # check NAME SECONDS COMMAND...
    local name=$1
    shift
    if wait_for "$name" "$@"; then pass "$name"; else fail "$name" "$(cat "$tmp/why")"; fi
}

# not_found CLUSTER KUBECTL-GET-ARGS...: true only when the API server answers NotFound
# (a connection refused, a Forbidden or an unknown kind is not absence). One object per
# call: a get of several fails, with a NotFound, when only one of them is missing.
not_found() {
    local c=$1 out
    shift
    if out=$(kc "$c" get "$@" -o name 2>&1); then return 1; fi
    grep -q '(NotFound)' <<<"$out"
}
# none_listed CLUSTER KUBECTL-GET-ARGS...: the list succeeds and is empty (for selectors).
none_listed() {
    local c=$1 out
    shift
    out=$(kc "$c" get "$@" -o name 2>/dev/null) || return 1
    [ -z "$out" ]
}
# metrics_page PORT: the operator's /metrics, or a failure (never an empty page that a
# reader would take for zeros).
metrics_page() {
    local page
    page=$(curl -sf --max-time 5 "http://127.0.0.1:$1/metrics") || {
        echo "metrics on :$1 unreadable" >&2
        return 1
    }
    [ -n "$page" ] || { echo "metrics on :$1 empty" >&2; return 1; }
    printf '%s\n' "$page"
}
# metric_sum PORT AWK-PATTERN: the sum of the samples whose line matches the pattern; fails
# (prints nothing) when the page cannot be read.
metric_sum() {
    local page
    page=$(metrics_page "$1") || return 1
    awk "$2"' { s += $NF } END { print s + 0 }' <<<"$page"
}
# member_write_count PORT: write requests (create/update/patch/delete) to member clusters.
member_write_count() {
    metric_sum "$1" '/^eastwest_api_requests_total\{/ && !/cluster="home"/ && /verb="(create|update|patch|delete)"/'
}
# is_leader PORT: the process on PORT holds the lease (eastwest_leader 1).
is_leader() {
    local page
    page=$(metrics_page "$1" 2>/dev/null) || return 1
    grep -qE '^eastwest_leader(\{[^}]*\})? 1$' <<<"$page"
}

# ---- the operator's identity: the chart's ServiceAccount and RBAC, as a user installs it ----
# chart_rbac [LEASE [NAMESPACE]]: render charts/eastwest-operator as a user would for these
# clusters (release eastwest in NAMESPACE, default eastwest-system; us is a mesh member in
# every suite, so rbac.homeClusterIsMember=true, the default; operator.leaderElectionID
# LEASE, default ew-SUITE, the Lease the suite's operator is started with) and apply to us
# only what an install gives the operator's identity: the namespace, the ServiceAccount,
# the Roles, the ClusterRole and their bindings (no Deployment: the suite runs the
# binary). Nothing else is granted: a request the chart does not allow is a 403 here as
# it is for users. A suite's later chart_rbac with another LEASE replaces the Role's
# resourceNames, as a helm upgrade would. The objects carry Helm's ownership annotations
# (release eastwest), so test_chart's helm install adopts them as it would its own.
chart_rbac() {
    local lease=${1:-ew-${suite//_/-}} ns=${2:-eastwest-system}
    kc us create namespace "$ns" >/dev/null 2>&1
    "$EW_HELM" template eastwest "$root/charts/eastwest-operator" -n "$ns" \
        --set "operator.leaderElectionID=$lease" --set rbac.homeClusterIsMember=true \
        >"$tmp/chart.yaml" 2>"$tmp/helm.err" || { cat "$tmp/helm.err" >&2; return 1; }
    python3 - "$tmp/chart.yaml" "$ns" >"$tmp/chart-rbac.yaml" <<'EOF' || return 1
import sys
keep = ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
owner = ("metadata:\n  annotations: {meta.helm.sh/release-name: eastwest, "
         "meta.helm.sh/release-namespace: %s}\n" % sys.argv[2])
docs = [d for d in open(sys.argv[1]).read().split("\n---")
        if any("\nkind: %s\n" % k in "\n" + d + "\n" for k in keep)]
assert docs and all("\nmetadata:\n" in d and "annotations:" not in d for d in docs)
print("\n---".join(d.replace("metadata:\n", owner, 1) for d in docs))
EOF
    kc us apply --server-side --force-conflicts --field-manager=helm -f "$tmp/chart-rbac.yaml" >/dev/null
}
# operator_token [NAMESPACE [SERVICEACCOUNT]]: a token of the chart's ServiceAccount
# (default eastwest-operator in eastwest-system)
# (kubectl create token, as the kubelet's projected token), in $tmp/serviceaccount/ with
# us's CA and NAMESPACE, the in-cluster layout (EASTWEST_SERVICEACCOUNT_DIR stands in for
# /var/run/secrets/kubernetes.io/serviceaccount).
operator_token() {
    local ns=${1:-eastwest-system} sadir="$tmp/serviceaccount"
    mkdir -p "$sadir"
    kc us -n "$ns" create token "${2:-eastwest-operator}" --duration=4h >"$sadir/token" || return 1
    cp "$dir/us/ca.crt" "$sadir/ca.crt"
    printf '%s' "$ns" >"$sadir/namespace"
}
# operator_kubeconfig FILE [SERVER]: a kubeconfig (JSON) with that token (operator_token first)
# for SERVER (default: us's API server), for a suite that must put something between the
# operator and us (test_runtime_promises' proxy).
operator_kubeconfig() {
    local server=${2:-https://127.0.0.1:$(cat "$dir/us/apiserver.port")}
    jq -n --arg server "$server" --arg ca "$(base64 -w0 <"$dir/us/ca.crt")" \
        --rawfile token "$tmp/serviceaccount/token" '{apiVersion: "v1", kind: "Config",
            clusters: [{name: "us", cluster: {server: $server, "certificate-authority-data": $ca}}],
            users: [{name: "eastwest-operator", user: {token: ($token | rtrimstr("\n"))}}],
            contexts: [{name: "us", context: {cluster: "us", user: "eastwest-operator"}}],
            "current-context": "us"}' >"$1" || return 1
    chmod 600 "$1"
}
# spawn_operator [FLAG...]: start the operator in the background as a pod of the chart
# would run (in-cluster: the ServiceAccount token of operator_token, us's CA and
# KUBERNETES_SERVICE_HOST/PORT, no kubeconfig, no HOME with one), FLAGs after
# --leader-election-id ew-SUITE --log-format json, so they win; its stderr appended to
# the log. Sets op_pid; the caller gives --metrics-bind-address. chart_rbac and
# operator_token come first (start_operator does both).
spawn_operator() {
    local server
    server="https://127.0.0.1:$(cat "$dir/us/apiserver.port")"
    mkdir -p "$tmp/home"
    env -u KUBECONFIG HOME="$tmp/home" EASTWEST_SERVICEACCOUNT_DIR="$tmp/serviceaccount" \
        KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="${server##*:}" \
        "$operator" --leader-election-id "ew-${suite//_/-}" --log-format json "$@" 2>>"$oplog" &
    op_pid=$! op_stopped=0
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# operator_identity [LEASE]: chart_rbac and operator_token, and the API server names the
# token's user as the chart's ServiceAccount (not admin); a FAIL line otherwise.
operator_identity() {
    local who
    if ! chart_rbac "${1:-ew-${suite//_/-}}" || ! operator_token; then
        fail operator-identity "the chart's RBAC (helm template) or its ServiceAccount's token"
        return 1
    fi
    # Only the token: no KUBECONFIG a suite exported (test_plugin's names admin client
    # certificates, which the API server would authenticate first).
    who=$(env -u KUBECONFIG "$EW_KUBECTL" --kubeconfig=/dev/null \
        --server "https://127.0.0.1:$(cat "$dir/us/apiserver.port")" \
        --certificate-authority "$tmp/serviceaccount/ca.crt" --token "$(cat "$tmp/serviceaccount/token")" \
        auth whoami -o jsonpath='{.status.userInfo.username}' 2>&1)
    if [ "$who" != system:serviceaccount:eastwest-system:eastwest-operator ]; then
        fail operator-identity "the operator's token is '$who', not the chart's ServiceAccount"
        return 1
    fi
}
# start_operator: the chart's RBAC (for the Lease ew-SUITE), its ServiceAccount's token,
# and the operator run with it against us (the home cluster), --namespace
# eastwest-system; sets port and op_pid. (A suite with flags of its own: operator_identity
# LEASE, then spawn_operator FLAG....)
start_operator() {
    operator_identity "ew-${suite//_/-}" || return 1
    port=$(free_port)
    spawn_operator --namespace eastwest-system --metrics-bind-address "127.0.0.1:$port"
    check operator-ready 30 curl -sf "http://127.0.0.1:$port/readyz"
}
# start_operator_in_cluster NAMESPACE SERVICEACCOUNT [FLAG...]: run it as a pod would,
# with that ServiceAccount's token, the cluster CA and the namespace in the standard
# layout ($tmp/serviceaccount; EASTWEST_SERVICEACCOUNT_DIR stands in for
# /var/run/secrets/kubernetes.io/serviceaccount) and KUBERNETES_SERVICE_HOST/PORT
# pointing at us; no kubeconfig, no HOME with one. FLAGs (a Deployment's args, say) come
# after the defaults, so they win; the metrics address is always a free loopback port.
start_operator_in_cluster() {
    operator_token "$1" "$2" || return 1
    port=$(free_port)
    spawn_operator "${@:3}" --metrics-bind-address "127.0.0.1:$port"
    check operator-ready-in-cluster 30 curl -sf "http://127.0.0.1:$port/readyz"
}
# stop_operator: SIGTERM, and it must exit 0 (finish does it unless a test did it first).
op_stopped=0
stop_operator() {
    kill -TERM "$op_pid"
    if wait "$op_pid"; then pass operator/clean-exit; else
        fail operator/clean-exit "exit status $?: $(tail -n 20 "$oplog")"; fi
    op_pid="" op_stopped=1
}
# finish: the operator never logged a key or certificate and exits cleanly; the total.
finish() {
    if grep -qE 'BEGIN (EC |RSA )?PRIVATE KEY|BEGIN CERTIFICATE|LS0tLS1CRUdJTi' "$oplog"; then
        fail logs/no-secrets "the operator's log holds PEM or base64 PEM"
    else pass logs/no-secrets; fi
    if grep -qE 'runtime error|Sanitizer' "$oplog"; then
        fail logs/no-sanitizer-report "$(grep -m 3 -E 'runtime error|Sanitizer' "$oplog")"
    else pass logs/no-sanitizer-report; fi
    [ "$op_stopped" = 1 ] || stop_operator
    if [ "$failed" -gt 0 ]; then
        echo "--- operator log (tail) ---" >&2
        tail -n 60 "$oplog" >&2
    fi
    echo "# $suite: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
# link_member CLUSTER SECRET [NAMESPACE]: the member's kubeconfig Secret SECRET in us's
# NAMESPACE (default eastwest-system), made as a user makes it: `kubectl eastwest link`
# (the member's least-privilege ServiceAccount eastwest-member and its RBAC in CLUSTER, a
# token of it in the Secret). EW_PLUGIN: the plugin binary (default: the ASan build's).
plugin="${EW_PLUGIN:-$root/build-asan/cmd/kubectl-eastwest/kubectl-eastwest}"
[ -x "$plugin" ] || plugin="$root/build/cmd/kubectl-eastwest/kubectl-eastwest"
link_member() {
    local out
    out=$(KUBECONFIG="$dir/us/kubeconfig:$dir/$1/kubeconfig" "$plugin" link "$1" --context "$1" \
        --home-context us --secret-name "$2" --namespace "${3:-eastwest-system}" 2>&1) || {
        echo "kubectl eastwest link $1: $out" >&2
        return 1
    }
}
# linked_kubeconfig SECRET FILE [NAMESPACE]: the kubeconfig in a Secret link_member made.
linked_kubeconfig() {
    kc us -n "${3:-eastwest-system}" get secret "$1" -o jsonpath='{.data.kubeconfig}' | base64 -d >"$2"
}
# set_up_home: CRDs, the operator namespace, the eu kubeconfig Secret prod-eu-west-1.
set_up_home() {
    kc us apply --server-side -f "$root/crds/" >/dev/null &&
        kc us wait --for=condition=Established crd/meshnetworks.eastwest.io \
            crd/crossclusterservices.eastwest.io --timeout=30s >/dev/null
    kc us create namespace eastwest-system >/dev/null 2>&1
    link_member eu prod-eu-west-1
}

# The tutorial (deploy/examples/tutorial.yaml) against an operator run in-cluster, as
# test_chart and test_image run it. tutorial_prepare NAMESPACE, before the operator
# starts: the eu kubeconfig Secret in NAMESPACE, the echo namespace in us and eu and the
# echo Service in eu. tutorial_converge PREFIX NAMESPACE: applies the tutorial, plays
# the cloud and restarts istiod as they would happen, and checks PREFIX/mesh-ready,
# ccs-ready, {us,eu}-serviceentry and home-member-written. tutorial_clean_up PREFIX:
# deletes the resources and checks PREFIX/cleanup (the finalizers ran).
tutorial_prepare() {
    link_member eu prod-eu-west-1 "$1"
    kc us create namespace echo >/dev/null 2>&1
    kc eu create namespace echo >/dev/null 2>&1
    # and a pod (never scheduled) as ServiceAccount echo: no importer entry is written
    # before an identity is known. A pod's service account cannot change: an echo-0 of
    # another account left by an earlier suite is replaced, not silently kept.
    if [ "$(kc eu -n echo get pod echo-0 -o jsonpath='{.spec.serviceAccountName}' 2>/dev/null)" != echo ]; then
        kc eu -n echo delete pod echo-0 --ignore-not-found --grace-period=0 --force >/dev/null 2>&1
    fi
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
tutorial_converge() {
    kc us apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null
    wait_for "gateway Services" 40 sh -c "$EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway"
    play_cloud us 203.0.113.10
    play_cloud eu 203.0.113.20
    wait_for "cacerts" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
    for c in us eu; do restart_istiod "$c"; done
    if kc us wait --for=condition=Ready meshnetwork/training-mesh --timeout=60s >/dev/null 2>&1; then
        pass "$1/mesh-ready"
    else fail "$1/mesh-ready" "$(kc us get meshnetwork training-mesh -o jsonpath='{.status.conditions}')"; fi
    if kc us -n echo wait --for=condition=Ready ccs/echo --timeout=60s >/dev/null 2>&1; then
        pass "$1/ccs-ready"
    else fail "$1/ccs-ready" "$(kc us -n echo get ccs echo -o jsonpath='{.status.conditions}')"; fi
    for c in us eu; do
        if kc "$c" -n echo get serviceentries.networking.istio.io echo >/dev/null 2>&1; then
            pass "$1/$c-serviceentry"
        else fail "$1/$c-serviceentry" "no ServiceEntry echo/echo in $c"; fi
    done
    if kc us -n istio-system get deployment istio-eastwestgateway -o jsonpath='{.metadata.managedFields[*].manager}' 2>/dev/null |
        grep -qx eastwest-operator && kc us -n "$2" get secret training-mesh-root-ca >/dev/null 2>&1; then
        pass "$1/home-member-written"
    else fail "$1/home-member-written" "no gateway Deployment by eastwest-operator in us, or no root Secret"; fi
}
tutorial_clean_up() {
    local o left=""
    kc us -n echo delete ccs echo --timeout=60s >/dev/null 2>&1
    kc us delete meshnetwork training-mesh --timeout=60s >/dev/null 2>&1
    for o in "us meshnetwork training-mesh" "us -n echo ccs echo" \
        "us -n istio-system deployment istio-eastwestgateway" \
        "eu -n istio-system deployment istio-eastwestgateway" \
        "us -n echo serviceentries.networking.istio.io echo" \
        "eu -n echo serviceentries.networking.istio.io echo"; do
        # shellcheck disable=SC2086 # one word per argument
        not_found $o || left="$left; $o"
    done
    if [ -z "$left" ]; then pass "$1/cleanup"; else
        fail "$1/cleanup" "not NotFound:${left#;} ($(kc us get meshnetwork training-mesh -o jsonpath='{.status.conditions}' 2>&1))"; fi
}
