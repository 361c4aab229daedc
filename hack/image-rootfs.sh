#!/usr/bin/env bash
# Makes the runtime root filesystem of the container image (run by the Dockerfile's
# build stage, on Debian, as root):
#
#   bash hack/image-rootfs.sh BINARY ROOTFS
#
# ROOTFS gets BINARY as /usr/local/bin/eastwest-operator and the Debian packages that
# hold the shared libraries it loads (what ldd resolves: libcurl, cJSON, OpenSSL,
# libyaml, libwebsockets and their own dependencies), plus ca-certificates and tzdata:
# each package's files as the .deb has them (dpkg-deb -x, the versions the binary was
# built against), without manuals, changelogs or iconv modules (the copyright files
# stay). No maintainer script runs, and no package that is not needed goes in: no
# shell, no coreutils, no dpkg or apt. Each package's control data is written to
# /var/lib/dpkg/status.d/NAME (as distroless images do), so image scanners list them.
# Also: /etc/passwd and /etc/group with the user nonroot (65532), /etc/nsswitch.conf,
# the CA bundle update-ca-certificates made here, /tmp, and the loader's cache.
# Last, the binary runs inside ROOTFS (chroot, --help) to prove nothing is missing.
set -euo pipefail
bin=$1 rootfs=$2
multiarch=$(gcc -print-multiarch)

die() {
    echo "image-rootfs: $*" >&2
    exit 1
}

# package_of PATH: the package that installed PATH (dpkg knows some files under /lib and
# others under /usr/lib of a merged /usr; try both).
package_of() {
    local p=$1 alt
    case $p in
    /usr/*) alt=${p#/usr} ;;
    *) alt=/usr$p ;;
    esac
    { dpkg-query -S "$p" 2>/dev/null || dpkg-query -S "$alt" 2>/dev/null; } |
        head -n 1 | cut -d: -f1
}

runtime_packages() {
    local lib pkg
    ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
        while read -r lib; do
            pkg=$(package_of "$lib")
            [ -n "$pkg" ] || die "no package holds $lib (linked by $bin)"
            echo "$pkg"
        done
    echo ca-certificates
    echo tzdata
}

mapfile -t packages < <(runtime_packages | sort -u)
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
mkdir -p "$rootfs/var/lib/dpkg/status.d"
for pkg in "${packages[@]}"; do
    version=$(dpkg-query -W -f='${Version}' "$pkg")
    (cd "$debs" && apt-get download -qq "$pkg=$version") || die "cannot download $pkg=$version"
done
for deb in "$debs"/*.deb; do
    dpkg-deb -x "$deb" "$rootfs"
    dpkg-deb -f "$deb" >"$rootfs/var/lib/dpkg/status.d/$(dpkg-deb -f "$deb" Package)"
done

# What no program here reads: manuals, changelogs, bug scripts (licences stay); glibc's
# iconv modules (8 MB: ASCII, UTF-8 and ISO-8859-1 are built into libc, and nothing
# here converts other character sets); update-ca-certificates, a shell script with no
# shell to run it.
rm -rf "$rootfs"/usr/share/{man,info,lintian,bug,locale,doc-base} \
    "$rootfs/usr/lib/$multiarch/gconv" "$rootfs/usr/sbin/update-ca-certificates"
find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
find "$rootfs/usr/share/doc" -type d -empty -delete
# ca-certificates' postinst would make the bundle: take the one made in this stage.
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"

printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$rootfs/etc/group"
printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
printf '%s\n' "/lib/$multiarch" "/usr/lib/$multiarch" >"$rootfs/etc/ld.so.conf"
install -d -m 1777 "$rootfs/tmp"
install -d -m 0700 -o 65532 -g 65532 "$rootfs/home/nonroot"
install -D -m 0755 "$bin" "$rootfs/usr/local/bin/eastwest-operator"
ldconfig -r "$rootfs"

for sh in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash usr/bin/dash bin/busybox; do
    if [ -e "$rootfs/$sh" ] || [ -L "$rootfs/$sh" ]; then die "a shell got in: /$sh"; fi
done
chroot "$rootfs" /usr/local/bin/eastwest-operator --help >/dev/null ||
    die "the binary does not run inside the image's root filesystem"
echo "image-rootfs: ${#packages[@]} packages: ${packages[*]}" >&2
