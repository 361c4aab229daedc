#!/usr/bin/env bash
# The container image, built from the Dockerfile by hack/image.sh (buildah, no Docker, no
# registry) and run the way the kubelet runs the chart's Deployment:
#   - the OCI archive unpacks; its config runs the entrypoint as 65532:65532 and carries
#     the org.opencontainers.image.* labels, at meson.build's version, which is the chart's
#     appVersion; the chart's default image is the name hack/image.sh gives it;
#   - the root filesystem holds no shell, no package manager and no program but the
#     operator; the image's own loader resolves every library the binary links;
#   - the chart, installed into us, gives the Deployment; its container runs from the
#     image's root filesystem (chroot), mounted read-only, as the Deployment's user with
#     no_new_privs, with its args and env, the ServiceAccount token, CA and namespace at
#     /var/run/secrets/kubernetes.io/serviceaccount and KUBERNETES_SERVICE_HOST/PORT
#     pointing at us: /readyz answers on the probe's port, the tutorial converges and is
#     cleaned up, and SIGTERM ends it with exit 0.
# Skipped (exit 77, with the reason) only where buildah cannot run.
#
# Prints PASS/FAIL lines and a "# test_image: ..." total, like the C tests.
set -uo pipefail
suite=test_image
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"
chart="$root/charts/eastwest-operator"
ns=eastwest-system release=eastwest sa=eastwest-operator
export HELM_CONFIG_HOME="$tmp/helm/config" HELM_CACHE_HOME="$tmp/helm/cache" \
    HELM_DATA_HOME="$tmp/helm/data"
hm() { "$EW_HELM" --kubeconfig "$dir/us/kubeconfig" "$@"; }
version=$(sed -nE "s/^ *version *: *'([^']+)'.*/\1/p" "$root/meson.build" | head -n 1)
archive="$root/build/eastwest-operator-$version.oci.tar"

# ---- the build ----
start=$SECONDS
bash "$root/hack/image.sh" >"$tmp/image.out" 2>&1
rc=$?
if [ $rc = 77 ]; then
    echo "SKIP $suite/image: $(grep 'cannot run' "$tmp/image.out" | head -n 1)"
    exit 77
fi
if [ $rc = 0 ] && [ -s "$archive" ]; then
    pass "image/builds ($((SECONDS - start)) s; $(grep -oE '[0-9.]+[KMG] unpacked, [0-9.]+[KMG]' "$tmp/image.out" | sed 's/, / unpacked /;s/ unpacked unpacked/ unpacked/') compressed)"
else
    fail image/builds "hack/image.sh exited $rc: $(tail -n 20 "$tmp/image.out")"
    echo "# $suite: $passed passed, $failed failed"
    exit 1
fi
grep -o 'packages: .*' "$tmp/image.out" | sed 's/^/# /'

# ---- unpack: index -> manifest -> config and layers ----
oci="$tmp/oci" rootfs="$tmp/rootfs"
mkdir -p "$oci" "$rootfs"
blob() { echo "$oci/blobs/${1%%:*}/${1#*:}"; }
tar -xf "$archive" -C "$oci"
manifest=$(blob "$(jq -r '.manifests[0].digest' "$oci/index.json")")
config=$(blob "$(jq -r '.config.digest' "$manifest")")
for layer in $(jq -r '.layers[].digest' "$manifest"); do
    tar --same-owner -xpf "$(blob "$layer")" -C "$rootfs"
done
whiteouts=$(find "$rootfs" -name '.wh.*' | head -n 3)
if [ -s "$config" ] && [ -z "$whiteouts" ] && [ -x "$rootfs/usr/local/bin/eastwest-operator" ]; then
    pass image/unpacks
else fail image/unpacks "config $config, whiteouts '$whiteouts', no operator binary?"; fi

# ---- the config ----
cfg() { jq -r "$1" "$config"; }
got="$(cfg '.config.User') $(cfg '.config.Entrypoint | join(" ")') $(cfg '.config.Cmd // [] | length') $(cfg .os)/$(cfg .architecture)"
if [ "$got" = "65532:65532 /usr/local/bin/eastwest-operator 0 linux/amd64" ]; then pass config/user-entrypoint; else
    fail config/user-entrypoint "got '$got'"; fi
app=$(sed -nE 's/^appVersion: *"?([^"]+)"?$/\1/p' "$chart/Chart.yaml")
missing=""
for l in title description source version; do
    [ -n "$(cfg ".config.Labels[\"org.opencontainers.image.$l\"] // empty")" ] || missing="$missing $l"
done
if [ -z "$missing" ] && [ "$(cfg '.config.Labels["org.opencontainers.image.version"]')" = "$version" ] &&
    [ "$app" = "$version" ]; then
    pass config/oci-labels
else fail config/oci-labels "missing:$missing; label version $(cfg '.config.Labels["org.opencontainers.image.version"]'), meson $version, appVersion $app"; fi
image=$(hm template "$release" "$chart" -n "$ns" --show-only templates/deployment.yaml 2>/dev/null |
    sed -nE 's/^ *image: "?([^"]+)"?$/\1/p')
if [ "$image" = "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$oci/index.json")" ]; then
    pass chart/default-image-is-the-built-one
else fail chart/default-image-is-the-built-one "chart: $image; archive: $(jq -c .manifests[0].annotations "$oci/index.json")"; fi

# ---- the root filesystem ----
found=$(find "$rootfs" ! -type d \( -name sh -o -name bash -o -name dash -o -name ash -o -name busybox \
    -o -name dpkg -o -name apt -o -name apt-get -o -name perl \) -printf '/%P ' 2>/dev/null)
if [ -z "$found" ]; then pass rootfs/no-shell-no-package-manager; else
    fail rootfs/no-shell-no-package-manager "found: $found"; fi
programs=$(find "$rootfs" -type f -perm /111 ! -name '*.so' ! -name '*.so.*' -printf '/%P ')
if [ "$programs" = "/usr/local/bin/eastwest-operator " ]; then pass rootfs/one-program; else
    fail rootfs/one-program "executables: $programs"; fi
loader=$(readelf -l "$rootfs/usr/local/bin/eastwest-operator" |
    sed -nE 's/.*program interpreter: ([^]]+)\]/\1/p')
if libs=$(chroot "$rootfs" "$loader" --list /usr/local/bin/eastwest-operator 2>&1) &&
    ! grep -q 'not found' <<<"$libs" && grep -q 'libcurl.so.4 => /' <<<"$libs" &&
    grep -q 'libwebsockets.so.17 => /' <<<"$libs"; then
    pass "rootfs/loader-resolves-every-library ($(grep -c '=> /' <<<"$libs") libraries)"
else fail rootfs/loader-resolves-every-library "$libs"; fi
if out=$(chroot --userspec=65532:65532 "$rootfs" /usr/local/bin/eastwest-operator --help 2>&1) &&
    grep -q '^usage: eastwest-operator' <<<"$out"; then
    pass rootfs/runs-as-65532
else fail rootfs/runs-as-65532 "$out"; fi
if [ -s "$rootfs/etc/ssl/certs/ca-certificates.crt" ] && [ -s "$rootfs/usr/share/zoneinfo/Europe/Paris" ] &&
    grep -q '^nonroot:x:65532:65532:' "$rootfs/etc/passwd"; then
    pass rootfs/ca-certificates-tzdata-user
else fail rootfs/ca-certificates-tzdata-user "no CA bundle, zoneinfo, or passwd entry"; fi

# ---- the chart's Deployment, run as the kubelet would ----
for c in us eu; do play_istiod "$c" corp.local training-mesh; done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if out=$(hm install "$release" "$chart" -n "$ns" --create-namespace --set metrics.port="$port" 2>&1); then
    pass chart/install
else fail chart/install "$out"; fi
kc us -n "$ns" get deployment "$sa" -o json >"$tmp/deploy.json"
spec() { jq -r "$1" "$tmp/deploy.json"; }
mapfile -t args < <(spec '.spec.template.spec.containers[0].args[]')
# The container's env as the kubelet makes it: the image's, then the container's own
# (values; a fieldRef to the pod's namespace or name), then the API server's Service.
envs=()
while IFS= read -r e; do envs+=("$e"); done < <(cfg '.config.Env[]')
while IFS=$'\t' read -r name value field; do
    case $field in
    metadata.namespace) value=$ns ;;
    metadata.name) value=$sa-0 ;;
    esac
    envs+=("$name=$value")
done < <(spec '.spec.template.spec.containers[0].env // [] | .[] | [.name, .value // "", .valueFrom.fieldRef.fieldPath // ""] | @tsv')
server=$(kc us config view --minify -o jsonpath='{.clusters[0].cluster.server}')
envs+=(HOSTNAME="$sa-0" HOME=/home/nonroot KUBERNETES_SERVICE_HOST=127.0.0.1
    KUBERNETES_SERVICE_PORT="${server##*:}")
user=$(spec '.spec.template.spec.containers[0].securityContext | "\(.runAsUser):\(.runAsGroup)"')
ro=$(spec '.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem')
# shellcheck disable=SC2016 # jq's variables
probe=$(spec '.spec.template.spec.containers[0] | .readinessProbe.httpGet.path as $p |
    (.ports[] | select(.name == "metrics") | .containerPort) as $port | "\($port)\($p)"')
if [ "$user" = 65532:65532 ] && [ "$ro" = true ] && [ "$probe" = "$port/readyz" ]; then
    pass chart/deployment-read
else fail chart/deployment-read "user $user, readOnlyRootFilesystem $ro, probe $probe"; fi

# The ServiceAccount volume and what the container runtime mounts, then the root
# filesystem read-only, then the user and no_new_privs; in a mount namespace of its own.
sadir="$tmp/serviceaccount"
mkdir -p "$sadir"
kc us -n "$ns" create token "$sa" --duration=2h >"$sadir/token"
cp "$dir/us/ca.crt" "$sadir/ca.crt"
printf '%s' "$ns" >"$sadir/namespace"
mkdir -p "$rootfs/var/run/secrets/kubernetes.io/serviceaccount" "$rootfs/proc" "$rootfs/dev"
for f in null zero random urandom full; do : >"$rootfs/dev/$f"; done
touch "$rootfs/etc/hosts" "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
tutorial_prepare "$ns"
cat >"$tmp/kubelet.sh" <<'EOF'
set -e
r=$1 sa=$2 user=$3 ro=$4
shift 4
mount --bind "$r" "$r"
mount --bind "$sa" "$r/var/run/secrets/kubernetes.io/serviceaccount"
mount -o remount,bind,ro "$r/var/run/secrets/kubernetes.io/serviceaccount"
for f in null zero random urandom full; do mount --bind "/dev/$f" "$r/dev/$f"; done
for f in hosts resolv.conf; do mount --bind "/etc/$f" "$r/etc/$f"; done
mount -t proc proc "$r/proc"
[ "$ro" = true ] && mount -o remount,bind,ro "$r"
exec setpriv --no-new-privs chroot --userspec="$user" --groups="${user#*:}" "$r" "$@"
EOF
env -i "${envs[@]}" unshare --mount --propagation private --fork \
    bash "$tmp/kubelet.sh" "$rootfs" "$sadir" "$user" "$ro" \
    "$(cfg '.config.Entrypoint[0]')" "${args[@]}" 2>"$oplog" &
runner=$!
check kubelet/readyz 30 curl -sf "http://127.0.0.1:$port/readyz"
op_pid=$(pgrep -P "$runner" | head -n 1)
status=$(awk '/^(Uid|Gid|CapEff|NoNewPrivs):/ { printf "%s %s ", $1, $2 }' "/proc/$op_pid/status" 2>&1)
if [ "$(readlink "/proc/$op_pid/exe")" = "$rootfs/usr/local/bin/eastwest-operator" ] &&
    [ "$status" = "Uid: 65532 Gid: 65532 CapEff: 0000000000000000 NoNewPrivs: 1 " ]; then
    pass kubelet/non-root-no-capabilities
else fail kubelet/non-root-no-capabilities "pid $op_pid: $(readlink "/proc/$op_pid/exe") $status"; fi
# The operator's view of its root: the mount at / is read-only.
root_opts=$(awk '$5 == "/" { print $6 }' "/proc/$op_pid/mountinfo" 2>&1)
if [[ $root_opts == ro,* ]] || [ "$root_opts" = ro ]; then pass kubelet/root-filesystem-read-only; else
    fail kubelet/root-filesystem-read-only "mount options of /: $root_opts"; fi
check kubelet/leader 30 grep -q '"msg":"controllers started"' "$oplog"
tutorial_converge kubelet "$ns"
tutorial_clean_up kubelet
if grep -qiE 'forbidden|permission denied|read-only file system' "$oplog"; then
    fail kubelet/no-denials "$(grep -m 3 -iE 'forbidden|permission denied|read-only file system' "$oplog")"
else pass kubelet/no-denials; fi

# SIGTERM, as the kubelet stops a container: exit 0 within the grace period.
kill -TERM "$op_pid"
grace=$(spec '.spec.template.spec.terminationGracePeriodSeconds')
end=$((SECONDS + grace))
while kill -0 "$runner" 2>/dev/null && [ $SECONDS -lt "$end" ]; do sleep 0.2; done
if ! kill -0 "$runner" 2>/dev/null && wait "$runner"; then
    pass kubelet/sigterm-exit-0
else
    kill -KILL "$runner" 2>/dev/null
    fail kubelet/sigterm-exit-0 "still running after ${grace}s, or exit status $?: $(tail -n 5 "$oplog")"
fi
op_pid="" op_stopped=1
hm uninstall "$release" -n "$ns" >/dev/null 2>&1
finish
