# hostile_creds: member credentials that would turn the operator against itself, and two
# meshes naming one cluster (issue 31). Sourced by test_hostile.sh after its set-up (the
# tutorial's training-mesh, us and eu, Ready; ap up with istiod played); defines one
# function and leaves the clusters as it found them.
#
#   - a member Secret whose server is a loopback listener of ours and whose tokenFile is
#     a token file of the operator's: refused (KubeconfigRefused naming the Secret and
#     users["evil"].user.tokenFile, an Event), and the listener never sees an
#     Authorization header (nor any request);
#   - a member Secret with an exec plugin that would create a marker file: refused naming
#     users["evil"].user.exec, and the file never appears;
#   - a newer MeshNetwork listing us and an eu whose Secret reaches ap: refused for both
#     (ClusterInOtherMesh naming training-mesh), nothing labelled with it in us, eu or ap,
#     training-mesh stays Ready, and it deletes without waiting.
# shellcheck shell=bash disable=SC2154

# hc_kubeconfig_secret NAME SERVER USER-YAML: a member kubeconfig Secret in eastwest-system.
hc_kubeconfig_secret() {
    cat >"$tmp/$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: elsewhere, cluster: {server: "$2"}}]
users: [{name: evil, user: $3}]
contexts: [{name: c, context: {cluster: elsewhere, user: evil}}]
current-context: c
KC
    kc us -n eastwest-system create secret generic "$1" --from-file=kubeconfig="$tmp/$1.kubeconfig" \
        --dry-run=client -o yaml | kc us apply -f - >/dev/null
}

# hc_cluster_cond MESH CLUSTER: "reason message" of the cluster's Reachable condition.
hc_cluster_cond() {
    kc us get meshnetwork "$1" -o jsonpath="{.status.clusters[?(@.name==\"$2\")].conditions[?(@.type==\"Reachable\")].reason} {.status.clusters[?(@.name==\"$2\")].conditions[?(@.type==\"Reachable\")].message}" 2>/dev/null
}
hc_cond_has() { # hc_cond_has MESH CLUSTER TEXT...: the condition holds every TEXT
    local c t
    c=$(hc_cluster_cond "$1" "$2")
    for t in "${@:3}"; do [[ $c == *"$t"* ]] || return 1; done
}
hc_event() { # hc_event MESH REASON: an Event with that reason about this MeshNetwork (its uid:
    # Events of an earlier object of the same name do not count)
    # (read whole, then searched: grep -q stopping early would fail the pipe under pipefail)
    local uid events
    uid=$(kc us get meshnetwork "$1" -o jsonpath='{.metadata.uid}' 2>/dev/null) && [ -n "$uid" ] &&
        events=$(kc us get events -A -o jsonpath='{range .items[*]}{.involvedObject.uid}/{.reason}{"\n"}{end}' 2>/dev/null) &&
        grep -qx "$uid/$2" <<<"$events"
}
# hc_nothing_labelled CLUSTER MESH: no object of the mesh's in the member (the mesh's own
# root Secret in the operator's namespace at home is not a member's: it is left out)
hc_nothing_labelled() {
    local out
    out=$(kc "$1" get deployments,services,serviceaccounts,roles,rolebindings,secrets,gateways.networking.istio.io,serviceentries.networking.istio.io,destinationrules.networking.istio.io \
        -A -l "eastwest.io/mesh=$2" --no-headers -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name 2>"$tmp/hc-err") ||
        { cat "$tmp/hc-err"; return 1; }
    out=$(grep -v '^eastwest-system ' <<<"$out")
    [ -z "$out" ] || { echo "$out"; return 1; }
}
hc_mesh_gone() { not_found us meshnetwork "$1"; }

hostile_creds() {
    local lport lpid sa="$tmp/hc-sa" marker="$tmp/hc-exec-ran" reqlog="$tmp/hc-requests"
    mkdir -p "$sa"
    # the operator's ServiceAccount token, as a pod has it (a token the test made up)
    printf 'operator-own-token-%s' "$RANDOM$RANDOM" >"$sa/token"
    # a listener standing for https://elsewhere: records every request and its
    # Authorization header; loopback only, and it stops by itself after 10 minutes
    lport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    : >"$reqlog"
    python3 - "$lport" "$reqlog" <<'PY' &
import http.server, sys, threading
log = open(sys.argv[2], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write("%s %s auth=%s\n" % (self.command, self.path,
                  "yes" if self.headers.get("Authorization") else "no"))
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.end_headers(); self.wfile.write(b'{"kind":"Status","apiVersion":"v1"}')
    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
threading.Timer(600, srv.shutdown).start()
srv.serve_forever()
PY
    lpid=$!
    printf '#!/bin/sh\ntouch %s\necho {}\n' "$marker" >"$tmp/hc-plugin.sh"
    chmod +x "$tmp/hc-plugin.sh"
    hc_kubeconfig_secret hc-token-kc "http://127.0.0.1:$lport" "{tokenFile: $sa/token}"
    hc_kubeconfig_secret hc-exec-kc "http://127.0.0.1:$lport" \
        "{exec: {apiVersion: client.authentication.k8s.io/v1, command: $tmp/hc-plugin.sh, interactiveMode: Never}}"
    kc us apply -f - >/dev/null <<YAML
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: hc-refused}
spec:
  meshID: hc-refused
  trustDomain: corp.local
  clusters:
  - {name: hc-token, network: hc-token, kubeconfigSecretRef: {name: hc-token-kc, key: kubeconfig}}
  - {name: hc-exec, network: hc-exec, kubeconfigSecretRef: {name: hc-exec-kc, key: kubeconfig}}
YAML
    check creds/tokenfile-refused 40 hc_cond_has hc-refused hc-token KubeconfigRefused \
        "Secret eastwest-system/hc-token-kc key kubeconfig" 'users["evil"].user.tokenFile'
    check creds/exec-refused 40 hc_cond_has hc-refused hc-exec KubeconfigRefused \
        "Secret eastwest-system/hc-exec-kc key kubeconfig" 'users["evil"].user.exec'
    check creds/refusal-event 30 hc_event hc-refused KubeconfigRefused
    sleep 3 # a reconcile or two more: anything sent would have been sent by now
    if grep -q 'auth=yes' "$reqlog"; then
        fail creds/no-token-sent-elsewhere "the listener got an Authorization header: $(head -n 3 "$reqlog")"
    else pass creds/no-token-sent-elsewhere; fi
    if [ -s "$reqlog" ]; then
        fail creds/nothing-sent-elsewhere "the listener got requests: $(head -n 3 "$reqlog")"
    else pass creds/nothing-sent-elsewhere; fi
    if [ -e "$marker" ]; then fail creds/exec-plugin-never-ran "the plugin ran ($marker exists)"
    else pass creds/exec-plugin-never-ran; fi

    # ---- two meshes, one cluster name: a newer mesh's eu (and us) reach ap ----
    kc us -n eastwest-system create secret generic hc-ap-kc --from-file=kubeconfig="$dir/ap/kubeconfig" \
        --dry-run=client -o yaml | kc us apply -f - >/dev/null
    kc us apply -f - >/dev/null <<YAML
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: hc-newer}
spec:
  meshID: hc-newer
  trustDomain: corp.local
  clusters:
  - {name: us, network: us-net}
  - {name: eu, network: eu-net, kubeconfigSecretRef: {name: hc-ap-kc, key: kubeconfig}}
YAML
    check creds/newer-mesh-refused-for-eu 40 hc_cond_has hc-newer eu ClusterInOtherMesh "MeshNetwork training-mesh"
    check creds/newer-mesh-refused-for-us 40 hc_cond_has hc-newer us ClusterInOtherMesh "MeshNetwork training-mesh"
    check creds/conflict-event 30 hc_event hc-newer ClusterInOtherMesh
    sleep 3
    local c
    for c in us eu ap; do
        if hc_nothing_labelled "$c" hc-newer; then pass "creds/nothing-for-newer-mesh-in-$c"; else
            fail "creds/nothing-for-newer-mesh-in-$c" "$(hc_nothing_labelled "$c" hc-newer | head -n 5)"; fi
    done
    check creds/older-mesh-still-ready 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig get meshnetwork training-mesh -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"

    # ---- leave as found: the refused meshes go without waiting (their Secrets deleted) ----
    kc us delete meshnetwork hc-newer hc-refused --wait=false >/dev/null 2>&1
    kc us -n eastwest-system delete secret hc-token-kc hc-exec-kc hc-ap-kc >/dev/null 2>&1
    check creds/newer-mesh-deleted 60 hc_mesh_gone hc-newer
    check creds/refused-mesh-deleted 60 hc_mesh_gone hc-refused
    # the newer mesh's deletion cleaned nothing of the older's (its eu is training-mesh's)
    if [ "$(kc eu -n istio-system get deployment istio-eastwestgateway -o jsonpath='{.metadata.labels.eastwest\.io/mesh}' 2>&1)" = training-mesh ]; then
        pass creds/older-mesh-objects-intact
    else fail creds/older-mesh-objects-intact "eu's istio-eastwestgateway is gone or not training-mesh's"; fi
    # their roots, generated at home and kept (certificateAuthority.onDelete: Retain)
    kc us -n eastwest-system delete secret hc-newer-root-ca hc-refused-root-ca --ignore-not-found >/dev/null 2>&1
    for c in us eu ap; do
        if hc_nothing_labelled "$c" hc-refused && hc_nothing_labelled "$c" hc-newer; then
            pass "creds/left-clean-$c"
        else fail "creds/left-clean-$c" "objects of hc-newer or hc-refused left in $c"; fi
    done
    if grep -q 'auth=yes' "$reqlog" || [ -e "$marker" ]; then
        fail creds/never-sent-or-ran "after deletion: a token was sent or the plugin ran"
    else pass creds/never-sent-or-ran; fi
    kill "$lpid" 2>/dev/null
    wait "$lpid" 2>/dev/null
    return 0
}
