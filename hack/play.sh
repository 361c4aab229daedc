# The parts of a real mesh that local test clusters lack, played by scripts (the demo
# and the integration tests): istiod (its mesh config in ConfigMap istio; after a
# restart with the plugged-in CA, ConfigMap istio-ca-root-cert with cacerts' root)
# and the cloud's load balancer (the gateway Service's status.loadBalancer.ingress).
# The caller defines kc CLUSTER ARGS... (kubectl for that cluster).
# shellcheck shell=bash

# istiod: its mesh config, in namespace istio-system.
play_istiod() { # play_istiod CLUSTER TRUST_DOMAIN MESH_ID
    kc "$1" create namespace istio-system >/dev/null 2>&1
    kc "$1" -n istio-system apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, labels: {operator.istio.io/version: 1.30.3}}
data:
  mesh: |
    trustDomain: $2
    defaultConfig:
      meshId: $3
      proxyMetadata:
        ISTIO_META_DNS_CAPTURE: "true"
EOF
}
# istiod restarted with the plugged-in CA: it publishes cacerts' root.
play_istiod_root() { # play_istiod_root CLUSTER
    local pem
    pem=$(kc "$1" -n istio-system get secret cacerts -o jsonpath='{.data.root-cert\.pem}' |
        base64 -d) || return 1
    [ -n "$pem" ] || return 1
    kc "$1" -n istio-system create configmap istio-ca-root-cert \
        --from-literal=root-cert.pem="$pem" --dry-run=client -o yaml |
        kc "$1" apply -f - >/dev/null
}
play_cloud() { # play_cloud CLUSTER ADDRESS...: the load balancer's IPs or hostnames
    local ingress="" a
    for a in "${@:2}"; do
        if [[ $a =~ [a-z] ]]; then ingress="$ingress{\"hostname\":\"$a\"},"
        else ingress="$ingress{\"ip\":\"$a\",\"ipMode\":\"VIP\"},"; fi
    done
    kc "$1" -n istio-system patch service istio-eastwestgateway --subresource=status \
        --type=merge -p "{\"status\":{\"loadBalancer\":{\"ingress\":[${ingress%,}]}}}" >/dev/null
}
