# shellcheck shell=bash disable=SC2154
# hostile_claims: a tenant claims names and addresses that are not its own (issue 31;
# docs/design.md "Tenancy: who may claim what"). Two tenants, team-a and team-b, each a
# ServiceAccount that may create CrossClusterServices only in its own namespace of the
# home cluster (us, also the importer). team-a exports web from eu. team-b claims
# team-a's host (first before team-a, a squat; then again after), api.partner.com, an
# address outside the mesh's serviceClaims, and, with the MeshNetwork's owner allowing
# the range, the clusterIP of a Service that exists in the importer us: each is refused
# with Ready=False naming it, nothing of team-b's is written in us or eu, and team-a's
# service is Ready with its own objects. Leaves the clusters as it found them.

# hc_as TEAM KUBECTL-ARGS...: kubectl in us as TEAM's tenant (RBAC applies to it).
hc_as() { local team=$1; shift; kc us --as "system:serviceaccount:$team:tenant" "$@"; }
# hc_ccs TEAM NAME [HOST] [ADDRESS]: TEAM's tenant creates a CrossClusterService.
hc_ccs() {
    hc_as "$1" -n "$1" apply -f - >/dev/null <<YAML
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: $2, namespace: $1}
spec:
  meshNetwork: training-mesh
${3:+  host: $3}
${4:+  address: $4}
  exportFrom: [{cluster: eu, service: web}]
  importTo: [us]
  ports: [{number: 80, name: http, protocol: HTTP}]
YAML
}
# hc_ready NS NAME: "status/reason/message" of its Ready condition.
hc_ready() {
    kc us -n "$1" get ccs "$2" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}/{.status.conditions[?(@.type=="Ready")].message}' 2>/dev/null
}
# hc_refused NS NAME REASON TEXT: Ready=False with REASON, the message names TEXT.
hc_refused() {
    local out
    out=$(hc_ready "$1" "$2")
    [[ $out == False/"$3"/* && $out == *"$4"* ]]
}
# hc_nothing_written NS NAME: no ServiceEntry nor DestinationRule NS/NAME in us or eu.
hc_nothing_written() {
    local c
    for c in us eu; do
        not_found "$c" -n "$1" serviceentries.networking.istio.io "$2" || return 1
        not_found "$c" -n "$1" destinationrules.networking.istio.io "$2" || return 1
    done
}
hc_expect_refused() { # hc_expect_refused CHECK NS NAME REASON TEXT
    if wait_for "$1" 30 hc_refused "$2" "$3" "$4" "$5" && hc_nothing_written "$2" "$3"; then
        pass "$1"
    else
        fail "$1" "Ready: $(hc_ready "$2" "$3"); objects in us: $(kc us -n "$2" get serviceentries.networking.istio.io,destinationrules.networking.istio.io -o name 2>&1 | tr '\n' ' ')"
    fi
}

hostile_claims() {
    local t ip_us out
    # ---- the tenants: the ones the clusters start with (hack/user-world/user-objects.yaml:
    # team-a and team-b, each a ServiceAccount tenant that may edit CrossClusterServices
    # in its own namespace only); this case adds objects of its own beside them and
    # removes only those (test_user_objects checks the tenants' are untouched) ----
    for t in team-a team-b; do
        if ! kc us -n "$t" get serviceaccount tenant >/dev/null 2>&1 ||
            ! kc eu get namespace "$t" >/dev/null 2>&1; then
            fail claims/tenants-seeded "no $t/tenant in us or no namespace $t in eu: the clusters were not started by hack/cluster.sh up"
            return
        fi
    done
    # team-a's backing Service in eu, with a pod as ServiceAccount web (never scheduled): no
    # importer entry is written before an identity is known
    kc eu -n team-a apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, labels: {app: web}}
spec:
  serviceAccountName: web
  containers: [{name: app, image: example.invalid/web:1}]
YAML
    out=$(hc_as team-b auth can-i create crossclusterservices.eastwest.io -n team-b)/$(hc_as team-b auth can-i create crossclusterservices.eastwest.io -n team-a 2>/dev/null)/$(hc_as team-b auth can-i patch meshnetworks.eastwest.io 2>/dev/null)
    if [ "$out" = yes/no/no ]; then pass claims/tenant-rbac-own-namespace-only; else
        fail claims/tenant-rbac-own-namespace-only "team-b may create in team-b/team-a, patch MeshNetworks: $out"; fi
    # really as team-b: a CrossClusterService in team-a's namespace is refused by RBAC
    if out=$(hc_as team-b -n team-a apply -f - 2>&1 <<'YAML'
apiVersion: eastwest.io/v1alpha1
kind: CrossClusterService
metadata: {name: intruder, namespace: team-a}
spec: {meshNetwork: training-mesh, exportFrom: [{cluster: eu, service: web}], importTo: [us]}
YAML
    ); then fail claims/tenant-cannot-write-other-namespace "created: $out"
    elif [[ $out == *[Ff]orbidden* ]]; then pass claims/tenant-cannot-write-other-namespace
    else fail claims/tenant-cannot-write-other-namespace "not a Forbidden: $out"; fi

    # ---- team-b squats team-a's default host before team-a claims it ----
    hc_ccs team-b squat web.team-a.training-mesh.global
    hc_expect_refused claims/squat-on-other-tenants-host team-b squat HostNotAllowed web.team-a.training-mesh.global
    sleep 1.1 # creationTimestamp has seconds: team-a's service is newer than the squat
    # ---- team-a's own service: written, visible in its namespace only ----
    hc_ccs team-a web
    if kc us -n team-a wait --for=condition=Ready ccs/web --timeout=60s >/dev/null 2>&1; then
        pass claims/owner-not-blocked-by-older-squat
    else fail claims/owner-not-blocked-by-older-squat "team-a/web Ready: $(hc_ready team-a web)"; fi
    out=$(kc us -n team-a get serviceentries.networking.istio.io web -o jsonpath='{.spec.hosts} {.spec.exportTo}' 2>&1)
    if [ "$out" = '["web.team-a.training-mesh.global"] ["."]' ]; then pass claims/importer-entry-exported-to-own-namespace; else
        fail claims/importer-entry-exported-to-own-namespace "us team-a/web: $out"; fi
    out=$(kc eu -n team-a get serviceentries.networking.istio.io web -o jsonpath='{.spec.exportTo}' 2>&1)
    if [ "$out" = '[".","istio-system"]' ]; then pass claims/exporter-entry-exported-to-gateway; else
        fail claims/exporter-entry-exported-to-gateway "eu team-a/web: $out"; fi

    # ---- team-b claims team-a's host again, an outside name, addresses not its own ----
    hc_ccs team-b again web.team-a.training-mesh.global
    hc_ccs team-b partner api.partner.com
    ip_us=$(kc us -n default get service kubernetes -o jsonpath='{.spec.clusterIP}')
    hc_ccs team-b outside "" "$ip_us"
    hc_expect_refused claims/other-tenants-host team-b again HostNotAllowed web.team-a.training-mesh.global
    hc_expect_refused claims/outside-name team-b partner HostNotAllowed api.partner.com
    hc_expect_refused claims/address-outside-policy team-b outside AddressNotAllowed "$ip_us"
    # the mesh's owner allows the range: team-b/outside is judged again, and its address is
    # still an importer's Service's
    kc us patch meshnetwork training-mesh --type json \
        -p "[{\"op\":\"add\",\"path\":\"/spec/serviceClaims/addresses/-\",\"value\":\"$ip_us/32\"}]" >/dev/null
    hc_expect_refused claims/address-of-importers-service team-b outside AddressInUse "cluster us: Service default/kubernetes"
    kc us patch meshnetwork training-mesh --type json -p '[{"op":"remove","path":"/spec/serviceClaims/addresses/1"}]' >/dev/null

    # ---- team-a is unaffected ----
    out=$(hc_ready team-a web)
    if [[ $out == True/Ready/* ]] && [ "$(kc us -n team-a get serviceentries.networking.istio.io web -o jsonpath='{.spec.hosts[0]} {.metadata.labels.eastwest\.io/service}' 2>&1)" = "web.team-a.training-mesh.global team-a.web" ]; then
        pass claims/victim-unaffected
    else fail claims/victim-unaffected "team-a/web Ready: $out"; fi
    out=$(kc us -n team-b get serviceentries.networking.istio.io,destinationrules.networking.istio.io -o name 2>&1; kc eu -n team-b get serviceentries.networking.istio.io -o name 2>&1)
    if [[ $out != *serviceentr* && $out != *destinationrule* ]]; then pass claims/nothing-of-team-b-written; else
        fail claims/nothing-of-team-b-written "$out"; fi

    # ---- leave the clusters as found ----
    for t in team-a team-b; do kc us -n "$t" delete ccs --all --timeout=60s >/dev/null 2>&1; done
    check claims/cleaned-up 60 sh -c "! $EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n team-a get serviceentries.networking.istio.io web >/dev/null 2>&1 && ! $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n team-a get serviceentries.networking.istio.io web >/dev/null 2>&1"
    kc eu -n team-a delete service/web pod/web-0 serviceaccount/web --wait=false >/dev/null 2>&1
    check claims/own-objects-removed 30 not_found eu -n team-a service web
}
