#!/usr/bin/env bash
# The benchmarks (issue #8): the operator against real local clusters, at several
# numbers of CrossClusterServices, and a table of what it cost.
#
#   bash test/bench/bench.sh                  # sizes 10,100,1000; two clusters
#   bash test/bench/bench.sh --large          # 10, 100, 1000, 5000, 10000
#   bash test/bench/bench.sh --sizes 10,100 --clusters 3 --idle 60
#   EW_BENCH_PERF=1 bash test/bench/bench.sh   # perf profiles: the largest size's convergence, the startup
#
# Per size N (exported from eu, imported to us; with --clusters 3 exported from eu
# and ap): bulk-create N CrossClusterServices and time until every one is Ready and
# every generated object exists (convergence); in the same run, the time a bare
# client (test/bench/bare_client.c, same worker count, no caches) takes to write the
# same objects to the same API servers (the ratio is the operator's overhead over
# what these API servers allow); 20 single changes under a steady state, timed from
# outside (write -> ServiceEntry changed in us, polled every 10 ms) and by the
# operator's eastwest_propagation_seconds; resident memory (now and peak); CPU seconds
# for convergence; API requests by verb per service. Then, at the largest size:
# writes and CPU over --idle seconds (default 300), startup to Ready and to an empty
# work queue with N existing services, relists after an API server restart.
# Clusters live in ${EW_BENCH_DIR:-/tmp/eastwest-bench} (ports from 28400) and are
# stopped at the end.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
# shellcheck source=hack/lib.sh
source hack/lib.sh
# shellcheck source=hack/play.sh
source hack/play.sh
export EW_CLUSTERS_DIR="${EW_BENCH_DIR:-/tmp/eastwest-bench}"
export EW_PORT_BASE="${EW_BENCH_PORT_BASE:-28400}"
sizes=10,100,1000 idle=300 nclusters=2 workers=4
while [ $# -gt 0 ]; do
    case $1 in
    --sizes) sizes=$2; shift ;;
    --large) sizes="10,100,1000,5000,10000" ;;
    --idle) idle=$2; shift ;;
    --clusters) nclusters=$2; shift ;;
    *) echo "usage: bench.sh [--sizes N,N,...] [--large] [--idle SECONDS] [--clusters 2|3]" >&2; exit 2 ;;
    esac
    shift
done
clusters="us eu"
[ "$nclusters" = 3 ] && clusters="us eu ap"
kc() { local c=$1; shift; "$EW_KUBECTL" --kubeconfig "$EW_CLUSTERS_DIR/$c/kubeconfig" "$@"; }
say() { echo "== $*" >&2; }
tmp=$(mktemp -d)
op_pid=""
cleanup() {
    [ -n "$op_pid" ] && kill "$op_pid" 2>/dev/null && wait "$op_pid" 2>/dev/null
    bash hack/cluster.sh down >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
wait_until() { # wait_until SECONDS COMMAND...
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.1
    done
}
metrics() { curl -sf "http://127.0.0.1:$port/metrics"; }
requests_by_verb() { # "get=N list=N ..." summed over clusters
    metrics | awk -F'[{}]' '/^eastwest_api_requests_total\{/ {
        split($2, l, ","); for (i in l) if (l[i] ~ /^verb=/) { v = l[i]; gsub(/verb=|"/, "", v) }
        n = $3; sub(/^ /, "", n); s[v] += n } END { for (v in s) printf "%s=%d ", v, s[v] }'
}
# Writes split three ways: to member clusters; to the home cluster's objects (status,
# finalizers, Events, Secrets: create/patch/delete); the leader's Lease renewals (the
# only updates the operator makes at home: every 2 s, by design).
writes_split() {
    metrics | awk '/^eastwest_api_requests_total\{/ && /verb="(create|update|patch|delete)"/ {
        if ($0 !~ /cluster="home"/) m += $NF; else if ($0 ~ /verb="update"/) l += $NF; else h += $NF }
        END { printf "%d %d %d", m, h, l }'
}
writes_by_cluster() { # "home=N us=N ..." (create, patch, update, delete)
    metrics | awk -F'[{}]' '/^eastwest_api_requests_total\{/ && /verb="(create|update|patch|delete)"/ {
        split($2, l, ","); for (i in l) if (l[i] ~ /^cluster=/) { c = l[i]; gsub(/cluster=|"/, "", c) }
        n = $3; sub(/^ /, "", n); s[c] += n } END { for (c in s) printf "%s=%d ", c, s[c] }'
}
# Writes each API server served, by resource: "us/serviceentries=N ..." (its own
# apiserver_request_total, POST/PATCH/PUT/DELETE/APPLY, every client: the bench's own
# bulk apply of the CRs is in the home's crossclusterservices).
server_writes() {
    local c
    for c in $clusters; do
        kc "$c" get --raw /metrics 2>/dev/null | awk -v c="$c" -F'[{}]' \
            '/^apiserver_request_total\{/ && /verb="(POST|PATCH|PUT|DELETE|APPLY)"/ {
            split($2, l, ","); r = ""; sr = ""
            for (i in l) { if (l[i] ~ /^resource=/) { r = l[i]; gsub(/resource=|"/, "", r) }
                           if (l[i] ~ /^subresource=/) { sr = l[i]; gsub(/subresource=|"/, "", sr) } }
            n = $3; sub(/^ /, "", n); s[r (sr != "" ? "/" sr : "")] += n }
            END { for (r in s) printf "%s/%s=%d ", c, r, s[r] }'
    done
}
# What the watch caches hold, by resource over every cluster and selector:
# "resource objects bytes/object" lines (eastwest_cache_objects, eastwest_cache_bytes).
cache_per_kind() {
    metrics | awk -F'[{}]' '/^eastwest_cache_(objects|bytes)\{/ {
        split($2, l, ","); for (i in l) if (l[i] ~ /^resource=/) { r = l[i]; gsub(/resource=|"/, "", r) }
        n = $3; sub(/^ /, "", n)
        if ($1 ~ /objects/) o[r] += n; else b[r] += n }
        END { for (r in o) if (o[r] > 0) printf "%s %d %.0f\n", r, o[r], b[r] / o[r] }' | sort
}
per_delta() { # per_delta BEFORE AFTER N: "k:v/N ..." for what changed
    python3 - "$1" "$2" "$3" <<'EOF'
import sys
a = dict(kv.split("=") for kv in sys.argv[1].split())
b = dict(kv.split("=") for kv in sys.argv[2].split())
n = int(sys.argv[3])
print(" ".join(f"{v}:{(int(b[v]) - int(a.get(v, 0))) / n:.1f}" for v in sorted(b) if int(b[v]) - int(a.get(v, 0))))
EOF
}
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$op_pid/stat"; }
# CPU seconds of every cluster's kube-apiserver and etcd together (where the rest goes)
servers_cpu() {
    local c f pids=()
    for c in $clusters; do
        for f in kube-apiserver etcd; do pids+=("$(cat "$EW_CLUSTERS_DIR/$c/$f.pid")"); done
    done
    for f in "${pids[@]}"; do cat "/proc/$f/stat"; done |
        awk -v hz="$(getconf CLK_TCK)" '{s += $14 + $15} END {print s / hz}'
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$op_pid/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$op_pid/status"; }
ready_count() { # ready_count NS
    kc us -n "$1" get ccs -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True
}
count() { kc "$1" -n "$2" get "$3" -o name 2>/dev/null | wc -l; }
converged() { # converged NS N
    [ "$(ready_count "$1")" -ge "$2" ] && [ "$(count us "$1" serviceentries.networking.istio.io)" -ge "$2" ] &&
        [ "$(count eu "$1" serviceentries.networking.istio.io)" -ge "$2" ]
}

say "dependencies, build, clusters: $clusters"
bash hack/deps.sh >&2 || exit 1
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null || exit 1
# shellcheck disable=SC2086
bash hack/cluster.sh up $clusters >&2 || exit 1
kc us apply --server-side -f crds/ >/dev/null
kc us wait --for=condition=Established crd/meshnetworks.eastwest.io crd/crossclusterservices.eastwest.io --timeout=60s >/dev/null
kc us create namespace eastwest-system >/dev/null
members="  - {name: us, network: us-net, locality: us-east-1}"
for c in $clusters; do
    play_istiod "$c" corp.local bench-mesh
    [ "$c" = us ] && continue
    kc us -n eastwest-system create secret generic "$c-kubeconfig" --from-file=kubeconfig="$EW_CLUSTERS_DIR/$c/kubeconfig" >/dev/null
    members="$members
  - {name: $c, network: $c-net, locality: $c-1, kubeconfigSecretRef: {name: $c-kubeconfig}}"
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# No istiod runs in the bench: it would compete with the operator for the machine's two
# cores and the figures would measure istiod. What the operator waits for from it, its
# published root after a restart with the plugged-in CA, is written as istiod would.
publish_root_as_istiod() { # publish_root_as_istiod CLUSTER
    local pem
    pem=$(kc "$1" -n istio-system get secret cacerts -o jsonpath='{.data.root-cert\.pem}' |
        base64 -d) || return 1
    [ -n "$pem" ] || return 1
    kc "$1" -n istio-system create configmap istio-ca-root-cert \
        --from-literal=root-cert.pem="$pem" --dry-run=client -o yaml |
        kc "$1" apply -f - >/dev/null
}
start_operator() {
    build/cmd/eastwest-operator/eastwest-operator --kubeconfig "$EW_CLUSTERS_DIR/us/kubeconfig" \
        --namespace eastwest-system --metrics-bind-address "127.0.0.1:$port" --workers "$workers" \
        --log-format json --log-level "${EW_BENCH_LOG_LEVEL:-warn}" 2>>"$EW_CLUSTERS_DIR/operator.log" &
    op_pid=$!
}
start_operator
kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: bench-mesh}
spec:
  meshID: bench-mesh
  trustDomain: corp.local
  clusters:
$members
EOF
for c in $clusters; do
    wait_until 60 kc "$c" -n istio-system get svc istio-eastwestgateway || { echo "no gateway in $c" >&2; exit 1; }
    play_cloud "$c" "203.0.113.$((RANDOM % 200 + 10))"
    wait_until 60 publish_root_as_istiod "$c" || exit 1
done
kc us wait --for=condition=Ready meshnetwork/bench-mesh --timeout=120s >/dev/null || exit 1

exporters="[{cluster: eu}]"
[ "$nclusters" = 3 ] && exporters="[{cluster: eu}, {cluster: ap}]"
gen_services() { # gen_services NS N: each Service with a pod (never scheduled) as
    # ServiceAccount backend: no importer entry is written before an identity is known
    printf -- '---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: backend, namespace: %s}\n' "$1"
    for i in $(seq 1 "$2"); do
        printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: %s}\nspec:\n  selector: {app: s%d}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n' "$i" "$1" "$i"
        printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: s%d-0, namespace: %s, labels: {app: s%d}}\nspec:\n  serviceAccountName: backend\n  containers: [{name: app, image: registry.invalid/app}]\n' "$i" "$1" "$i"
    done
}
gen_ccs() { # gen_ccs NS N
    for i in $(seq 1 "$2"); do
        printf -- '---\napiVersion: eastwest.io/v1alpha1\nkind: CrossClusterService\nmetadata: {name: s%d, namespace: %s}\nspec:\n  meshNetwork: bench-mesh\n  exportFrom: %s\n  importTo: [us]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n' "$i" "$1" "$exporters"
    done
}
# curl against us with the admin client certificate, for 10 ms polling from outside
kc us config view --raw -o jsonpath='{.users[0].user.client-certificate-data}' | base64 -d >"$tmp/admin.crt"
kc us config view --raw -o jsonpath='{.users[0].user.client-key-data}' | base64 -d >"$tmp/admin.key"
kc us config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$tmp/ca.crt"
kc us config view --raw -o jsonpath='{.clusters[0].cluster.server}' >"$tmp/server"
server=$(cat "$tmp/server")
se_port() { # se_port NS NAME: spec.ports[0].number of the ServiceEntry in us
    curl -sf --cacert "$tmp/ca.crt" --cert "$tmp/admin.crt" --key "$tmp/admin.key" \
        "$server/apis/networking.istio.io/v1/namespaces/$1/serviceentries/$2" |
        jq -r '.spec.ports[0].number' 2>/dev/null
}
ccs_patch() { # ccs_patch NS NAME JSONPATCH: the CR write, by curl (no kubectl start-up in the timing)
    curl -sf -o /dev/null --cacert "$tmp/ca.crt" --cert "$tmp/admin.crt" --key "$tmp/admin.key" \
        -X PATCH -H 'Content-Type: application/json-patch+json' --data "$3" \
        "$server/apis/eastwest.io/v1alpha1/namespaces/$1/crossclusterservices/$2"
}
percentile() { # percentile P < numbers
    python3 -c "import sys; v=sorted(float(x) for x in sys.stdin if x.strip()); print(f'{v[min(len(v)-1, int(len(v)*$1/100))]*1000:.0f}' if v else 'n/a')"
}
hist_buckets() { metrics | grep '^eastwest_propagation_seconds_bucket'; }
# hist_quantile Q BEFORE AFTER: the Q quantile (ms, as the bucket's upper bound) of the
# observations between two snapshots of the histogram's buckets.
hist_quantile() {
    python3 - "$@" <<'EOF'
import re, sys
q, before, after = float(sys.argv[1]), sys.argv[2], sys.argv[3]
def parse(t):
    d = {}
    for line in t.splitlines():
        m = re.search(r'le="([^"]+)"\}\s+(\S+)', line)
        if m:
            d[m.group(1)] = d.get(m.group(1), 0) + float(m.group(2))
    return d
b, a = parse(before), parse(after)
les = sorted((float(k) if k != "+Inf" else float("inf"), k) for k in a)
total = a.get("+Inf", 0) - b.get("+Inf", 0)
if total <= 0:
    print("n/a"); sys.exit()
for v, k in les:
    if a[k] - b.get(k, 0) >= q * total:
        print("<=%g" % (v * 1000) if v != float("inf") else ">30000"); break
EOF
}

rows=() server_cpu_rows=() writes_rows=() server_rows=() cache_rows=()
for n in ${sizes//,/ }; do
    ns="bench-$n"
    say "size $n: backing Services"
    for c in $clusters; do kc "$c" create namespace "$ns" >/dev/null; done
    gen_services "$ns" "$n" >"$tmp/svc.yaml"
    for c in $clusters; do [ "$c" = us ] || kc "$c" apply --server-side -f "$tmp/svc.yaml" >/dev/null; done
    gen_ccs "$ns" "$n" >"$tmp/ccs.yaml"
    cpu0=$(cpu_seconds) req0=$(requests_by_verb) scpu0=$(servers_cpu) wc0=$(writes_by_cluster)
    sw0=$(server_writes)
    perf_pid=""
    if [ -n "${EW_BENCH_PERF:-}" ] && [ "$n" = "${sizes##*,}" ] && command -v perf >/dev/null; then
        perf record -q -F 99 --call-graph dwarf,16384 -p "$op_pid" -o "$EW_CLUSTERS_DIR/perf-$n.data" 2>/dev/null &
        perf_pid=$!
    fi
    say "size $n: bulk-create $n CrossClusterServices"
    t0=$(now)
    kc us apply --server-side -f "$tmp/ccs.yaml" >/dev/null
    wait_until 900 converged "$ns" "$n" || { echo "size $n did not converge in 900 s" >&2; exit 1; }
    t1=$(now)
    conv=$(elapsed "$t0" "$t1")
    cpu=$(python3 -c "print(f'{$(cpu_seconds) - $cpu0:.2f}')")
    scpu=$(python3 -c "print(f'{$(servers_cpu) - $scpu0:.1f}')")
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid" && wait "$perf_pid" 2>/dev/null
        perf report -i "$EW_CLUSTERS_DIR/perf-$n.data" --stdio --no-children --sort dso,symbol \
            2>/dev/null | grep -E '^ +[0-9]' | head -n 25 >"$EW_CLUSTERS_DIR/perf-$n.txt"
        # and with callers counted in (which of the operator's functions the time is under)
        perf report -i "$EW_CLUSTERS_DIR/perf-$n.data" --stdio --children --sort symbol -g none \
            2>/dev/null | grep -E '^ +[0-9]' | head -n 60 >"$EW_CLUSTERS_DIR/perf-$n-children.txt"
        say "size $n: the operator's hottest symbols during convergence (perf): $EW_CLUSTERS_DIR/perf-$n.txt"
    fi
    server_cpu_rows+=("N=$n: operator ${cpu} s, kube-apiservers + etcds ${scpu} s")
    req1=$(requests_by_verb) wc1=$(writes_by_cluster)
    per=$(per_delta "$req0" "$req1" "$n")
    writes_rows+=("N=$n: $(per_delta "$wc0" "$wc1" "$n")")
    server_rows+=("N=$n: $(per_delta "$sw0" "$(server_writes)" "$n")")
    cache_rows+=("N=$n: $(cache_per_kind | awk '{printf "%s%s %d x %d B", (NR > 1 ? ", " : ""), $1, $2, $3}')")
    say "size $n: bare client"
    bscpu0=$(servers_cpu)
    bare=$(build/test/bare_client "$EW_CLUSTERS_DIR/us/kubeconfig" "$EW_CLUSTERS_DIR/eu/kubeconfig" "$ns" "$n" "$workers" | awk '{print $(NF-1)}')
    ratio=$(python3 -c "print(f'{$conv / $bare:.2f}')")
    server_cpu_rows+=("N=$n: bare client: kube-apiservers + etcds $(python3 -c "print(f'{$(servers_cpu) - $bscpu0:.1f}')") s (in ${bare} s; it writes and deletes)")
    say "size $n: 20 single changes"
    : >"$tmp/lat"
    h0=$(hist_buckets)
    for k in $(seq 1 20); do
        i=$(((k * 7919) % n + 1))
        want=$((80 + k))
        s0=$(now)
        ccs_patch "$ns" "s$i" "[{\"op\":\"replace\",\"path\":\"/spec/ports/0/number\",\"value\":$want}]"
        until [ "$(se_port "$ns" "s$i")" = "$want" ]; do sleep 0.01; done
        s1=$(now)
        python3 -c "print($s1 - $s0)" >>"$tmp/lat"
    done
    p50=$(percentile 50 <"$tmp/lat") p99=$(percentile 99 <"$tmp/lat")
    h1=$(hist_buckets)
    hist="$(hist_quantile 0.5 "$h0" "$h1")/$(hist_quantile 0.99 "$h0" "$h1")"
    rows+=("$n|$conv|$bare|$ratio|$p50|$p99|$hist|$(($(rss_kib) / 1024))|$(($(hwm_kib) / 1024))|$cpu|$per")
    last_n=$n
done

say "idle ${idle}s at size $last_n"
read -r wm0 wh0 wl0 <<<"$(writes_split)"
c0=$(cpu_seconds)
sleep "$idle"
read -r wm1 wh1 wl1 <<<"$(writes_split)"
idle_cpu=$(python3 -c "print(f'{$(cpu_seconds) - $c0:.2f}')")
# A member's (eu): the home's takes longer to come back than the Lease's renew deadline,
# and a leader that cannot renew rightly steps down and exits.
# Counted as the list requests the operator sent to eu (the client's own counter): a
# relist is a list (so is the Pod list of each reconcile a relist causes).
say "relists after an API server restart (eu)"
eu_lists() { metrics | awk '/^eastwest_api_requests_total\{cluster="eu",verb="list"/ {s += $NF} END {print s + 0}'; }
rl0=$(eu_lists)
bash hack/cluster.sh restart-apiserver eu >/dev/null 2>&1
sleep 15
relists=$(($(eu_lists) - rl0))
say "startup with $last_n existing services"
kill -TERM "$op_pid" && wait "$op_pid" 2>/dev/null
t0=$(now)
start_operator
wait_until 120 curl -sf "http://127.0.0.1:$port/readyz"
t_ready=$(elapsed "$t0" "$(now)")
perf_pid=""
if [ -n "${EW_BENCH_PERF:-}" ] && command -v perf >/dev/null; then
    # from Ready on: perf -p follows the threads that exist when it attaches
    perf record -q -F 99 --call-graph dwarf,16384 -p "$op_pid" -o "$EW_CLUSTERS_DIR/perf-startup.data" 2>/dev/null &
    perf_pid=$!
fi
# Caught up: every CrossClusterService reconciled (successfully) since the start and
# none waiting. (The MeshNetwork's key always waits in the queue: for its next
# certificate check.)
depth_zero() {
    local m
    m=$(metrics)
    [ "$(awk '/^eastwest_workqueue_depth\{controller="crossclusterservice"/ {print $2}' <<<"$m")" = 0 ] &&
        [ "$(awk '/^eastwest_reconcile_total\{controller="crossclusterservice",result="success"/ {print $2}' <<<"$m")" -ge "$last_n" ]
}
wait_until 900 depth_zero
t_idle=$(elapsed "$t0" "$(now)")
read -r sw_members sw_home sw_lease <<<"$(writes_split)" # the new process counts from zero
if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" && wait "$perf_pid" 2>/dev/null
    perf report -i "$EW_CLUSTERS_DIR/perf-startup.data" --stdio --children --sort symbol -g none \
        2>/dev/null | grep -E '^ +[0-9]' | head -n 60 >"$EW_CLUSTERS_DIR/perf-startup-children.txt"
    say "startup: the operator's hottest functions, callers counted in (perf): $EW_CLUSTERS_DIR/perf-startup-children.txt"
fi
startup_rss=$(($(rss_kib) / 1024))

printf '\n%s\n' "eastwest benchmarks: $nclusters clusters ($clusters), $workers workers, $(nproc) cores, $(date -u +%Y-%m-%d)"
printf '%-6s %-9s %-8s %-6s %-8s %-8s %-14s %-7s %-8s %-7s %s\n' N converge bare ratio p50_ms p99_ms hist_p50/p99 rss_MiB peak_MiB cpu_s "requests/service"
for r in "${rows[@]}"; do
    IFS='|' read -r n conv bare ratio p50 p99 hist rss hwm cpu per <<<"$r"
    printf '%-6s %-9s %-8s %-6s %-8s %-8s %-14s %-7s %-8s %-7s %s\n' "$n" "${conv}s" "${bare}s" "$ratio" "$p50" "$p99" "$hist" "$rss" "$hwm" "$cpu" "$per"
done
printf '\nCPU seconds during convergence:\n'
printf '  %s\n' "${server_cpu_rows[@]}"
printf '\nwrites per service during convergence, by cluster (create, patch, update, delete):\n'
printf '  %s\n' "${writes_rows[@]}"
printf '\nwrites per service the API servers served during convergence, by cluster and resource (any client):\n'
printf '  %s\n' "${server_rows[@]}"
printf '\nwatch caches after convergence (resource: objects x estimated heap bytes per object):\n'
printf '  %s\n' "${cache_rows[@]}"
printf '\nidle %ss at N=%s: %s writes to members, %s to home objects, %s Lease renewals; %s s CPU\n' \
    "$idle" "$last_n" "$((wm1 - wm0))" "$((wh1 - wh0))" "$((wl1 - wl0))" "$idle_cpu"
printf 'list requests to eu in the 15 s after its kube-apiserver restarted (relists, and the Pod lists of reconciles they cause): %s\n' "$relists"
printf 'startup with N=%s: /readyz in %ss, every service reconciled in %ss, %s MiB resident; writes meanwhile: %s to members, %s to home objects, %s Lease\n' \
    "$last_n" "$t_ready" "$t_idle" "$startup_rss" "$sw_members" "$sw_home" "$sw_lease"
