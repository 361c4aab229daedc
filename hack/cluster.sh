#!/usr/bin/env bash
# Real local test clusters: each one its own etcd and kube-apiserver on loopback,
# with TLS, RBAC, service-account token issuing, an admin kubeconfig, and Istio's
# CRDs installed. There is no kubelet, scheduler or controller-manager: pods stay
# Pending and tests play the cloud themselves.
#
#   hack/cluster.sh up [NAME...]            start (default: us eu); reuses healthy ones
#   hack/cluster.sh down [NAME...]          stop and remove (default: all)
#   hack/cluster.sh status | kubeconfig NAME | logs NAME
#   hack/cluster.sh compact NAME            etcd compaction at the current revision
#   hack/cluster.sh {stop,start,restart}-{apiserver,etcd} NAME
#
# State: ${EW_CLUSTERS_DIR:-/tmp/eastwest-clusters}/NAME/ (kubeconfig, ca.crt, ca.key,
# logs/, pids). Ports: from ${EW_PORT_BASE:-26000}, 10 per cluster.
# ConfigMaps bypass the API server's watch cache (--watch-cache-sizes=configmaps#0) so
# that an etcd compaction expires old resourceVersions of ConfigMap watches, as tests need.
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLUSTERS_DIR="${EW_CLUSTERS_DIR:-/tmp/eastwest-clusters}"
PORT_BASE="${EW_PORT_BASE:-26000}"

port_in_use() {
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# A base port whose etcd/peer/apiserver ports are free and claimed by no other cluster.
allocate_ports() {
    local dir=$1 slot base
    for slot in $(seq 0 50); do
        base=$((PORT_BASE + slot * 10))
        if grep -qsx "$base" "$CLUSTERS_DIR"/*/port.base; then continue; fi
        if port_in_use "$base" || port_in_use $((base + 1)) || port_in_use $((base + 2)); then
            continue
        fi
        echo "$base" >"$dir/port.base"
        echo $((base + 0)) >"$dir/apiserver.port"
        echo $((base + 1)) >"$dir/etcd.port"
        echo $((base + 2)) >"$dir/etcd-peer.port"
        return 0
    done
    ew_die "no free ports from $PORT_BASE (set EW_PORT_BASE)"
}

make_certs() {
    local dir=$1 name=$2
    (
        cd "$dir"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout ca.key -out ca.crt -days 3650 -subj "/CN=eastwest-test-$name-ca" 2>/dev/null
        cat >server.ext <<EXT
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature,keyEncipherment
EXT
        printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' >client.ext
        openssl ecparam -name prime256v1 -genkey -noout -out apiserver.key
        openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -days 3650 -extfile server.ext -out apiserver.crt 2>/dev/null
        openssl ecparam -name prime256v1 -genkey -noout -out admin.key
        openssl req -new -key admin.key -subj "/O=system:masters/CN=eastwest-admin" \
            -out admin.csr
        openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -days 3650 -extfile client.ext -out admin.crt 2>/dev/null
        openssl ecparam -name prime256v1 -genkey -noout -out sa.key
        openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null
        rm -f ./*.csr
        chmod 600 ./*.key
    )
}

write_kubeconfig() {
    local dir=$1 name=$2 port
    port=$(cat "$dir/apiserver.port")
    cat >"$dir/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: $name
  cluster:
    server: https://127.0.0.1:$port
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
KC
    chmod 600 "$dir/kubeconfig"
}

write_commands() {
    local dir=$1 name=$2
    local ep pp ap
    ep=$(cat "$dir/etcd.port")
    pp=$(cat "$dir/etcd-peer.port")
    ap=$(cat "$dir/apiserver.port")
    cat >"$dir/etcd.cmd" <<CMD
$EW_ETCD --name $name --data-dir $dir/etcd-data --log-level warn --unsafe-no-fsync \
 --listen-client-urls http://127.0.0.1:$ep --advertise-client-urls http://127.0.0.1:$ep \
 --listen-peer-urls http://127.0.0.1:$pp --initial-advertise-peer-urls http://127.0.0.1:$pp \
 --initial-cluster $name=http://127.0.0.1:$pp
CMD
    cat >"$dir/apiserver.cmd" <<CMD
$EW_KUBE_APISERVER --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=$ap \
 --etcd-servers=http://127.0.0.1:$ep --client-ca-file=$dir/ca.crt \
 --tls-cert-file=$dir/apiserver.crt --tls-private-key-file=$dir/apiserver.key \
 --authorization-mode=RBAC --service-account-issuer=https://kubernetes.default.svc \
 --service-account-key-file=$dir/sa.pub --service-account-signing-key-file=$dir/sa.key \
 --api-audiences=https://kubernetes.default.svc --service-cluster-ip-range=10.96.0.0/16 \
 --allow-privileged=true --watch-cache-sizes=configmaps#0 --profiling=false \
 --endpoint-reconciler-type=none
CMD
}

# start_proc DIR NAME: run the command in DIR/NAME.cmd in the background.
start_proc() {
    local dir=$1 what=$2
    mkdir -p "$dir/logs"
    # shellcheck disable=SC2046
    nohup $(cat "$dir/$what.cmd") >>"$dir/logs/$what.log" 2>&1 </dev/null &
    echo $! >"$dir/$what.pid"
}

proc_alive() {
    local pidfile=$1
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

stop_proc() {
    local dir=$1 what=$2 pid i
    [ -f "$dir/$what.pid" ] || return 0
    pid=$(cat "$dir/$what.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    fi
    rm -f "$dir/$what.pid"
}

curl_admin() {
    local dir=$1 path=$2
    curl -sf --max-time 5 --cacert "$dir/ca.crt" --cert "$dir/admin.crt" --key "$dir/admin.key" \
        "https://127.0.0.1:$(cat "$dir/apiserver.port")$path"
}

wait_ready() {
    local dir=$1 name=$2 i
    for i in $(seq 1 180); do
        if curl_admin "$dir" /readyz >/dev/null 2>&1; then return 0; fi
        if ! proc_alive "$dir/apiserver.pid"; then break; fi
        sleep 0.5
    done
    ew_log "cluster $name: kube-apiserver did not become ready; last log lines:"
    tail -n 40 "$dir/logs/apiserver.log" >&2 || true
    tail -n 20 "$dir/logs/etcd.log" >&2 || true
    return 1
}

wait_etcd() {
    local dir=$1 i
    for i in $(seq 1 100); do
        curl -sf --max-time 2 "http://127.0.0.1:$(cat "$dir/etcd.port")/health" >/dev/null 2>&1 &&
            return 0
        sleep 0.1
    done
    ew_log "etcd in $dir did not start"
    tail -n 20 "$dir/logs/etcd.log" >&2 || true
    return 1
}

cluster_healthy() {
    local dir=$1
    proc_alive "$dir/etcd.pid" && proc_alive "$dir/apiserver.pid" &&
        curl_admin "$dir" /readyz >/dev/null 2>&1
}

kubectl_c() {
    local dir=$1
    shift
    "$EW_KUBECTL" --kubeconfig "$dir/kubeconfig" "$@"
}

install_crds() {
    local dir=$1
    kubectl_c "$dir" apply --server-side -f "$EW_ISTIO_CRDS" >"$dir/logs/crds.log" 2>&1 || {
        cat "$dir/logs/crds.log" >&2
        return 1
    }
    kubectl_c "$dir" wait --for=condition=Established crd --all --timeout=60s \
        >>"$dir/logs/crds.log" 2>&1
}

prepare() {
    local name=$1 dir="$CLUSTERS_DIR/$1"
    if [ -d "$dir" ] && cluster_healthy "$dir"; then
        echo reuse
        return 0
    fi
    if [ -d "$dir" ]; then
        stop_proc "$dir" apiserver
        stop_proc "$dir" etcd
        rm -rf "$dir"
    fi
    mkdir -p "$dir/logs"
    allocate_ports "$dir"
    make_certs "$dir" "$name"
    write_kubeconfig "$dir" "$name"
    write_commands "$dir" "$name"
    start_proc "$dir" etcd
    echo new
}

cmd_up() {
    [ $# -gt 0 ] || set -- us eu
    [ -x "$EW_KUBE_APISERVER" ] && [ -x "$EW_ETCD" ] && [ -s "$EW_ISTIO_CRDS" ] ||
        bash "$EW_ROOT/hack/deps.sh"
    mkdir -p "$CLUSTERS_DIR"
    local name fresh=()
    for name in "$@"; do
        [[ "$name" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || ew_die "bad cluster name: $name"
        [ "$(prepare "$name")" = new ] && fresh+=("$name")
    done
    for name in "${fresh[@]}"; do
        wait_etcd "$CLUSTERS_DIR/$name"
        start_proc "$CLUSTERS_DIR/$name" apiserver
    done
    for name in "${fresh[@]}"; do
        wait_ready "$CLUSTERS_DIR/$name" "$name"
        install_crds "$CLUSTERS_DIR/$name"
    done
    for name in "$@"; do
        local dir="$CLUSTERS_DIR/$name"
        echo "cluster $name: kubeconfig=$dir/kubeconfig server=https://127.0.0.1:$(cat "$dir/apiserver.port")"
    done
}

all_clusters() {
    [ -d "$CLUSTERS_DIR" ] || return 0
    find "$CLUSTERS_DIR" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort
}

cmd_down() {
    [ $# -gt 0 ] || mapfile -t names < <(all_clusters) && set -- "${names[@]}"
    local name
    for name in "$@"; do
        local dir="$CLUSTERS_DIR/$name"
        [ -d "$dir" ] || continue
        stop_proc "$dir" apiserver
        stop_proc "$dir" etcd
        rm -rf "$dir"
    done
    rmdir "$CLUSTERS_DIR" 2>/dev/null || true
}

cmd_status() {
    local name
    for name in $(all_clusters); do
        local dir="$CLUSTERS_DIR/$name" state=down
        cluster_healthy "$dir" && state=ready
        echo "cluster $name: $state kubeconfig=$dir/kubeconfig"
    done
}

need_cluster() {
    [ -n "${1:-}" ] || ew_die "which cluster?"
    [ -d "$CLUSTERS_DIR/$1" ] || ew_die "no cluster $1 in $CLUSTERS_DIR"
    echo "$CLUSTERS_DIR/$1"
}

cmd_compact() {
    local dir rev
    dir=$(need_cluster "${1:-}")
    local url="http://127.0.0.1:$(cat "$dir/etcd.port")"
    rev=$(curl -sf -X POST "$url/v3/kv/range" -d '{"key":"AA=="}' | jq -r .header.revision)
    [ -n "$rev" ] && [ "$rev" != null ] || ew_die "cannot read the etcd revision of $1"
    curl -sf -X POST "$url/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" \
        >/dev/null
    echo "compacted $1 at revision $rev"
}

cmd_proc() {
    local action=$1 what=$2 dir
    dir=$(need_cluster "${3:-}")
    case $action in
    stop) stop_proc "$dir" "$what" ;;
    start)
        proc_alive "$dir/$what.pid" || start_proc "$dir" "$what"
        if [ "$what" = apiserver ]; then wait_ready "$dir" "$3"; else wait_etcd "$dir"; fi
        ;;
    restart)
        stop_proc "$dir" "$what"
        start_proc "$dir" "$what"
        if [ "$what" = apiserver ]; then wait_ready "$dir" "$3"; else wait_etcd "$dir"; fi
        ;;
    esac
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    kubeconfig) echo "$(need_cluster "${1:-}")/kubeconfig" ;;
    logs)
        local dir
        dir=$(need_cluster "${1:-}")
        for f in "$dir"/logs/*.log; do
            echo "--- $f"
            tail -n 60 "$f"
        done
        ;;
    compact) cmd_compact "$@" ;;
    stop-apiserver | start-apiserver | restart-apiserver | stop-etcd | start-etcd | restart-etcd)
        cmd_proc "${cmd%%-*}" "${cmd#*-}" "$@"
        ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2 && exit 2 ;;
    esac
}

main "$@"
