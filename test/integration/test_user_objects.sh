#!/usr/bin/env bash
# The tripwire, last of the run: nothing of the user's was touched. hack/cluster.sh writes
# the user's world into every cluster it starts (hack/user-world/: istiod's own RBAC, the
# user's Gateway, Secret, ServiceEntry and DestinationRule, the tenants' identities and
# Roles; and, where a suite asked for it, Istio's guide's east-west gateway) and records
# each object's uid and fingerprint in CLUSTER/user-objects.txt. Every suite before this
# one ran its operators in those clusters: each recorded object must still be there with
# the same uid (never deleted and recreated) and the same fingerprint
# (hack/user-world/fingerprint.jq: labels, annotations, finalizers, owners, content and
# every writer's managedFields entry; never written, not even a label or a no-op apply).
# Only status is left out: istiod writes the user's ServiceEntry's status, as it should.
#
# Prints PASS/FAIL lines and a "# test_user_objects: ..." total, like the other suites.
set -uo pipefail
suite=test_user_objects
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"
op_stopped=1 # no operator here

declare -A resource=([ServiceAccount]=serviceaccounts [ClusterRole]=clusterroles.rbac.authorization.k8s.io
    [ClusterRoleBinding]=clusterrolebindings.rbac.authorization.k8s.io [Role]=roles.rbac.authorization.k8s.io
    [RoleBinding]=rolebindings.rbac.authorization.k8s.io [Gateway]=gateways.networking.istio.io
    [Secret]=secrets [ServiceEntry]=serviceentries.networking.istio.io
    [DestinationRule]=destinationrules.networking.istio.io [Deployment]=deployments.apps [Service]=services)
checked=0
# explain UID FP NOW-LINE: what differs, readably (the decoded fingerprints' differing keys)
explain() {
    local now_uid now_fp
    read -r _ _ now_uid now_fp <<<"$3"
    [ "$now_uid" = "$1" ] || { echo "was uid $1, now: $(cut -d' ' -f3- <<<"$3" | head -c 300)"; return; }
    jq -nr --argjson a "$(base64 -d <<<"$2")" --argjson b "$(base64 -d <<<"$now_fp")" \
        '[($a | keys[]) as $k | select($a[$k] != $b[$k]) | "\($k) was \($a[$k] | tojson) now \($b[$k] | tojson)"] | join(", ") | .[0:600]'
}
for record in "$dir"/*/user-objects.txt; do
    [ -s "$record" ] || continue
    c=$(basename "$(dirname "$record")")
    kc "$c" get --raw /readyz >/dev/null 2>&1 || continue # a cluster a suite took down
    changed=""
    while read -r kind name uid fp; do
        ns=${name%%/*} name=${name#*/}
        args=("${resource[$kind]:-$kind}" "$name")
        [ -n "$ns" ] && args=(-n "$ns" "${args[@]}")
        if json=$(kc "$c" get "${args[@]}" -o json 2>&1); then
            now=$(jq -r '{items: [.]} | '"$(cat "$root/hack/user-world/fingerprint.jq")" <<<"$json" 2>&1)
        else now="$kind ${ns}/$name (unreadable) $json"; fi
        checked=$((checked + 1))
        [ "$now" = "$kind ${ns}/$name $uid $fp" ] ||
            changed="$changed; $kind ${ns:+$ns/}$name: $(explain "$uid" "$fp" "$now")"
    done <"$record"
    if [ -z "$changed" ]; then pass "$c/user-objects-untouched ($(wc -l <"$record") objects)"; else
        fail "$c/user-objects-untouched" "${changed#; }"; fi
done
if [ "$checked" -gt 0 ]; then pass records-found; else
    fail records-found "no user-objects.txt in $dir/*/ (hack/cluster.sh writes them)"; fi
# the records themselves: each one's kind is one this suite can read
unknown=$(cat "$dir"/*/user-objects.txt 2>/dev/null | awk '{print $1}' | sort -u |
    while read -r k; do [ -n "${resource[$k]:-}" ] || echo "$k"; done)
if [ -z "$unknown" ]; then pass kinds-known; else fail kinds-known "add to this suite's table: $unknown"; fi
echo "# $suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
