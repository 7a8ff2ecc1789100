#!/bin/bash
# bundle.sh - an update bundle (RAUC, plain format, signed) of one root filesystem tree, for
# `motcua hub update publish --bundle` (docs/updates.md). The bundle holds the root as one
# tarball, root.tar.xz (xz, 64 MiB window, in 192 MiB blocks, ARM64 branch filter); RAUC on the
# device checks the signature against /etc/rauc/keyring.pem, formats the slot that is not
# running (mkfs.ext4, the whole partition) and unpacks the tarball into it (`tar -xJ`, so the
# image needs xz-utils). A tarball, not an ext4 image: RAUC writes images raw, and the
# bundle's SquashFS compresses them in 1 MiB blocks, which left the bundle 8 % larger than
# the root compressed in one stream (docs/updates.md, "Bundle size").
# Plain, not verity: RAUC 1.13 (trixie) cannot mount verity bundles on kernels from 6.19 on
# (their dm-verity status line changed; fixed in RAUC 1.15, rauc#1842), and the image runs
# trixie-backports' 7.x kernel. A plain bundle's signature covers the whole SquashFS and is
# checked, all of it, before anything is mounted or written.
#
# Usage:  image/bundle.sh ROOTDIR VERSION OUT.raucb
#         ROOTDIR: the slot's whole tree, as mounted at / (image/build.sh passes its rootfs
#         without /boot/firmware and /srv/motcua, which are other partitions)
# Env:    RAUC_KEYS=out/rauc-keys  signing.cert.pem + signing.key.pem (+ ca.cert.pem, to check
#                                  the result); image/ab/keys.sh makes development ones
#         COMPATIBLE=motcua-rpi-arm64  must equal the image's [system] compatible
#         BUNDLE_XZ="--arm64 --lzma2=preset=9"  xz options (-T0 is added; the output does not
#                                  depend on it)
# Needs:  rauc, squashfs-tools, xz-utils, attr (installed when missing, as root)
set -euo pipefail
[ $# = 3 ] || { sed -n '2,23p' "$0" >&2; exit 2; }
ROOT=$(readlink -f "$1"); VERSION=$2; OUTB=$(readlink -m "$3")
HERE=$(dirname "$(readlink -f "$0")")
KEYS=$(readlink -m "${RAUC_KEYS:-$HERE/../out/rauc-keys}")
COMPATIBLE=${COMPATIBLE:-motcua-rpi-arm64}
read -r -a XZOPTS <<<"${BUNDLE_XZ:---arm64 --lzma2=preset=9}"
die() { echo "bundle.sh: $*" >&2; exit 1; }
[ -d "$ROOT" ] || die "no root tree $ROOT (a directory: the slot's / )"
# boot.scr loads the slot's /vmlinuz and /initrd.img: a tree without them would never boot.
for f in vmlinuz initrd.img usr/bin/motcua etc/rauc/system.conf; do
  [ -e "$ROOT/$f" ] || die "$ROOT/$f missing: not a motcua root (U-Boot boots /vmlinuz and /initrd.img)"
done
# A device running this root unpacks the next bundle with `tar -xJ`.
[ -x "$ROOT/usr/bin/xz" ] || die "$ROOT/usr/bin/xz missing: a device running this root could not unpack the next bundle (xz-utils)"
# The appliance's users and groups must keep the numbers the data partition's files carry.
IDS="$HERE/ab/motcua-ids.sysusers"
while read -r kind name num _; do
  got=$(awk -F: -v n="$name" '$1 == n {print $3}' "$ROOT/etc/group")
  [ "$kind" = u ] && got="$(awk -F: -v n="$name" '$1 == n {print $3}' "$ROOT/etc/passwd"):$got"
  want=$num; [ "$kind" = u ] && want="$num:$num"
  [ "$got" = "$want" ] || die "$ROOT: $([ "$kind" = u ] && echo "user:group" || echo group) $name is ${got:-missing}, but devices' data carries $want ($IDS): a device running this root could not open its data"
done < <(grep -E '^[ug] ' "$IDS")
# The version is what the hub publishes and `rauc status` reports: a name the hub accepts.
[[ "$VERSION" =~ ^[A-Za-z0-9.+_-]{1,64}$ ]] || die "version \"$VERSION\": 1 to 64 letters, digits, . + _ - (as the hub accepts)"
for f in signing.cert.pem signing.key.pem; do
  [ -s "$KEYS/$f" ] || die "no $KEYS/$f (image/ab/keys.sh $KEYS makes development keys)"
done
need=()
command -v rauc >/dev/null || need+=(rauc)
command -v mksquashfs >/dev/null || need+=(squashfs-tools)
command -v xz >/dev/null || need+=(xz-utils)
command -v getfattr >/dev/null || need+=(attr)
if [ ${#need[@]} -gt 0 ]; then apt-get install -y -q "${need[@]}" >/dev/null; fi
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
# RAUC unpacks with `tar -x --numeric-owner`, without --xattrs: extended attributes (file
# capabilities, ACLs) would be lost on the device, so a tree that has any is refused.
# (Symlinks are skipped: getfattr fails on the ones whose target is outside the tree.)
scan=$(find "$ROOT" -xdev ! -type l -print0 | xargs -0 -r getfattr -m - --absolute-names 2>"$W/xattr.err") || true
[ ! -s "$W/xattr.err" ] || die "cannot read extended attributes: $(head -3 "$W/xattr.err")"
xattrs=$(sed -n 's/^# file: //p' <<<"$scan" | head -5 || true)   # (sed may end on SIGPIPE)
[ -z "$xattrs" ] || die "extended attributes in the root (RAUC's tar would drop them): $(echo $xattrs)"
mkdir "$W/content"
# Sorted by name: files of one package lie together and compress better; owners by number,
# as RAUC extracts them.
tar -C "$ROOT" --sort=name --numeric-owner --one-file-system -cf - . | xz -T0 "${XZOPTS[@]}" > "$W/content/root.tar.xz"
cat > "$W/content/manifest.raucm" <<M
[update]
compatible=$COMPATIBLE
version=$VERSION
description=motcua appliance root filesystem

[bundle]
format=plain

[image.rootfs]
filename=root.tar.xz
M
rm -f "$OUTB"
# The tarball is compressed already: the SquashFS stores its data as it is.
rauc bundle --cert="$KEYS/signing.cert.pem" --key="$KEYS/signing.key.pem" \
  --mksquashfs-args="-comp xz -noD -noF" "$W/content" "$OUTB" >/dev/null
if [ -s "$KEYS/ca.cert.pem" ]; then
  # The signature checked against the CA, as the device's RAUC will.
  out=$(rauc --keyring="$KEYS/ca.cert.pem" info "$OUTB" 2>&1) || { echo "$out" >&2; die "$OUTB does not verify against $KEYS/ca.cert.pem"; }
fi
echo "bundle: $OUTB  $(( $(stat -c %s "$OUTB") / 1048576 )) MiB  version $VERSION  (root $(( $(du -sk --apparent-size "$ROOT" | cut -f1) / 1024 )) MiB, xz ${XZOPTS[*]})"
