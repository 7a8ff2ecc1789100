#!/bin/bash
# uboot-check.sh - check image/ab/boot.cmd's slot logic in QEMU with Debian's U-Boot
# (u-boot-qemu's qemu_arm64 build: the same script and U-Boot commands as u-boot-rpi on the Pi).
#
# A small disk: p1 FAT with boot.scr and an empty motcua/ directory (the two slot state copies
# appear there), p2 and p3 empty ext4 slots (no kernel, so each boot spends its try and resets;
# QEMU -no-reboot ends at the reset). Between boots the copies are read and changed on the host
# with fw_printenv / fw_setenv (libubootenv in redundant mode, as RAUC's U-Boot backend does on
# the device). Asserts, for each boot, the slot chosen and the tries left: A three times, then B
# three times (fallback), then both exhausted -> A again; RAUC making B primary; RAUC marking B
# good; the newest copy torn (bad CRC) -> the previous state from the other copy; both torn ->
# the defaults.
# Usage: image/ab/uboot-check.sh [WORKDIR]   (installs qemu-system-arm u-boot-qemu u-boot-tools
#        libubootenv-tool mtools when missing, as root). Exit 0 when every boot matched.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
W=$(readlink -f "${1:-/tmp/motcua-uboot-check}")
UBOOT=/usr/lib/u-boot/qemu_arm64/u-boot.bin
need=()
command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
[ -e "$UBOOT" ] || need+=(u-boot-qemu)
command -v mkimage >/dev/null || need+=(u-boot-tools)
command -v fw_setenv >/dev/null || need+=(libubootenv-tool)
command -v mcopy >/dev/null || need+=(mtools)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing: ${need[*]}" >&2; exit 1; }
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
rm -rf "$W"; mkdir -p "$W"; cd "$W"
mkimage -q -A arm64 -T script -C none -d "$HERE/boot.cmd" boot.scr >/dev/null
truncate -s 48M disk.img
sfdisk -q disk.img <<'P'
label: dos
start=2048, size=32768, type=c, bootable
start=34816, size=30720, type=83
start=65536, size=30720, type=83
P
mkfs.vfat -n RASPIFIRM -C fat.img 16384 >/dev/null
mcopy -i fat.img boot.scr ::/
mmd -i fat.img ::/motcua
for s in a b; do mke2fs -q -t ext4 -L "slot-$s" "slot-$s.ext4" 15M; done
dd if=fat.img of=disk.img bs=512 seek=2048 conv=notrunc status=none
dd if=slot-a.ext4 of=disk.img bs=512 seek=34816 conv=notrunc status=none
dd if=slot-b.ext4 of=disk.img bs=512 seek=65536 conv=notrunc status=none
printf '%s 0x0000 0x4000\n%s 0x0000 0x4000\n' "$W/boot0.env" "$W/boot1.env" > fw_env.config
fat() { dd if=disk.img of=fat.img bs=512 skip=2048 count=32768 status=none; }
unfat() { dd if=fat.img of=disk.img bs=512 seek=2048 conv=notrunc status=none; }
getenv() { fat; rm -f boot0.env boot1.env; mcopy -n -i fat.img ::/motcua/boot0.env ::/motcua/boot1.env . ; }
putenv() { mcopy -o -i fat.img boot0.env boot1.env ::/motcua/; unfat; }
newest() {  # the copy U-Boot and libubootenv read: the higher flags byte (0 follows ff)
  local a b; a=$(od -An -tu1 -j4 -N1 boot0.env | tr -d ' '); b=$(od -An -tu1 -j4 -N1 boot1.env | tr -d ' ')
  if [ "$a" = 255 ] && [ "$b" = 0 ]; then echo boot1.env; elif [ "$b" = 255 ] && [ "$a" = 0 ]; then echo boot0.env
  elif [ "$b" -gt "$a" ]; then echo boot1.env; else echo boot0.env; fi
}
tear() { printf '\xff\xff' | dd of="$1" bs=1 seek=100 conv=notrunc status=none; }
fails=0; n=0
boot() {  # boot EXPECTED: one boot; EXPECTED is "<slot> A=<n> B=<n>"
  n=$((n + 1))
  local line
  line=$(timeout 120 qemu-system-aarch64 -M virt -cpu cortex-a72 -m 256 -bios "$UBOOT" -no-reboot \
    -drive file=disk.img,format=raw,if=virtio -display none -monitor none -serial stdio 2>&1 |
    tr -d '\r' | tee "boot-$n.log" | grep -a -m1 '^MOTCUA_SLOT [AB] ' || true)
  local got
  got=$(sed -n 's/^MOTCUA_SLOT \([AB]\) part [23] order .* \(A=[0-9]*\) \(B=[0-9]*\)$/\1 \2 \3/p' <<<"$line")
  if [ "$got" = "$1" ]; then echo "PASS  boot $n: $got  ($2)"
  else echo "FAIL  boot $n: wanted [$1], got [${line:-nothing}]  ($2)"; fails=$((fails + 1)); fi
}
boot "A A=2 B=3" "no state yet: the defaults, A first"
boot "A A=1 B=3" "A not marked good: a try spent"
boot "A A=0 B=3" "the last try of A"
boot "B A=0 B=2" "A out of tries: falls back to B"
boot "B A=0 B=1" "B not marked good either"
boot "B A=0 B=0" "the last try of B"
boot "A A=2 B=3" "no slot left: never bricked, A again"
# RAUC installing into B: B first in the order with fresh tries (`fw_setenv`, as its backend).
getenv; fw_setenv -c fw_env.config BOOT_ORDER "B A"; fw_setenv -c fw_env.config BOOT_B_LEFT 3; putenv
boot "B A=2 B=2" "an update installed into B: B boots first"
# RAUC marking B good after the new slot proved itself: its tries back to 3.
getenv; fw_setenv -c fw_env.config BOOT_B_LEFT 3; putenv
boot "B A=2 B=2" "B marked good: B again, tries restored before this boot"
got=$(getenv && fw_printenv -c fw_env.config BOOT_ORDER 2>&1 || true)
[ "$got" = "BOOT_ORDER=B A" ] && echo "PASS  Linux reads the state U-Boot wrote: $got" || { echo "FAIL  fw_printenv after U-Boot's write: $got"; fails=$((fails + 1)); }
# A power cut while the state was written: the copy being written is torn (bad CRC); the other
# copy, one write older, is read. Linux writes B=1 (the newest copy), which is then torn: U-Boot
# must boot from the copy before it (B had 2 tries left), not the defaults.
getenv; fw_setenv -c fw_env.config BOOT_B_LEFT 1; tear "$(newest)"; putenv
boot "B A=2 B=1" "the newest copy torn: the one before it is read"
getenv; tear boot0.env; tear boot1.env; putenv
boot "A A=2 B=3" "both copies torn: the defaults (A first, 3 tries each)"
echo "== $fails failed"
[ "$fails" = 0 ]
