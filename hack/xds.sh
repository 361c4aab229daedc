# Readers of the xDS probe's JSON (hack/tools/istio/xdsprobe dump), shared by the demo and
# test_istio: each takes the dump's file first and prints one line.
# shellcheck shell=bash

# xds_endpoints FILE CLUSTER: its lb endpoints, "address:port region priority", sorted and
# comma-separated; from EDS, or for a DNS cluster from its inline load assignment.
xds_endpoints() {
    jq -r --arg n "$2" '[(.endpoints[]? | select(.clusterName == $n)),
                     (.clusters[]? | select(.name == $n) | .loadAssignment // empty)] | .[0] |
        [.endpoints[]? | (.priority // 0) as $p | (.locality.region // "") as $r |
         .lbEndpoints[]? | .endpoint.address.socketAddress |
         "\(.address):\(.portValue) \($r) \($p)"] | sort | join(",")' "$1"
}
# xds_cluster_field FILE CLUSTER JQ: JQ applied to that cluster.
xds_cluster_field() {
    jq -r --arg n "$2" ".clusters[]? | select(.name == \$n) | $3" "$1"
}
# xds_mtls FILE CLUSTER: "SNI SAN,SAN..." of the cluster's TLS transport socket.
xds_mtls() {
    jq -r --arg n "$2" '.clusters[]? | select(.name == $n) |
        [.. | objects | select(has("sni"))][0] as $t |
        [$t | .. | objects | (.matchSubjectAltNames? // [], .matchTypedSubjectAltNames? // [])
            | .[] | (.exact // .matcher.exact)] as $sans |
        "\($t.sni) \($sans | unique | join(","))"' "$1"
}
# xds_chains FILE PORT: the server names of the filter chains of the listener on PORT.
xds_chains() {
    jq -r --argjson p "$2" '[.listeners[]? | select(.address.socketAddress.portValue == $p) |
        .filterChains[]? | .filterChainMatch.serverNames[]?] | unique | join(",")' "$1"
}
# xds_chain_cluster FILE PORT SNI: the cluster that the filter chain for SNI forwards to.
xds_chain_cluster() {
    jq -r --argjson p "$2" --arg s "$3" '[.listeners[]? | select(.address.socketAddress.portValue == $p)
        | .filterChains[]? | select((.filterChainMatch.serverNames // []) | index($s)) |
        .. | objects | .cluster? // empty | strings] | .[0] // ""' "$1"
}
# xds_listener_filters FILE PORT: the listener filters of the listener on PORT.
xds_listener_filters() {
    jq -r --argjson p "$2" '[.listeners[]? | select(.address.socketAddress.portValue == $p) |
        .listenerFilters[]?.name] | join(",")' "$1"
}
# xds_dns FILE HOST: the addresses the DNS name table gives HOST.
xds_dns() {
    jq -r --arg h "$2" '.nameTable.table[$h].ips // [] | join(",")' "$1"
}
# xds_vhost FILE HOST: "ROUTE-CONFIG VHOST-NAME DOMAIN,DOMAIN..." of the virtual host that
# serves HOST.
xds_vhost() {
    jq -r --arg h "$2" '[.routes[]? | .name as $r | .virtualHosts[]? |
        select(.domains | index($h)) | "\($r) \(.name) \(.domains | join(","))"] | .[0] // ""' "$1"
}
# xds_addrs FILE CLUSTER: its lb endpoints' "address:port", sorted and comma-separated.
xds_addrs() {
    xds_endpoints "$1" "$2" | tr ',' '\n' | cut -d' ' -f1 | sort | paste -sd,
}
