#!/usr/bin/env bash
# The hostile cases of issue 31, end to end: each hostile_*.sh named below defines one
# function hostile_NAME that plays an attack against the tutorial's mesh (echo exported
# from eu to us, the operator running against us) and leaves the clusters as it found
# them. This file sets the mesh up once, calls each, and tears the mesh down.
#
# Prints PASS/FAIL lines and a "# test_hostile: ..." total, like the C tests.
set -uo pipefail
suite=test_hostile
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=test/integration/mesh_env.sh
source "$here/mesh_env.sh"
# shellcheck source=test/integration/hostile_claims.sh
source "$here/hostile_claims.sh"

# ---- set-up: the tutorial, with istiod and the cloud played (as test_ccs) ----
set_up_home
for c in us eu; do
    kc "$c" create namespace echo >/dev/null 2>&1
    play_istiod "$c" corp.local training-mesh
done
kc eu -n echo apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
YAML
start_operator
kc us apply -f "$root/deploy/examples/tutorial.yaml" >/dev/null
wait_for "gateway Services" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
wait_for "cacerts" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
for c in us eu; do restart_istiod "$c"; done
check setup/mesh-ready 60 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig get meshnetwork training-mesh -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"

# ---- the hostile cases ----
hostile_claims

# ---- tear-down ----
kc us -n echo delete ccs echo --timeout=60s >/dev/null 2>&1
kc us delete meshnetwork training-mesh --timeout=90s >/dev/null 2>&1
finish
