#!/usr/bin/env bash
# Least privilege, both ways (issue 31), read from what every suite before this one did:
# the kube-apiserver audit logs of every cluster (hack/cluster.sh logs, at level
# Metadata, the requests of the chart's ServiceAccount eastwest-system/eastwest-operator
# and of the member identity eastwest-system/eastwest-member that "kubectl eastwest link"
# makes; the logs of clusters a suite removed are kept in $EW_CLUSTERS_DIR.audit/).
#
# For every verb on every resource of every rule of the chart's rendered Roles and
# ClusterRole (default values: the home cluster is a member) and of
# deploy/member/rbac.yaml, at least one request of the operator itself needed it: it
# was the only rule that authorized the request. A rule no request needed fails, named:
# either it goes, or a test that exercises it is missing. And no request of either
# identity was refused (403), but the ones tests provoke on purpose (listed, with the
# test and the reason, in least_privilege.py).
#
# This means something only when every suite runs the operator as those identities;
# it runs last (test/meson.build), after test_rotation.
#
# Prints PASS/FAIL lines and a "# test_least_privilege: ..." total, like the C tests.
set -uo pipefail
suite=test_least_privilege
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"
export HELM_CONFIG_HOME="$tmp/helm/config" HELM_CACHE_HOME="$tmp/helm/cache" \
    HELM_DATA_HOME="$tmp/helm/data"
if [ ! -x "$EW_HELM" ]; then
    echo "FAIL $suite/helm: no helm at $EW_HELM (hack/deps.sh installs it)"
    echo "# $suite: 0 passed, 1 failed"
    exit 1
fi
# The chart's RBAC as rendered, as JSON (kubectl parses the YAML, client-side).
if ! "$EW_HELM" template eastwest "$root/charts/eastwest-operator" -n eastwest-system \
    --show-only templates/role.yaml --show-only templates/clusterrole.yaml 2>"$tmp/helm.err" |
    kc us create --dry-run=client -o json -f - 2>>"$tmp/helm.err" | jq -s '{items: .}' >"$tmp/chart.json"; then
    echo "FAIL $suite/render: $(head -c 500 "$tmp/helm.err")"
    echo "# $suite: 0 passed, 1 failed"
    exit 1
fi
grep -vE '^(#|---)' "$root/deploy/member/rbac.yaml" | jq -s '{items: .}' >"$tmp/member.json"
logs=()
for f in "$dir"/*/logs/audit*.log "$dir.audit"/*.log; do [ -s "$f" ] && logs+=("$f"); done
python3 "$root/test/integration/least_privilege.py" "$suite" \
    "system:serviceaccount:eastwest-system:eastwest-operator=$tmp/chart.json" \
    "system:serviceaccount:eastwest-system:eastwest-member=$tmp/member.json" -- "${logs[@]}"
