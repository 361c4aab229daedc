#!/usr/bin/env bash
# Real local test clusters: each one its own etcd and kube-apiserver on loopback,
# with TLS, RBAC, service-account token issuing, an admin kubeconfig, and Istio's
# CRDs installed, and on request a real istiod (pilot-discovery) run the way the istiod
# Helm chart runs it. There is no kubelet, scheduler or controller-manager: Pods stay
# Pending and tests play the kubelet and the cloud themselves.
#
#   hack/cluster.sh up [NAME...]          start (default: us eu); keeps healthy ones
#   hack/cluster.sh down [NAME...]        stop and remove (default: every cluster)
#   hack/cluster.sh status                one line per cluster
#   hack/cluster.sh kubeconfig NAME       print the path of its admin kubeconfig
#   hack/cluster.sh logs NAME             the tail of its etcd and kube-apiserver logs
#   hack/cluster.sh compact NAME          etcd compaction at the current revision
#   hack/cluster.sh etcd-delete NAME KEY  delete a key in etcd behind the API server's back
#   hack/cluster.sh {stop,start,restart}-{apiserver,etcd,istiod} NAME
#   hack/cluster.sh istiod-port NAME http|xds|ca|webhook|monitoring
#   hack/cluster.sh sync-cacerts NAME...  the kubelet's refresh of istiod's cacerts volume
#   hack/cluster.sh sync-cacerts --resource-version RV NAME  the same, only if the Secret
#                                         is still at RV (else exit 3, the volume untouched)
#   hack/cluster.sh seed-guide-gateway NAME...  Istio's guide's east-west gateway objects,
#                                         written there by "the user" (hack/user-world/)
#
# State: ${EW_CLUSTERS_DIR:-/tmp/eastwest-clusters}/NAME/: kubeconfig, ca.crt, ca.key
# (tests mint client certificates with it), sa.key, sa.pub, apiserver.port, etcd.port,
# apiserver.cmd and etcd.cmd (the exact command lines, reused by start/restart),
# kube-apiserver.pid, etcd.pid, user-objects.txt (seed_user_world), logs/
# (logs/audit.log: the requests of eastwest's ServiceAccounts, see write_audit_policy;
# kept in $CLUSTERS_DIR.audit/ when the cluster is removed, until "down" of all). Ports:
# the first free block of 10 from ${EW_PORT_BASE:-26000} (apiserver +0, etcd client +1,
# etcd peer +2; istiod: http +3,
# plaintext xDS +4, CA and TLS xDS +5, webhook +6, monitoring +7).
#
# istiod: istiod.cmd, working directory istiod/ (so no ./etc/istio/config/mesh file: it
# reads its mesh config from ConfigMap istio-system/istio, as in a Helm install), logs in
# logs/pilot-discovery.log. What the kubelet's Secret volume would do is done at each
# (re)start and on sync-cacerts: Secret istio-system/cacerts, if present, is mounted at
# istiod/cacerts/ (its ROOT_CA_DIR); without it istiod makes its own self-signed CA, as
# a real one does. ISTIO_MULTIROOT_MESH=true, as a root rotation needs (a running istiod
# otherwise refuses any change of its root-cert.pem).
# Webhook patching is off (no injector or validation webhook is installed here).
# ConfigMaps bypass the API server's watch cache (--watch-cache-sizes=configmaps#0), so
# a ConfigMap watch is served by etcd itself and an etcd compaction makes a watch from
# an older resourceVersion fail with 410 Expired, as tests need.
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLUSTERS_DIR="${EW_CLUSTERS_DIR:-/tmp/eastwest-clusters}"
PORT_BASE="${EW_PORT_BASE:-26000}"
PARALLEL=2        # clusters started at once: a starting kube-apiserver keeps a core busy
READY_TIMEOUT=90  # seconds for kube-apiserver's /readyz

# --- names, processes ------------------------------------------------------------------

check_name() {
    [[ $1 =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || ew_die "bad cluster name '$1' (want a DNS label)"
}

need_cluster() {
    [ -n "${1:-}" ] || ew_die "which cluster?"
    check_name "$1"
    [ -d "$CLUSTERS_DIR/$1" ] || ew_die "no cluster $1 in $CLUSTERS_DIR"
    echo "$CLUSTERS_DIR/$1"
}

all_clusters() {
    [ -d "$CLUSTERS_DIR" ] || return 0
    find "$CLUSTERS_DIR" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort
}

# Each cluster runs two roles, etcd and apiserver; a role's process is named by proc_name.
proc_name() {
    case $1 in
    apiserver) echo kube-apiserver ;;
    istiod) echo pilot-discovery ;;
    *) echo "$1" ;;
    esac
}

# quiet CMD...: run CMD, showing its output only if it fails.
quiet() {
    local out
    out=$("$@" 2>&1) || {
        echo "$out" >&2
        return 1
    }
}

# wait_until SECONDS CMD...: poll CMD until it succeeds; fail after SECONDS.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# owns DIR PID: PID runs and its command line names a file in DIR (not a recycled pid).
owns() {
    local cmdline
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$2/cmdline") || return 1
    [[ $cmdline == *[\ =]"$1"/* ]]
}

proc_alive() {
    local dir=$1 pid
    pid=$(cat "$dir/$(proc_name "$2").pid" 2>/dev/null) || return 1
    owns "$dir" "$pid"
}

# cluster_pids DIR ROLE: the role's processes of this cluster, by pid file and by name.
cluster_pids() {
    local dir=$1 proc pid
    proc=$(proc_name "$2")
    { cat "$dir/$proc.pid" 2>/dev/null || true; pgrep -x "$proc" || true; } | sort -u |
        while read -r pid; do
            if owns "$dir" "$pid"; then echo "$pid"; fi
        done
}

none_alive() {
    local dir=$1 pid
    shift
    for pid; do
        if owns "$dir" "$pid"; then return 1; fi
    done
}

# start_proc DIR ROLE: run DIR/ROLE.cmd in a session of its own, so that it outlives this
# script and its caller's process group; the process writes its own pid file.
start_proc() {
    local dir=$1 role=$2 proc
    proc=$(proc_name "$role")
    mkdir -p "$dir/logs"
    rm -f "$dir/$proc.pid"
    # In the audit log, a line that marks the API server's (re)start: until its RBAC
    # cache is filled, a fresh API server refuses requests (test_least_privilege).
    [ "$role" != apiserver ] ||
        printf '{"kind":"ApiserverStart","stageTimestamp":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)" \
            >>"$dir/logs/audit.log"
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c 'echo $$ >"$1.tmp" && mv -f "$1.tmp" "$1" && eval "exec $(<"$2")"' \
        _ "$dir/$proc.pid" "$dir/$role.cmd" </dev/null >>"$dir/logs/$proc.log" 2>&1 &
    wait_until 5 test -s "$dir/$proc.pid" || ew_die "$proc of $dir did not start"
}

# stop_proc DIR ROLE: SIGTERM, up to 10 s to exit, then SIGKILL.
stop_proc() {
    local dir=$1 role=$2 pids
    mapfile -t pids < <(cluster_pids "$dir" "$role")
    if [ ${#pids[@]} -gt 0 ]; then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        if ! wait_until 10 none_alive "$dir" "${pids[@]}"; then
            ew_log "$(proc_name "$role") of $dir ignored SIGTERM; killing it"
            kill -KILL "${pids[@]}" 2>/dev/null || true
            wait_until 5 none_alive "$dir" "${pids[@]}" || ew_die "cannot kill ${pids[*]}"
        fi
    fi
    rm -f "$dir/$(proc_name "$role").pid"
}

# --- health ------------------------------------------------------------------------------

etcd_healthy() {
    curl -sf --max-time 2 "http://127.0.0.1:$(cat "$1/etcd.port")/health" >/dev/null 2>&1
}

curl_admin() {
    local dir=$1 path=$2
    curl -sf --max-time 5 --cacert "$dir/ca.crt" --cert "$dir/admin.crt" --key "$dir/admin.key" \
        "https://127.0.0.1:$(cat "$dir/apiserver.port")$path"
}

apiserver_ready() {
    curl_admin "$1" /readyz >/dev/null 2>&1
}

apiserver_ready_or_gone() {
    apiserver_ready "$1" || ! proc_alive "$1" apiserver
}

wait_etcd() {
    local dir=$1
    wait_until 30 etcd_healthy "$dir" && return 0
    ew_log "cluster $(basename "$dir"): etcd not healthy after 30s; last lines of its log:"
    tail -n 20 "$dir/logs/etcd.log" >&2 || true
    return 1
}

wait_apiserver() {
    local dir=$1
    wait_until "$READY_TIMEOUT" apiserver_ready_or_gone "$dir"
    apiserver_ready "$dir" && return 0
    ew_log "cluster $(basename "$dir"): kube-apiserver not ready after ${READY_TIMEOUT}s" \
        "or exited; last lines of its log:"
    tail -n 40 "$dir/logs/kube-apiserver.log" >&2 || true
    return 1
}

cluster_healthy() {
    local dir=$1
    [ -f "$dir/up.ok" ] && proc_alive "$dir" etcd && proc_alive "$dir" apiserver &&
        apiserver_ready "$dir"
}

# --- creating a cluster ------------------------------------------------------------------

port_in_use() {
    [ -n "$(ss -Hltn "sport = :$1")" ]
}

block_in_use() {
    local base=$1 i
    for i in 0 1 2 3 4 5 6 7; do
        if port_in_use $((base + i)); then return 0; fi
    done
    return 1
}

# allocate_ports DIR: the first block of 10 ports whose first eight are free and that no
# other cluster here has claimed.
allocate_ports() {
    local dir=$1 slot base
    for slot in $(seq 0 99); do
        base=$((PORT_BASE + slot * 10))
        if grep -qsx "$base" "$CLUSTERS_DIR"/*/port.base; then continue; fi
        if block_in_use "$base"; then
            ew_log "ports $base-$((base + 7)) are in use; trying the next block"
            continue
        fi
        echo "$base" >"$dir/port.base"
        echo "$base" >"$dir/apiserver.port"
        echo $((base + 1)) >"$dir/etcd.port"
        echo $((base + 2)) >"$dir/etcd-peer.port"
        return 0
    done
    ew_die "no free ports in $PORT_BASE-$((PORT_BASE + 999)) (set EW_PORT_BASE)"
}

# issue_cert DIR BASENAME SUBJECT EXTENSIONS: BASENAME.{key,crt}, signed by the cluster CA.
issue_cert() {
    local dir=$1 base=$2 subject=$3 extensions=$4
    quiet openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$base.key"
    quiet openssl req -new -key "$dir/$base.key" -subj "$subject" -out "$dir/$base.csr"
    quiet openssl x509 -req -in "$dir/$base.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 3650 -extfile <(printf '%s\n' "$extensions") -out "$dir/$base.crt"
    rm -f "$dir/$base.csr"
}

make_certs() {
    local dir=$1 name=$2
    quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=eastwest-test-$name-ca" -keyout "$dir/ca.key" -out "$dir/ca.crt"
    local sans="IP:127.0.0.1,IP:::1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes"
    sans+=",DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    issue_cert "$dir" apiserver "/CN=kube-apiserver" "$(printf '%s\n' "subjectAltName=$sans" \
        "extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature")"
    issue_cert "$dir" admin "/O=system:masters/CN=eastwest-admin" \
        "$(printf '%s\n' "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature")"
    quiet openssl ecparam -name prime256v1 -genkey -noout -out "$dir/sa.key"
    quiet openssl ec -in "$dir/sa.key" -pubout -out "$dir/sa.pub"
    chmod 600 "$dir"/*.key
}

write_kubeconfig() {
    local dir=$1 name=$2
    cat >"$dir/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: $name
  cluster:
    server: https://127.0.0.1:$(cat "$dir/apiserver.port")
    certificate-authority-data: $(base64 -w0 <"$dir/ca.crt")
users:
- name: $name-admin
  user:
    client-certificate-data: $(base64 -w0 <"$dir/admin.crt")
    client-key-data: $(base64 -w0 <"$dir/admin.key")
contexts:
- name: $name
  context: {cluster: $name, user: $name-admin}
current-context: $name
KUBECONFIG
    chmod 600 "$dir/kubeconfig"
}

# write_cmd FILE ARG...: the command line, shell-quoted, one argument per line.
write_cmd() {
    local file=$1
    shift
    { printf '%q' "$1" && shift && printf ' \\\n    %q' "$@" && echo; } >"$file"
}

write_commands() {
    local dir=$1 name=$2 ep pp
    ep=$(cat "$dir/etcd.port")
    pp=$(cat "$dir/etcd-peer.port")
    write_cmd "$dir/etcd.cmd" "$EW_ETCD" "--name=$name" "--data-dir=$dir/etcd-data" \
        --log-level=warn --unsafe-no-fsync \
        "--listen-client-urls=http://127.0.0.1:$ep" "--advertise-client-urls=http://127.0.0.1:$ep" \
        "--listen-peer-urls=http://127.0.0.1:$pp" "--initial-advertise-peer-urls=http://127.0.0.1:$pp" \
        "--initial-cluster=$name=http://127.0.0.1:$pp"
    # --endpoint-reconciler-type=none: Endpoints may not hold a loopback address, so the
    # default reconciler would fail every 10 s trying to publish 127.0.0.1.
    write_cmd "$dir/apiserver.cmd" "$EW_KUBE_APISERVER" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
        "--secure-port=$(cat "$dir/apiserver.port")" "--etcd-servers=http://127.0.0.1:$ep" \
        "--client-ca-file=$dir/ca.crt" \
        "--tls-cert-file=$dir/apiserver.crt" "--tls-private-key-file=$dir/apiserver.key" \
        --authorization-mode=RBAC \
        --service-account-issuer=https://kubernetes.default.svc \
        "--service-account-key-file=$dir/sa.pub" "--service-account-signing-key-file=$dir/sa.key" \
        --api-audiences=https://kubernetes.default.svc \
        --service-cluster-ip-range=10.96.0.0/16 --allow-privileged=true \
        --watch-cache-sizes=configmaps#0 --endpoint-reconciler-type=none \
        "--audit-policy-file=$dir/audit-policy.yaml" "--audit-log-path=$dir/logs/audit.log" \
        --audit-log-format=json --audit-log-maxsize=200 --audit-log-maxbackup=5
    write_audit_policy "$dir"
}

# The audit policy: Metadata (who, verb, object, response code; no bodies, so no Secret
# data) for the requests of eastwest's two identities only -- the chart's ServiceAccount
# and the member ServiceAccount "kubectl eastwest link" makes -- and nothing else, so the
# log stays small. test_least_privilege reads logs/audit.log of every cluster: each RBAC
# rule granted to those identities must have been needed by a request, and none refused.
write_audit_policy() {
    cat >"$1/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users:
  - system:serviceaccount:eastwest-system:eastwest-operator
  - system:serviceaccount:eastwest-system:eastwest-member
- level: None
POLICY
}

# istiod_port DIR http|xds|ca|webhook|monitoring
istiod_port() {
    local base
    base=$(cat "$1/port.base")
    case $2 in
    http) echo $((base + 3)) ;;
    xds) echo $((base + 4)) ;;
    ca) echo $((base + 5)) ;;
    webhook) echo $((base + 6)) ;;
    monitoring) echo $((base + 7)) ;;
    *) ew_die "no istiod port '$2' (want http, xds, ca, webhook or monitoring)" ;;
    esac
}

# The istiod chart's Deployment, as a command: its environment (POD_NAMESPACE, the
# cluster ID, ROOT_CA_DIR where the cacerts volume is mounted), its flags, webhook
# patching off, loopback ports, the admin kubeconfig instead of a service account.
write_istiod_cmd() {
    local dir=$1 name=$2
    write_cmd "$dir/istiod.cmd" env "--chdir=$dir/istiod" POD_NAMESPACE=istio-system \
        "POD_NAME=istiod-$name" "CLUSTER_ID=$name" "ROOT_CA_DIR=$dir/istiod/cacerts" \
        ISTIO_MULTIROOT_MESH=true INJECTION_WEBHOOK_CONFIG_NAME= VALIDATION_WEBHOOK_CONFIG_NAME= \
        PILOT_ENABLE_ANALYSIS=false "$EW_ISTIOD" discovery "--kubeconfig=$dir/kubeconfig" \
        "--clusterID=$name" --log_output_level=default:info \
        "--httpAddr=127.0.0.1:$(istiod_port "$dir" http)" \
        "--grpcAddr=127.0.0.1:$(istiod_port "$dir" xds)" \
        "--secureGRPCAddr=127.0.0.1:$(istiod_port "$dir" ca)" \
        "--httpsAddr=127.0.0.1:$(istiod_port "$dir" webhook)" \
        "--monitoringAddr=127.0.0.1:$(istiod_port "$dir" monitoring)"
}

# The kubelet's part: Secret istio-system/cacerts as files in istiod's ROOT_CA_DIR (an
# optional volume: no Secret, no files), laid out as the kubelet's atomic writer does:
# each key a symlink into ..data, ..data a symlink to a timestamped directory, and an
# update a new directory swapped in by renaming ..data_tmp over ..data. So a running
# istiod's watch on the directory sees what it sees in a pod: a Create of ..data, then
# every file changed at once. Unchanged content: nothing is touched.
# mount_cacerts DIR [RV]: with RV, only the Secret at that resourceVersion is mounted (a
# test that decides what istiod may load next reads the Secret's version, then decides,
# then syncs exactly that version); another version, or none: exit 3, nothing touched.
mount_cacerts() {
    local dir=$1 want_rv=${2:-} vol="$1/istiod/cacerts" json="" key ts link
    if [ -n "$want_rv" ]; then
        json=$(kubectl_c "$dir" -n istio-system get secret cacerts -o json 2>/dev/null) || json=""
        if [ -z "$json" ] || [ "$(jq -r '.metadata.resourceVersion' <<<"$json")" != "$want_rv" ]; then
            ew_log "cluster $(basename "$dir"): Secret cacerts is not at resourceVersion $want_rv; nothing synced"
            exit 3
        fi
    fi
    [ -L "$vol/..data" ] || rm -rf "$vol"
    mkdir -p "$vol"
    chmod 700 "$vol"
    ts="..$(date +%Y_%m_%d_%H_%M_%S.%N)"
    mkdir -m 700 "$vol/$ts"
    if [ -n "$want_rv" ] || json=$(kubectl_c "$dir" -n istio-system get secret cacerts -o json 2>/dev/null); then
        for key in $(jq -r '.data // {} | keys[]' <<<"$json"); do
            [[ $key =~ ^[a-z0-9][a-z0-9.-]*$ ]] || continue
            jq -r --arg k "$key" '.data[$k]' <<<"$json" | base64 -d >"$vol/$ts/$key"
            chmod 600 "$vol/$ts/$key"
        done
    fi
    if [ -L "$vol/..data" ] && diff -r "$vol/..data/" "$vol/$ts/" >/dev/null 2>&1; then
        rm -rf "${vol:?}/$ts"
        return 0
    fi
    ln -sfn "$ts" "$vol/..data_tmp"
    mv -T "$vol/..data_tmp" "$vol/..data"
    for key in "$vol/$ts"/*; do
        [ -e "$key" ] || continue
        key=${key##*/}
        [ -L "$vol/$key" ] || ln -s "..data/$key" "$vol/$key"
    done
    for link in "$vol"/*; do
        [ -L "$link" ] && [ ! -e "$link" ] && rm -f "$link"
    done
    for key in "$vol"/..2*; do
        [ "$key" = "$vol/$ts" ] || rm -rf "$key"
    done
}

# cmd_sync_cacerts [--resource-version RV] NAME...: one pass of the kubelet's Secret
# volume sync for istiod's cacerts (a test runs it in a loop while istiod runs; the real
# kubelet does it about once a minute). With RV (one NAME): only that version of the
# Secret, else exit 3 with the volume untouched.
cmd_sync_cacerts() {
    local name dir rv=""
    if [ "${1:-}" = --resource-version ]; then
        [ $# -eq 3 ] || ew_die "sync-cacerts --resource-version RV takes one cluster"
        rv=$2
        shift 2
    fi
    for name in "$@"; do
        dir=$(need_cluster "$name")
        mount_cacerts "$dir" "$rv"
    done
}

istiod_ready() {
    curl -sf --max-time 2 "http://127.0.0.1:$(istiod_port "$1" http)/ready" >/dev/null 2>&1
}

istiod_ready_or_gone() {
    istiod_ready "$1" || ! proc_alive "$1" istiod
}

wait_istiod() {
    local dir=$1
    wait_until 60 istiod_ready_or_gone "$dir"
    istiod_ready "$dir" && return 0
    ew_log "cluster $(basename "$dir"): istiod not ready after 60s or exited; last lines of its log:"
    tail -n 40 "$dir/logs/pilot-discovery.log" >&2 || true
    return 1
}

start_istiod() {
    local dir=$1
    [ -x "$EW_ISTIOD" ] || bash "$EW_ROOT/hack/deps.sh"
    kubectl_c "$dir" get namespace istio-system >/dev/null 2>&1 ||
        quiet kubectl_c "$dir" create namespace istio-system
    mount_cacerts "$dir"
    write_istiod_cmd "$dir" "$(basename "$dir")"
    start_proc "$dir" istiod
}

# remove_cluster DIR: stop its processes (even if DIR is gone) and delete the state.
# A removed cluster's audit log is kept in $CLUSTERS_DIR.audit/ (a suite that removes
# ap must not erase what its requests prove); "down" of every cluster removes it too.
remove_cluster() {
    local dir=$1
    stop_proc "$dir" istiod
    stop_proc "$dir" apiserver
    stop_proc "$dir" etcd
    if [ -s "$dir/logs/audit.log" ]; then
        mkdir -p "$CLUSTERS_DIR.audit"
        mv "$dir/logs/audit.log" "$CLUSTERS_DIR.audit/$(basename "$dir").$(date +%s%N).log"
    fi
    rm -rf "$dir"
}

# prepare_cluster NAME: fresh state, ports, certificates, kubeconfig and command lines.
prepare_cluster() {
    local name=$1 dir="$CLUSTERS_DIR/$1"
    remove_cluster "$dir"
    mkdir -p "$dir/logs"
    allocate_ports "$dir"
    make_certs "$dir" "$name"
    write_kubeconfig "$dir" "$name"
    write_commands "$dir" "$name"
}

kubectl_c() {
    local dir=$1
    shift
    "$EW_KUBECTL" --kubeconfig "$dir/kubeconfig" "$@"
}

# The API server creates default, kube-system, kube-public and kube-node-lease itself,
# shortly after /readyz; wait for them, and create any that is still missing.
ensure_namespaces() {
    local dir=$1 ns
    wait_until 10 kubectl_c "$dir" get namespace default kube-system >/dev/null 2>&1 || true
    for ns in default kube-system; do
        kubectl_c "$dir" get namespace "$ns" >/dev/null 2>&1 ||
            quiet kubectl_c "$dir" create namespace "$ns"
    done
}

# EW_CLUSTER_ISTIO_CRDS=FILE: another CRD set (the tests check 1.30's this way).
install_istio_crds() {
    local dir=$1
    quiet kubectl_c "$dir" apply --server-side -f "${EW_CLUSTER_ISTIO_CRDS:-$EW_ISTIO_CRDS}"
    # kubectl wait fails at once, not waits, on a CRD the API server has not yet given
    # status.conditions ("accessor error: <nil>"): ask again until it waits and succeeds.
    wait_until 60 kubectl_c "$dir" wait --for=condition=Established crd --all --timeout=60s >/dev/null 2>&1 ||
        quiet kubectl_c "$dir" wait --for=condition=Established crd --all --timeout=5s
}

# The user's world (hack/user-world/): the clusters start as a user's do, with Istio
# installed first (its namespace and istiod's own RBAC) and the user's own objects next
# to where eastwest writes (an ingress Gateway and a Secret in istio-system, a tenant's
# ServiceEntry and DestinationRule, tenants team-a and team-b who may write
# CrossClusterServices in their own namespace only). Written by "the user" (kubectl
# apply); each object's uid and fingerprint (hack/user-world/fingerprint.jq: everything
# but status) go to DIR/user-objects.txt, which test_user_objects compares at the end of
# the run: eastwest touched none of them.
# seed_user_world DIR FILE...: apply FILEs (hack/user-world/*.yaml) and record them.
seed_user_world() {
    local dir=$1 ns f
    shift
    for ns in istio-system team-a team-b; do
        kubectl_c "$dir" get namespace "$ns" >/dev/null 2>&1 || quiet kubectl_c "$dir" create namespace "$ns"
    done
    for f; do
        quiet kubectl_c "$dir" apply -f "$f"
        kubectl_c "$dir" get -f "$f" -o json | jq -r -f "$EW_ROOT/hack/user-world/fingerprint.jq" \
            >>"$dir/user-objects.txt"
    done
}
cmd_seed_guide_gateway() {
    local name dir
    for name; do
        dir=$(need_cluster "$name")
        seed_user_world "$dir" "$EW_ROOT/hack/user-world/eastwest-gateway.yaml"
    done
}

start_cluster() {
    local name=$1 dir="$CLUSTERS_DIR/$1" t0=$SECONDS
    start_proc "$dir" etcd
    wait_etcd "$dir"
    start_proc "$dir" apiserver
    wait_apiserver "$dir"
    ensure_namespaces "$dir"
    install_istio_crds "$dir"
    : >"$dir/user-objects.txt"
    seed_user_world "$dir" "$EW_ROOT/hack/user-world/istiod-rbac.yaml" \
        "$EW_ROOT/hack/user-world/user-objects.yaml"
    touch "$dir/up.ok"
    ew_log "cluster $name: up in $((SECONDS - t0))s"
}

# start_clusters NAME...: start_cluster for each, $PARALLEL at a time.
start_clusters() {
    local failed=0 batch pids i
    while [ $# -gt 0 ]; do
        batch=("${@:1:PARALLEL}")
        shift ${#batch[@]}
        pids=()
        for i in "${!batch[@]}"; do
            start_cluster "${batch[$i]}" &
            pids+=($!)
        done
        for i in "${!batch[@]}"; do
            wait "${pids[$i]}" && continue
            ew_log "cluster ${batch[$i]}: failed; see: bash hack/cluster.sh logs ${batch[$i]}"
            failed=1
        done
    done
    return $failed
}

tools_present() {
    [ -x "$EW_KUBE_APISERVER" ] && [ -x "$EW_KUBECTL" ] && [ -x "$EW_ETCD" ] &&
        [ -s "$EW_ISTIO_CRDS" ]
}

# --- commands ----------------------------------------------------------------------------

cmd_up() {
    [ $# -gt 0 ] || set -- us eu
    local name fresh=()
    for name; do check_name "$name"; done
    tools_present || bash "$EW_ROOT/hack/deps.sh"
    mkdir -p "$CLUSTERS_DIR"
    for name; do
        if cluster_healthy "$CLUSTERS_DIR/$name"; then
            ew_log "cluster $name: already up"
        else
            prepare_cluster "$name"
            fresh+=("$name")
        fi
    done
    start_clusters "${fresh[@]}"
    for name; do
        echo "cluster $name: kubeconfig=$CLUSTERS_DIR/$name/kubeconfig" \
            "server=https://127.0.0.1:$(cat "$CLUSTERS_DIR/$name/apiserver.port")"
    done
}

cmd_down() {
    local names=("$@") name pid pids=()
    [ $# -gt 0 ] || mapfile -t names < <(all_clusters)
    for name in "${names[@]}"; do
        check_name "$name"
        remove_cluster "$CLUSTERS_DIR/$name" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    [ $# -gt 0 ] || rm -rf "$CLUSTERS_DIR.audit"
    rmdir "$CLUSTERS_DIR" 2>/dev/null || true
}

cmd_status() {
    local name dir state role pid
    for name in $(all_clusters); do
        dir="$CLUSTERS_DIR/$name"
        state="not ready"
        if cluster_healthy "$dir"; then state=ready; fi
        for role in etcd apiserver istiod; do
            pid=$(cat "$dir/$(proc_name "$role").pid" 2>/dev/null || true)
            if proc_alive "$dir" "$role"; then pid="pid $pid"; else pid=stopped; fi
            state+=", $(proc_name "$role") $pid"
        done
        echo "cluster $name: $state, server=https://127.0.0.1:$(cat "$dir/apiserver.port" 2>/dev/null)" \
            "kubeconfig=$dir/kubeconfig"
    done
}

cmd_kubeconfig() {
    local dir
    dir=$(need_cluster "${1:-}")
    echo "$dir/kubeconfig"
}

cmd_logs() {
    local dir f
    dir=$(need_cluster "${1:-}")
    for f in "$dir"/logs/*.log; do
        [ -f "$f" ] || continue
        echo "--- $f"
        tail -n "${EW_LOG_LINES:-60}" "$f"
    done
}

# etcd's JSON gateway: learn the current revision, then compact (and defragment) up to it.
cmd_compact() {
    local dir url rev out
    dir=$(need_cluster "${1:-}")
    url="http://127.0.0.1:$(cat "$dir/etcd.port")/v3/kv"
    rev=$(curl -sf -X POST "$url/range" -d '{"key":"AA=="}' | jq -er .header.revision) ||
        ew_die "cannot read the etcd revision of $1"
    out=$(curl -s -X POST "$url/compaction" -d "{\"revision\":$rev,\"physical\":true}") ||
        ew_die "cannot reach etcd of $1"
    # Compacting twice at the same revision is fine: etcd answers "already compacted".
    if ! jq -e .header <<<"$out" >/dev/null 2>&1 && [[ $out != *"compacted"* ]]; then
        ew_die "etcd compaction of $1 at revision $rev failed: $out"
    fi
    echo "compacted $1 at revision $rev"
}

# Objects removed while a watcher is away: delete a /registry/... key directly in etcd;
# prints how many keys were deleted.
cmd_etcd_delete() {
    local dir key
    dir=$(need_cluster "${1:-}")
    key=$(printf '%s' "${2:?which key?}" | base64 -w0)
    curl -sf -X POST "http://127.0.0.1:$(cat "$dir/etcd.port")/v3/kv/deleterange" \
        -d "{\"key\":\"$key\"}" | jq -r '.deleted // "0"'
}

# cmd_proc stop|start|restart etcd|apiserver|istiod NAME
cmd_proc() {
    local action=$1 role=$2 dir start=start_proc
    dir=$(need_cluster "${3:-}")
    [ "$role" != istiod ] || start=start_istiod
    case $action in
    stop)
        stop_proc "$dir" "$role"
        return 0
        ;;
    start) proc_alive "$dir" "$role" || "$start" "$dir" "$role" ;;
    restart)
        stop_proc "$dir" "$role"
        "$start" "$dir" "$role"
        ;;
    esac
    case $role in
    apiserver) wait_apiserver "$dir" ;;
    etcd) wait_etcd "$dir" ;;
    istiod) wait_istiod "$dir" ;;
    esac
}

cmd_istiod_port() {
    local dir
    dir=$(need_cluster "${1:-}")
    istiod_port "$dir" "${2:-}"
}

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    kubeconfig) cmd_kubeconfig "$@" ;;
    logs) cmd_logs "$@" ;;
    compact) cmd_compact "$@" ;;
    etcd-delete) cmd_etcd_delete "$@" ;;
    istiod-port) cmd_istiod_port "$@" ;;
    sync-cacerts) cmd_sync_cacerts "$@" ;;
    seed-guide-gateway) cmd_seed_guide_gateway "$@" ;;
    stop-apiserver | start-apiserver | restart-apiserver | stop-etcd | start-etcd | restart-etcd | \
        stop-istiod | start-istiod | restart-istiod)
        cmd_proc "${cmd%%-*}" "${cmd#*-}" "$@"
        ;;
    *) usage ;;
    esac
}

main "$@"
