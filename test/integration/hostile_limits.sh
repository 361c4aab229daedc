# shellcheck shell=bash disable=SC2154
# hostile_limits: input at the limits (issue 32), beside the working tutorial mesh
# (training-mesh over us and eu, echo exported from eu).
# - A CrossClusterService whose default host <name>.echo.training-mesh.global is longer
#   than 253 characters (its metadata.name of 243 is allowed, and the CRD cannot know
#   the meshID; Istio refuses such a host, and all exported hosts of a member share one
#   Gateway; a label longer than 63 in metadata.name is refused at admission, test_crds):
#   it is refused (Ready=False, InvalidHost, naming metadata.name), nothing of it is written,
#   and eu's Gateway lists the valid service created with it, never the bad host
#   (istioctl validate accepts the Gateway as written).
# - A refusal whose message passes the CRD's 32,768 characters (the MeshNetwork's owner
#   lists many long host patterns, every one named in HostNotAllowed): the status is
#   still written, the message cut with a marker.
# Leaves the clusters as it found them.

hl_label=$(printf 'l%.0s' $(seq 60))
hl_long="$hl_label.$hl_label.$hl_label.$hl_label"

# hl_ccs NAME [HOST]: a CrossClusterService in echo exporting echo from eu to us.
hl_ccs() {
    kc us -n echo apply -f - >/dev/null <<YAML
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: $1, namespace: echo}
spec:
  meshNetwork: training-mesh
${2:+  host: $2}
  exportFrom: [{cluster: eu, service: echo}]
  importTo: [us]
  ports: [{number: 80, name: http, protocol: HTTP}]
YAML
}
# hl_ready NAME: "status/reason/message" of its Ready condition.
hl_ready() {
    kc us -n echo get ccs "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}/{.status.conditions[?(@.type=="Ready")].message}' 2>/dev/null
}
hl_gateway_hosts() {
    kc eu -n istio-system get gateways.networking.istio.io cross-network-gateway -o jsonpath='{.spec.servers[0].hosts}' 2>/dev/null
}
hl_refused_host() {
    local out
    out=$(hl_ready "$hl_long")
    [[ $out == False/InvalidHost/* && $out == *metadata.name* && $out == *"is 269 characters long (a DNS name has at most 253)"* ]]
}
hl_gateway_lists_web() { [[ $(hl_gateway_hosts) == *'"limits-web.echo.training-mesh.global"'* ]]; }
hl_cut() {
    local out
    out=$(hl_ready limits-partner)
    [[ $out == False/HostNotAllowed/* && $out == *" ... (truncated)" ]]
}
hl_gone() { not_found us -n echo ccs "$hl_long" && not_found us -n echo ccs limits-web && not_found us -n echo ccs limits-partner; }

hostile_limits() {
    local out c hosts claims patterns p
    # ---- a host Istio refuses, beside a good one ----
    hl_ccs "$hl_long"
    hl_ccs limits-web
    if wait_for "limits/invalid-host-refused" 30 hl_refused_host; then
        pass limits/invalid-host-refused
    else fail limits/invalid-host-refused "Ready: $(hl_ready "$hl_long")"; fi
    out=""
    for c in us eu; do
        not_found "$c" -n echo serviceentries.networking.istio.io "$hl_long" || out+=" ServiceEntry in $c"
        not_found "$c" -n echo destinationrules.networking.istio.io "$hl_long" || out+=" DestinationRule in $c"
    done
    if [ -z "$out" ]; then pass limits/invalid-host-writes-nothing; else
        fail limits/invalid-host-writes-nothing "written:$out"; fi
    # the Gateway is rebuilt with limits-web (so after both exist): never with the bad host
    if wait_for "limits/gateway-valid-hosts-only" 30 hl_gateway_lists_web &&
        hosts=$(hl_gateway_hosts) && [[ $hosts != *"$hl_long"* && $hosts == *'"echo.eu.mesh.local"'* ]]; then
        pass limits/gateway-valid-hosts-only
    else fail limits/gateway-valid-hosts-only "eu's Gateway hosts: $(hl_gateway_hosts)"; fi
    # and Istio's own validation accepts the Gateway as written (it refuses the whole
    # Gateway for one host of more than 255 characters, or with a label of 64)
    if kc eu -n istio-system get gateways.networking.istio.io cross-network-gateway -o yaml >"$tmp/gw.yaml" 2>&1 &&
        out=$("$EW_ISTIOCTL" validate -f "$tmp/gw.yaml" 2>&1); then
        pass limits/gateway-istio-valid
    else fail limits/gateway-istio-valid "$(head -c 400 <<<"$out")"; fi
    check limits/echo-still-ready 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n echo get ccs echo -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"

    # ---- a refusal message longer than the CRD allows ----
    claims=$(kc us get meshnetwork training-mesh -o jsonpath='{.spec.serviceClaims.hosts}')
    # 98 patterns of 250 characters (the CRD allows 100), {meshID} 31 times: 405 characters each once expanded
    p="*.$(printf '{meshID}%.0s' $(seq 31))"
    patterns='"*.{namespace}.{meshID}.global","*.mesh.local"'
    for _ in $(seq 98); do patterns+=",\"$p\""; done
    if kc us patch meshnetwork training-mesh --type=merge \
        -p "{\"spec\":{\"serviceClaims\":{\"hosts\":[$patterns]}}}" >"$tmp/patch.out" 2>&1; then
        hl_ccs limits-partner api.partner.com
        if wait_for "limits/long-message-cut" 45 hl_cut; then
            out=$(hl_ready limits-partner)
            if [ "${#out}" -le 32800 ]; then pass limits/long-message-cut; else
                fail limits/long-message-cut "message of ${#out} characters"; fi
        else fail limits/long-message-cut "Ready: $(hl_ready limits-partner | cut -c1-300); status: $(kc us -n echo get ccs limits-partner -o jsonpath='{.status}' | cut -c1-200)"; fi
    else fail limits/long-message-cut "patching serviceClaims: $(cat "$tmp/patch.out")"; fi

    # ---- leave as found ----
    kc us -n echo delete ccs "$hl_long" limits-web limits-partner --ignore-not-found --timeout=60s >/dev/null 2>&1
    kc us patch meshnetwork training-mesh --type=merge \
        -p "{\"spec\":{\"serviceClaims\":{\"hosts\":${claims:-null}}}}" >/dev/null 2>&1
    check limits/clean-up 60 hl_gone
    if wait_for "limits/gateway-restored" 30 sh -c "[ \"\$($EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get gateways.networking.istio.io cross-network-gateway -o jsonpath='{.spec.servers[0].hosts}')\" = '[\"echo.eu.mesh.local\"]' ]" &&
        [ "$(kc us get meshnetwork training-mesh -o jsonpath='{.spec.serviceClaims.hosts}')" = "$claims" ]; then
        pass limits/restored
    else fail limits/restored "eu's Gateway hosts: $(hl_gateway_hosts); claims: $(kc us get meshnetwork training-mesh -o jsonpath='{.spec.serviceClaims.hosts}' | cut -c1-200)"; fi
}
