#!/bin/bash
# bundle.sh - an update bundle (RAUC, plain format, signed) of one root filesystem image, for
# `motcua hub update publish --bundle` (docs/updates.md). The bundle holds the slot's ext4
# image, compressed with xz inside the bundle's SquashFS; RAUC on the device checks the
# signature against /etc/rauc/keyring.pem and writes the image to the slot that is not running.
# Plain, not verity: RAUC 1.13 (trixie) cannot mount verity bundles on kernels from 6.19 on
# (their dm-verity status line changed; fixed in RAUC 1.15, rauc#1842), and the image runs
# trixie-backports' 7.x kernel. A plain bundle's signature covers the whole SquashFS and is
# checked, all of it, before anything is mounted or written.
#
# Usage:  image/bundle.sh ROOT.ext4 VERSION OUT.raucb
# Env:    RAUC_KEYS=out/rauc-keys  signing.cert.pem + signing.key.pem (+ ca.cert.pem, to check
#                                  the result); image/ab/keys.sh makes development ones
#         COMPATIBLE=motcua-rpi-arm64  must equal the image's [system] compatible
# Needs:  rauc, squashfs-tools (installed when missing, as root)
set -euo pipefail
[ $# = 3 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
ROOT=$(readlink -f "$1"); VERSION=$2; OUTB=$(readlink -m "$3")
HERE=$(dirname "$(readlink -f "$0")")
KEYS=$(readlink -m "${RAUC_KEYS:-$HERE/../out/rauc-keys}")
COMPATIBLE=${COMPATIBLE:-motcua-rpi-arm64}
[ -f "$ROOT" ] || { echo "bundle.sh: no root image $ROOT" >&2; exit 1; }
# The version is what the hub publishes and `rauc status` reports: a plain name.
[[ "$VERSION" =~ ^[A-Za-z0-9][A-Za-z0-9.+~_-]{0,63}$ ]] || { echo "bundle.sh: version \"$VERSION\": letters, digits, . + ~ _ - (at most 64)" >&2; exit 1; }
for f in signing.cert.pem signing.key.pem; do
  [ -s "$KEYS/$f" ] || { echo "bundle.sh: no $KEYS/$f (image/ab/keys.sh $KEYS makes development keys)" >&2; exit 1; }
done
need=()
command -v rauc >/dev/null || need+=(rauc)
command -v mksquashfs >/dev/null || need+=(squashfs-tools)
if [ ${#need[@]} -gt 0 ]; then apt-get install -y -q "${need[@]}" >/dev/null; fi
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir "$W/content"
cp --sparse=always "$ROOT" "$W/content/root.ext4"
cat > "$W/content/manifest.raucm" <<M
[update]
compatible=$COMPATIBLE
version=$VERSION
description=motcua appliance root filesystem

[bundle]
format=plain

[image.rootfs]
filename=root.ext4
M
rm -f "$OUTB"
rauc bundle --cert="$KEYS/signing.cert.pem" --key="$KEYS/signing.key.pem" \
  --mksquashfs-args="-comp xz -b 1M -Xdict-size 100%" "$W/content" "$OUTB" >/dev/null
if [ -s "$KEYS/ca.cert.pem" ]; then
  # The signature checked against the CA, as the device's RAUC will.
  out=$(rauc --keyring="$KEYS/ca.cert.pem" info "$OUTB" 2>&1) || { echo "$out" >&2; echo "bundle.sh: $OUTB does not verify against $KEYS/ca.cert.pem" >&2; exit 1; }
fi
echo "bundle: $OUTB  $(( $(stat -c %s "$OUTB") / 1048576 )) MiB  version $VERSION  (root image $(( $(stat -c %s "$ROOT") / 1048576 )) MiB)"
