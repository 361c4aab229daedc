#!/usr/bin/env bash
# What the docs promise about the runtime, proved against real API servers (issue 30):
# the request retry loop (429 with Retry-After honoured, a 500 without it not retried, at
# most 5 retries), eastwest_api_retries_total, relists and watch errors, the queue-duration
# histogram, the 422 merge-patch repair, eastwest_cluster_reachable going 0 and back to 1,
# the certificate expiry values, no retry storm toward an unreachable member (nor toward
# the home cluster meanwhile), /readyz 503 during the shutdown, a leader that cannot
# renew its Lease exiting 1 by its renew deadline, and one whose home connection hangs
# gone before a standby leads, writing nothing to members after (issue 31).
#
# The operator talks to both clusters through kube_proxy.py, a loopback HTTPS proxy in
# front of each real kube-apiserver (its serving certificate is minted with the cluster's
# CA key) that logs every request and can answer some itself (a status, a Retry-After, a
# delay), cut watch streams, or play an API server that is gone.
#
#   bash test/integration/test_runtime_promises.sh
#
# Prints PASS/FAIL lines and a "# test_runtime_promises: ..." total, like the other suites.
set -uo pipefail
suite=test_runtime_promises
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# time bounds grow under valgrind; lower bounds (a delay honoured) never shrink
scale=1
[ "${EW_TEST_UNDER_VALGRIND:-0}" = 1 ] && scale=3
lease=ew-test-promises mesh=promises-mesh ns=ew-promises n=12
lease_path="/apis/coordination.k8s.io/v1/namespaces/eastwest-system/leases/$lease\$"
declare -A pport pctl ppid

# ---- the proxies ----
proxy_start() { # proxy_start CLUSTER: a proxy in front of CLUSTER's kube-apiserver
    local c=$1 d="$tmp/proxy-$1" server
    mkdir -p "$d"
    openssl ecparam -name prime256v1 -genkey -noout -out "$d/tls.key" 2>/dev/null &&
        openssl req -new -key "$d/tls.key" -subj "/CN=ew-test-proxy-$c" -out "$d/tls.csr" 2>/dev/null &&
        openssl x509 -req -in "$d/tls.csr" -CA "$dir/$c/ca.crt" -CAkey "$dir/$c/ca.key" \
            -CAcreateserial -CAserial "$d/ca.srl" -days 1 -out "$d/tls.crt" \
            -extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') 2>/dev/null ||
        return 1
    server=$(kc "$c" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
    # no client certificate: the proxy forwards the operator's own bearer token, so the
    # API server sees the chart's ServiceAccount (us) and the linked member (eu)
    python3 "$root/test/integration/kube_proxy.py" --upstream "$server" \
        --upstream-ca "$dir/$c/ca.crt" --cert "$d/tls.crt" --key "$d/tls.key" \
        --port-file "$d/port" --control-port-file "$d/ctl" 2>"$d/stderr" &
    ppid[$c]=$!
    wait_for "proxy $c" 10 test -s "$d/ctl" || return 1
    pport[$c]=$(cat "$d/port") pctl[$c]=$(cat "$d/ctl")
    curl -sf --max-time 5 --cacert "$dir/$c/ca.crt" "https://127.0.0.1:${pport[$c]}/readyz" >/dev/null
}
# proxied_kubeconfig FILE OUT CLUSTER: FILE with its server moved to CLUSTER's proxy
proxied_kubeconfig() { # (JSON, as link and operator_kubeconfig write them)
    jq --arg s "https://127.0.0.1:${pport[$3]}" '.clusters[0].cluster.server = $s' "$1" >"$2"
}
ctl() { # ctl CLUSTER METHOD PATH [BODY]
    curl -sf --max-time 10 -X "$2" ${4:+--data-binary "$4"} "http://127.0.0.1:${pctl[$1]}$3"
}
rule() { ctl "$1" POST /rule "$2" >/dev/null; }
seqno() { ctl "$1" GET /seq; }
# plog CLUSTER SINCE QUERY: "seq time method status injected ctype target" per request
plog() { ctl "$1" GET "/log?since=$2&$3"; }
urlq() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
# gaps: the times between consecutive lines of a plog (one per line)
gaps() { awk 'NR > 1 {printf "%.3f\n", $2 - t} {t = $2}'; }
metric() { metric_sum "$port" "$1"; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }

cleanup_proxies() {
    local c
    for c in "${!ppid[@]}"; do kill "${ppid[$c]}" 2>/dev/null && wait "${ppid[$c]}" 2>/dev/null; done
}
trap 'cleanup_proxies; cleanup' EXIT
op_stopped=1 # no operator yet: finish has none to stop
for c in us eu; do
    if proxy_start "$c"; then pass "setup/proxy-$c"; else
        fail "setup/proxy-$c" "$(tail -n 5 "$tmp/proxy-$c/stderr" 2>/dev/null)"
        finish
        exit 1
    fi
done

# ---- set-up: the eu Secret points at eu's proxy; istiod played in both ----
# The operator's credentials as a user's: the chart's ServiceAccount token for us, the
# linked member's token for eu, each in a kubeconfig whose server is the proxy.
set_up_home
linked_kubeconfig prod-eu-west-1 "$tmp/eu-linked.kubeconfig"
proxied_kubeconfig "$tmp/eu-linked.kubeconfig" "$tmp/eu-proxied.kubeconfig" eu
kc us -n eastwest-system create secret generic prod-eu-west-1 \
    --from-file=kubeconfig="$tmp/eu-proxied.kubeconfig" --dry-run=client -o yaml |
    kc us apply -f - >/dev/null
operator_identity "$lease" && operator_kubeconfig "$tmp/us-direct.kubeconfig" &&
    proxied_kubeconfig "$tmp/us-direct.kubeconfig" "$tmp/us-proxied.kubeconfig" us
kc us -n eastwest-system delete lease "$lease" --ignore-not-found >/dev/null 2>&1
kc us create namespace "$ns" >/dev/null 2>&1
for c in us eu; do
    play_istiod "$c" corp.local "$mesh"
    kc "$c" create namespace echo >/dev/null 2>&1
done
kc eu -n echo apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
EOF

start_proxied_operator() { # start_proxied_operator NAME: the operator, its home cluster behind the us proxy
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$operator" --kubeconfig "$tmp/us-proxied.kubeconfig" --namespace eastwest-system \
        --leader-election-id "$lease" --metrics-bind-address "127.0.0.1:$port" \
        --workers 1 --log-format json 2>>"$oplog" &
    op_pid=$! op_stopped=0
    check "$1/operator-ready" 60 curl -sf "http://127.0.0.1:$port/readyz"
    check "$1/operator-leads" 30 is_leader "$port"
}
start_proxied_operator run1

# ---- the retry loop: 429 with Retry-After 3 s, twice, on the Lease's GET ----
# The renewal runs every 2 s: a retry that ignored Retry-After comes 0.2 s later, and no
# retry at all lets the next renewal come 2 s later; Retry-After's 3 s is neither.
retries0=$(metric '/^eastwest_api_retries_total\{/ && /cluster="home"/')
s=$(seqno us)
rule us "{\"method\": \"GET\", \"path\": \"$lease_path\", \"status\": 429, \"headers\": {\"Retry-After\": 3}, \"times\": 2}"
wait_for "three Lease GETs" $((15 * scale)) sh -c "[ \$(curl -sf 'http://127.0.0.1:${pctl[us]}/log?since=$s&method=GET&path=$(urlq "$lease_path")' | wc -l) -ge 3 ]"
plog us "$s" "method=GET&path=$(urlq "$lease_path")" | head -n 3 >"$tmp/ra.log"
answers=$(awk '{printf "%s%s", sep, $4; sep = ","}' "$tmp/ra.log")
g=$(gaps <"$tmp/ra.log" | paste -sd ' ')
if [ "$answers" = "429,429,200" ] && [ -n "$g" ] && ! gaps <"$tmp/ra.log" |
    awk -v hi="$((3 + 2 * scale))" '$1 < 2.9 || $1 > hi {bad = 1} END {exit !bad}'; then
    pass "retry/retry-after-honoured (gaps $g s after Retry-After: 3)"
else fail retry/retry-after-honoured "answers $answers, gaps '$g' s (want 429,429,200 and each gap 2.9-$((3 + 2 * scale)) s)"; fi
retries1=$(metric '/^eastwest_api_retries_total\{/ && /cluster="home"/')
if [ -n "$retries0" ] && [ -n "$retries1" ] && [ $((retries1 - retries0)) -eq 2 ]; then
    pass "metrics/api-retries-total (+2 for two retries)"
else fail metrics/api-retries-total "eastwest_api_retries_total{cluster=home} went from '$retries0' to '$retries1' (want +2)"; fi

# ---- a 500 without Retry-After is the caller's to retry: the next GET is the next renewal ----
s=$(seqno us)
rule us "{\"method\": \"GET\", \"path\": \"$lease_path\", \"status\": 500, \"times\": 1}"
wait_for "two Lease GETs" $((10 * scale)) sh -c "[ \$(curl -sf 'http://127.0.0.1:${pctl[us]}/log?since=$s&method=GET&path=$(urlq "$lease_path")' | wc -l) -ge 2 ]"
plog us "$s" "method=GET&path=$(urlq "$lease_path")" | head -n 2 >"$tmp/500.log"
answers=$(awk '{printf "%s%s", sep, $4; sep = ","}' "$tmp/500.log")
g=$(gaps <"$tmp/500.log")
if [ "$answers" = "500,200" ] && [ -n "$g" ] && le 1.5 "$g"; then
    pass "retry/500-not-retried (next GET ${g}s later: the next renewal)"
else fail retry/500-not-retried "answers $answers, gap '$g' s (want 500,200 and >= 1.5 s)"; fi

# ---- the queue-duration histogram: a key queued while the one worker is held 6 s ----
# q1's first write is held 6 s by the proxy; q2 is created once that write is in flight, so
# it waits in the queue about that long.
qd() { metric "/^eastwest_workqueue_queue_duration_seconds_bucket\\{/ && /controller=\"crossclusterservice\"/ && /le=\"$1\"/"; }
ccs_yaml() { # ccs_yaml NAME MESH
    printf 'apiVersion: eastwest.io/v1alpha1\nkind: CrossClusterService\nmetadata: {name: %s, namespace: %s}\nspec:\n  meshNetwork: %s\n  exportFrom: [{cluster: eu, service: echo}]\n  importTo: [us]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n' "$1" "$ns" "$2"
}
slow0=$(qd 2.5) all0=$(qd "[+]Inf")
s=$(seqno us)
rule us "{\"method\": \"PATCH\", \"path\": \"/namespaces/$ns/crossclusterservices/q1\", \"delay\": 6, \"times\": 1}"
ccs_yaml q1 no-such-mesh | kc us apply -f - >/dev/null
wait_for "q1's held write" $((20 * scale)) sh -c "curl -sf 'http://127.0.0.1:${pctl[us]}/log?since=$s&method=PATCH&path=crossclusterservices/q1' | grep -q ."
ccs_yaml q2 no-such-mesh | kc us apply -f - >/dev/null
wait_for "q2's status" $((30 * scale)) sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n $ns get ccs q2 -o jsonpath='{.status.conditions}' | grep -q Ready"
slow1=$(qd 2.5) all1=$(qd "[+]Inf")
if [ -n "$slow0" ] && [ -n "$slow1" ] && [ -n "$all0" ] && [ -n "$all1" ] &&
    [ $(((all1 - all0) - (slow1 - slow0))) -ge 1 ]; then
    pass "metrics/queue-duration ($((all1 - all0)) keys taken, $(((all1 - all0) - (slow1 - slow0))) after more than 2.5 s)"
else fail metrics/queue-duration "bucket le=2.5 ${slow0}->${slow1}, +Inf ${all0}->${all1}: no key waited more than 2.5 s, yet q2 waited for q1's 6 s write"; fi
ctl us POST /clear >/dev/null

# ---- watch errors and relists: the CrossClusterService watches cut, then answered 410 ----
werr0=$(metric '/^eastwest_watch_errors_total\{/ && /resource="crossclusterservices"/')
rel0=$(metric '/^eastwest_relists_total\{/ && /resource="crossclusterservices"/')
nstreams=$(ctl us GET "/streams?path=crossclusterservices\$")
rule us "{\"method\": \"GET\", \"path\": \"/crossclusterservices\$\", \"query\": \"watch=(1|true)\", \"status\": 410, \"times\": ${nstreams:-0}}"
cut=$(ctl us POST "/cut?path=crossclusterservices\$")
wait_for "relists" $((20 * scale)) sh -c "[ \$(curl -sf 'http://127.0.0.1:${pctl[us]}/log?method=GET&path=crossclusterservices' | awk '\$4 == 410' | wc -l) -ge ${cut:-1} ]"
counted() { # both counters moved by as many as were cut (a miss is seen as a timeout)
    werr1=$(metric '/^eastwest_watch_errors_total\{/ && /resource="crossclusterservices"/')
    rel1=$(metric '/^eastwest_relists_total\{/ && /resource="crossclusterservices"/')
    [ $((werr1 - werr0)) -ge "${cut:-1}" ] && [ $((rel1 - rel0)) -ge "${cut:-1}" ]
}
wait_for "the counters" $((10 * scale)) counted
counted
if [ "${cut:-0}" -ge 1 ] && [ -n "$werr1" ] && [ $((werr1 - werr0)) -eq "$cut" ]; then
    pass "metrics/watch-errors-total (+$cut for $cut streams cut)"
else fail metrics/watch-errors-total "eastwest_watch_errors_total went $werr0 -> $werr1 for ${cut:-0} streams cut (of $nstreams)"; fi
if [ "${cut:-0}" -ge 1 ] && [ -n "$rel1" ] && [ $((rel1 - rel0)) -eq "$cut" ]; then
    pass "metrics/relists-total (+$cut for $cut watches answered 410)"
else fail metrics/relists-total "eastwest_relists_total went $rel0 -> $rel1 for ${cut:-0} watches answered 410"; fi
ctl us POST /clear >/dev/null

# ---- a mesh with eu behind its proxy; eu's Services cannot be listed for a while ----
# A CrossClusterService exporting from a member whose caches have not listed writes nothing
# for 60 s after those caches started, then says "caches are syncing" in its status. The
# proxy answers 503 to eu's Service list (the CrossClusterService controller's cache) until
# that has been seen; the MeshNetwork's member caches list Services in istio-system only.
rule eu '{"method": "GET", "path": "^/api/v1/services$", "status": 503}'
kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: $mesh}
spec:
  meshID: $mesh
  trustDomain: corp.local
  clusters:
  - {name: us, network: us-net}
  - {name: eu, network: eu-net, kubeconfigSecretRef: {name: prod-eu-west-1, key: kubeconfig}}
EOF
# the services after the operator has seen the mesh (its status): not MeshNetworkNotFound
wait_for "the mesh's status" $((30 * scale)) sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig get meshnetwork $mesh -o jsonpath='{.status.conditions}' | grep -q ClustersReachable"
hs_wait=$(seqno us) t_created=$EPOCHREALTIME
for i in $(seq 1 "$n"); do ccs_yaml "s$i" "$mesh"; echo ---; done | kc us apply -f - >/dev/null
check mesh/gateway-and-cacerts-in-eu $((60 * scale)) sh -c "$EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get deployment/istio-eastwestgateway secret/cacerts && $EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret/cacerts"

# ---- the certificate expiry values: the certificates' notAfter ----
not_after() { date -u -d "$(openssl x509 -noout -enddate | cut -d= -f2)" +%s; }
root_na=$(kc us -n eastwest-system get secret "$mesh-root-ca" -o jsonpath='{.data.tls\.crt}' | base64 -d | not_after)
for c in us eu; do
    want=$(kc "$c" -n istio-system get secret cacerts -o jsonpath='{.data.ca-cert\.pem}' | base64 -d | not_after)
    got=$(metrics_page "$port" | awk -v m="$mesh" -v c="$c" 'index($0, "eastwest_certificate_expiry_timestamp_seconds{") == 1 && index($0, "mesh=\"" m "\"") && index($0, "cluster=\"" c "\"") && /kind="intermediate"/ {printf "%d\n", $NF}')
    if [ -n "$want" ] && [ "$got" = "$want" ]; then pass "metrics/expiry-intermediate-$c ($got)"; else
        fail "metrics/expiry-intermediate-$c" "metric '$got', the intermediate's notAfter '$want'"; fi
done
got=$(metrics_page "$port" | awk -v m="$mesh" 'index($0, "eastwest_certificate_expiry_timestamp_seconds{") == 1 && index($0, "mesh=\"" m "\"") && /kind="root"/ {printf "%d\n", $NF}' | sort -u)
if [ -n "$root_na" ] && [ "$got" = "$root_na" ]; then pass "metrics/expiry-root ($got)"; else
    fail metrics/expiry-root "metric '${got//$'\n'/ }', the root's notAfter '$root_na'"; fi

# ---- 422 on every apply of eu's gateway Deployment: the merge patch repairs it ----
dep_path="/apis/apps/v1/namespaces/istio-system/deployments/istio-eastwestgateway\$"
s=$(seqno eu)
rule eu "{\"id\": \"422\", \"method\": \"PATCH\", \"path\": \"$dep_path\", \"ctype\": \"apply-patch\", \"status\": 422}"
kc eu -n istio-system scale deployment istio-eastwestgateway --replicas=5 >/dev/null
repaired() {
    [ "$(kc eu -n istio-system get deployment istio-eastwestgateway -o jsonpath='{.spec.replicas}')" = 2 ] &&
        plog eu "$s" "method=PATCH&path=$(urlq "$dep_path")&ctype=merge-patch" | awk '$4 == 200' | grep -q .
}
if wait_for "the repair" $((30 * scale)) repaired; then
    refused=$(plog eu "$s" "method=PATCH&path=$(urlq "$dep_path")&ctype=apply-patch" | awk '$4 == 422' | wc -l)
    if [ "$refused" -ge 1 ]; then pass "patch/422-repaired-by-merge-patch ($refused applies refused)"; else
        fail patch/422-repaired-by-merge-patch "repaired, but no apply was refused: the test proves nothing"; fi
else fail patch/422-repaired-by-merge-patch "replicas $(kc eu -n istio-system get deployment istio-eastwestgateway -o jsonpath='{.spec.replicas}') (want 2); PATCHes seen: $(plog eu "$s" "method=PATCH&path=$(urlq "$dep_path")" | awk '{print $4, $6}' | sort | uniq -c | paste -sd ';')"; fi
ctl eu POST '/clear?id=422' >/dev/null

# ---- the 60 s wait, seen from the home cluster: s1's first status write ----
syncing() {
    kc us -n "$ns" get ccs s1 -o jsonpath='{.status.conditions}' 2>/dev/null | grep -q 'caches are syncing'
}
if wait_for "s1 syncing" $((60 + 30 * scale)) syncing; then
    first=$(plog us "$hs_wait" "path=$(urlq "crossclusterservices/s1/status")" | awk '$3 != "GET"' | head -n 1)
    after=$(awk -v a="$t_created" -v b="${first:+$(cut -d' ' -f2 <<<"$first")}" 'BEGIN {if (b == "") print -1; else printf "%.1f", b - a}')
    # past the 60 s it goes on: then the importer's ServiceEntries may be written
    se=$(plog us "$hs_wait" "path=serviceentries" | awk -v t="$t_created" '$3 != "GET" && $2 < t + 55' | wc -l)
    if le 55 "$after" && le "$after" $((60 + 30 * scale)) && [ "$se" = 0 ]; then
        pass "member-caches/60s-wait (first status write ${after}s after creation, then: caches are syncing)"
    else fail member-caches/60s-wait "first status write of s1 ${after}s after creation (want 55-$((60 + 30 * scale))), $se ServiceEntry writes in us within 55 s: $(plog us "$hs_wait" "path=serviceentries" | awk -v t="$t_created" '$3 != "GET" {printf "%s %s %.1fs %s\n", $3, $4, $2 - t, $7}' | head -n 3 | paste -sd ';')"; fi
else fail member-caches/60s-wait "s1 never said 'caches are syncing': $(kc us -n "$ns" get ccs s1 -o jsonpath='{.status.conditions}' 2>&1)"; fi
eu_lists=$(plog eu 0 "method=GET&path=$(urlq '^/api/v1/services(\?|$)')" | awk '$4 == 503' | wc -l)
if [ "$eu_lists" -ge 1 ]; then pass "member-caches/services-list-refused ($eu_lists times)"; else
    fail member-caches/services-list-refused "the proxy never refused eu's Service list: the wait test proves nothing"; fi
ctl eu POST /clear >/dev/null

# ---- eu gone: cluster_reachable 0, and no storm toward eu or home ----
reach() { metric "/^eastwest_cluster_reachable\\{/ && /cluster=\"$1\"/"; }
reach_is() { [ "$(reach "$1")" = "$2" ]; }
check metrics/cluster-reachable-1 $((20 * scale)) reach_is eu 1
check ccs/converged-before-outage $((60 * scale)) sh -c "[ \$($EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n $ns get ccs -o jsonpath='{range .items[*]}{.status.conditions[0].type}{\"\\n\"}{end}' | grep -c .) -ge $((n + 2)) ]"
eu_streams=$(ctl eu GET /streams)
ctl eu POST /down >/dev/null
check metrics/cluster-reachable-0 $((15 * scale)) reach_is eu 0
sleep $((10 * scale)) # past the reconnect ramp (0.8 s doubling to 8 s) and the status writes
window=30
ccs_errors() { metric '/^eastwest_reconcile_total\{/ && /controller="crossclusterservice"/ && /result="error"/'; }
t0=$(date +%s.%N) hs=$(seqno us) err0=$(ccs_errors)
sleep "$window"
err1=$(ccs_errors)
attempts=$(ctl eu GET "/downconns?since=$t0")
home_writes=$(plog us "$hs" "" | awk '$3 != "GET" && $7 !~ /\/leases\//' | wc -l)
# each watch at most every 6.4 s (8 s jittered -20%), plus a probe per MeshNetwork reconcile
eu_bound=$((eu_streams * (window * 10 / 64 + 1) + 10))
if [ -n "$attempts" ] && [ "${eu_streams:-0}" -ge 1 ] && [ "$attempts" -le "$eu_bound" ]; then
    pass "outage/no-storm-toward-eu ($attempts attempts in ${window}s = $((attempts * 60 / window))/min, bound $eu_bound for $eu_streams watches)"
else fail outage/no-storm-toward-eu "$attempts attempts in ${window}s, bound $eu_bound ($eu_streams watches)"; fi
if [ "$home_writes" -le 4 ]; then
    pass "outage/no-storm-toward-home ($home_writes writes in ${window}s besides the Lease, $n services)"
else fail outage/no-storm-toward-home "$home_writes writes in ${window}s to the home cluster besides the Lease ($n services): $(plog us "$hs" "" | awk '$3 != "GET" && $7 !~ /\/leases\//' | awk '{print $3, $7}' | sed 's/?.*//' | sort | uniq -c | sort -rn | head -n 5 | paste -sd ';')"; fi
# not a failure to retry with backoff: queued again when the mesh's status says eu is back
if [ -n "$err0" ] && [ -n "$err1" ] && [ "$err1" = "$err0" ]; then
    pass "outage/services-not-retried (0 failed reconciles in ${window}s)"
else fail outage/services-not-retried "$((err1 - err0)) CrossClusterService reconciles failed (retried with backoff) in ${window}s of eu's outage"; fi
ctl eu POST /up >/dev/null
check metrics/cluster-reachable-back-to-1 $((40 * scale)) reach_is eu 1

# ---- clean up the mesh while the operator runs ----
kc us -n "$ns" delete ccs --all --timeout=60s >/dev/null 2>&1
kc us delete meshnetwork "$mesh" --timeout=90s >/dev/null 2>&1
if not_found us meshnetwork "$mesh" && none_listed us -n "$ns" ccs; then pass cleanup/mesh-and-services; else
    fail cleanup/mesh-and-services "$(kc us get meshnetwork "$mesh" -o jsonpath='{.status.conditions}' 2>&1)"; fi

# ---- /readyz answers 503 while a reconcile is finished after SIGTERM ----
s=$(seqno us)
rule us "{\"method\": \"PATCH\", \"path\": \"/namespaces/$ns/crossclusterservices/r1\", \"delay\": 6, \"times\": 1}"
ccs_yaml r1 no-such-mesh | kc us apply -f - >/dev/null
wait_for "r1's held write" $((20 * scale)) sh -c "curl -sf 'http://127.0.0.1:${pctl[us]}/log?since=$s&method=PATCH&path=crossclusterservices/r1' | grep -q ."
kill -TERM "$op_pid"
readyz_503() {
    code=$(curl -s -o "$tmp/readyz" -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/readyz")
    [ "$code" = 503 ]
}
wait_for "readyz 503" 4 readyz_503
alive=$(kill -0 "$op_pid" 2>/dev/null && echo yes || echo no)
if [ "$code" = 503 ] && grep -q 'shutting down' "$tmp/readyz" && [ "$alive" = yes ]; then
    pass "shutdown/readyz-503 ($(tr -d '\n' <"$tmp/readyz"))"
else fail shutdown/readyz-503 "HTTP $code '$(tr -d '\n' <"$tmp/readyz" 2>/dev/null)' with the process alive: $alive"; fi
stop_status=0
wait "$op_pid" || stop_status=$?
op_pid="" op_stopped=1
if [ "$stop_status" = 0 ]; then pass shutdown/exit-0; else fail shutdown/exit-0 "exit status $stop_status"; fi
ctl us POST /clear >/dev/null

# ---- a leader that cannot renew exits 1 at its renew deadline; at most 6 tries each ----
# Every GET of the Lease answered 503 with Retry-After: 1: a renewal is a burst of attempts
# 1 s apart; the next renewal comes 2 s after a failed one. The renew deadline (10 s from
# when the last successful write of the Lease began, before the rule) ends them all: no retry waits
# past it, so the last burst is cut short and the leader exits within 10 s of the rule
# (checked only after each burst, it overran the deadline by up to a burst: 12-14 s).
start_proxied_operator run2
s=$(seqno us)
rule us "{\"method\": \"GET\", \"path\": \"$lease_path\", \"status\": 503, \"headers\": {\"Retry-After\": 1}}"
t0=$EPOCHREALTIME
(sleep $((60 * scale)) && kill -KILL "$op_pid" 2>/dev/null) &
watchdog=$!
lost_status=0
wait "$op_pid" || lost_status=$?
took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
op_pid="" op_stopped=1
if [ "$lost_status" = 1 ] && grep -q 'leadership lost' "$oplog"; then
    pass "leader/cannot-renew-exits-1 (after ${took}s)"
else fail leader/cannot-renew-exits-1 "exit status $lost_status after ${took}s$([ "$lost_status" = 137 ] && echo ' (killed by the test)')"; fi
if le "$took" 11.5; then pass "leader/cannot-renew-exits-by-renew-deadline (${took}s after the first refusal)"; else
    fail leader/cannot-renew-exits-by-renew-deadline "exit ${took}s after the Lease GETs began to fail (want within the 10 s renew deadline)"; fi
plog us "$s" "method=GET&path=$(urlq "$lease_path")" | awk '$4 == 503' >"$tmp/503.log"
bursts=$(gaps <"$tmp/503.log" | awk 'BEGIN {n = 1} $1 >= 1.6 {printf "%s%d", sep, n; sep = ","; n = 0} {n++} END {printf "%s%d", sep, n}')
inburst=$(gaps <"$tmp/503.log" | awk '$1 < 1.6' | sort -n | sed -n '1p;$p' | paste -sd '-')
if [ -n "$bursts" ] && [[ $bursts =~ ^6(,6)*(,[1-5])?$ ]] && le 0.9 "${inburst%-*}"; then
    pass "retry/at-most-5-retries (attempts per renewal: $bursts, ${inburst}s apart)"
else fail retry/at-most-5-retries "attempts per renewal: '$bursts' (want 6 each: 1 + 5 retries, the last one cut short by the renew deadline), gaps within one ${inburst}s (want >= 0.9: Retry-After 1)"; fi

# r1 keeps its finalizer (no operator): take it off
kc us -n "$ns" patch ccs r1 --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
kc us -n "$ns" delete ccs --all --wait=false >/dev/null 2>&1
# ---- a leader whose home connection hangs stops before a standby leads (issue 31) ----
# The leader talks to home through the us proxy, a standby directly. The proxy then stops
# forwarding (requests held unanswered, nothing closed): the leader's renewal hangs. It
# must give up at its renew deadline (10 s after its last renewal began) and exit, before
# the standby may take the Lease (15 s after it last saw a renewal). Once the standby
# leads, eu's exporter ServiceEntry is deleted every 2 s for 10 s: an old leader still
# running would write it back through eu's (flowing) proxy, counted on its own /metrics.
# (Not before: its one worker would then hang in the status write to home, and write
# nothing more for the test to see.)
ctl us POST /clear >/dev/null
kc us -n eastwest-system delete lease "$lease" --ignore-not-found >/dev/null 2>&1
kc eu create namespace "$ns" >/dev/null 2>&1
kc eu -n "$ns" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata: {name: hang}
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: hang-0, labels: {app: echo}}
spec:
  serviceAccountName: hang
  containers: [{name: app, image: example.invalid/hang:1}]
EOF
start_proxied_operator hang
old_pid=$op_pid old_port=$port
sb_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$operator" --kubeconfig "$dir/us/kubeconfig" --namespace eastwest-system \
    --leader-election-id "$lease" --metrics-bind-address "127.0.0.1:$sb_port" \
    --workers 1 --log-format json 2>>"$tmp/standby.log" &
sb_pid=$!
check hang/standby-ready 60 curl -sf "http://127.0.0.1:$sb_port/readyz"
if is_leader "$sb_port"; then fail hang/standby-waits "the standby leads beside the leader"; else pass hang/standby-waits; fi
kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: $mesh}
spec:
  meshID: $mesh
  trustDomain: corp.local
  clusters:
  - {name: us, network: us-net}
  - {name: eu, network: eu-net, kubeconfigSecretRef: {name: prod-eu-west-1, key: kubeconfig}}
EOF
ccs_yaml h1 "$mesh" | kc us apply -f - >/dev/null
eu_se() { kc eu -n "$ns" get serviceentries.networking.istio.io h1 -o name >/dev/null 2>&1; }
check hang/exporter-entry-written $((60 * scale)) eu_se
check hang/importer-entry-written $((30 * scale)) sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n $ns get serviceentries.networking.istio.io h1 -o jsonpath='{.spec.subjectAltNames}' | grep -q 'sa/hang'"
eu_writes() { metric_sum "$1" '/^eastwest_api_requests_total\{/ && /cluster="eu"/ && /verb="(create|update|patch|delete)"/'; }
sleep 3 # the writes' own events reconciled: from here the leader is idle
w_before=$(eu_writes "$old_port")
ctl us POST /hang >/dev/null
t_hang=$EPOCHREALTIME
old_gone="" sb_leads="" w_at_lead="" w_after="" next_delete=0
end=$((SECONDS + 60 * scale))
while [ "$SECONDS" -lt "$end" ]; do
    now=$EPOCHREALTIME
    if [ -z "$old_gone" ] && ! kill -0 "$old_pid" 2>/dev/null; then old_gone=$now; fi
    if [ -z "$sb_leads" ] && is_leader "$sb_port"; then
        sb_leads=$now
        # what the old leader wrote to eu until now (empty: it is gone)
        w_at_lead=$(eu_writes "$old_port" 2>/dev/null)
        end=$((SECONDS + 10)) # and 10 s more of deletions, to see who writes them back
    fi
    if [ -n "$sb_leads" ] && [ "${now%.*}" -ge "$next_delete" ]; then
        kc eu -n "$ns" delete serviceentries.networking.istio.io h1 --ignore-not-found --wait=false >/dev/null 2>&1
        next_delete=$((${now%.*} + 2))
    fi
    sleep 0.2
done
[ -n "$old_gone" ] || w_after=$(eu_writes "$old_port" 2>/dev/null)
old_status=0
if [ -n "$old_gone" ]; then wait "$old_pid" || old_status=$?; else
    kill -KILL "$old_pid" 2>/dev/null
    wait "$old_pid" 2>/dev/null
    old_status=killed
fi
op_pid="" op_stopped=1
ctl us POST /up >/dev/null
since() { awk -v a="$t_hang" -v b="$1" 'BEGIN {printf "%.1f", b - a}'; }
at() { if [ -n "$1" ]; then echo "$(since "$1")s after the hang"; else echo never; fi; }
if [ -n "$old_gone" ] && [ "$old_status" = 1 ] && le "$(since "$old_gone")" 13; then
    pass "leader/hung-home-stops-at-renew-deadline (exit 1 $(since "$old_gone")s after the hang)"
else fail leader/hung-home-stops-at-renew-deadline "exit status $old_status, gone $(at "$old_gone") (want 1, by the 10 s renew deadline)"; fi
if [ -n "$sb_leads" ] && [ -n "$old_gone" ] && le "$(since "$old_gone")" "$(since "$sb_leads")"; then
    pass "leader/hung-leader-gone-before-standby-leads (gone at $(since "$old_gone")s, standby leads at $(since "$sb_leads")s)"
else fail leader/hung-leader-gone-before-standby-leads "standby leads $(at "$sb_leads"), old leader gone $(at "$old_gone")"; fi
# the old leader's member writes after the standby led: none (it is gone, or wrote none)
if [ -n "$sb_leads" ] && { [ -z "$w_at_lead" ] || [ "${w_after:-$w_at_lead}" = "$w_at_lead" ]; }; then
    pass "leader/hung-leader-no-member-write-after-standby-leads (eu writes: $w_before before the hang, ${w_at_lead:-none: gone} when the standby led)"
else fail leader/hung-leader-no-member-write-after-standby-leads "the old leader's eu writes: $w_before before the hang, ${w_at_lead:-gone} when the standby led, ${w_after:-gone} 10 s later"; fi
# the deletions did call for writes: the standby, leading, writes the entry back
check hang/standby-writes-back $((30 * scale)) eu_se
kc us -n "$ns" delete ccs h1 --timeout=60s >/dev/null 2>&1
kc us delete meshnetwork "$mesh" --timeout=90s >/dev/null 2>&1
if not_found us meshnetwork "$mesh"; then pass hang/cleanup; else fail hang/cleanup "MeshNetwork $mesh still there"; fi
kill -TERM "$sb_pid" && wait "$sb_pid" 2>/dev/null
# no namespace deletion: without a controller-manager it never ends
kc eu -n "$ns" delete pod/hang-0 service/echo serviceaccount/hang --ignore-not-found >/dev/null 2>&1

kc us -n eastwest-system delete lease "$lease" --ignore-not-found >/dev/null 2>&1
link_member eu prod-eu-west-1
finish
