#!/usr/bin/env bash
# The device layer's real-GPIO test in a QEMU guest on both backends (the GPIO character
# device the appliance uses on Debian kernels, then rppal): Debian's x86-64 kernel, an out-of-tree
# gpio-sim (built from linux-source, Debian builds it =n) posing as the Pi's `pinctrl-bcm2835`
# chip, a faked Raspberry Pi for rppal (bind-mounted /proc/cpuinfo, /dev/gpiomem as a plain
# 4 KiB file), and the `vm_device_guest` example (tests/vm/device/guest.rs) run inside.
# Same approach as tests/vm/run.sh (the recorder's); kept separate so the two can be merged
# by the lead. Exits with the guest's status; timings come back in $OUT/device-vm.json.
#
# Needs (installed if missing, as root): qemu-system-x86 busybox-static cpio kmod make gcc-12.
# Downloads linux-image/headers/kbuild/source debs once into $WORK (reuses the recorder's
# cached debs from target/vm-work if they are there). TCG: /dev/kvm here cannot run stock kernels.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-$ROOT/target/vm-device-work}
OUT=${OUT:-$ROOT/target/vm-device-out}
TIMEOUT=${TIMEOUT:-240}
T0=$(date +%s.%N)
ts() { printf '[vm %6.1fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*"; }
mkdir -p "$WORK" "$OUT"

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && file -L /bin/busybox | grep -q static || need+=(busybox-static)
command -v depmod >/dev/null || need+=(kmod)
command -v cpio >/dev/null || need+=(cpio)
command -v make >/dev/null || need+=(make)
command -v gcc-12 >/dev/null || need+=(gcc-12)
command -v bc >/dev/null || need+=(bc)
if [ ${#need[@]} -gt 0 ]; then
  ts "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ------------------------------------------------------------- kernel (cached)
for d in "$ROOT"/target/vm-work/linux-*.deb; do   # the recorder's cache, if any
  [ -f "$d" ] && [ ! -f "$WORK/$(basename "$d")" ] && cp "$d" "$WORK/"
done
[ -f "$WORK/kv" ] || { [ -f "$ROOT/target/vm-work/kv" ] && cp "$ROOT/target/vm-work/kv" "$WORK/kv"; } || true
if [ ! -f "$WORK/kv" ]; then
  KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  echo "${KPKG#linux-image-}" > "$WORK/kv"
fi
KV=$(cat "$WORK/kv"); KSER=$(echo "$KV" | cut -d. -f1,2); KROOT=$WORK/kroot; HDR=$WORK/hdr
if [ ! -f "$KROOT/boot/vmlinuz-$KV" ]; then
  ts "kernel $KV: download what is missing, extract"
  HDEPS=$(apt-cache depends "linux-headers-$KV" | awk '/Depends: linux-(headers|kbuild)/{print $2}')
  missing=()
  for p in "linux-image-$KV" "linux-headers-$KV" $HDEPS; do
    ls "$WORK/${p}_"*.deb >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] || (cd "$WORK" && apt-get download -q "${missing[@]}" 2>&1 | grep -v unsandboxed || true)
  rm -rf "$KROOT" "$HDR"; mkdir -p "$KROOT" "$HDR"
  dpkg-deb -x "$WORK"/linux-image-${KV}_*.deb "$KROOT"
  for d in "$WORK"/linux-headers-*.deb "$WORK"/linux-kbuild-*.deb; do dpkg-deb -x "$d" "$HDR"; done
  sed -i "s#^include /usr/src/#include $HDR/usr/src/#" "$HDR/usr/src/linux-headers-$KV/Makefile"
fi

# ------------------------------------------- gpio-sim.ko (Debian builds it =n)
GSIM=$WORK/gpio-sim
if [ ! -f "$GSIM/gpio-sim.ko" ]; then
  ts "build out-of-tree gpio-sim.ko for $KV"
  ls "$WORK"/linux-source-${KSER}_*.deb >/dev/null 2>&1 \
    || (cd "$WORK" && apt-get download -q "linux-source-$KSER" 2>&1 | grep -v unsandboxed || true)
  rm -rf "$GSIM"; mkdir -p "$GSIM"
  dpkg-deb --fsys-tarfile "$WORK"/linux-source-${KSER}_*.deb \
    | tar -xO "./usr/src/linux-source-$KSER.tar.xz" \
    | tar -xJ -C "$GSIM" --strip-components=1 \
        "linux-source-$KSER/drivers/gpio/gpio-sim.c" "linux-source-$KSER/drivers/gpio/gpiolib.h" \
        "linux-source-$KSER/kernel/irq/irq_sim.c"
  mv "$GSIM/drivers/gpio/gpio-sim.c" "$GSIM/gpio-sim-main.c"
  mv "$GSIM/drivers/gpio/gpiolib.h" "$GSIM/kernel/irq/irq_sim.c" "$GSIM/"
  # CONFIG_IRQ_SIM=n in Debian: link irq_sim.c into the module; irq_to_desc() is not exported.
  sed -i -e '/irqnum = irq_find_mapping(work_ctx->domain, offset);/d' -e '/^\tint irqnum;$/d' \
         -e 's|handle_simple_irq(irq_to_desc(irqnum));|generic_handle_domain_irq(work_ctx->domain, offset);|' \
         "$GSIM/irq_sim.c"
  printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-main.o irq_sim.o\nccflags-y := -I$(src)\n' > "$GSIM/Kbuild"
  make -s -C "$HDR/usr/src/linux-headers-$KV" M="$GSIM" modules 2>&1 | grep -v 'Skipping BTF' || true
  test -f "$GSIM/gpio-sim.ko"
  mkdir -p "$KROOT/lib/modules/$KV/extra"; cp "$GSIM/gpio-sim.ko" "$KROOT/lib/modules/$KV/extra/"
  depmod -b "$KROOT" "$KV"
fi

# ------------------------------------------------------------- guest program
ts "cargo build --example vm_device_guest (debug)"
(cd "$ROOT" && cargo build -q --example vm_device_guest)
BIN=$ROOT/target/debug/examples/vm_device_guest

# --------------------------------------------------------------- initramfs
ts "build initramfs"
IR=$WORK/initramfs; rm -rf "$IR"
mkdir -p "$IR"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,mnt/host,lib/modules,hw}
cp /bin/busybox "$IR/bin/busybox"
cp "$BIN" "$IR/hw/guest"
for l in $(ldd "$BIN" | awk '/=>/{print $3} /ld-linux/{print $1}'); do
  mkdir -p "$IR$(dirname "$l")"; cp -L "$l" "$IR$l"
done
for m in configfs gpio-sim 9p 9pnet_virtio virtio_pci; do
  modprobe -d "$KROOT" -S "$KV" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' > "$WORK/mods.list"
: > "$IR/hw/modules.order"
while read -r ko; do cp "$ko" "$IR/lib/modules/"; echo "/lib/modules/$(basename "$ko")" >> "$IR/hw/modules.order"; done < "$WORK/mods.list"
cat > "$IR/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp
while read -r ko; do insmod "$ko" || echo "DEVICE_VM insmod failed: $ko"; done < /hw/modules.order
mount -t configfs none /sys/kernel/config
mount -t 9p -o trans=virtio,version=9p2000.L host /mnt/host || echo "DEVICE_VM 9p mount failed"
# a faked Raspberry Pi 3B for rppal
printf 'processor\t: 0\nHardware\t: BCM2835\nRevision\t: a02082\nModel\t\t: Raspberry Pi 3 Model B Rev 1.2\n' > /tmp/cpuinfo
mount --bind /tmp/cpuinfo /proc/cpuinfo
dd if=/dev/zero of=/dev/gpiomem bs=4096 count=1 2>/dev/null
echo "DEVICE_VM uptime-before-test: $(cut -d' ' -f1 /proc/uptime)s"
RUST_BACKTRACE=1 /hw/guest
echo "DEVICE_VM_EXIT=$?"
dmesg > /mnt/host/dmesg.txt
sync
poweroff -f
INIT
chmod +x "$IR/init"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initramfs.cpio.gz"

# --------------------------------------------------------------------- boot
rm -f "$OUT/device-vm.json" "$OUT/dmesg.txt"
ts "boot VM"
set +e
timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 \
  -machine q35 -accel tcg,thread=multi -cpu max -smp 2 -m 1024 \
  -nodefaults -no-user-config -display none -no-reboot -serial stdio \
  -kernel "$KROOT/boot/vmlinuz-$KV" -initrd "$WORK/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4" \
  -virtfs local,path="$OUT",mount_tag=host,security_model=none,id=host \
  </dev/null 2>&1 | tee "$OUT/console.log"
QRC=${PIPESTATUS[0]}
set -e
ts "VM exited (qemu rc=$QRC)"
RC=$(grep -a -o 'DEVICE_VM_EXIT=[0-9]*' "$OUT/console.log" | tail -1 | cut -d= -f2 || true)
[ -n "$RC" ] || { echo "FAIL: the guest reported no result (qemu rc=$QRC)" >&2; exit 3; }
ts "guest exit status: $RC"
exit "$RC"
