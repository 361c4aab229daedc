# shellcheck shell=bash disable=SC2154
# hostile_moved: what a CrossClusterService wrote goes when it should no longer be there
# (issue 32, "Left behind"; docs/design.md "Deletion and finalizers"), beside the
# tutorial's working mesh (training-mesh over us and eu, echo exported from eu to us,
# the real istiods):
#   - moved: echo/moving, exported from eu to us in training-mesh, is moved to
#     moved-mesh (a second MeshNetwork, over ap). Throughout the move, what istiod
#     sends a sidecar in us (the xDS probe) of its host is the usable cluster (eu's
#     gateway, the echo identity), parts of it being withdrawn, or nothing, never a
#     cluster pointing elsewhere or with another identity; and
#     echo (which stays in training-mesh) stays usable at every probe; at the end
#     nothing of it stays in training-mesh's members (us, eu) nor in eu's Gateway, and
#     its status records moved-mesh;
#   - unreadable: echo/unreadable gets a spec the API server admits and the operator's
#     parser refuses (importTo: []), then is deleted: its objects go from us and eu
#     before its finalizer does;
#   - loser: echo/loser, written under its own host, is edited to claim echo's host
#     (echo is older): Conflict=True, its objects go from us and eu, echo's stay;
#   - address-loser: echo/addrloser, newer, its own host but echo's address: Conflict,
#     nothing written, and eu's Gateway never keeps its host (echo's stays).
# Leaves the clusters as it found them (moved-mesh deleted, with its cacerts in ap).

# shellcheck source=hack/xds.sh
source "$root/hack/xds.sh"

# hm_ccs NAME HOST: a CrossClusterService in echo, exported from eu to us, in training-mesh.
hm_ccs() {
    kc us apply -f - >/dev/null <<YAML
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: $1, namespace: echo}
spec:
  meshNetwork: training-mesh
  host: $2
  exportFrom: [{cluster: eu, service: echo}]
  importTo: [us]
  ports: [{number: 80, name: http, protocol: HTTP}]
YAML
}
hm_ready() { kc us -n echo wait --for=condition=Ready "ccs/$1" --timeout=60s >/dev/null 2>&1; }
hm_cond() { # hm_cond NAME TYPE: "status/reason/message"
    kc us -n echo get ccs "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}/{.status.conditions[?(@.type==\"$2\")].reason}/{.status.conditions[?(@.type==\"$2\")].message}" 2>/dev/null
}
# hm_gone_from_members NAME: no ServiceEntry nor DestinationRule echo/NAME in us or eu.
hm_gone_from_members() {
    local c
    for c in us eu; do
        not_found "$c" -n echo serviceentries.networking.istio.io "$1" || return 1
        not_found "$c" -n echo destinationrules.networking.istio.io "$1" || return 1
    done
}
hm_objects() { # what of echo/NAME is in us and eu, for a failure message
    echo "us: $(kc us -n echo get serviceentries.networking.istio.io,destinationrules.networking.istio.io -o name 2>&1 | grep "/$1$" | tr '\n' ' ') eu: $(kc eu -n echo get serviceentries.networking.istio.io,destinationrules.networking.istio.io -o name 2>&1 | grep "/$1$" | tr '\n' ' ')"
}
hm_eu_gateway_hosts() {
    kc eu -n istio-system get gateways.networking.istio.io cross-network-gateway \
        -o jsonpath='{.spec.servers[*].hosts}' 2>/dev/null
}

# ---- what istiod sends a sidecar in us ----
hm_dump() {
    "$EW_XDSPROBE" dump --xds "127.0.0.1:$(bash "$root/hack/cluster.sh" istiod-port us xds)" \
        --cluster-id us --timeout 15s --type sidecar --ip 10.10.2.5 --pod client-us \
        --namespace echo --labels app=client --service-account client --locality us-east-1 \
        --meta NETWORK=us-net --meta DNS_CAPTURE=true >"$tmp/hm-xds.json" 2>"$tmp/hm-xds.err"
}
# hm_view HOST: "usable", "absent", "withdrawing" (its cluster with no endpoint left, or its
# route left without the cluster: istiod drops a deleted ServiceEntry's parts over more than
# one push), or "broken: what" for what the last dump has of HOST.
hm_view() {
    local c="outbound|80||$1" sni="outbound_.80_._.$1" eps mtls vh
    eps=$(xds_endpoints "$tmp/hm-xds.json" "$c")
    mtls=$(xds_mtls "$tmp/hm-xds.json" "$c")
    vh=$(jq -r --arg h "$1" '[.routes[]? | .virtualHosts[]? | select(.domains | index($h))] | length' "$tmp/hm-xds.json")
    if [ -z "$(xds_cluster_field "$tmp/hm-xds.json" "$c" .name)" ]; then
        if [ "$vh" = 0 ]; then echo absent; else echo withdrawing; fi
    elif [ "$mtls" != "$sni spiffe://corp.local/ns/echo/sa/echo" ]; then
        echo "broken: mTLS '$mtls'"
    elif [ "$eps" = "203.0.113.20:15443 eu-west-1 0" ]; then
        echo usable
    elif [ -z "$eps" ]; then
        echo withdrawing
    else
        echo "broken: endpoints '$eps'"
    fi
}
hm_sidecar_view() { hm_dump && hm_view "$1"; }
hm_usable() { [ "$(hm_sidecar_view "$1")" = usable ]; }

hm_moved_mesh() {
    kc us apply -f - >/dev/null <<'YAML'
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: moved-mesh}
spec:
  meshID: training-mesh
  trustDomain: corp.local
  clusters:
  - {name: ap, network: ap-net, kubeconfigSecretRef: {name: ap-kubeconfig}}
  # a second member is required; this one never connects (no such Secret)
  - {name: ghost, network: ghost-net, kubeconfigSecretRef: {name: ghost-kubeconfig}}
  certificateAuthority: {onDelete: Delete}
  serviceClaims: {hosts: ["*.mesh.local"]}
YAML
}
hm_recorded() { # hm_recorded NAME: "mesh [clusters]" of its status record
    kc us -n echo get ccs "$1" -o jsonpath='{.status.meshNetwork} {.status.writtenClusters}' 2>/dev/null
}

hostile_moved_mesh() {
    local host=moving.eu.mesh.local view broken="" samples=0 end out other echo_lost=""
    hm_ccs moving "$host"
    if hm_ready moving; then pass moved/written-in-training-mesh; else
        fail moved/written-in-training-mesh "Ready: $(hm_cond moving Ready)"; return; fi
    out=$(hm_recorded moving)
    if [ "$out" = 'training-mesh ["us","eu"]' ]; then pass moved/status-records-where-written; else
        fail moved/status-records-where-written "status: '$out'"; fi
    if wait_for "the us sidecar gets $host" 40 hm_usable "$host"; then pass moved/sidecar-usable-before; else
        fail moved/sidecar-usable-before "$(hm_sidecar_view "$host"); probe: $(head -c 300 "$tmp/hm-xds.err")"; return; fi
    hm_moved_mesh
    kc us -n echo patch ccs moving --type merge \
        -p '{"spec":{"meshNetwork":"moved-mesh","exportFrom":[{"cluster":"ap","service":"echo"}],"importTo":["ap"]}}' >/dev/null
    # throughout the move: the whole cluster or nothing of it, until training-mesh is clean
    end=$((SECONDS + 60))
    while :; do
        if hm_dump; then
            samples=$((samples + 1))
            view=$(hm_view "$host")
            [[ $view == broken* ]] && broken="$broken; $view"
            # the service that stays in training-mesh is not touched by the cleanup
            other=$(hm_view echo.eu.mesh.local)
            [ "$other" = usable ] || echo_lost="$echo_lost; $other"
        fi
        if [ "$view" = absent ] && hm_gone_from_members moving &&
            [[ $(hm_eu_gateway_hosts) != *"$host"* ]]; then break; fi
        [ "$SECONDS" -lt "$end" ] || break
        sleep 0.5
    done
    if [ -z "$broken" ]; then pass moved/sidecar-never-misdirected-throughout; else
        fail moved/sidecar-never-misdirected-throughout "${broken#; } ($samples probes)"; fi
    if [ -z "$echo_lost" ]; then pass moved/other-service-usable-throughout; else
        fail moved/other-service-usable-throughout "echo.eu.mesh.local: ${echo_lost#; } ($samples probes)"; fi
    if [ "$view" = absent ]; then pass moved/sidecar-lets-go; else
        fail moved/sidecar-lets-go "the us sidecar still has $host after 60 s: $view"; fi
    if hm_gone_from_members moving; then pass moved/old-mesh-members-cleaned; else
        fail moved/old-mesh-members-cleaned "left in training-mesh's members: $(hm_objects moving)"; fi
    out=$(hm_eu_gateway_hosts)
    if [[ $out != *"$host"* && $out == *echo.eu.mesh.local* ]]; then pass moved/old-gateway-drops-host; else
        fail moved/old-gateway-drops-host "eu's cross-network-gateway hosts: $out"; fi
    if wait_for "moving recorded in moved-mesh" 60 sh -c "[ \"\$($EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs moving -o jsonpath='{.status.meshNetwork} {.status.writtenClusters}')\" = 'moved-mesh [\"ap\",\"ghost\"]' ]"; then
        pass moved/status-records-new-mesh
    else fail moved/status-records-new-mesh "status: '$(hm_recorded moving)', Ready: $(hm_cond moving Ready)"; fi
    # ---- leave as found ----
    # the mesh first: ghost never connects, so the service alone would wait for it (as for
    # any member that cannot be reached); the mesh's deletion lets go of it, and the
    # service deleted meanwhile waits for that, then goes
    kc us delete meshnetwork moved-mesh --wait=false >/dev/null 2>&1
    kc us -n echo delete ccs moving --wait=false >/dev/null 2>&1
    check moved/mesh-deleted 90 not_found us meshnetwork moved-mesh
    check moved/ccs-deleted 60 not_found us -n echo crossclusterservice moving
    check moved/ap-cacerts-deleted 30 not_found ap -n istio-system secret cacerts
}

hostile_moved_unreadable() {
    local out
    hm_ccs unreadable unreadable.eu.mesh.local
    if hm_ready unreadable; then pass unreadable/written; else
        fail unreadable/written "Ready: $(hm_cond unreadable Ready)"; return; fi
    # admitted by an API server whose CRD is older than the operator (Helm never upgrades
    # a chart's CRDs): the installed CRD loses the rule on importTo for the write, and gets
    # it back at once; the operator's parser refuses an empty importTo
    kc us patch crd crossclusterservices.eastwest.io --type json -p '[{"op":"remove","path":"/spec/versions/0/schema/openAPIV3Schema/properties/spec/x-kubernetes-validations"}]' >/dev/null
    if wait_for "the old CRD admits importTo: []" 20 kc us -n echo patch ccs unreadable --type merge -p '{"spec":{"importTo":[]}}'; then
        pass unreadable/admitted
    else fail unreadable/admitted "$(cat "$tmp/why")"; fi
    kc us apply --server-side --force-conflicts -f "$root/crds/crossclusterservices.eastwest.io.yaml" >/dev/null
    out=$(kc us get crd crossclusterservices.eastwest.io -o jsonpath='{.spec.versions[0].schema.openAPIV3Schema.properties.spec.x-kubernetes-validations[0].rule}')
    if [ -n "$out" ]; then pass unreadable/crd-restored; else fail unreadable/crd-restored "no rule on spec"; fi
    if wait_for "unreadable refused" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs unreadable -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}' | grep -qx InvalidSpec"; then
        pass unreadable/refused-by-parser
    else fail unreadable/refused-by-parser "Ready: $(hm_cond unreadable Ready)"; fi
    if hm_gone_from_members unreadable; then
        fail unreadable/kept-while-unreadable "its objects went because the spec could not be read"
    else pass unreadable/kept-while-unreadable; fi
    kc us -n echo delete ccs unreadable --wait=false >/dev/null 2>&1
    check unreadable/deleted 60 not_found us -n echo crossclusterservice unreadable
    if hm_gone_from_members unreadable; then pass unreadable/cleaned-by-what-it-wrote; else
        fail unreadable/cleaned-by-what-it-wrote "orphaned: $(hm_objects unreadable)"; fi
}

hostile_moved_loser() {
    local out
    hm_ccs loser loser.eu.mesh.local
    if hm_ready loser; then pass loser/written; else
        fail loser/written "Ready: $(hm_cond loser Ready)"; return; fi
    kc us -n echo patch ccs loser --type merge -p '{"spec":{"host":"echo.eu.mesh.local"}}' >/dev/null
    if wait_for "loser in conflict" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs loser -o jsonpath='{.status.conditions[?(@.type==\"Conflict\")].status}' | grep -qx True"; then
        pass loser/conflict
    else fail loser/conflict "Conflict: $(hm_cond loser Conflict)"; fi
    if wait_for "loser's objects gone" 30 hm_gone_from_members loser; then pass loser/objects-withdrawn; else
        fail loser/objects-withdrawn "kept: $(hm_objects loser)"; fi
    out=$(kc us -n echo get serviceentries.networking.istio.io echo -o jsonpath='{.spec.hosts[0]}' 2>&1)/$(kc eu -n echo get serviceentries.networking.istio.io echo -o jsonpath='{.metadata.name}' 2>&1)
    if [ "$out" = echo.eu.mesh.local/echo ] && hm_ready echo; then pass loser/winner-untouched; else
        fail loser/winner-untouched "echo: $out, Ready: $(hm_cond echo Ready)"; fi
    kc us -n echo delete ccs loser --timeout=60s >/dev/null 2>&1
    check loser/deleted 60 not_found us -n echo crossclusterservice loser
}

none_named() { not_found us -n echo crossclusterservice "$1" && not_found us -n echo crossclusterservice "$2"; }
hm_gateway_host() { [[ $(hm_eu_gateway_hosts) == *"$1"* ]]; }

# An address conflict: echo/addrloser, newer, with its own host but echo's address. The
# loser writes nothing and opens no Gateway to its host; echo's host stays.
hostile_moved_address_loser() {
    local addr hosts
    addr=$(kc us -n echo get ccs echo -o jsonpath='{.status.address}' 2>/dev/null)
    if [ -z "$addr" ]; then fail address-loser/echo-address "echo has no status.address"; return; fi
    kc us apply -f - >/dev/null <<YAML
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: addrloser, namespace: echo}
spec:
  meshNetwork: training-mesh
  host: addrloser.eu.mesh.local
  address: $addr
  exportFrom: [{cluster: eu, service: echo}]
  importTo: [us]
  ports: [{number: 80, name: http, protocol: HTTP}]
YAML
    if wait_for "addrloser in conflict" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs addrloser -o jsonpath='{.status.conditions[?(@.type==\"Conflict\")].status}' | grep -qx True"; then
        pass address-loser/conflict
    else fail address-loser/conflict "Conflict: $(hm_cond addrloser Conflict)"; fi
    # a sync point: a later service's host in eu's Gateway means a Gateway reconcile saw
    # addrloser too; only then does its host's absence say anything
    hm_ccs addrprobe addrprobe.eu.mesh.local
    if wait_for "addrprobe's host in eu's Gateway" 30 hm_gateway_host addrprobe.eu.mesh.local; then
        pass address-loser/gateway-reconciled
    else fail address-loser/gateway-reconciled "eu's Gateway hosts: $(hm_eu_gateway_hosts)"; fi
    hosts=$(hm_eu_gateway_hosts)
    if [[ $hosts != *addrloser.eu.mesh.local* ]]; then pass address-loser/no-gateway-host; else
        fail address-loser/no-gateway-host "eu's Gateway hosts: $hosts"; fi
    if [[ $hosts == *echo.eu.mesh.local* ]]; then pass address-loser/winner-host-stays; else
        fail address-loser/winner-host-stays "eu's Gateway hosts: $hosts"; fi
    if hm_gone_from_members addrloser; then pass address-loser/nothing-written; else
        fail address-loser/nothing-written "written: $(hm_objects addrloser)"; fi
    kc us -n echo delete ccs addrloser addrprobe --timeout=60s >/dev/null 2>&1
    check address-loser/deleted 60 none_named addrloser addrprobe
}

hostile_moved() {
    hostile_moved_loser
    hostile_moved_address_loser
    hostile_moved_unreadable
    hostile_moved_mesh
}
