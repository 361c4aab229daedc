#!/usr/bin/env bash
# The hostile cases end to end, against real clusters (hack/cluster.sh): what users'
# clusters hold before eastwest, and what a tenant or a member Secret may try. Each case
# is a function hostile_<name> in hostile_<name>.sh that leaves the clusters as it found
# them.
#
# Prints PASS/FAIL lines and a "# test_hostile: ..." total, like the C tests.
set -uo pipefail
suite=test_hostile
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=test/integration/mesh_env.sh
source "$here/mesh_env.sh"
# shellcheck source=test/integration/hostile_foreign.sh
source "$here/hostile_foreign.sh"

# ---- set-up: the home cluster, a third member ap, istiod played, the operator ----
ap_was_up=1
if ! kc ap get namespace default >/dev/null 2>&1; then
    ap_was_up=0
    bash "$root/hack/cluster.sh" up ap >"$tmp/ap.out" 2>&1 || fail set-up/ap-up "$(tail -n 5 "$tmp/ap.out")"
fi
set_up_home
kc us -n eastwest-system create secret generic ap-kubeconfig --from-file=kubeconfig="$dir/ap/kubeconfig" \
    --dry-run=client -o yaml | kc us apply -f - >/dev/null
for c in us eu ap; do play_istiod "$c" corp.local training-mesh; done
start_operator

hostile_foreign

[ "$ap_was_up" = 1 ] || bash "$root/hack/cluster.sh" down ap >/dev/null 2>&1
finish
