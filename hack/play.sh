# What a real mesh has that local test clusters lack, for the demo and the integration
# tests. Two parts are real: istiod itself (hack/cluster.sh runs pilot-discovery per
# cluster) and its mesh config, ConfigMap istio as the istiod Helm chart writes it. Played
# by scripts: the kubelet (Pods' status, the cacerts volume, done by hack/cluster.sh at
# istiod's start) and the cloud's load balancer (the gateway Service's
# status.loadBalancer.ingress).
# The caller defines kc CLUSTER ARGS... (kubectl for that cluster).
# shellcheck shell=bash

# The istiod chart's ConfigMap istio (mesh config), in namespace istio-system.
play_istiod() { # play_istiod CLUSTER TRUST_DOMAIN MESH_ID
    # (hack/cluster.sh starts clusters with Istio's namespace: "already exists" is fine,
    # and must not end a caller under set -e, as hack/demo.sh is)
    kc "$1" create namespace istio-system >/dev/null 2>&1 || true
    kc "$1" -n istio-system apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, labels: {operator.istio.io/version: $ISTIO_RELEASE, release: istiod}}
data:
  mesh: |
    trustDomain: $2
    rootNamespace: istio-system
    defaultConfig:
      discoveryAddress: istiod.istio-system.svc:15012
      meshId: $3
      proxyMetadata:
        ISTIO_META_DNS_CAPTURE: "true"
  meshNetworks: 'networks: {}'
EOF
}

# istiod's root as published in the cluster (ConfigMap istio-ca-root-cert).
istiod_published_root() { # istiod_published_root CLUSTER
    kc "$1" -n istio-system get configmap istio-ca-root-cert \
        -o jsonpath='{.data.root-cert\.pem}' 2>/dev/null
}

# The real-world step after cacerts appears: restart istiod (the kubelet mounts the
# Secret's current content), then wait until istiod itself publishes cacerts' root.
# Fails when there is no cacerts yet or istiod does not publish its root within 30 s.
restart_istiod() { # restart_istiod CLUSTER
    local want deadline=$((SECONDS + 30))
    want=$(kc "$1" -n istio-system get secret cacerts -o jsonpath='{.data.root-cert\.pem}' \
        2>/dev/null | base64 -d) || return 1
    [ -n "$want" ] || return 1
    bash "$EW_ROOT/hack/cluster.sh" restart-istiod "$1" >/dev/null || return 1
    until [ "$(istiod_published_root "$1")" = "$want" ]; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
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

# The kubelet's report for a running pod: phase, IPs and readiness (True or False).
play_pod_status() { # play_pod_status CLUSTER NS NAME IP READY
    kc "$1" -n "$2" patch pod "$3" --subresource=status --type=merge -p "$(cat <<EOF
{"status": {"phase": "Running", "podIP": "$4", "podIPs": [{"ip": "$4"}], "hostIP": "10.99.0.1",
 "conditions": [{"type": "Ready", "status": "$5"}, {"type": "ContainersReady", "status": "$5"}]}}
EOF
)" >/dev/null
}
# A Deployment's ReplicaSet and the kubelet: pod NAME-0 from its pod template, running
# and Ready at IP.
play_pod_from_deployment() { # play_pod_from_deployment CLUSTER NS NAME IP
    kc "$1" -n "$2" get deployment "$3" -o json |
        jq --arg name "$3-0" --arg ns "$2" '{apiVersion: "v1", kind: "Pod",
            metadata: (.spec.template.metadata + {name: $name, namespace: $ns}),
            spec: .spec.template.spec}' | kc "$1" apply -f - >/dev/null &&
        play_pod_status "$1" "$2" "$3-0" "$4" True
}
