#!/usr/bin/env bash
# Faults, against real clusters (issue #9): the operator rolls out N CrossClusterServices
# exported from eu to us while the test kills it with SIGKILL at random moments, restarts
# eu's kube-apiserver and etcd, compacts etcd under open watches, takes eu away, runs a
# second replica and kills the leader, rotates eu's credentials and lets an exec-plugin
# token expire. After each fault the state of every member is checked: exactly the
# objects a rollout writes (no missing one, no orphan, no duplicate host). Each kill -9
# during the rollout hits the leader while its rollout is unfinished (the suite waits for
# the new process to lead, and says which process each kill hit). At the end the whole
# state is checked against an expectation written from the suite's MeshNetwork and the
# changes it made (docs/design.md section 3), and compared with what a fault-free
# reconcile of the same resources writes: the operator is stopped, everything it wrote in
# both members deleted (and the deletions checked), a fresh operator started, and the two
# states must be equal.
#
#   bash test/integration/test_faults.sh           # the short suite (the test command)
#   bash test/integration/test_faults.sh --full    # 500 services, 20 kills, 2-minute outage
#   EW_TEST_FAULTS_FULL=1 bash test/integration/test_faults.sh   # the same (how
#                                                  # hack/test.sh, through meson, asks)
#
# Prints PASS/FAIL lines, a summary of faults injected and recovered, and a
# "# test_faults: ..." total, like the other suites.
set -uo pipefail
suite=test_faults
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"

n=${EW_FAULTS_SERVICES:-40} kills=${EW_FAULTS_KILLS:-3} outage=${EW_FAULTS_OUTAGE:-20}
if [ "${1:-}" = --full ] || [ "${EW_TEST_FAULTS_FULL:-0}" = 1 ]; then n=500 kills=20 outage=120; fi
ns=faults mesh=fault-mesh
injected=0 recovered=0 compared=0
fault() { injected=$((injected + 1)); }
ok() { recovered=$((recovered + 1)); }

# The operator, restartable: its log is appended to, never truncated. It runs as the
# chart's ServiceAccount with the chart's RBAC (mesh_env.sh chart_rbac, operator_token:
# done once in the set-up). Fails when its /healthz does not answer within 30 s.
lease=ew-faults
run_operator() { # sets op_pid and port
    port=$(free_port)
    spawn_operator --namespace eastwest-system --leader-election-id "$lease" \
        --metrics-bind-address "127.0.0.1:$port" --log-level debug --allow-member-exec
    wait_for "operator /healthz" 30 curl -sf "http://127.0.0.1:$port/healthz"
}
kill9() { kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# (is_leader, member_write_count, metric_sum: mesh_env.sh; they fail on unreadable metrics)
lease_holder() { kc us -n eastwest-system get lease "$lease" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
# holder_pid IDENTITY: the process a holder identity names (<host>_<pid in hex><4 hex
# digits>, cmd/eastwest-operator/main.c make_identity); nothing for another form.
holder_pid() {
    local id=${1##*_}
    [[ $id =~ ^[0-9a-f]{5,}$ ]] && echo $((16#${id:0:${#id}-4}))
}
# kill_operator WHAT: kill -9 the operator (op_pid), and say which process it hit: the
# leader (its eastwest_leader metric is 1 just before, and the Lease, which a killed
# process leaves as it was, names its pid) or a standby. Sets hit_holder (the Lease
# holder); true when it hit the leader.
kills_report=""
kill_operator() {
    local role=standby hp
    is_leader "$port" && role=leader
    kill9 "$op_pid"
    fault
    hit_holder=$(lease_holder)
    hp=$(holder_pid "$hit_holder")
    [ "$hp" = "$op_pid" ] || role="$role, not the Lease holder (pid ${hp:-none})"
    echo "kill -9 #$injected ($1): pid $op_pid, the $role; $(ready_count)/$(kc us -n "$ns" get ccs -o name 2>/dev/null | wc -l) CRs Ready" >&2
    kills_report="$kills_report ${op_pid}:${role%%,*}"
    [ "$role" = leader ]
}
# release_lease HOLDER: clear the killed leader's Lease as its own shutdown would have
# (lib/runtime/leader.c give_up), only if HOLDER still holds it: the next process leads
# at once instead of after the Lease's 15 s (the operator has no flag to shorten it).
# Taking over an expired Lease is what replicas/standby-takes-over checks.
release_lease() {
    [ -n "$1" ] || return 0
    kc us -n eastwest-system patch lease "$lease" --type=json -p \
        "[{\"op\":\"test\",\"path\":\"/spec/holderIdentity\",\"value\":\"$1\"},{\"op\":\"remove\",\"path\":\"/spec/holderIdentity\"}]" >/dev/null 2>&1
}
# wrote_since PORT COUNT: the process on PORT has made more than COUNT member writes.
wrote_since() { local w; w=$(member_write_count "$1") && [ "$w" -gt "$2" ]; }
# until_writes PORT COUNT SECONDS: poll (as fast as the metrics answer: a batch's rollout
# takes well under a second) until the process on PORT has made COUNT member writes.
until_writes() {
    local end=$((SECONDS + $3))
    until wrote_since "$1" $(($2 - 1)); do [ "$SECONDS" -lt "$end" ] || return 1; done
}
# reconciled_all PORT: the process on PORT has reconciled every CR to the end (result
# success; the MeshNetwork's reconciles always requeue, and its queue always holds the
# mesh's next look) and the mesh at least once.
reconciled_all() {
    local c m
    c=$(metric_sum "$1" '/^eastwest_reconcile_total\{/ && /controller="crossclusterservice"/ && /result="success"/') &&
        m=$(metric_sum "$1" '/^eastwest_reconcile_total\{/ && /controller="meshnetwork"/') &&
        [ "$c" -ge "$n" ] && [ "$m" -ge 1 ]
}

gen_ccs() { # gen_ccs FROM TO: CrossClusterServices s<FROM>..s<TO>
    local i
    for i in $(seq "$1" "$2"); do
        printf -- '---\napiVersion: eastwest.io/v1alpha1\nkind: CrossClusterService\nmetadata: {name: s%d, namespace: %s}\nspec:\n  meshNetwork: %s\n  exportFrom: [{cluster: eu}]\n  importTo: [us]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n' "$i" "$ns" "$mesh"
    done
}
gen_services() { # backing Services s1..sN in eu, each with a pod (never scheduled: there
    # is no kubelet) as ServiceAccount s<i>-backend, the identity us pins (no importer entry
    # is written before one is known)
    local i
    for i in $(seq 1 "$n"); do
        printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: %s}\nspec:\n  selector: {app: s%d}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n' "$i" "$ns" "$i"
        printf -- '---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s%d-backend, namespace: %s}\n' "$i" "$ns"
        printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: s%d-0, namespace: %s, labels: {app: s%d}}\nspec:\n  serviceAccountName: s%d-backend\n  containers: [{name: app, image: registry.invalid/app}]\n' "$i" "$ns" "$i" "$i"
    done
}
names() { # names CLUSTER KIND: the generated objects' names, sorted
    kc "$1" -n "$ns" get "$2" -l "eastwest.io/mesh=$mesh" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' 2>/dev/null | sort
}
want_names() { seq 1 "$n" | sed 's/^/s/' | sort; }
ready_count() {
    kc us -n "$ns" get ccs -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"/"}{.status.observedGeneration}{"/"}{.metadata.generation}{"\n"}{end}' 2>/dev/null |
        awk -F/ '$1 == "True" && $2 == $3' | wc -l
}
# converged: every CR Ready at its generation, and exactly s1..sN written: ServiceEntry
# and DestinationRule in us, ServiceEntry in eu; each host in one ServiceEntry per cluster.
converged() {
    [ "$(ready_count)" -eq "$n" ] || return 1
    local w
    w=$(want_names)
    [ "$(names us serviceentries.networking.istio.io)" = "$w" ] &&
        [ "$(names us destinationrules.networking.istio.io)" = "$w" ] &&
        [ "$(names eu serviceentries.networking.istio.io)" = "$w" ] || return 1
    local c dup
    for c in us eu; do
        dup=$(kc "$c" get serviceentries.networking.istio.io -A -o jsonpath='{range .items[*]}{.spec.hosts[0]}{"\n"}{end}' | sort | uniq -d)
        [ -z "$dup" ] || return 1
    done
}
why_not() { # what is off, for a failure message
    local w
    w=$(want_names)
    echo "ready $(ready_count)/$n;" \
        "us SE missing/orphan: $(comm -3 <(echo "$w") <(names us serviceentries.networking.istio.io) | tr -d '\t' | head -5 | tr '\n' ' ');" \
        "us DR: $(comm -3 <(echo "$w") <(names us destinationrules.networking.istio.io) | tr -d '\t' | head -5 | tr '\n' ' ');" \
        "eu SE: $(comm -3 <(echo "$w") <(names eu serviceentries.networking.istio.io) | tr -d '\t' | head -5 | tr '\n' ' ')"
}
check_converged() { # check_converged NAME SECONDS
    if wait_for "$1" "$2" converged; then pass "$1"; ok; else fail "$1" "$(why_not)"; fi
}
# state FILE: everything the operator wrote for the mesh in both members, as one JSON
# document {us: ..., eu: ...}, without what the API server adds (uid, resourceVersion,
# timestamps, managedFields, generation, status, a Service's allocated clusterIP and node
# ports): the CRs' ServiceEntries and DestinationRules, the gateway's Deployment,
# ServiceAccount, Role, RoleBinding, Service and Gateway, the cacerts Secret (its keys and
# root: the intermediate is new each time it is issued) and the Istio namespace's network
# label. Fails when a read fails.
state() {
    local c
    for c in us eu; do
        kc "$c" get serviceentries.networking.istio.io,destinationrules.networking.istio.io -A \
            -l "eastwest.io/mesh=$mesh" -o json >"$tmp/st-$c-ccs.json" &&
            kc "$c" -n istio-system get deployment,serviceaccount,role,rolebinding,service,gateways.networking.istio.io \
                -l "eastwest.io/mesh=$mesh" -o json >"$tmp/st-$c-gw.json" &&
            kc "$c" -n istio-system get secret cacerts -o json >"$tmp/st-$c-cacerts.json" &&
            kc "$c" get namespace istio-system -o json >"$tmp/st-$c-ns.json" || return 1
    done
    jq -n -S --slurpfile usccs "$tmp/st-us-ccs.json" --slurpfile usgw "$tmp/st-us-gw.json" \
        --slurpfile uscacerts "$tmp/st-us-cacerts.json" --slurpfile usns "$tmp/st-us-ns.json" \
        --slurpfile euccs "$tmp/st-eu-ccs.json" --slurpfile eugw "$tmp/st-eu-gw.json" \
        --slurpfile eucacerts "$tmp/st-eu-cacerts.json" --slurpfile euns "$tmp/st-eu-ns.json" '
        def obj: {kind, ns: .metadata.namespace, name: .metadata.name, labels: .metadata.labels,
            annotations: (.metadata.annotations // {} | del(."deployment.kubernetes.io/revision")),
            spec: (if .kind == "Service" then .spec | del(.clusterIP, .clusterIPs, .healthCheckNodePort)
                   | .ports |= map(del(.nodePort)) else .spec end),
            rules, roleRef, subjects};
        def member(ccs; gw; cacerts; ns): {
            objects: ([ccs[0].items[], gw[0].items[]] | map(obj) | sort_by(.kind, .ns, .name)),
            cacerts: (cacerts[0] | {labels: .metadata.labels,
                annotations: (.metadata.annotations // {} | del(."eastwest.io/applied-hash")),
                type, keys: (.data | keys), root: (.data["root-cert.pem"] | @base64d)}),
            network: ns[0].metadata.labels["topology.istio.io/network"]};
        {us: member($usccs; $usgw; $uscacerts; $usns), eu: member($euccs; $eugw; $eucacerts; $euns)}' >"$1"
}
# facts FILE: what the expectation takes from the home cluster: each CR's uid and address
# (status.address: allocated from the vipRange), the MeshNetwork's uid, the mesh root.
facts() {
    kc us -n "$ns" get ccs -o json >"$tmp/f-ccs.json" &&
        kc us get meshnetwork "$mesh" -o json >"$tmp/f-mesh.json" &&
        kc us -n eastwest-system get secret "$mesh-root-ca" -o json >"$tmp/f-root.json" || return 1
    jq -n --slurpfile ccs "$tmp/f-ccs.json" --slurpfile m "$tmp/f-mesh.json" --slurpfile r "$tmp/f-root.json" '
        {ccs: ($ccs[0].items | map({key: .metadata.name,
            value: {uid: .metadata.uid, address: .status.address}}) | from_entries),
         mesh_uid: $m[0].metadata.uid, root: ($r[0].data["tls.crt"] | @base64d)}' >"$1"
}
# unexpected STATE FACTS: what in STATE differs from what docs/design.md section 3 says the
# operator writes for this suite's mesh (us-net/us-east-1 and eu-net/eu-west-1, trust
# domain corp.local, one gateway replica, eu's gateway at 203.0.113.20) and its CRs (s1..sN
# exported from eu to us, port 80 named http, Services' port 80 to targetPort 8080), after
# the changes the suite made (s1, s2: targetPort 9090; s3..s8: ports 8003..8008, which
# no Service port has, so no targetPort: api.md spec.ports[].targetPort; a pod of each s<i>
# runs as ServiceAccount s<i>-backend). One line per difference; nothing when it all matches.
# Written from those values, not from the operator's code or a run of it.
unexpected() {
    jq -r --argjson n "$n" --arg ns "$ns" --arg mesh "$mesh" --slurpfile facts "$2" '
        $facts[0] as $f | . as $s
        | def host(i): "s\(i).\($ns).\($mesh).global";
          def port(i): if i >= 3 and i <= 8 then 8000 + i else 80 end;
          # the backing Service port of that number (80) gives the targetPort; 8003..8008 have none
          def target(i): if i <= 2 then {targetPort: 9090} elif i <= 8 then {} else {targetPort: 8080} end;
          def vip(i): $f.ccs["s\(i)"].address;
          def ccs_meta(i): {labels: {"app.kubernetes.io/managed-by": "eastwest-operator",
              "eastwest.io/mesh": $mesh, "eastwest.io/service": "\($ns).s\(i)"},
              owner: $f.ccs["s\(i)"].uid};
          def meta(o): {labels: o.labels, owner: o.annotations["eastwest.io/owner-uid"]};
          def hashed(o): o.annotations["eastwest.io/applied-hash"] // "" | length > 0;
          def find(c; kind; nsname; name): [$s[c].objects[] | select(.kind == kind and .ns == nsname and .name == name)];
          # want(WHAT; GOT; WANT): a line when they differ
          def want(what; got; wanted): if got == wanted then empty
              else "\(what): \(got | tojson | .[0:400]), want \(wanted | tojson | .[0:400])" end;
          def one(c; kind; nsname; name; check):
              find(c; kind; nsname; name) as $o
              | if ($o | length) != 1 then "\(c): \(($o | length)) \(kind) \(nsname)/\(name), want 1"
                else $o[0] | check end;
          def ccs_object(c; kind; i; wanted):
              one(c; kind; $ns; "s\(i)";
                  want("\(c) \(kind) s\(i) spec"; .spec; wanted),
                  want("\(c) \(kind) s\(i) labels and owner"; meta(.); ccs_meta(i)),
                  (if hashed(.) then empty else "\(c) \(kind) s\(i): no eastwest.io/applied-hash" end));
          def gw_meta(net; extra): {labels: ({"app.kubernetes.io/managed-by": "eastwest-operator",
              "eastwest.io/mesh": $mesh, "topology.istio.io/network": net} + extra), owner: $f.mesh_uid};
          def sel: {app: "istio-eastwestgateway", istio: "eastwestgateway"};
          def gateway(c; net):
              one(c; "ServiceAccount"; "istio-system"; "istio-eastwestgateway";
                  want("\(c) ServiceAccount labels and owner"; meta(.); gw_meta(net; {}))),
              one(c; "Role"; "istio-system"; "istio-eastwestgateway";
                  # none: the gateway reads no Secret (the API server returns no rules as null)
                  want("\(c) Role rules"; (.rules // []); []),
                  want("\(c) Role labels and owner"; meta(.); gw_meta(net; {}))),
              one(c; "RoleBinding"; "istio-system"; "istio-eastwestgateway";
                  want("\(c) RoleBinding"; {roleRef, subjects};
                      {roleRef: {apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "istio-eastwestgateway"},
                       subjects: [{kind: "ServiceAccount", name: "istio-eastwestgateway", namespace: "istio-system"}]})),
              one(c; "Deployment"; "istio-system"; "istio-eastwestgateway";
                  want("\(c) Deployment"; {replicas: .spec.replicas, selector: .spec.selector.matchLabels,
                      pod_labels: (.spec.template.metadata.labels | {app, istio, "topology.istio.io/network": .["topology.istio.io/network"],
                          "sidecar.istio.io/inject": .["sidecar.istio.io/inject"]}),
                      template: .spec.template.metadata.annotations["inject.istio.io/templates"],
                      sa: .spec.template.spec.serviceAccountName,
                      container: (.spec.template.spec.containers | map({name, image, env}))};
                      {replicas: 1, selector: sel, pod_labels: (sel + {"topology.istio.io/network": net, "sidecar.istio.io/inject": "true"}),
                       template: "gateway", sa: "istio-eastwestgateway",
                       container: [{name: "istio-proxy", image: "auto",
                           env: [{name: "ISTIO_META_REQUESTED_NETWORK_VIEW", value: net}]}]}),
                  want("\(c) Deployment labels and owner"; meta(.); gw_meta(net; sel))),
              one(c; "Service"; "istio-system"; "istio-eastwestgateway";
                  want("\(c) gateway Service"; {type: .spec.type, selector: .spec.selector,
                      ports: (.spec.ports | map({name, port, targetPort, protocol}) | sort_by(.port))};
                      {type: "LoadBalancer", selector: sel, ports: [
                          {name: "tls-istiod", port: 15012, targetPort: 15012, protocol: "TCP"},
                          {name: "tls-webhook", port: 15017, targetPort: 15017, protocol: "TCP"},
                          {name: "status-port", port: 15021, targetPort: 15021, protocol: "TCP"},
                          {name: "tls", port: 15443, targetPort: 15443, protocol: "TCP"}]}),
                  want("\(c) Service labels and owner"; meta(.); gw_meta(net; sel))),
              want("\(c) namespace istio-system label topology.istio.io/network"; $s[c].network; net),
              want("\(c) cacerts"; $s[c].cacerts | {keys, root, mesh: .labels["eastwest.io/mesh"]};
                  {keys: ["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"], root: $f.root, mesh: $mesh});
          [range(1; $n + 1)] as $all
          # us imports s1..sN: a ServiceEntry to eu gateway, mutual TLS to it, both seen in
          # the namespace of the service only (exportTo, docs/design.md Tenancy)
          | ($all[] as $i | ccs_object("us"; "ServiceEntry"; $i;
                {hosts: [host($i)], addresses: [vip($i)], location: "MESH_INTERNAL", resolution: "STATIC",
                 ports: [{number: port($i), name: "http", protocol: "HTTP"}],
                 endpoints: [{address: "203.0.113.20", ports: {http: 15443}, locality: "eu-west-1"}],
                 subjectAltNames: ["spiffe://corp.local/ns/\($ns)/sa/s\($i)-backend"], exportTo: ["."]}),
             ccs_object("us"; "DestinationRule"; $i; {host: host($i), trafficPolicy: {tls: {mode: "ISTIO_MUTUAL"}},
                 exportTo: ["."]}),
          # eu exports s1..sN: a ServiceEntry that selects the backing pods, seen by the
          # east-west gateway too (the Istio namespace)
             ccs_object("eu"; "ServiceEntry"; $i;
                {hosts: [host($i)], addresses: [vip($i)], location: "MESH_INTERNAL", resolution: "STATIC",
                 ports: [{number: port($i), name: "http", protocol: "HTTP"} + target($i)],
                 workloadSelector: {labels: {app: "s\($i)"}}, exportTo: [".", "istio-system"]})),
            want("the addresses"; [$all[] | vip(.) // "" | test("^240\\.240\\.[0-9]+\\.[0-9]+$")] | unique; [true]),
            want("distinct addresses"; [$all[] | vip(.)] | unique | length; $n),
            want("objects in us"; $s.us.objects | map(.kind) | group_by(.) | map({(.[0]): length}) | add;
                {ServiceEntry: $n, DestinationRule: $n, ServiceAccount: 1, Role: 1, RoleBinding: 1, Deployment: 1, Service: 1}),
            want("objects in eu"; $s.eu.objects | map(.kind) | group_by(.) | map({(.[0]): length}) | add;
                {ServiceEntry: $n, ServiceAccount: 1, Role: 1, RoleBinding: 1, Deployment: 1, Service: 1, Gateway: 1}),
            gateway("us"; "us-net"), gateway("eu"; "eu-net"),
            one("eu"; "Gateway"; "istio-system"; "cross-network-gateway";
                want("eu Gateway"; .spec | .servers |= map(.hosts |= sort);
                    {selector: {istio: "eastwestgateway"}, servers: [{port: {number: 15443, name: "tls", protocol: "TLS"},
                     tls: {mode: "AUTO_PASSTHROUGH"}, hosts: ([$all[] | host(.)] | sort)}]}),
                want("eu Gateway labels and owner"; meta(.); gw_meta("eu-net"; {})))' "$1"
}
mesh_cond() { kc us get meshnetwork "$mesh" -o jsonpath="{.status.conditions[?(@.type==\"$1\")].status}/{.status.conditions[?(@.type==\"$1\")].reason}" 2>/dev/null; }
mesh_cond_is() { [ "$(mesh_cond "$1")" = "$2" ]; }
se_port() { kc "$1" -n "$ns" get serviceentries.networking.istio.io "$2" -o jsonpath='{.spec.ports[0].number}' 2>/dev/null; }
se_port_is() { [ "$(se_port "$1" "$2")" = "$3" ]; }
set_port() { # set_port NAME PORT: change a CR
    kc us -n "$ns" patch ccs "$1" --type=json -p "[{\"op\":\"replace\",\"path\":\"/spec/ports/0/number\",\"value\":$2}]" >/dev/null
}
eu_secret() { # eu_secret FILE: the kubeconfig Secret of eu, from a kubeconfig file
    kc us -n eastwest-system create secret generic fault-eu --from-file=kubeconfig="$1" \
        --dry-run=client -o yaml | kc us apply -f - >/dev/null
}
# A kubeconfig for eu with the given user stanza (YAML, indented by 4).
eu_kubeconfig() { # eu_kubeconfig FILE USER-YAML
    local server
    server=$(kc eu config view --minify -o jsonpath='{.clusters[0].cluster.server}')
    cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: eu
  cluster: {server: "$server", certificate-authority-data: "$(base64 -w0 <"$dir/eu/ca.crt")"}
users:
- name: member
  user:
$2
contexts:
- {name: eu, context: {cluster: eu, user: member}}
current-context: eu
EOF
}
# A token of the member identity (deploy/member/rbac.yaml) bound to Secret NAME in eu:
# deleting that Secret revokes the token at once.
bound_token() {
    kc eu -n eastwest-system create secret generic "$1" >/dev/null 2>&1
    kc eu -n eastwest-system create token eastwest-member --bound-object-kind Secret \
        --bound-object-name "$1" --duration=1h
}

# ---- set-up: the mesh, with istiod and the cloud played ----
set_up_home
kc us create namespace "$ns" >/dev/null 2>&1
kc eu create namespace "$ns" >/dev/null 2>&1
for c in us eu; do
    play_istiod "$c" corp.local "$mesh"
    # an earlier suite's mesh retained its cacerts (onDelete: Retain): start from none
    kc "$c" -n istio-system delete secret cacerts --ignore-not-found >/dev/null 2>&1
done
link_member eu fault-eu
operator_identity "$lease"
gen_services | kc eu apply --server-side --force-conflicts -f - >/dev/null
run_operator
kc us apply -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: $mesh}
spec:
  meshID: $mesh
  trustDomain: corp.local
  clusters:
  - {name: us, network: us-net, locality: us-east-1}
  - {name: eu, network: eu-net, locality: eu-west-1, kubeconfigSecretRef: {name: fault-eu}}
  eastWestGateway: {replicas: 1}
  certificateAuthority: {onDelete: Delete} # leave no cacerts to the suites after this one
EOF
wait_for "gateway Services" 40 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
wait_for "cacerts" 30 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get secret cacerts && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get secret cacerts"
for c in us eu; do restart_istiod "$c"; done
check mesh-ready 60 mesh_cond_is Ready True/AllClustersReady

# ---- kill -9 of the leader at random moments of its rollout ----
# The first half of the CRs in one batch per kill: the process must lead (the killed
# leader's Lease is released for it), the batch is applied, and the kill comes after a
# random number of the leader's member writes, at most a third of the batch's (three per
# CR: ServiceEntry and DestinationRule in us, ServiceEntry in eu). Each kill must hit the
# leader; how many CRs were Ready then is reported (a batch can roll out in 0.1 s, faster
# than the metrics are polled, so a kill may come just after its batch's last write).
half=$((n / 2))
gen_ccs $((half + 1)) "$n" >"$tmp/batch2.yaml"
from=1 hits=0 mid=0
for k in $(seq 1 "$kills"); do
    to=$((half * k / kills))
    wait_for "pid $op_pid to lead" 40 is_leader "$port" ||
        echo "kill $k: pid $op_pid did not lead within 40 s" >&2
    w0=$(member_write_count "$port") || w0=0
    # applied in the background: the rollout starts with the first CR kubectl creates
    gen_ccs "$from" "$to" >"$tmp/batch.yaml"
    kc us apply --server-side -f "$tmp/batch.yaml" >/dev/null &
    applying=$!
    r=$((1 + RANDOM % (to - from + 1)))
    until_writes "$port" $((w0 + r)) 30 || echo "kill $k: pid $op_pid made fewer than $r member writes in 30 s" >&2
    if kill_operator "during the rollout of s$from..s$to"; then
        hits=$((hits + 1))
        [ "$(ready_count)" -lt "$to" ] && mid=$((mid + 1))
    fi
    wait "$applying" || echo "kill $k: kubectl apply of s$from..s$to failed" >&2
    release_lease "$hit_holder"
    run_operator
    from=$((to + 1))
done
if [ "$hits" = "$kills" ]; then pass kills/each-hit-the-leader; else
    fail kills/each-hit-the-leader "$hits of $kills kills hit the leader (pid:role:$kills_report)"; fi
echo "kills of the leader before every CR of its batch was Ready: $mid of $kills" >&2
# ---- a member's kube-apiserver, then its etcd, restarted during the rollout ----
kc us apply --server-side -f "$tmp/batch2.yaml" >/dev/null
sleep 0.5
bash "$root/hack/cluster.sh" restart-apiserver eu >/dev/null 2>&1
fault
sleep 1
bash "$root/hack/cluster.sh" restart-etcd eu >/dev/null 2>&1
fault
check_converged rollout/converged-after-kills-and-restarts 180

# ---- a restarted operator at steady state writes nothing (its caches sync first) ----
# The leader is killed, its Lease released, and the new process must lead, reconcile every
# CR and the mesh, and then, 3 s later, still have made no member write.
# (It sets why, not prints it: the operator it starts must be this shell's child.)
restart_no_writes() {
    local before w1 w2
    before=$(member_write_count "$port") || before="unreadable"
    wait_for "pid $op_pid to lead" 30 is_leader "$port"
    kill_operator "at steady state"
    release_lease "$hit_holder"
    run_operator || { why="pid $op_pid: no /healthz in 30 s"; return 1; }
    wait_for "the restarted operator to lead" 30 is_leader "$port" ||
        { why="pid $op_pid did not lead within 30 s"; return 1; }
    wait_for "every CR reconciled" 60 reconciled_all "$port" ||
        { why="pid $op_pid did not reconcile every CR and the mesh within 60 s"; return 1; }
    w1=$(member_write_count "$port") || { why="its metrics are unreadable"; return 1; }
    sleep 3
    w2=$(member_write_count "$port") || { why="its metrics are unreadable"; return 1; }
    [ "$w2" = 0 ] || { why="the new leader (pid $op_pid) made $w1 member writes by the end of its first reconcile of everything, $w2 3 s later (the killed leader: $before)"; return 1; }
    converged || { why="not converged: $(why_not)"; return 1; }
}
if restart_no_writes; then pass restart/no-writes-at-steady-state; ok; else
    fail restart/no-writes-at-steady-state "$why"; fi

# ---- etcd compaction while watches are open, then the watch cache starts over ----
# list requests to eu (the client's counter): the relists a compaction forces, and the
# Pod lists of the reconciles they cause
relists() { metric_sum "$port" '/^eastwest_api_requests_total\{cluster="eu",verb="list"/'; }
r0=$(relists)
kc eu -n "$ns" patch service s1 --type=json -p '[{"op":"replace","path":"/spec/ports/0/targetPort","value":9090}]' >/dev/null
for c in us eu; do bash "$root/hack/cluster.sh" compact "$c" >/dev/null 2>&1; done
fault
bash "$root/hack/cluster.sh" restart-apiserver eu >/dev/null 2>&1
kc eu -n "$ns" patch service s2 --type=json -p '[{"op":"replace","path":"/spec/ports/0/targetPort","value":9090}]' >/dev/null
if wait_for "targetPort" 30 sh -c "[ \"\$($EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n $ns get serviceentries.networking.istio.io s1 s2 -o jsonpath='{.items[*].spec.ports[0].targetPort}')\" = '9090 9090' ]"; then
    pass compaction/changes-seen-after-relist
    ok
else fail compaction/changes-seen-after-relist "eu ServiceEntries s1, s2 did not follow their Services"; fi
if r1=$(relists) && [ -n "$r0" ]; then
    echo "list requests to eu after compaction and restart: $((r1 - r0))" >&2
else echo "list requests to eu after compaction and restart: metrics unreadable" >&2; fi
check_converged compaction/converged 60

# ---- eu unreachable for a while: us keeps everything, status says why, then converges ----
us_rv=$(kc us -n "$ns" get serviceentries.networking.istio.io,destinationrules.networking.istio.io -l "eastwest.io/mesh=$mesh" -o jsonpath='{.items[*].metadata.resourceVersion}')
t0=$SECONDS
bash "$root/hack/cluster.sh" stop-apiserver eu >/dev/null 2>&1
fault
check outage/status-within-15s 15 mesh_cond_is ClustersReachable False/ClusterUnreachable
msg=$(kc us get meshnetwork "$mesh" -o jsonpath='{.status.conditions[?(@.type=="ClustersReachable")].message}')
if grep -q eu <<<"$msg"; then pass outage/message-names-eu; else fail outage/message-names-eu "$msg"; fi
set_port s3 8003 # a change made while eu is away: us gets it now, eu on its return
check outage/us-follows-changes 20 se_port_is us s3 8003
sleep $((outage - (SECONDS - t0) > 0 ? outage - (SECONDS - t0) : 0))
now_rv=$(kc us -n "$ns" get serviceentries.networking.istio.io,destinationrules.networking.istio.io -l "eastwest.io/mesh=$mesh" -o jsonpath='{.items[*].metadata.resourceVersion}')
if [ "$(wc -w <<<"$now_rv")" = $((2 * n)) ]; then pass outage/us-keeps-every-object; else
    fail outage/us-keeps-every-object "$(wc -w <<<"$now_rv") objects, want $((2 * n)) (before: $(wc -w <<<"$us_rv"))"; fi
bash "$root/hack/cluster.sh" start-apiserver eu >/dev/null 2>&1
t1=$SECONDS
check outage/eu-converges-within-15s 15 se_port_is eu s3 8003
check outage/ready-within-15s 15 mesh_cond_is Ready True/AllClustersReady
[ "$failed" -eq 0 ] && ok
echo "eu away $((t1 - t0)) s; back to Ready $((SECONDS - t1)) s after its return" >&2
check_converged outage/converged 30

# ---- two replicas: writes only from the leader; failover on kill -9 ----
a_pid=$op_pid a_port=$port
run_operator
b_pid=$op_pid b_port=$port
sleep 3
if is_leader "$a_port" && ! is_leader "$b_port"; then pass replicas/one-leader; else
    fail replicas/one-leader "leader metrics: a $(is_leader "$a_port" && echo 1 || echo 0), b $(is_leader "$b_port" && echo 1 || echo 0)"; fi
set_port s4 8004
check replicas/leader-writes 20 se_port_is eu s4 8004
if b_writes=$(member_write_count "$b_port") && [ "$b_writes" = 0 ]; then pass replicas/standby-writes-nothing; else
    fail replicas/standby-writes-nothing "the standby made ${b_writes:-(metrics unreadable)} member writes"; fi
kill9 "$a_pid"
fault
t0=$SECONDS
check replicas/standby-takes-over 40 is_leader "$b_port"
set_port s5 8005
check replicas/new-leader-writes 20 se_port_is us s5 8005
[ "$failed" -eq 0 ] && ok
echo "failover: the standby led and wrote $((SECONDS - t0)) s after the leader's kill -9" >&2
op_pid=$b_pid port=$b_port

# ---- credentials of eu rotated in its kubeconfig Secret; a revoked token; an exec plugin ----
kc eu apply -f "$root/deploy/member/rbac.yaml" >/dev/null
eu_kubeconfig "$tmp/eu-a" "    token: $(bound_token tok-a)"
eu_secret "$tmp/eu-a"
set_port s6 8006
check credentials/rotated-token-used 30 se_port_is eu s6 8006
# Revoke token a. The API server caches a token's authentication for 10 s, and open
# watch streams stay authenticated: the next write is what meets the 401.
kc eu -n eastwest-system delete secret tok-a >/dev/null
fault
sleep 11
set_port s7 8007
ccs_says_unauthorized() {
    kc us -n "$ns" get ccs s7 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].message}' |
        grep -qiE '^False .*(unauthori[sz]ed|401)'
}
check credentials/revoked-token-reported 40 ccs_says_unauthorized
if [ "$(se_port eu s7)" = 80 ]; then pass credentials/nothing-lost-on-401; else
    fail credentials/nothing-lost-on-401 "eu ServiceEntry s7 has port '$(se_port eu s7)'"; fi
# An exec plugin whose first token is the revoked one, marked as expiring in 5 s; then a
# good one: the operator must re-run the plugin (on 401, and once the token expires).
cat >"$tmp/plugin.sh" <<'EOF'
#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/plugin.count" 2>/dev/null || echo 0)
echo $((n + 1)) >"$dir/plugin.count"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' \
    "$(cat "$dir/plugin.token")" "$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)"
EOF
chmod +x "$tmp/plugin.sh"
grep -o 'token: .*' "$tmp/eu-a" | cut -d' ' -f2 >"$tmp/plugin.token"
eu_kubeconfig "$tmp/eu-exec" "    exec: {apiVersion: client.authentication.k8s.io/v1, command: $tmp/plugin.sh, interactiveMode: Never}"
eu_secret "$tmp/eu-exec"
sleep 3
bound_token tok-b >"$tmp/plugin.token"
check credentials/exec-token-renewed 40 se_port_is eu s7 8007
check credentials/ready-again 20 mesh_cond_is Ready True/AllClustersReady
# The plugin's token expires in 5 s, inside the client's 10 s margin: the first request to
# eu after the first run must run the plugin again (on a 401 too, if the revoked token
# came first). At steady state nothing may ask eu anything, so a change makes the operator
# write there: that write is the request that must re-run the plugin.
runs_before=$(cat "$tmp/plugin.count" 2>/dev/null || echo 0)
set_port s8 8008
check credentials/exec-write-after-expiry 30 se_port_is eu s8 8008
plugin_ran_again() { [ "$(cat "$tmp/plugin.count" 2>/dev/null || echo 0)" -gt "$runs_before" ] &&
    [ "$(cat "$tmp/plugin.count")" -ge 2 ]; }
if wait_for "a second run of the exec plugin" 10 plugin_ran_again; then
    pass credentials/exec-plugin-re-run
    ok
else fail credentials/exec-plugin-re-run "the plugin ran $(cat "$tmp/plugin.count" 2>/dev/null || echo 0) times ($runs_before before the write to eu)"; fi
check_converged credentials/converged 30
# no level of the log holds a token it was given (finish greps for PEM and keys)
leaked=""
for t in "$(cat "$tmp/plugin.token")" "$(grep -o 'token: .*' "$tmp/eu-a" | cut -d' ' -f2)"; do
    [ -n "$t" ] && grep -qF "${t:20:40}" "$oplog" && leaked="$leaked ${t:0:8}..."
done
if [ -z "$leaked" ]; then pass logs/no-token-at-debug-level; else
    fail logs/no-token-at-debug-level "the operator's log holds a token:$leaked"; fi

# ---- the final state: as the suite's values say, and as a fault-free reconcile writes ----
facts "$tmp/facts.json" || fail final-state/facts "cannot read the CRs, the MeshNetwork or the root at home"
matches_values() { # the state read now matches the expectation (what differs: $tmp/unexpected)
    state "$tmp/now.json" && unexpected "$tmp/now.json" "$tmp/facts.json" >"$tmp/unexpected" &&
        [ ! -s "$tmp/unexpected" ]
}
if wait_for "the state the suite's values say" 30 matches_values; then pass final-state/matches-the-values; else
    fail final-state/matches-the-values "$(head -c 1500 "$tmp/unexpected" 2>/dev/null) ($(cat "$tmp/why"))"; fi
state "$tmp/after-faults.json" || fail final-state/read "cannot read the members' state"
kill -TERM "$op_pid" && wait "$op_pid" 2>/dev/null
# Everything the operator wrote in both members, deleted: the CRs' objects (one
# deletecollection per kind: kubectl would delete them one by one), the gateway's, cacerts
# and the Istio namespace's network label.
for c in us eu; do
    for r in serviceentries destinationrules; do
        kc "$c" delete --raw "/apis/networking.istio.io/v1/namespaces/$ns/$r?labelSelector=eastwest.io%2Fmesh%3D$mesh" >/dev/null
    done
    kc "$c" -n istio-system delete deployment,serviceaccount,role,rolebinding,service,gateways.networking.istio.io \
        -l "eastwest.io/mesh=$mesh" --wait=false >/dev/null
    kc "$c" -n istio-system delete secret cacerts --wait=false >/dev/null
    kc "$c" label namespace istio-system topology.istio.io/network- >/dev/null
done
members_emptied() { # true when nothing the operator wrote is left in either member
    local c left=""
    for c in us eu; do
        none_listed "$c" -n "$ns" serviceentries.networking.istio.io,destinationrules.networking.istio.io \
            -l "eastwest.io/mesh=$mesh" || left="$left $c:$ns-objects"
        none_listed "$c" -n istio-system deployment,serviceaccount,role,rolebinding,service,gateways.networking.istio.io \
            -l "eastwest.io/mesh=$mesh" || left="$left $c:gateway-objects"
        not_found "$c" -n istio-system secret cacerts || left="$left $c:cacerts"
        not_found "$c" -n istio-system deployment istio-eastwestgateway || left="$left $c:deployment"
        not_found "$c" -n istio-system service istio-eastwestgateway || left="$left $c:service"
        [ "$(kc "$c" get namespace istio-system -o jsonpath='{.metadata.labels.topology\.istio\.io/network}' 2>&1)" = "" ] ||
            left="$left $c:network-label"
    done
    echo "$left" >"$tmp/left"
    [ -z "$left" ]
}
if wait_for "the members emptied" 60 members_emptied; then pass reference/members-emptied; else
    fail reference/members-emptied "still there (or unreadable):$(cat "$tmp/left")"; fi
run_operator
# the cloud gives the new gateway Services their addresses again
wait_for "gateway Services" 40 sh -c "$EW_KUBECTL --kubeconfig $dir/us/kubeconfig -n istio-system get svc istio-eastwestgateway && $EW_KUBECTL --kubeconfig $dir/eu/kubeconfig -n istio-system get svc istio-eastwestgateway"
play_cloud us 203.0.113.10
play_cloud eu 203.0.113.20
check_converged reference/fault-free-reconcile 120
equals_after_faults() { state "$tmp/fault-free.json" && cmp -s "$tmp/after-faults.json" "$tmp/fault-free.json"; }
compared=$(jq '[.[].objects[]] | length' "$tmp/after-faults.json" 2>/dev/null)
if wait_for "the fault-free state" 60 equals_after_faults; then
    pass final-state/equals-fault-free
else
    fail final-state/equals-fault-free "$(diff "$tmp/after-faults.json" "$tmp/fault-free.json" 2>&1 | head -20)"
fi
echo "faults: $injected injected, $recovered recoveries checked, ${compared:-no} objects (and both members' cacerts and network label) compared with a fault-free reconcile and with the suite's values (N=$n, $kills kills, ${outage}s outage); kills (pid:role):$kills_report"

# ---- clean-up ----
kc us -n "$ns" delete ccs --all --timeout=120s >/dev/null 2>&1
kc us delete meshnetwork "$mesh" --timeout=90s >/dev/null 2>&1
gen_services | awk '/^kind: Pod$/ {p = 1} /^---$/ {p = 0} p && /^metadata:/ {sub(/.*name: /, ""); sub(/,.*/, ""); print}' |
    xargs -r "$EW_KUBECTL" --kubeconfig "$dir/eu/kubeconfig" -n "$ns" delete pod --ignore-not-found --wait=false >/dev/null 2>&1
# (The member RBAC stays in eu: test clusters have no namespace controller, so deleting
# its namespace would leave it Terminating for the suites after this one.)
finish
