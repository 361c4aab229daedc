#!/usr/bin/env bash
# Builds the container image from the project's Dockerfile without Docker or a registry,
# with Debian's own tools:
#
#   bash hack/image.sh          # -> build/eastwest-operator-VERSION.oci.tar
#
#   1. the base image the Dockerfile names (debian:12) is made locally: mmdebstrap
#      bootstraps Debian 12 (minbase, the apt sources of the official image, plus this
#      machine's apt Acquire options such as a proxy) into a tarball, committed as
#      docker.io/library/debian:12 in a buildah store of its own;
#   2. buildah builds the Dockerfile (--isolation chroot, vfs storage, --layers: an
#      unchanged step is taken from the cache) and writes the image as an OCI archive.
# The store is $EW_CACHE/buildah (kept between runs: the base and the cached steps; vfs
# copies the tree per step, so past EW_IMAGE_STORE_GB, 12 by default, the cached steps
# are removed after the build); the base is made again only when it is missing or with
# EW_IMAGE_REBASE=1. Here: cold 2 min 30 s, warm 40 s, 70 s after a change to the sources.
# Exits 77 (and says why) when buildah cannot run on this machine.
#
# With Docker, `docker build -t ghcr.io/eastwest/eastwest-operator:VERSION .` builds the
# same Dockerfile with the official debian:12. Load the archive elsewhere with
# `podman load -i`, `skopeo copy oci-archive:...`, or `kind load image-archive`.
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BASE=docker.io/library/debian:12
IMAGE=ghcr.io/eastwest/eastwest-operator
version=$(sed -nE "s/^ *version *: *'([^']+)'.*/\1/p" "$EW_ROOT/meson.build" | head -n 1)
[ -n "$version" ] || ew_die "no project version in meson.build"
out="$EW_ROOT/build/eastwest-operator-$version.oci.tar" log="$EW_ROOT/build/image-build.log"
store="$EW_CACHE/buildah"
runroot="${TMPDIR:-/tmp}/eastwest-buildah-run"

bh() { buildah --root "$store/storage" --runroot "$runroot" --storage-driver vfs "$@"; }

# The base: Debian 12 as the official image has it (minbase; bookworm, -updates and
# -security), with this machine's apt Acquire options, so that apt inside reaches the
# mirror the way apt here does.
make_base() {
    local tmp opts=() line ctr
    tmp=$(mktemp -d "$store/.base.XXXXXX")
    while IFS= read -r line; do opts+=(--aptopt="$line"); done < <(apt-config dump |
        grep -E '^Acquire::(Check-Valid-Until|Check-Date|http::Proxy|https::Proxy|Retries) ' || true)
    ew_log "making $BASE with mmdebstrap (a few minutes the first time)"
    mmdebstrap --quiet --variant=minbase --format=tar "${opts[@]}" bookworm "$tmp/rootfs.tar" \
        "deb http://deb.debian.org/debian bookworm main" \
        "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main" ||
        { rm -rf "$tmp"; ew_die "mmdebstrap could not bootstrap Debian 12"; }
    ctr=$(bh from --pull=never scratch)
    bh add --quiet "$ctr" "$tmp/rootfs.tar" / >/dev/null
    bh config --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --os linux --arch amd64 "$ctr"
    bh commit --quiet --rm "$ctr" "$BASE" >/dev/null
    rm -rf "$tmp"
}

# What the image holds: its size unpacked and in the archive, and its packages.
describe() {
    local ctr mnt
    ctr=$(bh from --pull=never "$IMAGE:$version")
    mnt=$(bh mount "$ctr")
    ew_log "image $IMAGE:$version: $(du -sh --apparent-size "$mnt" | cut -f1) unpacked," \
        "$(du -h --apparent-size "$out" | cut -f1) as $out"
    ew_log "packages: $(find "$mnt/var/lib/dpkg/status.d" -type f -printf '%f ' | xargs -n 1 | sort | xargs)"
    bh umount "$ctr" >/dev/null
    bh rm "$ctr" >/dev/null
}

ew_apt_ensure buildah mmdebstrap
mkdir -p "$store" "$runroot" "$(dirname "$out")"
exec 8>"$store/.lock"
flock 8
rm -rf "$store"/.base.*
if ! why=$(bh info 2>&1 >/dev/null); then
    ew_log "buildah cannot run here: $why"
    exit 77
fi
if [ "${EW_IMAGE_REBASE:-0}" = 1 ] || ! bh inspect --type image "$BASE" >/dev/null 2>&1; then
    make_base
fi
ew_log "building $IMAGE:$version from the Dockerfile with buildah"
if ! bh build --isolation chroot --layers --pull=never -f "$EW_ROOT/Dockerfile" \
    -t "$IMAGE:$version" "$EW_ROOT" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    ew_die "buildah could not build the Dockerfile (the whole log: $log)"
fi
# vfs keeps a full copy of the tree per cached step: past EW_IMAGE_STORE_GB (default 12)
# the cached steps go (the base stays); the next build runs every step again.
if [ "$(du -sm "$store/storage" | cut -f1)" -gt $((${EW_IMAGE_STORE_GB:-12} * 1024)) ]; then
    ew_log "the buildah store is over ${EW_IMAGE_STORE_GB:-12} GB: removing the cached steps"
    bh rmi --prune >/dev/null 2>&1 || true
fi
rm -f "$out"
bh push --quiet "$IMAGE:$version" "oci-archive:$out:$IMAGE:$version" ||
    ew_die "buildah could not write $out"
describe
