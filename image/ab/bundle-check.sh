#!/bin/bash
# bundle-check.sh - image/bundle.sh on small trees: each refusal with its exact message (no
# /vmlinuz, no xz, a user or group number that differs from image/ab/motcua-ids.sysusers,
# extended attributes, a version the hub would refuse), then a good tree: the bundle verifies
# against the CA and holds root.tar.xz with the tree as RAUC will unpack it (numeric owners,
# symlinks, hard links, modes). Seconds; on every test run (scripts/test.sh).
# Usage: image/ab/bundle-check.sh [WORKDIR]   (installs rauc squashfs-tools attr xz-utils
#        openssl when missing, as root). Exit 0 when every case matched.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
W=$(readlink -m "${1:-/tmp/motcua-bundle-check}")
need=()
command -v rauc >/dev/null || need+=(rauc)
command -v mksquashfs >/dev/null || need+=(squashfs-tools)
command -v setfattr >/dev/null || need+=(attr)
command -v xz >/dev/null || need+=(xz-utils)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing: ${need[*]}" >&2; exit 1; }
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
rm -rf "$W"; mkdir -p "$W"; cd "$W"
"$HERE/keys.sh" "$W/keys" >/dev/null
fails=0
ok() { echo "PASS  $*"; }
ko() { echo "FAIL  $*"; fails=$((fails + 1)); }
tree() {  # a minimal root at $W/t: what bundle.sh requires, the appliance's ids, a hard link
  rm -rf "$W/t"; local t="$W/t"
  mkdir -p "$t/etc/rauc" "$t/usr/bin" "$t/boot" "$t/var/lib/motcua" "$t/srv/motcua"
  echo kernel > "$t/boot/vmlinuz-1"; echo initrd > "$t/boot/initrd.img-1"
  ln -s boot/vmlinuz-1 "$t/vmlinuz"; ln -s boot/initrd.img-1 "$t/initrd.img"
  echo '#!/bin/sh' > "$t/usr/bin/motcua"; chmod 755 "$t/usr/bin/motcua"
  cp "$t/usr/bin/motcua" "$t/usr/bin/xz"; ln "$t/boot/vmlinuz-1" "$t/usr/bin/vmlinuz-link"
  echo '[system]' > "$t/etc/rauc/system.conf"
  printf 'root:x:0:0::/root:/bin/sh\nmotcua:x:986:986::/var/lib/motcua:/usr/sbin/nologin\nmotcua-kiosk:x:985:985::/nonexistent:/usr/sbin/nologin\n' > "$t/etc/passwd"
  printf 'root:x:0:\ngpio:x:987:motcua\nmotcua:x:986:\nmotcua-kiosk:x:985:motcua\n' > "$t/etc/group"
  chown 986:986 "$t/var/lib/motcua"; chmod 750 "$t/var/lib/motcua"
}
refused() {  # refused WHAT EXPECTED-MESSAGE [VERSION]: bundle.sh exits 1 with exactly that
  local out rc=0
  out=$(RAUC_KEYS="$W/keys" "$HERE/../bundle.sh" "$W/t" "${3:-1.0}" "$W/b.raucb" 2>&1) || rc=$?
  if [ "$rc" = 1 ] && [ "$out" = "bundle.sh: $2" ] && [ ! -e "$W/b.raucb" ]; then ok "refused: $1"
  else ko "$1: exit $rc, [$out]"; fi
}
tree; rm "$W/t/vmlinuz"
refused "no /vmlinuz" "$W/t/vmlinuz missing: not a motcua root (U-Boot boots /vmlinuz and /initrd.img)"
tree; rm "$W/t/usr/bin/xz"
refused "no xz" "$W/t/usr/bin/xz missing: a device running this root could not unpack the next bundle (xz-utils)"
tree; sed -i 's/^motcua:x:986:986:/motcua:x:990:986:/' "$W/t/etc/passwd"
refused "another number for motcua" "$W/t: user:group motcua is 990:986, but devices' data carries 986:986 ($HERE/motcua-ids.sysusers): a device running this root could not open its data"
tree; sed -i '/^gpio:/d' "$W/t/etc/group"
refused "no group gpio" "$W/t: group gpio is missing, but devices' data carries 987 ($HERE/motcua-ids.sysusers): a device running this root could not open its data"
tree
if setfattr -n user.motcua -v 1 "$W/t/usr/bin/motcua" 2>/dev/null; then
  refused "extended attributes" "extended attributes in the root (RAUC's tar would drop them): $W/t/usr/bin/motcua"
else echo "SKIP  extended attributes: this filesystem ($W) has no user xattrs"; fi
tree
refused "a version the hub refuses" "version \"1.0~rc1\": 1 to 64 letters, digits, . + _ - (as the hub accepts)" "1.0~rc1"
tree
if RAUC_KEYS="$W/keys" BUNDLE_XZ=-1 "$HERE/../bundle.sh" "$W/t" 1.0 "$W/b.raucb" >/dev/null 2>"$W/err"; then
  rm -rf x; unsquashfs -q -d x "$W/b.raucb" >/dev/null
  list=$(tar -tvJ --numeric-owner -f x/root.tar.xz)
  grep -q '^filename=root.tar.xz$' x/manifest.raucm && ok "the manifest names root.tar.xz" || ko "manifest: $(cat x/manifest.raucm)"
  grep -qE '^drwxr-x--- 986/986 .* \./var/lib/motcua/$' <<<"$list" && ok "owners by number, modes" || ko "var/lib/motcua in: $list"
  grep -qE '^lrwxrwxrwx 0/0 .* \./vmlinuz -> boot/vmlinuz-1$' <<<"$list" && ok "the /vmlinuz symlink" || ko "vmlinuz in: $list"
  grep -qE '\./usr/bin/vmlinuz-link link to \./boot/vmlinuz-1$' <<<"$list" && ok "hard links kept" || ko "hard link in: $list"
  grep -qE ' \./srv/motcua/$' <<<"$list" && ok "the data partition's mount point" || ko "srv/motcua in: $list"
else ko "a good tree: $(cat "$W/err")"; fi
echo "== $fails failed"
[ "$fails" = 0 ]
