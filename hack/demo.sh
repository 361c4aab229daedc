#!/usr/bin/env bash
# The main job, on an embedded default: two local clusters (us, eu), the operator,
# the tutorial's example (deploy/examples/tutorial.yaml), what it wrote, and the path
# Istio's own control plane computed from it.
#
#   bash hack/demo.sh
#
# Installs what is missing (hack/deps.sh), builds, starts clusters us and eu
# (real etcd + kube-apiserver each, with Istio's CRDs, and a real istiod each),
# installs the eastwest CRDs, runs eastwest-operator against us (the home cluster) as
# the chart's ServiceAccount with the chart's RBAC, with eu linked by `kubectl eastwest
# link` (a least-privilege identity in eu, its kubeconfig in a Secret), applies the example, plays what local clusters
# lack (the kubelet's pod status and the cloud's load balancer addresses, see
# hack/play.sh), restarts each istiod once cacerts is there (the real-world step),
# waits for Ready, prints `kubectl get meshnet,ccs` and the ServiceEntry written in us,
# and ends with what istiod sends: the us client's route to echo.eu.mesh.local and the
# eu gateway's filter chain to the echo pod (read with hack/tools/istio/xdsprobe).
# The operator and the clusters stay up for a look around (holding none of the caller's
# terminal or pipes: `bash hack/demo.sh | tee demo.txt` returns); the last lines say how to
# reach and stop them. EW_DEMO_DIR (default /tmp/eastwest-demo) and EW_DEMO_PORT_BASE
# (28000) keep them apart from test clusters.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=hack/lib.sh
source hack/lib.sh
# shellcheck source=hack/play.sh
source hack/play.sh
# shellcheck source=hack/xds.sh
source hack/xds.sh
export EW_CLUSTERS_DIR="${EW_DEMO_DIR:-/tmp/eastwest-demo}"
export EW_PORT_BASE="${EW_DEMO_PORT_BASE:-28000}"
kc() { local c=$1; shift; "$EW_KUBECTL" --kubeconfig "$EW_CLUSTERS_DIR/$c/kubeconfig" "$@"; }
say() { echo "== $*" >&2; }
op_pid=""
# On failure the operator is stopped; on success it is left running (its pid in
# $EW_CLUSTERS_DIR/operator.pid).
trap '[ -n "$op_pid" ] && kill "$op_pid" 2>/dev/null; true' EXIT

wait_until() { # wait_until SECONDS WHAT COMMAND...
    local secs=$1 what=$2 end=$((SECONDS + $1))
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$end" ] || { echo "demo: timed out after ${secs}s: $what" >&2; return 1; }
        sleep 0.5
    done
}

say "dependencies and build"
bash hack/deps.sh >&2
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

say "clusters us and eu"
bash hack/cluster.sh up us eu >&2
kc us apply --server-side -f crds/ >/dev/null
kc us wait --for=condition=Established crd/meshnetworks.eastwest.io \
    crd/crossclusterservices.eastwest.io --timeout=60s >/dev/null
kc us create namespace eastwest-system --dry-run=client -o yaml | kc us apply -f - >/dev/null
for c in us eu; do play_istiod "$c" corp.local training-mesh; done
say "the operator's identity in us: the chart's ServiceAccount and RBAC (helm template)"
"$EW_HELM" template eastwest charts/eastwest-operator -n eastwest-system \
    --show-only templates/serviceaccount.yaml --show-only templates/role.yaml \
    --show-only templates/clusterrole.yaml | kc us apply -f - >/dev/null
say "eu linked: kubectl eastwest link eu (its least-privilege identity, Secret prod-eu-west-1)"
KUBECONFIG="$EW_CLUSTERS_DIR/us/kubeconfig:$EW_CLUSTERS_DIR/eu/kubeconfig" \
    build/cmd/kubectl-eastwest/kubectl-eastwest link eu --context eu --home-context us \
    --secret-name prod-eu-west-1 >/dev/null
# echo in eu: the Service the example exports, and a pod (no kubelet: it stays Pending)
kc eu create namespace echo --dry-run=client -o yaml | kc eu apply -f - >/dev/null
kc eu -n echo apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata: {name: echo}
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
metadata: {name: echo-0, labels: {app: echo, security.istio.io/tlsMode: istio}}
spec:
  serviceAccountName: echo
  containers:
  - name: echo
    image: registry.k8s.io/e2e-test-images/agnhost:2.45
    args: [netexec, --http-port=8080]
    ports: [{name: http, containerPort: 8080}]
EOF
say "playing the kubelet: echo-0 running and Ready at 10.20.1.10"
play_pod_status eu echo echo-0 10.20.1.10 True
kc us create namespace echo --dry-run=client -o yaml | kc us apply -f - >/dev/null

say "eastwest-operator (log: $EW_CLUSTERS_DIR/operator.log)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# as a pod of the chart runs it: its ServiceAccount's token, us's CA and namespace where
# the kubelet mounts them (EASTWEST_SERVICEACCOUNT_DIR stands in for that directory)
sa="$EW_CLUSTERS_DIR/operator-serviceaccount"
mkdir -p "$sa"
kc us -n eastwest-system create token eastwest-operator --duration=24h >"$sa/token"
cp "$EW_CLUSTERS_DIR/us/ca.crt" "$sa/ca.crt"
printf eastwest-system >"$sa/namespace"
# It outlives the demo, so it holds none of the caller's terminal or pipes (`bash
# hack/demo.sh | tee demo.txt` and out=$(bash hack/demo.sh) return): a session of its
# own (setsid: no controlling terminal; not a fork here, so $! is its pid), stdin from
# /dev/null, stdout and stderr to its log. The clusters' processes are started the same
# way by hack/cluster.sh.
setsid env -u KUBECONFIG EASTWEST_SERVICEACCOUNT_DIR="$sa" KUBERNETES_SERVICE_HOST=127.0.0.1 \
    KUBERNETES_SERVICE_PORT="$(cat "$EW_CLUSTERS_DIR/us/apiserver.port")" \
    build/cmd/eastwest-operator/eastwest-operator \
    --namespace eastwest-system --metrics-bind-address "127.0.0.1:$port" \
    --log-format text </dev/null >"$EW_CLUSTERS_DIR/operator.log" 2>&1 &
op_pid=$!
echo "$op_pid" >"$EW_CLUSTERS_DIR/operator.pid"

say "the tutorial's example: deploy/examples/tutorial.yaml"
kc us apply -f deploy/examples/tutorial.yaml >&2
wait_until 60 "the gateway Services" sh -c "$EW_KUBECTL --kubeconfig $EW_CLUSTERS_DIR/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $EW_CLUSTERS_DIR/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
say "playing the cloud: load balancer addresses 203.0.113.10 (us), 203.0.113.20 (eu)"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
say "istiod in us and eu: (re)started once cacerts is there, it publishes the mesh root"
wait_until 90 "istiod with cacerts in us" restart_istiod us
wait_until 90 "istiod with cacerts in eu" restart_istiod eu
say "playing the ReplicaSet and the kubelet: eu's gateway pod, from the Deployment eastwest wrote"
play_pod_from_deployment eu istio-system istio-eastwestgateway 10.20.0.100
kc us wait --for=condition=Ready meshnetwork/training-mesh --timeout=90s >&2
kc us -n echo wait --for=condition=Ready crossclusterservice/echo --timeout=90s >&2

echo
echo "\$ kubectl get meshnet,ccs -A          # in us, the home cluster"
kc us get meshnet,ccs -A
echo
echo "\$ kubectl -n echo get serviceentry echo -o yaml   # written in us"
kc us -n echo get serviceentries.networking.istio.io echo -o yaml |
    sed -n '/^spec:/,$p'
echo
echo "\$ kubectl -n echo get destinationrule echo -o jsonpath='{.spec}'   # written in us"
kc us -n echo get destinationrules.networking.istio.io echo -o jsonpath='{.spec}'
echo
# print_path US-DUMP EU-DUMP: the call's path as istiod computed it, in a few lines.
print_path() {
    local c='outbound|80||echo.eu.mesh.local' sni='outbound_.80_._.echo.eu.mesh.local'
    local gc vhost sni_got sans
    gc=$(xds_chain_cluster "$2" 15443 "$sni")
    vhost=$(xds_vhost "$1" echo.eu.mesh.local)
    read -r sni_got sans <<<"$(xds_mtls "$1" "$c")"
    echo "us client -> http://echo.eu.mesh.local (what istiod in us sends its sidecar):"
    echo "  DNS        echo.eu.mesh.local -> $(xds_dns "$1" echo.eu.mesh.local) (the VIP)"
    echo "  route      $(cut -d' ' -f1,2 <<<"$vhost"), domains $(cut -d' ' -f3 <<<"$vhost")"
    echo "  cluster    $c"
    echo "  endpoint   $(xds_addrs "$1" "$c") (eu's gateway), locality $(xds_endpoints "$1" "$c" | cut -d' ' -f2)"
    echo "  mTLS       SNI $sni_got, accepts only $sans"
    echo "eu east-west gateway :15443 (what istiod in eu sends it; the node from the Deployment):"
    echo "  listener   0.0.0.0:15443, listener filters $(xds_listener_filters "$2" 15443)"
    echo "  chain      server name $sni -> cluster $gc"
    echo "  endpoint   $(xds_addrs "$2" "$gc") (the echo pod, its target port)"
}
echo
echo "\$ what istiod sends (hack/tools/istio/xdsprobe, connected as the proxies)"
xds_to() { # xds_to FILE CLUSTER NODE-ARGS...: what istiod of CLUSTER sends that proxy
    "$EW_XDSPROBE" dump --xds "127.0.0.1:$(bash hack/cluster.sh istiod-port "$2" xds)" \
        --cluster-id "$2" --timeout 20s "${@:3}" >"$1"
}
kc eu -n istio-system get deployment istio-eastwestgateway -o json >"$EW_CLUSTERS_DIR/gateway-eu.json"
wait_until 60 "istiod in us to send the echo cluster" xds_to "$EW_CLUSTERS_DIR/xds-us.json" us \
    --ip 10.10.2.5 --pod client-0 --namespace echo --labels app=client --locality us-east-1 \
    --meta NETWORK=us-net --meta DNS_CAPTURE=true --wait-for-cluster 'outbound|80||echo.eu.mesh.local'
wait_until 60 "istiod in eu to send the gateway's filter chain" xds_to "$EW_CLUSTERS_DIR/xds-eu.json" eu \
    --type router --deployment "$EW_CLUSTERS_DIR/gateway-eu.json" --ip 10.20.0.100 \
    --pod istio-eastwestgateway-0 --locality eu-west-1 \
    --wait-for-cluster 'outbound_.80_._.echo.eu.mesh.local'
print_path "$EW_CLUSTERS_DIR/xds-us.json" "$EW_CLUSTERS_DIR/xds-eu.json"
op_pid="" # leave it running
echo
echo "The operator (pid $(cat "$EW_CLUSTERS_DIR/operator.pid"), log $EW_CLUSTERS_DIR/operator.log) and the"
echo "clusters are still up: KUBECONFIG=$EW_CLUSTERS_DIR/us/kubeconfig (or eu)."
echo "Stop both with: kill \$(cat $EW_CLUSTERS_DIR/operator.pid); EW_CLUSTERS_DIR=$EW_CLUSTERS_DIR bash hack/cluster.sh down"
