#!/usr/bin/env bash
# The CrossClusterService controller end to end, against real clusters: the
# tutorial's echo exported from eu to us; hostname and multi-address load
# balancers; a backing Service's port change; a host conflict; partitions with
# KeepLastKnown and Withdraw; three clusters exported from two; deletion. Every
# ServiceEntry and DestinationRule is validated by Istio's CRDs in the API server.
#
# Prints PASS/FAIL lines and a "# test_ccs: ..." total, like the C tests.
set -uo pipefail
suite=test_ccs
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"

# A backing Service and one (Pending) pod with its own service account.
backing_service() { # backing_service CLUSTER NAME PORT [PORTNAME]
    kc "$1" create namespace echo >/dev/null 2>&1
    kc "$1" -n echo apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: $2-sa}
---
apiVersion: v1
kind: Service
metadata: {name: $2}
spec:
  selector: {app: $2}
  ports: [{name: ${4:-http}, port: $3, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: $2-0, labels: {app: $2}}
spec:
  serviceAccountName: $2-sa
  containers: [{name: app, image: example.invalid/$2:1}]
EOF
}
se() { # se CLUSTER NAME JSONPATH
    kc "$1" -n echo get serviceentries.networking.istio.io "$2" -o jsonpath="$3" 2>/dev/null
}
dr() { kc "$1" -n echo get destinationrules.networking.istio.io "$2" -o jsonpath="$3" 2>/dev/null; }
se_is() { [ "$(se "$1" "$2" "$3")" = "$4" ]; }
ccs_cond() { kc us -n echo get ccs "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}/{.status.conditions[?(@.type==\"$2\")].reason}"; }
ccs_cond_is() { [ "$(ccs_cond "$1" "$2")" = "$3" ]; }
mesh_ready() { kc us get meshnetwork training-mesh -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -qx True; }

# ---- set-up: the tutorial, with istiod and the cloud played ----
set_up_home
kc us create namespace echo >/dev/null 2>&1
for c in us eu; do play_istiod "$c" corp.local training-mesh; done
backing_service eu echo 80
start_operator
kc us apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null
wait_for "gateway Services" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
wait_for "cacerts" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
for c in us eu; do restart_istiod "$c"; done
check mesh-ready 60 mesh_ready

# ---- the tutorial converges ----
check tutorial/ccs-ready 30 ccs_cond_is echo Ready True/Ready
check tutorial/us-service-entry 20 se_is us echo '{.spec.hosts} {.spec.addresses} {.spec.location} {.spec.resolution} {.spec.endpoints[0].address} {.spec.endpoints[0].ports.http} {.spec.endpoints[0].locality} {.spec.ports[0].number} {.spec.ports[0].protocol}' '["echo.eu.mesh.local"] ["240.0.0.2"] MESH_INTERNAL STATIC 203.0.113.20 15443 eu-west-1 80 HTTP'
if [ "$failed" -gt 0 ]; then echo "us ServiceEntry: $(se us echo '{.spec}')" >&2; fi
out=$(se us echo '{.spec.subjectAltNames}')
if [ "$out" = '["spiffe://corp.local/ns/echo/sa/echo-sa"]' ]; then pass tutorial/us-san-pinned; else
    fail tutorial/us-san-pinned "got '$out'"; fi
out=$(dr us echo '{.spec.host} {.spec.trafficPolicy.tls.mode} {.spec.trafficPolicy.outlierDetection}')
if [ "$out" = 'echo.eu.mesh.local ISTIO_MUTUAL ' ]; then pass tutorial/us-destination-rule; else
    fail tutorial/us-destination-rule "got '$out'"; fi
out=$(se eu echo '{.spec.hosts} {.spec.location} {.spec.resolution} {.spec.workloadSelector.labels.app} {.spec.ports[0].targetPort}')
if [ "$out" = '["echo.eu.mesh.local"] MESH_INTERNAL STATIC echo 8080' ]; then pass tutorial/eu-service-entry; else
    fail tutorial/eu-service-entry "got '$out'"; fi
if not_found eu -n echo destinationrules.networking.istio.io echo; then pass tutorial/no-dr-in-exporter; else
    fail tutorial/no-dr-in-exporter "eu (export only) has a DestinationRule, or it cannot be read: $(kc eu -n echo get destinationrules.networking.istio.io echo -o name 2>&1)"; fi
out=$(kc us -n echo get ccs echo 2>&1)
if grep -q 'echo.eu.mesh.local *240.0.0.2 *eu *us *True' <<<"$out"; then pass tutorial/printer-columns; else
    fail tutorial/printer-columns "$out"; fi
out=$(kc us -n echo get ccs echo -o jsonpath='{.status.clusters[?(@.name=="us")].gateways} {.status.clusters[?(@.name=="eu")].endpoints} {.status.observedGeneration}')
if [ "$out" = '["203.0.113.20:15443"] 1 1' ]; then pass tutorial/status-clusters; else
    fail tutorial/status-clusters "got '$out'"; fi

# ---- gateway addresses: hostnames, several, changes ----
# Three changes, each one reconcile of echo that writes (nothing else changes meanwhile):
# eastwest_propagation_seconds observes each such reconcile once.
propagations() { metric_sum "$port" '/^eastwest_propagation_seconds_count\{/ && /controller="crossclusterservice"/'; }
# the count once it has held still for 2 s (set-up's own writes done)
prop_steady() { local a b; a=$(propagations) && sleep 2 && b=$(propagations) && [ "$a" = "$b" ] && echo "$b"; }
prop_before=""
for _ in 1 2 3 4 5; do prop_before=$(prop_steady) && break; done
play_cloud eu a1b2.elb.eu-west-1.amazonaws.com
check lb/hostname-gives-dns 20 se_is us echo '{.spec.resolution} {.spec.endpoints[0].address}' 'DNS a1b2.elb.eu-west-1.amazonaws.com'
play_cloud eu 203.0.113.21 203.0.113.22
check lb/two-ips-two-endpoints 20 se_is us echo '{.spec.resolution} {.spec.endpoints[*].address}' 'STATIC 203.0.113.21 203.0.113.22'
play_cloud eu 203.0.113.20
check lb/one-ip-again 20 se_is us echo '{.spec.resolution} {.spec.endpoints[*].address}' 'STATIC 203.0.113.20'
prop_is() { [ "$(propagations)" = "$1" ]; }
if [ -z "$prop_before" ]; then
    fail metrics/propagation-histogram "before the changes the count was unreadable or still moving"
elif wait_for "3 more propagations" 10 prop_is $((prop_before + 3)) && sleep 2 && prop_is $((prop_before + 3)); then
    pass metrics/propagation-histogram
else fail metrics/propagation-histogram "count went from $prop_before to '$(propagations)' for 3 changes"; fi

# ---- ports follow the backing Service when the spec names none ----
backing_service eu web 8000 http-web
kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: web, namespace: echo}
spec:
  meshNetwork: training-mesh
  exportFrom: [{cluster: eu}]
  partitionPolicy: Withdraw
EOF
check gateway/hosts-exactly-exported 30 sh -c "$EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get gateways.networking.istio.io cross-network-gateway -o jsonpath='{.spec.servers[0].hosts}' | grep -qx '\[\"echo.eu.mesh.local\",\"web.echo.training-mesh.global\"\]'"
check ports/from-service 30 se_is us web '{.spec.ports[0].number} {.spec.ports[0].name} {.spec.ports[0].protocol} {.spec.hosts}' '8000 http-web HTTP ["web.echo.training-mesh.global"]'
out=$(kc us -n echo get ccs web -o jsonpath='{.status.address}')
if [[ $out == 240.240.* ]]; then pass ports/vip-allocated; else fail ports/vip-allocated "address '$out' not in 240.240.0.0/16"; fi
kc eu -n echo patch service web --type=json -p '[{"op":"replace","path":"/spec/ports/0/port","value":8001}]' >/dev/null
check ports/importer-follows 20 se_is us web '{.spec.ports[0].number}' 8001
check ports/exporter-follows 20 se_is eu web '{.spec.ports[0].number} {.spec.ports[0].targetPort}' '8001 8080'

# ---- a named targetPort: the exporter's ServiceEntry port takes that name ----
# istiod gives a selected pod the container port named like the ServiceEntry port (then
# the port's targetPort, then its number): a named targetPort must be the port's name.
kc eu -n echo apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: named}
spec:
  selector: {app: named}
  ports: [{name: http, port: 80, targetPort: http-echo}, {name: http-alt, port: 8000, targetPort: 8080}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: named-sa}
---
apiVersion: v1
kind: Pod
metadata: {name: named-0, labels: {app: named}}
spec:
  serviceAccountName: named-sa
  containers: [{name: app, image: example.invalid/named:1}]
EOF
kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: named, namespace: echo}
spec:
  meshNetwork: training-mesh
  exportFrom: [{cluster: eu}]
EOF
check named-port/exporter-port-named-after-it 30 se_is eu named '{.spec.ports[0].name} {.spec.ports[0].number} {.spec.ports[0].targetPort}|{.spec.ports[1].name} {.spec.ports[1].targetPort}' 'http-echo 80 |http-alt 8080'
check named-port/importer-keeps-service-port-name 20 se_is us named '{.spec.ports[0].name} {.spec.endpoints[0].ports.http}' 'http 15443'
# two ports with one targetPort name: said, naming it, and nothing wrong written
kc eu -n echo patch service named --type=json -p '[{"op":"replace","path":"/spec/ports/1/targetPort","value":"http-echo"}]' >/dev/null
check named-port/duplicate-name-reported 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs named -o jsonpath='{.status.conditions[?(@.type==\"Exported\")].status} {.status.conditions[?(@.type==\"Exported\")].message}' | grep -q '^False .*ports 80 (http) and 8000 (http-alt) both have targetPort http-echo'"
if se_is eu named '{.spec.ports[1].name} {.spec.ports[1].targetPort}' 'http-alt 8080'; then
    pass named-port/duplicate-writes-nothing; else
    fail named-port/duplicate-writes-nothing "eu ServiceEntry ports: $(se eu named '{.spec.ports}')"; fi
kc us -n echo delete ccs named --timeout=60s >/dev/null 2>&1

# ---- subjectAltNames follow the exporter's pods as they change ----
# The pods are watched: a pod added, deleted or replaced by one with another service
# account changes the importer's pinning within seconds, with nothing else happening.
sans_are() { # the us ServiceEntry's subjectAltNames, sorted, one space after each
    [ "$(se us pinned '{range .spec.subjectAltNames[*]}{@}{"\n"}{end}' | sort | tr '\n' ' ')" = "$1" ]
}
pinned_pod() { # pinned_pod NAME SERVICEACCOUNT
    kc eu -n echo apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: pinned}}
spec:
  serviceAccountName: $2
  containers: [{name: app, image: example.invalid/pinned:1}]
EOF
}
id=spiffe://corp.local/ns/echo/sa
kc eu -n echo apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: pinned-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: pinned-b}
---
apiVersion: v1
kind: Service
metadata: {name: pinned}
spec:
  selector: {app: pinned}
  ports: [{name: http, port: 80, targetPort: 8080}]
EOF
kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: pinned, namespace: echo}
spec:
  meshNetwork: training-mesh
  exportFrom: [{cluster: eu}]
EOF
# Issue 31: an importer entry without subjectAltNames would accept any workload of the
# mesh. None is written while no identity was ever known (the Service selects no pod):
# the CrossClusterService waits, saying so; the exporter's own entry is written. A watch
# of us's entries records every version written, from here to the end of this part.
kc us -n echo get serviceentries.networking.istio.io --field-selector metadata.name=pinned -w \
    -o jsonpath='{.metadata.name}|{.spec.subjectAltNames}{"\n"}' >"$tmp/pinned-watch" 2>/dev/null &
pinned_watch=$!
check sans/no-pods-waits-for-identity 30 ccs_cond_is pinned Ready False/WaitingForIdentity
check sans/no-pods-exporter-written 30 se_is eu pinned '{.spec.hosts}' '["pinned.echo.training-mesh.global"]'
if not_found us -n echo serviceentries.networking.istio.io pinned; then pass sans/no-pods-no-importer-entry; else
    fail sans/no-pods-no-importer-entry "us has it, subjectAltNames '$(se us pinned '{.spec.subjectAltNames}')'"; fi
msg=$(kc us -n echo get ccs pinned -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')
if grep -q 'exported from eu' <<<"$msg"; then pass sans/waiting-names-exporter; else fail sans/waiting-names-exporter "$msg"; fi
if [ "$(kc us -n echo get events --field-selector reason=WaitingForIdentity -o name | wc -l)" -ge 1 ]; then
    pass sans/waiting-event; else fail sans/waiting-event "no Event WaitingForIdentity in echo"; fi
sleep 2 # the writes' own watch events have been reconciled: from here only pods change
pinned_pod pinned-1 pinned-a
check sans/pods-appear-pinned 10 sans_are "$id/pinned-a "
pinned_pod pinned-2 pinned-b
check sans/pod-added 10 sans_are "$id/pinned-a $id/pinned-b "
kc eu -n echo delete pod pinned-1 --wait=true >/dev/null
check sans/pod-deleted 10 sans_are "$id/pinned-b "
# the service account changes: the pod is replaced by one running as another
kc eu -n echo delete pod pinned-2 --wait=true >/dev/null
pinned_pod pinned-3 pinned-a
check sans/service-account-changed 10 sans_are "$id/pinned-a "
check sans/endpoints-counted 10 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs pinned -o jsonpath='{.status.clusters[?(@.name==\"eu\")].endpoints}' | grep -qx 1"
# every pod gone (a scale to zero): the last known identities stay pinned
kc eu -n echo delete pod pinned-3 --wait=true >/dev/null
check sans/no-pod-left-counted 10 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs pinned -o jsonpath='{.status.clusters[?(@.name==\"eu\")].endpoints}' | grep -qx 0"
if sans_are "$id/pinned-a "; then pass sans/no-pod-left-keeps-last-known; else
    fail sans/no-pod-left-keeps-last-known "subjectAltNames '$(se us pinned '{.spec.subjectAltNames}')'"; fi
kill "$pinned_watch" 2>/dev/null
wait "$pinned_watch" 2>/dev/null
empty=$(grep -c '^pinned|$' "$tmp/pinned-watch")
if [ "$(grep -c '^pinned|' "$tmp/pinned-watch")" -ge 1 ] && [ "$empty" = 0 ]; then
    pass "sans/never-written-without-subjectaltnames ($(grep -c . "$tmp/pinned-watch") versions seen)"
else fail sans/never-written-without-subjectaltnames "$empty of $(grep -c . "$tmp/pinned-watch") versions of us's entry had no subjectAltNames"; fi
kc us -n echo delete ccs pinned --timeout=60s >/dev/null 2>&1

# ---- conflicts: the newer claimant of a host writes nothing ----
kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: echo-again, namespace: echo}
spec:
  meshNetwork: training-mesh
  host: echo.eu.mesh.local
  exportFrom: [{cluster: eu, service: echo}]
EOF
check conflict/newer-refused 20 ccs_cond_is echo-again Conflict True/Conflict
msg=$(kc us -n echo get ccs echo-again -o jsonpath='{.status.conditions[?(@.type=="Conflict")].message}')
if grep -q 'echo/echo' <<<"$msg"; then pass conflict/names-the-other; else fail conflict/names-the-other "$msg"; fi
if not_found us -n echo serviceentries.networking.istio.io echo-again &&
    not_found eu -n echo serviceentries.networking.istio.io echo-again && ccs_cond_is echo Ready True/Ready; then
    pass conflict/older-unaffected-newer-writes-nothing
else fail conflict/older-unaffected-newer-writes-nothing "echo-again wrote, or echo lost Ready"; fi
kc us -n echo delete ccs echo-again --timeout=30s >/dev/null 2>&1

# ---- partitions: KeepLastKnown (echo) keeps, Withdraw (web) drops, then restores ----
bash "$root/hack/cluster.sh" stop-apiserver eu >/dev/null 2>&1
withdrawn() { # us's ServiceEntry web is there, for its host, with no endpoint
    local j
    j=$(kc us -n echo get serviceentries.networking.istio.io web -o json) &&
        jq -e '.spec.hosts == ["web.echo.training-mesh.global"] and ((.spec.endpoints // []) | length == 0)' <<<"$j" >/dev/null
}
check partition/withdraw-drops-endpoints 40 withdrawn
check partition/withdraw-not-imported 20 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs web -o jsonpath='{.status.conditions[?(@.type==\"Imported\")].message}' | grep -q 'cluster us: no endpoint'"
if se_is us echo '{.spec.endpoints[0].address}' 203.0.113.20; then pass partition/keep-last-known; else
    fail partition/keep-last-known "got '$(se us echo '{.spec.endpoints}')'"; fi
bash "$root/hack/cluster.sh" start-apiserver eu >/dev/null 2>&1
check partition/withdraw-restored 60 se_is us web '{.spec.endpoints[0].address}' 203.0.113.20

# ---- three clusters, exported from two ----
if bash "$root/hack/cluster.sh" up ap >"$tmp/ap.out" 2>&1; then
    play_istiod ap corp.local training-mesh
    backing_service ap multi 9090
    backing_service eu multi 9090
    link_member ap ap-kubeconfig
    kc us patch meshnetwork training-mesh --type=json -p '[{"op":"add","path":"/spec/clusters/-","value":{"name":"ap","network":"ap-net","locality":"ap-south-1","kubeconfigSecretRef":{"name":"ap-kubeconfig"}}}]' >/dev/null
    wait_for "ap gateway" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/ap/kubeconfig -n istio-system get svc istio-eastwestgateway"
    play_cloud ap 203.0.113.30
    kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: multi, namespace: echo}
spec:
  meshNetwork: training-mesh
  exportFrom: [{cluster: eu}, {cluster: ap}]
  importTo: [us]
EOF
    check three/both-gateways 40 se_is us multi '{.spec.endpoints[*].address} {.spec.endpoints[*].locality}' '203.0.113.20 203.0.113.30 eu-west-1 ap-south-1'
    out=$(dr us multi '{.spec.trafficPolicy.outlierDetection.consecutive5xxErrors} {.spec.trafficPolicy.outlierDetection.baseEjectionTime} {.spec.trafficPolicy.loadBalancer.localityLbSetting.enabled}')
    if [ "$out" = '5 30s true' ]; then pass three/outlier-and-locality-lb; else
        fail three/outlier-and-locality-lb "got '$out'"; fi
    check three/exporters-select-workloads 20 sh -c "$EW_KUBECTL --kubeconfig $dir/ap/kubeconfig -n echo get serviceentries.networking.istio.io multi -o jsonpath='{.spec.workloadSelector.labels.app}' | grep -qx multi"
else
    fail three/cluster-up "$(tail -n 5 "$tmp/ap.out")"
fi

# ---- the home cluster exports: us's gateway and us's pods (the chart's home rules) ----
backing_service us homesvc 8080
kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: homesvc, namespace: echo}
spec:
  meshNetwork: training-mesh
  exportFrom: [{cluster: us}]
  importTo: [eu]
EOF
check home/eu-imports-through-us-gateway 40 se_is eu homesvc '{.spec.endpoints[0].address} {.spec.subjectAltNames[0]}' \
    '203.0.113.10 spiffe://corp.local/ns/echo/sa/homesvc-sa'
check home/us-selects-its-pods 20 se_is us homesvc '{.spec.workloadSelector.labels.app}' homesvc
check home/us-gateway-routes-host 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get gateways.networking.istio.io cross-network-gateway -o jsonpath='{.spec.servers[0].hosts}' | grep -q homesvc.echo.training-mesh.global"
kc us -n echo delete ccs homesvc --timeout=60s >/dev/null 2>&1
check home/eu-import-gone 30 not_found eu -n echo serviceentries.networking.istio.io homesvc
kc us -n echo delete pod/homesvc-0 service/homesvc serviceaccount/homesvc-sa --ignore-not-found >/dev/null 2>&1

# ---- deletion removes its objects from every member ----
kc us -n echo delete ccs echo --timeout=60s >/dev/null 2>&1
us_gone() { not_found us -n echo serviceentries.networking.istio.io echo && not_found us -n echo destinationrules.networking.istio.io echo; }
check delete/us-objects-gone 30 us_gone
check delete/eu-objects-gone 30 not_found eu -n echo serviceentries.networking.istio.io echo
if not_found us -n echo ccs echo; then pass delete/finalizer-released; else
    fail delete/finalizer-released "ccs echo still there, or unreadable: $(kc us -n echo get ccs echo -o name 2>&1)"; fi
for c in multi web; do kc us -n echo delete ccs "$c" --timeout=60s >/dev/null 2>&1; done
kc us delete meshnetwork training-mesh --timeout=90s >/dev/null 2>&1
# ---- leave as found: the backing Services, pods and service accounts made here (a later
# suite's tutorial_prepare cannot change echo-0's service account: a pod's is immutable) ----
for c in us eu ap; do
    kc "$c" -n echo delete --ignore-not-found pod/echo-0 pod/web-0 pod/named-0 pod/multi-0 \
        pod/pinned-1 pod/pinned-2 pod/pinned-3 service/echo service/web service/named \
        service/multi service/pinned serviceaccount/echo-sa serviceaccount/web-sa \
        serviceaccount/named-sa serviceaccount/multi-sa serviceaccount/pinned-a \
        serviceaccount/pinned-b >/dev/null 2>&1
done
finish
