# shellcheck shell=bash disable=SC2154
# hostile_foreign: a user who followed Istio's multicluster guide already has the east-west
# gateway's objects in member eu (istio-eastwestgateway Deployment and Service, and the
# Gateway cross-network-gateway in istio-system, written with kubectl as the guide has
# one do). eastwest must leave them intact (same uid and resourceVersion) through the
# mesh's creation, eu's removal from the mesh and the mesh's deletion, and report them
# (eu's ForeignObjects condition and a ForeignObject Event naming each); with
# spec.adoptExistingObjects: true it takes them over. Leaves nothing behind: the user's
# objects (adopted, then deleted by the mesh's cleanup) and the mesh are gone at the end.
# Needs mesh_env.sh, the operator running against us, clusters us, eu and ap (a mesh has
# at least two members, and eu must leave one), the kubeconfig Secrets prod-eu-west-1
# (set_up_home) and ap-kubeconfig, and istiod played in each (corp.local, training-mesh).

hf_user_objects() { # the guide's objects, as kubectl apply writes them
    kc eu -n istio-system apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istio-eastwestgateway
  labels: {app: istio-eastwestgateway, istio: eastwestgateway, topology.istio.io/network: network2}
spec:
  replicas: 1
  selector: {matchLabels: {app: istio-eastwestgateway, istio: eastwestgateway}}
  template:
    metadata: {labels: {app: istio-eastwestgateway, istio: eastwestgateway}}
    spec:
      containers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.24.0}]
---
apiVersion: v1
kind: Service
metadata:
  name: istio-eastwestgateway
  labels: {app: istio-eastwestgateway, istio: eastwestgateway}
spec:
  type: LoadBalancer
  selector: {app: istio-eastwestgateway, istio: eastwestgateway}
  ports:
  - {name: status-port, port: 15021, targetPort: 15021}
  - {name: tls, port: 15443, targetPort: 15443}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: cross-network-gateway}
spec:
  selector: {istio: eastwestgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    tls: {mode: AUTO_PASSTHROUGH}
    hosts: ["*.local"]
YAML
}
hf_objects=(deployment/istio-eastwestgateway service/istio-eastwestgateway
    gateways.networking.istio.io/cross-network-gateway)
hf_identity() { # uid/resourceVersion of each user object, one line
    local o
    for o in "${hf_objects[@]}"; do
        kc eu -n istio-system get "$o" -o jsonpath='{.metadata.uid}/{.metadata.resourceVersion} ' || return 1
    done
}
hf_mesh() { # hf_mesh ADOPT [noap]: MeshNetwork foreign-mesh with members us, eu and ap
    # (noap: us and eu only)
    local ap_member="  - {name: ap, network: ap-net, kubeconfigSecretRef: {name: ap-kubeconfig}}"
    [ "${2:-}" = noap ] && ap_member=""
    kc us apply -f - >/dev/null <<YAML
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: foreign-mesh}
spec:
  meshID: training-mesh
  trustDomain: corp.local
  clusters:
  - {name: us, network: us-net}
  - {name: eu, network: eu-net, kubeconfigSecretRef: {name: prod-eu-west-1}}
$ap_member
  eastWestGateway: {replicas: 1, exposure: AllLocal}
  certificateAuthority: {onDelete: Delete}
  adoptExistingObjects: $1
YAML
}
hf_eu_cond() { # hf_eu_cond TYPE FIELD
    kc us get meshnetwork foreign-mesh -o jsonpath="{.status.clusters[?(@.name==\"eu\")].conditions[?(@.type==\"$1\")].$2}"
}
hf_reported() {
    [ "$(hf_eu_cond ForeignObjects status)/$(hf_eu_cond ForeignObjects reason)" = True/ForeignObject ]
}
hf_events() { # hf_events REASON: the notes of this foreign-mesh's Events of REASON (by its
    # uid: Events of an earlier run's foreign-mesh stay for an hour)
    local uid
    uid=$(kc us get meshnetwork foreign-mesh -o jsonpath='{.metadata.uid}') && [ -n "$uid" ] &&
        kc us get events -A --field-selector "reason=$1,involvedObject.uid=$uid" \
            -o jsonpath='{range .items[*]}{.message}{"\n"}{end}'
}
hf_names_all() { # hf_names_all TEXT: names each of the user's objects
    grep -q 'cluster eu' <<<"$1" &&
        grep -q 'Deployment istio-system/istio-eastwestgateway' <<<"$1" &&
        grep -q 'Service istio-system/istio-eastwestgateway' <<<"$1" &&
        grep -q 'Gateway istio-system/cross-network-gateway' <<<"$1"
}
hf_event_names_all() { hf_names_all "$(hf_events ForeignObject)"; }
hf_intact() { # hf_intact NAME: the user's objects have the uid and resourceVersion they had
    local now
    now=$(hf_identity 2>&1)
    if [ "$now" = "$hf_was" ]; then pass "foreign/$1-intact"; else
        fail "foreign/$1-intact" "was '$hf_was', now '$now'"; fi
}
hf_eu_removed() { # the removal handled (not by its Event: a busy mesh's Events are rate-limited)
    [ "$(kc us get meshnetwork foreign-mesh -o jsonpath='{.status.observedGeneration}/{.metadata.generation}/{.status.removedClusters[*].name}/{.status.clusters[*].name}')" = \
        "$(kc us get meshnetwork foreign-mesh -o jsonpath='{.metadata.generation}/{.metadata.generation}')//us ap" ]
}
hf_adopted() {
    local o
    for o in "${hf_objects[@]}"; do
        kc eu -n istio-system get "$o" -o jsonpath='{.metadata.labels.eastwest\.io/mesh}' | grep -qx foreign-mesh || return 1
    done
    [ "$(hf_eu_cond ForeignObjects status)" = False ]
}
hf_adopted_event() { hf_events Adopted | grep -q 'Deployment istio-system/istio-eastwestgateway'; }
hf_delete_mesh() {
    kc us delete meshnetwork foreign-mesh --wait=false >/dev/null 2>&1
    wait_for "foreign-mesh deleted" 90 not_found us meshnetwork foreign-mesh
}

hostile_foreign() {
    local text o
    hf_user_objects
    hf_was=$(hf_identity)
    hf_mesh false
    check foreign/reported 40 hf_reported
    text=$(hf_eu_cond ForeignObjects message)
    if hf_names_all "$text" && grep -q adoptExistingObjects <<<"$text"; then
        pass foreign/condition-names-each; else fail foreign/condition-names-each "message: $text"; fi
    if [ "$(hf_eu_cond GatewayReady status)/$(hf_eu_cond GatewayReady reason)" = False/ForeignObject ]; then
        pass foreign/gateway-not-ready; else
        fail foreign/gateway-not-ready "GatewayReady $(hf_eu_cond GatewayReady status)/$(hf_eu_cond GatewayReady reason)"; fi
    check foreign/event-names-each 20 hf_event_names_all
    # nothing of eastwest's gateway beside the user's
    if not_found eu -n istio-system serviceaccount istio-eastwestgateway; then
        pass foreign/no-half-gateway; else fail foreign/no-half-gateway "eastwest's ServiceAccount written in eu"; fi
    sleep 3 # more reconciles (us's gateway, statuses) come and go
    hf_intact after-reconciles

    # eu leaves the mesh: its cleanup must not take them
    kc us patch meshnetwork foreign-mesh --type=json \
        -p '[{"op":"remove","path":"/spec/clusters/1"}]' >/dev/null
    check foreign/eu-removed 60 hf_eu_removed
    hf_intact after-member-removal

    # eu back, then the mesh deleted
    hf_mesh false
    check foreign/reported-again 40 hf_reported
    if hf_delete_mesh; then pass foreign/mesh-deleted; else fail foreign/mesh-deleted "$(cat "$tmp/why")"; fi
    hf_intact after-mesh-deletion

    # adoption when asked: they become eastwest's, and its cleanup takes them
    # (us and eu only: a new mesh's first reconcile records an Event per object it writes,
    # and a recorder allows 25 per object before it rate-limits; with ap too the Adopted
    # ones came 23rd to 25th)
    hf_mesh true noap
    check foreign/adopted 40 hf_adopted
    check foreign/adopted-event 20 hf_adopted_event
    if hf_delete_mesh; then pass foreign/adopted-mesh-deleted; else
        fail foreign/adopted-mesh-deleted "$(cat "$tmp/why")"; fi
    local left=""
    for o in "${hf_objects[@]}"; do not_found eu -n istio-system "$o" || left="$left $o"; done
    if [ -z "$left" ]; then pass foreign/adopted-cleaned-up; else
        fail foreign/adopted-cleaned-up "left in eu:$left"; fi
    # whatever happened above, the clusters as they were
    for o in "${hf_objects[@]}"; do kc eu -n istio-system delete "$o" --ignore-not-found >/dev/null 2>&1; done
    kc us get meshnetwork foreign-mesh >/dev/null 2>&1 && hf_delete_mesh
    return 0
}
