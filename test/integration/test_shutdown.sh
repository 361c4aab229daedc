#!/usr/bin/env bash
# Shutdown under load, against a real cluster (issue #13): SIGTERM the operator while
# its queue holds hundreds of keys and /readyz is being hammered. It must stop taking
# work, let the reconcile in flight finish within --shutdown-grace, stop its server,
# release the Lease, and exit 0 within the grace + 1 s, with no sanitizer report in its
# log. (It used to free the controllers while the server still read them for /readyz,
# and to work through the whole queue after the grace.)
#
# What is measured does not depend on the machine's load (issue 30: a 3 s wall-clock
# bound under ASan with the hammer running flaked): the operator is frozen (SIGSTOP)
# while the objects are read, so that what it had written when the signal came is known
# exactly; after its exit at most the one object of the reconcile in flight may have
# changed. The grace + 1 s is read from the operator's own log, from "shutting down" to
# its last line (what the process does, not the exit's leak check or this script's waits);
# the wall-clock time is printed, and a 60 s watchdog fails a process that hangs.
#
# The keys: N CrossClusterServices (default 500) whose spec.meshNetwork names a
# MeshNetwork that does not exist, created before the operator starts; with one worker
# each takes a finalizer write and a status write, so the queue is still deep when the
# signal comes, as soon as the replica leads and is ready.
#
#   bash test/integration/test_shutdown.sh
#
# EW_SHUTDOWN_SERVICES changes N. Prints PASS/FAIL lines and a "# test_shutdown: ..."
# total, like the other suites.
set -uo pipefail
suite=test_shutdown
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"
# what hack/test.sh sets, for a run by hand: the first report ends the process
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

n=${EW_SHUTDOWN_SERVICES:-500} grace=2 ns=ew-shutdown-$$ lease=ew-test-shutdown
bound=$((grace + 1))

gen_ccs() {
    local i
    for i in $(seq 1 "$n"); do
        printf -- '---\napiVersion: eastwest.io/v1alpha1\nkind: CrossClusterService\nmetadata: {name: s%d, namespace: %s}\nspec:\n  meshNetwork: no-such-mesh\n  exportFrom: [{cluster: eu}]\n  importTo: [us]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n' "$i" "$ns"
    done
}
metric() { # metric NAME LABEL-FILTER: one sample's value from /metrics
    curl -sf "http://127.0.0.1:$port/metrics" | awk -v n="$1" -v f="$2" \
        'index($0, n "{") == 1 && index($0, f) {v = $NF} END {print v + 0}'
}
# the page is read whole first: grep -q would SIGPIPE curl and fail the pipeline (pipefail)
is_leader() { local m; m=$(curl -sf "http://127.0.0.1:$port/metrics") && grep -qE '^eastwest_leader(\{[^}]*\})? 1$' <<<"$m"; }
# snapshot FILE: name=resourceVersion of every CrossClusterService, one a line, sorted
snapshot() {
    kc us -n "$ns" get ccs -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}' |
        sort >"$1" && [ -s "$1" ]
}
# log_seconds MSG: the ts of the operator log's first JSON line with that msg (the last
# JSON line when MSG is empty), in seconds
log_seconds() {
    python3 -c 'import json, sys, datetime
found = None
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if not sys.argv[2] or j.get("msg") == sys.argv[2]:
        found = j["ts"]
        if sys.argv[2]:
            break
if found:
    ts = datetime.datetime.strptime(found, "%Y-%m-%dT%H:%M:%S.%fZ")
    print("%.3f" % ts.replace(tzinfo=datetime.timezone.utc).timestamp())' "$oplog" "$1"
}
# hammer: /readyz (and now and then /metrics) as fast as one curl at a time goes, each
# curl reusing one connection for a batch of requests
hammer() {
    local urls=() i
    for i in $(seq 1 50); do urls+=("http://127.0.0.1:$port/readyz"); done
    urls+=("http://127.0.0.1:$port/metrics")
    while :; do curl -s --max-time 2 "${urls[@]}" >/dev/null 2>&1; done
}
# the operator leaves its finalizer on every object: take it off, then delete them all
clean_up_objects() {
    kc us -n "$ns" get ccs -o json 2>/dev/null |
        python3 -c 'import json, sys
d = json.load(sys.stdin)
for i in d["items"]:
    i["metadata"].pop("finalizers", None)
json.dump(d, sys.stdout)' | kc us replace -f - >/dev/null 2>&1
    kc us delete --raw "/apis/eastwest.io/v1alpha1/namespaces/$ns/crossclusterservices" >/dev/null 2>&1
    kc us delete namespace "$ns" --wait=false >/dev/null 2>&1
}

# ---- set-up: N CrossClusterServices waiting for a MeshNetwork ----
set_up_home
kc us create namespace "$ns" >/dev/null
kc us -n eastwest-system delete lease "$lease" --ignore-not-found >/dev/null 2>&1
gen_ccs >"$tmp/ccs.yaml"
if kc us create -f "$tmp/ccs.yaml" >/dev/null; then pass "setup/$n-services-created"; else
    fail "setup/$n-services-created" "kubectl create failed"; fi

# as the chart's ServiceAccount with the chart's RBAC (mesh_env.sh)
operator_identity "$lease"
port=$(free_port)
spawn_operator --namespace eastwest-system --leader-election-id "$lease" \
    --metrics-bind-address "127.0.0.1:$port" --workers 1 --shutdown-grace "$grace"
check operator-ready 60 curl -sf "http://127.0.0.1:$port/readyz"
check operator-leads 30 is_leader
hammer &
hammer_pid=$!
depth=$(metric eastwest_workqueue_depth 'controller="crossclusterservice"')
if [ "${depth%.*}" -ge $((n / 5)) ]; then pass "setup/keys-queued-at-sigterm ($depth)"; else
    fail setup/keys-queued-at-sigterm "only $depth keys queued: the test would prove nothing"; fi

# ---- SIGTERM: exit 0 within grace + 1 s ----
# frozen while the objects are read: what it wrote before the signal, exactly
kill -STOP "$op_pid"
if snapshot "$tmp/before"; then
    untouched=$(kc us -n "$ns" get ccs -o jsonpath='{range .items[*]}{.metadata.finalizers}{"\n"}{end}' | grep -c '^$')
    echo "# at SIGTERM: $untouched of $n CrossClusterServices not reconciled yet"
else
    fail setup/snapshot-at-sigterm "could not list the CrossClusterServices"
fi
start=$EPOCHREALTIME
kill -TERM "$op_pid"
kill -CONT "$op_pid"
(sleep 60 && kill -KILL "$op_pid" 2>/dev/null) &
watchdog=$!
wait "$op_pid"
rc=$?
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}')
kill "$watchdog" "$hammer_pid" 2>/dev/null
wait "$watchdog" "$hammer_pid" 2>/dev/null
op_pid="" op_stopped=1
if [ "$rc" -eq 0 ]; then pass shutdown/exit-0; else
    fail shutdown/exit-0 "exit status $rc after ${took}s$([ "$rc" -eq 137 ] && echo ' (killed by the test after 60 s)')"; fi
# from "shutting down" to its last line ("stopped", or the warning of an undrained exit)
t0=$(log_seconds "shutting down") t1=$(log_seconds "")
if [ -z "$t0" ] || [ -z "$t1" ]; then
    fail shutdown/within-grace-plus-1s "no \"shutting down\" line in the operator's log"
else
    own=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    if awk -v t="$own" -v b="$bound" 'BEGIN {exit !(t <= b)}'; then
        pass "shutdown/within-grace-plus-1s (${own}s by its log, ${took}s to exit, grace ${grace}s)"
    else fail shutdown/within-grace-plus-1s "from shutting down to its last log line ${own}s (${took}s to exit), bound ${bound}s (grace ${grace}s + 1 s)"; fi
fi
if [ -s "$tmp/before" ] && snapshot "$tmp/after"; then
    changed=$(comm -13 "$tmp/before" "$tmp/after" | wc -l)
    if [ "$changed" -le 1 ]; then pass "shutdown/no-queued-key-taken ($changed object changed after SIGTERM)"
    else fail shutdown/no-queued-key-taken "$changed CrossClusterServices were written after SIGTERM (one worker: at most the one in flight): $(comm -13 "$tmp/before" "$tmp/after" | head -5 | tr '\n' ' ')"; fi
else fail shutdown/no-queued-key-taken "could not list the CrossClusterServices"; fi
holder=$(kc us -n eastwest-system get lease "$lease" -o jsonpath='{.spec.holderIdentity}' 2>&1)
if [ -z "$holder" ]; then pass shutdown/lease-released; else
    fail shutdown/lease-released "holderIdentity is '$holder'"; fi

clean_up_objects
finish
