#!/usr/bin/env bash
# The README's main command (hack/demo.sh) from a clean state: its own clusters in a
# fresh directory, the operator, the tutorial's example; run through pipes, it must
# return (what it leaves running holds none of them); checks what it printed, then
# stops its clusters. Prints PASS/FAIL lines and a "# test_demo: ..." total.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
passed=0 failed=0
pass() { echo "PASS test_demo/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL test_demo/$1: $2"; failed=$((failed + 1)); }
demo_dir=$(mktemp -d /tmp/eastwest-demo-test.XXXXXX)
rmdir "$demo_dir" # the demo starts from nothing
out=$(mktemp)
cleanup() {
    # The demo leaves its operator running; stop it before its clusters.
    if [ -s "$demo_dir/operator.pid" ]; then kill "$(cat "$demo_dir/operator.pid")" 2>/dev/null; fi
    EW_CLUSTERS_DIR="$demo_dir" bash "$root/hack/cluster.sh" down >/dev/null 2>&1
    rm -rf "$demo_dir" "$out"
}
trap cleanup EXIT

# As a user runs it: through pipes (`bash hack/demo.sh | tee demo.txt`, or
# out=$(bash hack/demo.sh)). Once the demo has exited, its stdout and stderr must close:
# what it leaves running (the operator, the clusters' etcd, kube-apiserver and istiod)
# holds neither, or the caller's pipe never ends. Two fifos stand for the pipes; their
# readers must see end-of-file within 15 s of the demo's exit.
fifos=$(mktemp -d)
mkfifo "$fifos/out" "$fifos/err"
cat "$fifos/out" >"$out" &
out_reader=$!
cat "$fifos/err" >"$out.err" &
err_reader=$!
EW_DEMO_DIR="$demo_dir" EW_DEMO_PORT_BASE="${EW_DEMO_TEST_PORT_BASE:-28100}" \
    timeout 600 bash "$root/hack/demo.sh" >"$fifos/out" 2>"$fifos/err"
rc=$?
readers_done() { ! kill -0 "$out_reader" 2>/dev/null && ! kill -0 "$err_reader" 2>/dev/null; }
end=$((SECONDS + 15))
until readers_done || [ "$SECONDS" -ge "$end" ]; do sleep 0.2; done
if readers_done; then
    pass returns
else
    holders=$(for fd in /proc/[0-9]*/fd/*; do
        if [[ $(readlink "$fd" 2>/dev/null) == "$fifos"/* ]]; then
            p=${fd#/proc/} && p=${p%%/*}
            [ "$p" = "$out_reader" ] || [ "$p" = "$err_reader" ] || echo "$p($(cat "/proc/$p/comm"))"
        fi
    done 2>/dev/null | sort -u | tr '\n' ' ')
    fail returns "the demo exited (status $rc) but its stdout/stderr stayed open 15 s later, held by: $holders"
    kill "$out_reader" "$err_reader" 2>/dev/null
fi
wait "$out_reader" "$err_reader" 2>/dev/null
rm -rf "$fifos"
if [ "$rc" -eq 0 ]; then
    pass runs
else
    fail runs "exit status $rc: $(tail -n 20 "$out.err")"
fi
expect() { # expect NAME REGEX: a line of the output matches
    if grep -qE "$2" "$out"; then pass "$1"; else fail "$1" "no line matches /$2/ in: $(cat "$out")"; fi
}
expect meshnet-ready 'meshnetwork.eastwest.io/training-mesh +training-mesh +2/2 +True +AllClustersReady'
expect ccs-ready 'crossclusterservice.eastwest.io/echo +echo.eu.mesh.local +240.0.0.2 +eu +us +True'
expect service-entry-host '^  - echo.eu.mesh.local$'
expect service-entry-endpoint 'address: 203.0.113.20'
expect service-entry-locality 'locality: eu-west-1'
expect service-entry-port 'http: 15443'
expect service-entry-mesh-internal 'location: MESH_INTERNAL'
expect destination-rule-mtls '"mode":"ISTIO_MUTUAL"'
expect xds-dns '^  DNS +echo.eu.mesh.local -> 240.0.0.2 '
expect xds-route '^  route +80 echo.eu.mesh.local:80, domains .*240.0.0.2'
expect xds-endpoint "^  endpoint +203.0.113.20:15443 \(eu's gateway\), locality eu-west-1$"
expect xds-mtls '^  mTLS +SNI outbound_.80_._.echo.eu.mesh.local, accepts only spiffe://corp.local/ns/echo/sa/echo$'
expect xds-gateway-chain '^  chain +server name outbound_.80_._.echo.eu.mesh.local -> cluster outbound_.80_._.echo.eu.mesh.local$'
expect xds-gateway-endpoint '^  endpoint +10.20.1.10:8080 \(the echo pod'
if [ -s "$demo_dir/operator.pid" ] && kill -0 "$(cat "$demo_dir/operator.pid")" 2>/dev/null; then
    pass operator-left-running
else fail operator-left-running "no live pid in $demo_dir/operator.pid"; fi
expect how-to-stop "kill .*operator.pid.*EW_CLUSTERS_DIR=$demo_dir bash hack/cluster.sh down"
rm -f "$out.err"
echo "# test_demo: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
