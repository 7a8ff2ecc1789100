#!/usr/bin/env bash
# The recorder's real-V4L2 test in a QEMU guest: Debian's x86-64 kernel with vivid (two YUYV
# cameras) and v4l2loopback (an MJPEG camera fed by the test program), booted from an
# initramfs that holds the `vm_guest` example (tests/vm/guest.rs) and its shared libraries.
# Artefacts (console log, snapshots, dmesg) come back over 9p in $OUT.
#
# Run by scripts/test.sh when MOTCUA_VM_TESTS=1. Needs (installed if missing, as root):
# qemu-system-x86 busybox-static cpio kmod make gcc-12 libclang-dev; downloads the
# linux-image/headers/kbuild and v4l2loopback-dkms debs once into $WORK (~230 MB).
# TCG: this host's /dev/kvm cannot run stock kernels (see ../shared/recipes/hw-vm-test.md).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-$ROOT/target/vm-work}     # cached kernel, modules, initramfs
OUT=${OUT:-$ROOT/target/vm-out}        # shared with the guest over 9p
TIMEOUT=${TIMEOUT:-300}
T0=$(date +%s)
ts() { echo "[vm +$(( $(date +%s) - T0 ))s] $*"; }
mkdir -p "$WORK" "$OUT"

need=()
if ! command -v qemu-system-x86_64 >/dev/null; then
  # The same version as an installed qemu-system-common: the image boot test installs QEMU
  # from bookworm-backports, and the default version's qemu-system-x86 then cannot install.
  qv=$(dpkg-query -W -f='${Status} ${Version}' qemu-system-common 2>/dev/null | awk '/installed/{print $4}')
  need+=("qemu-system-x86${qv:+=$qv}")
fi
[ -x /bin/busybox ] && file -L /bin/busybox | grep -q static || need+=(busybox-static)
command -v depmod >/dev/null || need+=(kmod)
command -v cpio >/dev/null || need+=(cpio)
command -v make >/dev/null || need+=(make)
command -v gcc-12 >/dev/null || need+=(gcc-12)
ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || need+=(libclang-dev)
if [ ${#need[@]} -gt 0 ]; then
  ts "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ------------------------------------------------------------- kernel (cached)
if [ ! -f "$WORK/kv" ]; then
  KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  echo "${KPKG#linux-image-}" > "$WORK/kv"
fi
KV=$(cat "$WORK/kv"); KROOT=$WORK/kroot; HDR=$WORK/hdr
if [ ! -f "$KROOT/boot/vmlinuz-$KV" ]; then
  ts "download linux-image-$KV + headers"
  HDEPS=$(apt-cache depends "linux-headers-$KV" | awk '/Depends: linux-(headers|kbuild)/{print $2}')
  (cd "$WORK" && apt-get download -q "linux-image-$KV" "linux-headers-$KV" $HDEPS 2>&1 | grep -v unsandboxed || true)
  rm -rf "$KROOT" "$HDR"; mkdir -p "$KROOT" "$HDR"
  dpkg-deb -x "$WORK"/linux-image-${KV}_*.deb "$KROOT"
  for d in "$WORK"/linux-headers-*.deb "$WORK"/linux-kbuild-*.deb; do dpkg-deb -x "$d" "$HDR"; done
  sed -i "s#^include /usr/src/#include $HDR/usr/src/#" "$HDR/usr/src/linux-headers-$KV/Makefile"
  depmod -b "$KROOT" "$KV"   # the package's postinst would do this
fi

# ------------------------------------------- v4l2loopback.ko (vivid has no MJPEG)
LOOPKO=$WORK/v4l2loopback/v4l2loopback.ko
if [ ! -f "$LOOPKO" ]; then
  ts "build v4l2loopback.ko for $KV"
  rm -rf "$WORK/v4l2loopback" "$WORK/v4l2loopback-deb"; mkdir -p "$WORK/v4l2loopback-deb"
  (cd "$WORK/v4l2loopback-deb" && apt-get download -q v4l2loopback-dkms 2>&1 | grep -v unsandboxed || true)
  dpkg-deb -x "$WORK"/v4l2loopback-deb/v4l2loopback-dkms_*.deb "$WORK/v4l2loopback-deb/x"
  cp -r "$WORK"/v4l2loopback-deb/x/usr/src/v4l2loopback-* "$WORK/v4l2loopback"
  make -s -C "$HDR/usr/src/linux-headers-$KV" M="$WORK/v4l2loopback" modules 2>&1 | grep -v 'Skipping BTF' || true
  test -f "$LOOPKO"
fi

# ------------------------------------------------------------ guest program
ts "cargo build --example vm_guest"
(cd "$ROOT" && cargo build -q --example vm_guest)
BIN=$ROOT/target/debug/examples/vm_guest

# ---------------------------------------------------------------- initramfs
ts "initramfs"
IR=$WORK/initramfs; rm -rf "$IR"
mkdir -p "$IR"/{bin,sbin,dev,proc,sys,tmp,mnt/host,lib/modules,lib64,lib/x86_64-linux-gnu,vm}
cp /bin/busybox "$IR/bin/busybox"
cp "$BIN" "$IR/vm/vm_guest"
for l in $(ldd "$BIN" | awk '/=>/{print $3} /ld-linux/{print $1}'); do cp -L "$l" "$IR$l"; done
: > "$WORK/mods.list"
for m in vivid videodev 9p 9pnet_virtio virtio_pci; do
  modprobe -d "$KROOT" -S "$KV" --show-depends "$m" | awk '$1=="insmod"{print $2}' >> "$WORK/mods.list"
done
echo "$LOOPKO" >> "$WORK/mods.list"
: > "$IR/vm/modules.order"
awk '!seen[$0]++' "$WORK/mods.list" | while read -r ko; do
  cp "$ko" "$IR/lib/modules/"
  b=$(basename "$ko"); args=""
  [ "$b" = vivid.ko ] && args="n_devs=2 node_types=0x1,0x1"
  [ "$b" = v4l2loopback.ko ] && args="devices=1 video_nr=10 card_label=loopcam exclusive_caps=1"
  echo "/lib/modules/$b $args" >> "$IR/vm/modules.order"
done
cat > "$IR/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp
while read -r ko args; do insmod "$ko" $args || echo "VMTEST insmod failed: $ko"; done < /vm/modules.order
mount -t 9p -o trans=virtio,version=9p2000.L host /mnt/host || echo "VMTEST 9p mount failed"
echo "VMTEST guest up after $(cut -d' ' -f1 /proc/uptime)s"
VMTEST_OUT=/mnt/host RUST_BACKTRACE=1 /vm/vm_guest
echo "VMTEST_EXIT=$?"
dmesg > /mnt/host/dmesg.txt
sync
poweroff -f
INIT
chmod +x "$IR/init"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initramfs.cpio.gz"

# --------------------------------------------------------------------- boot
rm -rf "$OUT"/*
ts "boot (TCG)"
set +e
timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 \
  -machine q35 -accel tcg,thread=multi -cpu max -smp 2 -m 1024 \
  -nodefaults -no-user-config -display none -no-reboot -serial stdio \
  -kernel "$KROOT/boot/vmlinuz-$KV" -initrd "$WORK/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4" \
  -virtfs local,path="$OUT",mount_tag=host,security_model=none,id=host \
  </dev/null 2>&1 | tee "$OUT/console.log" | grep -a 'VMTEST'
set -e
RC=$(grep -a -o 'VMTEST_EXIT=[0-9]*' "$OUT/console.log" | tail -1 | cut -d= -f2 || true)
ts "guest exit status: ${RC:-none} (log: $OUT/console.log)"
[ -n "$RC" ] || exit 3
exit "$RC"
