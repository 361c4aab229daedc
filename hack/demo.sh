#!/usr/bin/env bash
# The main job, on an embedded default: two local clusters (us, eu), the operator,
# the tutorial's example (deploy/examples/tutorial.yaml), and what it wrote.
#
#   bash hack/demo.sh
#
# Installs what is missing (hack/deps.sh), builds, starts clusters us and eu
# (real etcd + kube-apiserver each, with Istio's CRDs), installs the eastwest CRDs,
# runs eastwest-operator against us (the home cluster) with eu's kubeconfig in a
# Secret, applies the example, plays the two parts local clusters lack (istiod's
# ConfigMaps and the cloud's load balancer addresses, see hack/play.sh), waits for
# Ready, and prints `kubectl get meshnet,ccs` and the ServiceEntry written in us.
# The clusters stay up for a look around; the last lines say how to reach and stop
# them. EW_DEMO_DIR (default /tmp/eastwest-demo) and EW_DEMO_PORT_BASE (28000)
# keep them apart from test clusters.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=hack/lib.sh
source hack/lib.sh
# shellcheck source=hack/play.sh
source hack/play.sh
export EW_CLUSTERS_DIR="${EW_DEMO_DIR:-/tmp/eastwest-demo}"
export EW_PORT_BASE="${EW_DEMO_PORT_BASE:-28000}"
kc() { local c=$1; shift; "$EW_KUBECTL" --kubeconfig "$EW_CLUSTERS_DIR/$c/kubeconfig" "$@"; }
say() { echo "== $*" >&2; }
op_pid=""
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
kc us -n eastwest-system create secret generic prod-eu-west-1 \
    --from-file=kubeconfig="$EW_CLUSTERS_DIR/eu/kubeconfig" --dry-run=client -o yaml |
    kc us apply -f - >/dev/null
for c in us eu; do play_istiod "$c" corp.local training-mesh; done
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
metadata: {name: echo-0, labels: {app: echo}}
spec:
  serviceAccountName: echo
  containers: [{name: echo, image: registry.k8s.io/e2e-test-images/agnhost:2.45, args: [netexec, --http-port=8080]}]
EOF
kc us create namespace echo --dry-run=client -o yaml | kc us apply -f - >/dev/null

say "eastwest-operator (log: $EW_CLUSTERS_DIR/operator.log)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
build/cmd/eastwest-operator/eastwest-operator --kubeconfig "$EW_CLUSTERS_DIR/us/kubeconfig" \
    --namespace eastwest-system --metrics-bind-address "127.0.0.1:$port" \
    --log-format text 2>"$EW_CLUSTERS_DIR/operator.log" &
op_pid=$!

say "the tutorial's example: deploy/examples/tutorial.yaml"
kc us apply -f deploy/examples/tutorial.yaml >&2
wait_until 60 "the gateway Services" sh -c "$EW_KUBECTL --kubeconfig $EW_CLUSTERS_DIR/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $EW_CLUSTERS_DIR/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
say "playing the cloud: load balancer addresses 203.0.113.10 (us), 203.0.113.20 (eu)"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
say "playing istiod: restarted with the plugged-in CA (cacerts)"
wait_until 60 "cacerts" restart_istiod us
wait_until 60 "cacerts" restart_istiod eu
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
kill "$op_pid" 2>/dev/null || true
wait "$op_pid" 2>/dev/null || true
op_pid=""
echo
echo "The clusters are still up: KUBECONFIG=$EW_CLUSTERS_DIR/us/kubeconfig (or eu)."
echo "Stop them with: EW_CLUSTERS_DIR=$EW_CLUSTERS_DIR bash hack/cluster.sh down"
