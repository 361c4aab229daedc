#!/usr/bin/env bash
# Issue 32, "written from incomplete knowledge", end to end with real istiods: what the
# importer's (us) sidecar is sent for echo.eu.mesh.local, read with the xDS probe
# (hack/xds.sh), stays usable while the operator knows less than before.
#   - restart: the operator restarted (as the chart's identity) while eu's API server is
#     down; past the 60 s in which a reconcile writes nothing, us's ServiceEntry keeps its
#     ports (spec.ports) and eu's endpoint, and the sidecar keeps the cluster and endpoint
#     throughout (the issue: `ports: null` for 90 s);
#   - gone: eu's backing Service deleted (known gone): us stops sending to eu's gateway,
#     the ports stay, Exported and status.clusters[eu] say BackingServiceNotFound; the
#     Service back, the endpoint is back;
#   - conflict: exported from eu and us (active-active) without spec.ports, us's Service
#     with other ports: Conflict=True, PortConflict, naming both clusters and the ports;
#     eu's (first in exportFrom) ports are what us gets.
# Its own suite: it restarts the operator while a member's API server is down.
# Prints PASS/FAIL lines and a "# test_ports: ..." total, like the C tests.
set -uo pipefail
suite=test_ports
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"

if [ ! -x "$EW_XDSPROBE" ] || [ ! -x "$EW_ISTIOD" ]; then
    echo "FAIL $suite/tools: xdsprobe or pilot-discovery not built (run hack/deps.sh)"
    echo "# $suite: 0 passed, 1 failed"
    exit 1
fi
cluster_sh() { bash "$root/hack/cluster.sh" "$@"; }
# shellcheck source=hack/xds.sh
source "$root/hack/xds.sh"

# workload CLUSTER NS NAME APP SA IP: a pod as injection leaves it, running and Ready.
workload() {
    kc "$1" -n "$2" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $3
  labels: {app: $4, security.istio.io/tlsMode: istio, service.istio.io/canonical-name: $4}
spec:
  serviceAccountName: $5
  containers:
  - name: app
    image: example.invalid/$4:1
    ports: [{name: http, containerPort: 8080}]
EOF
    play_pod_status "$1" "$2" "$3" "$6" True
}
echo_service() { # echo_service CLUSTER: Service echo/echo, http 80 -> 8080
    kc "$1" -n echo apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
EOF
}
clean_echo() {
    local c
    for c in us eu; do
        kc "$c" -n echo delete pods --all --grace-period=0 --force >/dev/null 2>&1
        kc "$c" -n echo delete services,serviceaccounts --all >/dev/null 2>&1
    done
}

# What istiod sends a sidecar in us (client pod client-us), in $tmp/xds.json.
us_sidecar() {
    "$EW_XDSPROBE" dump --xds "127.0.0.1:$(cluster_sh istiod-port us xds)" --cluster-id us \
        --timeout 15s --type sidecar --ip 10.10.2.5 --pod client-us --namespace echo \
        --labels app=client --service-account client --locality us-east-1 --meta NETWORK=us-net \
        --meta DNS_CAPTURE=true >"$tmp/xds.json" 2>"$tmp/xds.err"
}
C='outbound|80||echo.eu.mesh.local'
EU_EP='203.0.113.20:15443 eu-west-1 0'
us_endpoints() { us_sidecar && xds_endpoints "$tmp/xds.json" "$C"; }
# sidecar_is NAME WANT SECONDS: what us's sidecar gets for C becomes WANT.
sidecar_is() {
    local end=$((SECONDS + $3)) got
    while true; do
        got=$(us_endpoints)
        if [ "$got" = "$2" ] && [ -n "$(xds_cluster_field "$tmp/xds.json" "$C" .name)" ]; then
            pass "$1"
            return 0
        fi
        if [ "$SECONDS" -ge "$end" ]; then
            fail "$1" "cluster $C: endpoints '$got', want '$2' (no cluster: '$(xds_cluster_field "$tmp/xds.json" "$C" .name)'); probe: $(head -c 200 "$tmp/xds.err")"
            return 1
        fi
        sleep 1
    done
}
se_ports() { kc us -n echo get serviceentries.networking.istio.io echo -o jsonpath='{.spec.ports}' 2>&1; }
se_endpoints() { kc us -n echo get serviceentries.networking.istio.io echo -o jsonpath='{.spec.endpoints[*].address}' 2>&1; }
cond() { # cond TYPE: "STATUS REASON: MESSAGE" of echo/echo's condition
    kc us -n echo get ccs echo -o jsonpath="{.status.conditions[?(@.type==\"$1\")].status} {.status.conditions[?(@.type==\"$1\")].reason}: {.status.conditions[?(@.type==\"$1\")].message}" 2>&1
}
cond_has() { [[ $(cond "$1") == *"$2"* ]]; }
member_reason() { kc us -n echo get ccs echo -o jsonpath="{.status.clusters[?(@.name==\"$1\")].reason}" 2>&1; }

# ---- set-up: the tutorial, with istiods after cacerts (as test_istio) ----------------
for c in us eu; do
    cluster_sh stop-istiod "$c" >/dev/null 2>&1
    kc "$c" -n istio-system delete secret istio-ca-secret --ignore-not-found >/dev/null 2>&1
    kc "$c" -n istio-system delete configmap istio-ca-root-cert --ignore-not-found >/dev/null 2>&1
done
clean_echo
set_up_home
for c in us eu; do
    play_istiod "$c" corp.local training-mesh
    kc "$c" create namespace echo >/dev/null 2>&1
    kc "$c" -n echo create serviceaccount client >/dev/null 2>&1
    kc "$c" -n echo create serviceaccount echo >/dev/null 2>&1
done
echo_service eu
workload eu echo echo-0 echo echo 10.20.1.10
start_operator
kc us apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null
wait_for "gateway Services" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
check setup/cacerts 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
for c in us eu; do check "setup/istiod-$c" 60 cluster_sh start-istiod "$c"; done
play_pod_from_deployment eu istio-system istio-eastwestgateway 10.20.0.100
play_pod_from_deployment us istio-system istio-eastwestgateway 10.10.0.100
check setup/ccs-ready 90 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs echo -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
sidecar_is setup/us-sidecar-gets-eu "$EU_EP" 30
ports0=$(se_ports)
if [[ $ports0 == *'"number":80'* ]]; then pass setup/us-entry-ports; else
    fail setup/us-entry-ports "us's ServiceEntry ports: $ports0"; fi

# ---- restart while the exporter's API server is down ---------------------------------
stop_operator
cluster_sh stop-apiserver eu >/dev/null 2>&1
start_operator
# Sample us's entry until the reconcile past the grace has run (its status says eu is
# connecting), and a few seconds after: every sample must keep the ports and endpoint,
# and every few seconds what istiod sends us's sidecar must still route to eu.
bad="" xbad="" seen=0 end=$((SECONDS + 150)) after=0 n=0
while [ "$SECONDS" -lt "$end" ]; do
    p=$(se_ports) e=$(se_endpoints)
    [ "$p" = "$ports0" ] || bad="$bad ${SECONDS}s: ports $p;"
    [ "$e" = 203.0.113.20 ] || bad="$bad ${SECONDS}s: endpoints '$e';"
    if [ $((n++ % 5)) = 0 ] || [ "$seen" = 1 ]; then
        x=$(us_endpoints)
        [ "$x" = "$EU_EP" ] || xbad="$xbad ${SECONDS}s: '$x';"
    fi
    if [ "$seen" = 1 ]; then
        after=$((after + 1))
        [ "$after" -ge 5 ] && break
    elif cond_has Exported "cluster eu: connecting"; then
        seen=1
    fi
    sleep 1
done
if [ "$seen" = 1 ]; then pass restart/reconciled-past-grace; else
    fail restart/reconciled-past-grace "no status naming eu as connecting in 150 s: $(cond Exported)"; fi
if [ -z "$bad" ]; then pass restart/us-entry-keeps-ports-and-endpoint; else
    fail restart/us-entry-keeps-ports-and-endpoint "$(head -c 600 <<<"$bad") (were $ports0)"; fi
if [ -z "$xbad" ]; then pass restart/us-sidecar-keeps-eu-throughout; else
    fail restart/us-sidecar-keeps-eu-throughout "cluster $C's endpoints:$(head -c 600 <<<"$xbad")"; fi
sidecar_is restart/us-sidecar-keeps-eu "$EU_EP" 5
cluster_sh start-apiserver eu >/dev/null 2>&1
check restart/ccs-ready-after 120 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs echo -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
sidecar_is restart/us-sidecar-after "$EU_EP" 30

# ---- eu's backing Service gone, and back ----------------------------------------------
kc eu -n echo delete service echo --wait=true >/dev/null 2>&1
se_no_endpoint() { # us's entry is there, with no endpoint
    local e
    e=$(kc us -n echo get serviceentries.networking.istio.io echo -o jsonpath='{.spec.endpoints[*].address}') &&
        [ -z "$e" ]
}
check gone/us-entry-no-eu-endpoint 40 se_no_endpoint
sidecar_is gone/us-sidecar-no-eu-endpoint "" 40
if [ "$(se_ports)" = "$ports0" ]; then pass gone/us-entry-keeps-ports; else
    fail gone/us-entry-keeps-ports "ports $(se_ports), were $ports0"; fi
check gone/exported-not-found 20 cond_has Exported "False BackingServiceNotFound: cluster eu: Service echo/echo not found"
check gone/eu-status-reason 20 sh -c "[ \"\$($EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs echo -o jsonpath='{.status.clusters[?(@.name==\"eu\")].reason}')\" = BackingServiceNotFound ]"
echo_service eu
sidecar_is gone/us-sidecar-eu-back "$EU_EP" 40
check gone/ready-again 30 cond_has Ready "True Ready"

# ---- two exporters whose Services differ: the first wins, and it is said --------------
kc us -n echo apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: web, port: 80, targetPort: 9090}, {name: admin, port: 81, targetPort: 9091}]
EOF
kc us -n echo patch ccs echo --type=json -p '[{"op":"remove","path":"/spec/ports"},{"op":"add","path":"/spec/exportFrom/-","value":{"cluster":"us","service":"echo"}}]' >/dev/null
check conflict/port-conflict 30 cond_has Conflict "True PortConflict:"
msg=$(cond Conflict)
miss=""
for part in "cluster eu's Service echo/echo" "cluster us's Service echo/echo" "port 80 is http (HTTP)" "web (TCP)" "port 81 (admin)" "cluster eu's ports are exported"; do
    [[ $msg == *"$part"* ]] || miss="$miss '$part'"
done
if [ -z "$miss" ]; then pass conflict/names-both-and-ports; else
    fail conflict/names-both-and-ports "lacks$miss: $msg"; fi
if [ "$(member_reason us)" = PortConflict ]; then pass conflict/us-status-reason; else
    fail conflict/us-status-reason "status.clusters[us].reason '$(member_reason us)'"; fi
p=$(se_ports)
if [[ $p == *'"name":"http"'* && $p != *'"number":81'* && $p != *'"web"'* ]]; then
    pass conflict/first-exporter-wins
else fail conflict/first-exporter-wins "us's ports $p"; fi
kc us apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null # exportFrom eu, spec.ports
kc us -n echo delete service echo >/dev/null 2>&1
check conflict/gone-with-the-second-exporter 30 cond_has Conflict "False NoConflict"

# ---- clean up ---------------------------------------------------------------------------
kc us -n echo delete ccs --all --timeout=120s >/dev/null 2>&1
kc us delete -f "$root/deploy/examples/tutorial.yaml" --timeout=120s >/dev/null 2>&1
# the next suite starts from nothing: the finalizers ran (the operator still runs)
all_gone() { not_found us meshnetwork training-mesh && not_found us -n echo ccs echo; }
check cleanup/mesh-and-service-gone 120 all_gone
clean_echo
finish
