#!/bin/bash
# build.sh - the flashable motcua appliance image for Raspberry Pi 4/5 (Debian arm64), built from
# Debian's archive and our .deb, without loop devices or mounts.
#
# Route: mmdebstrap (arm64 through qemu-user binfmt) -> customise (this script, __customize)
#        -> FAT boot partition (mkfs.vfat -C + mcopy), ext4 root and data (mke2fs -d)
#        -> MBR on a plain file (sfdisk) + dd -> .bmap, .img.xz, .sha256, Raspberry Pi Imager JSON.
#
# Layout:  p1 RASPIFIRM  vfat  /boot/firmware  Pi firmware, DTBs, config.txt (kernel=u-boot.bin),
#                                              U-Boot, boot.scr (image/ab/boot.cmd), the slot
#                                              state motcua/boot{0,1}.env, motcua-cmdline.env, motcua.toml
#          p2 slot A     ext4  /               root, read-only (kernel and initrd in its /boot)
#          p3 slot B     ext4  /               the other root: empty until the first update
#                                              (RAUC, docs/updates.md); the same size as A
#          p4 MOTCUADATA ext4  /srv/motcua     grown to fill the card at first boot; bind-mounted:
#                                /srv/motcua/etc     -> /etc/motcua      (config, secrets)
#                                /srv/motcua/lib     -> /var/lib/motcua  (catalog, queue, footage)
#                                /srv/motcua/journal -> /var/log/journal (persistent journal)
#                                /srv/motcua/systemd -> /var/lib/systemd (random seed, clock, backlight)
#                                /srv/motcua/rauc    RAUC's data directory (slot status)
#          tmpfs: /tmp, /var/tmp, /var/log (but the journal), /var/cache
#          Boot: Pi firmware -> U-Boot (u-boot-rpi) -> boot.scr picks A or B (tries per slot,
#          fallback) -> the slot's /vmlinuz, /initrd.img, root=PARTUUID=6d6f7463-0<2|3>.
#
# Usage:   image/build.sh [OUTDIR]              (as root; default OUTDIR=./out)
# Env:     DEB=path/to/motcua_*_arm64.deb       default: newest in target/aarch64-unknown-linux-gnu/debian/
#          SUITE=trixie  KERNEL_SUITE=trixie-backports (Pi 4 and Pi 5; empty: trixie's 6.12, Pi 4 only)
#          MIRROR=http://deb.debian.org/debian  BOOT_MIB=256  DATA_MIB=128  XZ=1  BMAP=1
#          VERSION=(from the .deb)              URL_BASE=https://host/dir/ (where the .img.xz is
#                                               served; needed for the Imager JSON, docs/image.md)
#          SLOT_MIB=(max(1536, root + 50 %)) size of each root slot partition
#          RAUC_KEYS=OUTDIR/rauc-keys           bundle signing keys (image/ab/keys.sh makes development
#                                               keys when missing; docs/updates.md for real ones)
#          BUNDLE=1                             also OUTDIR/NAME.raucb, the update bundle of this root
#          REUSE_ROOTFS=1                       skip mmdebstrap: reinstall the .deb into OUTDIR/rootfs
#                                               from a previous run and reassemble (development)
# Needs:   mmdebstrap qemu-user-static binfmt-support arch-test dosfstools mtools e2fsprogs fdisk
#          xz-utils bmap-tools u-boot-tools rauc squashfs-tools attr openssl systemd (its sysusers)
#          (INSTALL=1, the default, installs them)
set -euo pipefail
SELF=$(readlink -f "$0")
HERE=$(dirname "$SELF")

write_fstab() {  # write_fstab ROOTFS
  cat > "$1/etc/fstab" <<'EOF'
# Read-only root (slot A or B: mounted by the initramfs from root=PARTUUID=… that U-Boot's
# boot script passes, `ro`); everything that changes lives on the data partition or in RAM.
LABEL=RASPIFIRM      /boot/firmware   vfat   rw,noatime,umask=0077,flush,quiet           0 2
LABEL=MOTCUADATA     /srv/motcua      ext4   rw,noatime,nodev,nosuid,commit=5            0 2
/srv/motcua/etc      /etc/motcua      none   bind,x-systemd.requires-mounts-for=/srv/motcua 0 0
/srv/motcua/lib      /var/lib/motcua  none   bind,x-systemd.requires-mounts-for=/srv/motcua 0 0
/srv/motcua/systemd  /var/lib/systemd none   bind,x-systemd.requires-mounts-for=/srv/motcua 0 0
tmpfs                /tmp             tmpfs  mode=1777,nosuid,nodev,size=128M            0 0
tmpfs                /var/tmp         tmpfs  mode=1777,nosuid,nodev,size=64M             0 0
tmpfs                /var/log         tmpfs  mode=0755,nosuid,nodev,noexec,size=64M      0 0
/srv/motcua/journal  /var/log/journal none   bind,x-systemd.requires-mounts-for=/srv/motcua 0 0
tmpfs                /var/cache       tmpfs  mode=0755,nosuid,nodev,size=32M             0 0
EOF
}


# ---------------------------------------------------------------------------------------------
# customise, run by mmdebstrap's --customize-hook with the rootfs as $2
# ---------------------------------------------------------------------------------------------
if [ "${1:-}" = "__customize" ]; then
  R="$2"
  echo "== customize: $(date +%T)"
  # Our package (its Depends come from the archive), then the hook's leftovers.
  cp "$DEB" "$R/tmp/motcua.deb"
  chroot "$R" apt-get install -y -q --no-install-recommends /tmp/motcua.deb
  rm -f "$R/tmp/motcua.deb"
  chroot "$R" apt-get clean

  echo "motcua" > "$R/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tmotcua\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
  write_fstab "$R"
  # Data partition skeleton: move what the package and systemd put in the bind-mounted
  # directories to the data tree (ownership and modes are kept by mke2fs -d).
  D="$R/srv/motcua"; install -d -m 0755 "$D"
  for pair in etc:etc/motcua lib:var/lib/motcua systemd:var/lib/systemd journal:var/log/journal; do
    src="$R/${pair#*:}"; dst="$D/${pair%%:*}"
    if [ -d "$src" ]; then mv "$src" "$dst"; else install -d -m 0755 "$dst"; fi
    install -d -m 0755 "$src"          # empty mount point on the read-only root
  done
  chown root:systemd-journal "$D/journal" 2>/dev/null || true; chmod 2755 "$D/journal"
  install -d -m 0700 "$D/rauc"        # RAUC's data-directory (slot status), root only

  # Every mount point must exist on the read-only root (else: emergency mode at boot).
  awk '!/^#/ && NF >= 2 {print $2}' "$R/etc/fstab" | while read -r mp; do
    [ -d "$R$mp" ] || install -d -m 0755 "$R$mp"
  done
  # Journal: RAM until the data partition is there, then persistent and bounded.
  install -d "$R/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=persistent\nSystemMaxUse=200M\nRuntimeMaxUse=32M\n' \
    > "$R/etc/systemd/journald.conf.d/motcua.conf"
  # Hardware watchdog (bcm2835-wdt on the Pi): a hung system reboots.
  install -d "$R/etc/systemd/system.conf.d"
  printf '[Manager]\nRuntimeWatchdogSec=15s\nRebootWatchdogSec=2min\n' \
    > "$R/etc/systemd/system.conf.d/motcua-watchdog.conf"
  # Network: systemd-networkd; provisioning writes /etc/motcua/network/*.network, linked here.
  # Until then (or without a file), DHCP on any wired interface.
  install -d "$R/etc/systemd/network"
  printf '[Match]\nName=e*\n\n[Network]\nDHCP=yes\n' > "$R/etc/systemd/network/99-motcua-default.network"
  ln -sf /etc/motcua/network/10-motcua.network "$R/etc/systemd/network/10-motcua.network"
  ln -sf /etc/motcua/network/11-motcua-wifi.network "$R/etc/systemd/network/11-motcua-wifi.network"
  install -d "$R/etc/systemd/system/wpa_supplicant@wlan0.service.d"
  cat > "$R/etc/systemd/system/wpa_supplicant@wlan0.service.d/motcua.conf" <<'EOF'
[Unit]
ConditionPathExists=/etc/motcua/secrets/wpa_supplicant-wlan0.conf
[Service]
ExecStart=
ExecStart=/sbin/wpa_supplicant -c /etc/motcua/secrets/wpa_supplicant-wlan0.conf -i wlan0
EOF
  # wpa_supplicant@wlan0 is not enabled: 61-motcua-wifi.rules (from the package) starts it
  # when a wlan0 device appears, and the drop-in above needs the provisioned Wi-Fi config.
  # Enabled, it waited 90 s at every boot for a wlan0 that may not exist.
  chroot "$R" systemctl enable systemd-networkd.service systemd-resolved.service \
    systemd-timesyncd.service
  chroot "$R" systemctl disable wpa_supplicant.service >/dev/null 2>&1 || true
  # SSH: key-only root login with the technicians' keys from provisioning ([ssh]
  # authorized_keys -> /etc/motcua/ssh/authorized_keys); without that file sshd does not run.
  # Host keys are made on each device at the first start (none baked into the image).
  rm -f "$R"/etc/ssh/ssh_host_*
  install -d "$R/etc/ssh/sshd_config.d" "$R/etc/systemd/system/ssh.service.d"
  cat > "$R/etc/ssh/sshd_config.d/motcua.conf" <<'EOF'
# motcua: technicians log in as root with a key from the provisioning file; never a password.
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PermitRootLogin prohibit-password
AllowUsers root
AuthorizedKeysFile /etc/motcua/ssh/authorized_keys
HostKey /etc/motcua/ssh/ssh_host_ed25519_key
EOF
  cat > "$R/etc/systemd/system/ssh.service.d/motcua.conf" <<'EOF'
[Unit]
ConditionPathExists=/etc/motcua/ssh/authorized_keys
RequiresMountsFor=/etc/motcua
After=motcua-firstboot.service
[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'test -s /etc/motcua/ssh/ssh_host_ed25519_key || ssh-keygen -q -t ed25519 -N "" -f /etc/motcua/ssh/ssh_host_ed25519_key'
ExecStartPre=/usr/sbin/sshd -t
EOF
  chroot "$R" systemctl enable ssh.service >/dev/null 2>&1 || true
  chroot "$R" systemctl disable ssh.socket >/dev/null 2>&1 || true
  ln -sf /run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
  # Nothing may prompt on the console; no login on the kiosk's tty.
  chroot "$R" systemctl mask systemd-firstboot.service getty@tty1.service
  # Boot-test hook: prints unit states and data checks on the console, only when the test put
  # /boot/firmware/motcua-boottest on the card (image/boot-test.sh). Inert otherwise.
  install -m 0755 "$HERE/boottest-report.sh" "$R/usr/lib/motcua/boottest-report.sh" 2>/dev/null || {
    install -d "$R/usr/lib/motcua"; install -m 0755 "$HERE/boottest-report.sh" "$R/usr/lib/motcua/boottest-report.sh"; }
  cat > "$R/etc/systemd/system/motcua-boottest.service" <<'EOF'
[Unit]
Description=motcua boot test report (only with /boot/firmware/motcua-boottest)
ConditionPathExists=/boot/firmware/motcua-boottest
After=motcua-firstboot.service motcua-daemon.service motcua-kiosk.service multi-user.target
[Service]
Type=oneshot
TimeoutStartSec=5min
ExecStart=/usr/lib/motcua/boottest-report.sh
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target
EOF
  chroot "$R" systemctl enable motcua-boottest.service
  # Test-only too: a simulated GPIO chip (gpio-sim, when the kernel has it) before the daemon.
  install -m 0755 "$HERE/boottest-gpiosim.sh" "$R/usr/lib/motcua/boottest-gpiosim.sh"
  cat > "$R/etc/systemd/system/motcua-boottest-gpiosim.service" <<'EOF'
[Unit]
Description=motcua boot test: simulated GPIO chip (only with /boot/firmware/motcua-boottest)
ConditionPathExists=/boot/firmware/motcua-boottest
DefaultDependencies=no
After=systemd-udevd.service sys-kernel-config.mount
RequiresMountsFor=/boot/firmware
Before=motcua-daemon.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/lib/motcua/boottest-gpiosim.sh
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
EOF
  chroot "$R" systemctl enable motcua-boottest-gpiosim.service
  # Test-only too: a USB printer (dummy_hcd + the printer gadget; usblp gives /dev/usb/lp0)
  # and its printer's side (perl), before the daemon.
  install -m 0755 "$HERE/boottest-printer.sh" "$R/usr/lib/motcua/boottest-printer.sh"
  install -m 0644 "$HERE/boottest-printer.pl" "$R/usr/lib/motcua/boottest-printer.pl"
  install -m 0644 "$HERE/motcua-boottest-printer.service" "$R/etc/systemd/system/"
  chroot "$R" systemctl enable motcua-boottest-printer.service

  # raspi-firmware: root by label, serial console last, no cma override.
  sed -i -e 's/^#ROOTPART=.*/ROOTPART=LABEL=RASPIROOT/' \
         -e 's/^#CONSOLES=.*/CONSOLES="tty0 ttyS1,115200"/' \
         -e 's/^#CMA=.*/CMA=0/' "$R/etc/default/raspi-firmware"
  : > "$R/etc/machine-id"            # empty: each device gets its own (kept by provisioning)
  rm -f "$R/var/lib/dbus/machine-id"
  if chroot "$R" dpkg-divert --list /usr/sbin/update-initramfs | grep -q local; then
    rm -f "$R/usr/sbin/update-initramfs"
    chroot "$R" dpkg-divert --local --rename --remove /usr/sbin/update-initramfs
  fi
  echo "FSTYPE=ext4" > "$R/etc/initramfs-tools/conf.d/rootfs-type.conf"
  echo "== update-initramfs: $(date +%T)"
  for k in $(ls "$R/usr/lib/modules"); do
    rm -f "$R/boot/initrd.img-$k"
    chroot "$R" update-initramfs -c -k "$k"
  done
  k=$(ls "$R/usr/lib/modules" | sort -V | tail -1)
  for d in "$R/usr/lib/linux-image-$k/broadcom" "$R/usr/lib/modules/$k/dtb/broadcom"; do
    [ -d "$d" ] && cp -n "$d"/bcm2711-rpi-*.dtb "$d"/bcm2712-*rpi-5*.dtb "$R/boot/firmware/" 2>/dev/null || true
  done
  # Read-only root on the kernel command line too (raspi-firmware writes `rw`).
  sed -i -e 's/ rw / ro /; s/ rw$/ ro/' "$R/boot/firmware/cmdline.txt"
  grep -qw ro "$R/boot/firmware/cmdline.txt" || sed -i 's/$/ ro/' "$R/boot/firmware/cmdline.txt"
  # A/B: U-Boot, boot.scr, slot state, RAUC and the daemon's privileges (after the kernel
  # hooks, which rewrite config.txt and cmdline.txt).
  "$HERE/ab/install.sh" "$R" "$RAUC_KEYS/ca.cert.pem"
  # The technician's template next to config.txt.
  cp "$R/usr/share/motcua/motcua.toml.template" "$R/boot/firmware/motcua.toml.template"
  # Hardening scores with the image's own systemd (reported in docs/systemd.md).
  for u in motcua-daemon motcua-kiosk; do
    chroot "$R" systemd-analyze security --offline=true "/usr/lib/systemd/system/$u.service" 2>/dev/null | tail -1 || true
  done
  echo "== customize done: $(date +%T)"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
OUT=$(readlink -f "${1:-./out}")
SUITE=${SUITE:-trixie}
# trixie-backports' kernel (7.x) has the Pi 5's SD controller and RP1 drivers and still boots
# the Pi 4: one image for both. KERNEL_SUITE= (empty) builds with trixie's own 6.12 kernel,
# which boots the Pi 4 only (the Pi 5 hangs waiting for its root device).
KERNEL_SUITE=${KERNEL_SUITE-trixie-backports}
if [ -n "$KERNEL_SUITE" ]; then DEVICES=${DEVICES:-pi5-64bit pi4-64bit}; else DEVICES=${DEVICES:-pi4-64bit}; fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BOOT_MIB=${BOOT_MIB:-256}; DATA_MIB=${DATA_MIB:-128}; START_MIB=4
XZ=${XZ:-1}; BMAP=${BMAP:-1}; INSTALL=${INSTALL:-1}
REPO=$(readlink -f "$HERE/..")
DEB=${DEB:-$(ls -t "$REPO"/target/debian/motcua_*_arm64.deb "$REPO"/target/aarch64-unknown-linux-gnu/debian/motcua_*_arm64.deb 2>/dev/null | head -1)}
[ -n "$DEB" ] && [ -f "$DEB" ] || { echo "no arm64 .deb: run DEB=1 image/cross-build.sh first, or set DEB=" >&2; exit 1; }
DEB=$(readlink -f "$DEB"); export DEB
VERSION=${VERSION:-$(dpkg-deb -f "$DEB" Version)}
NAME=${NAME:-motcua-rpi-arm64-$SUITE${KERNEL_SUITE:+-bpo}-$VERSION}
KVER=${KERNEL_SUITE:-$SUITE}
IMG="$OUT/$NAME.img"

[ "$(id -u)" = 0 ] || { echo "must run as root (mmdebstrap --mode=root, chroot)" >&2; exit 1; }
if [ "$INSTALL" = 1 ]; then
  missing=()
  for p in mmdebstrap qemu-user-static binfmt-support arch-test dosfstools mtools e2fsprogs fdisk xz-utils bmap-tools u-boot-tools rauc squashfs-tools attr openssl systemd; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] || { apt-get update -q; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; }
fi
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then update-binfmts --enable qemu-aarch64 || true; fi
arch-test arm64 >/dev/null || { echo "arm64 binaries cannot be executed (qemu-user-static/binfmt)" >&2; exit 1; }

mkdir -p "$OUT"; ROOTFS="$OUT/rootfs"; rm -rf "$OUT/parts"
RAUC_KEYS=$(readlink -m "${RAUC_KEYS:-$OUT/rauc-keys}"); export RAUC_KEYS
"$HERE/ab/keys.sh" "$RAUC_KEYS"
BUNDLE=${BUNDLE:-1}
[ "${REUSE_ROOTFS:-0}" = 1 ] && [ -d "$ROOTFS/srv/motcua" ] || { REUSE_ROOTFS=0; rm -rf "$ROOTFS"; }
T0=$SECONDS; declare -a TIMES
stamp() { TIMES+=("$(printf '%-28s %5ds' "$1" $((SECONDS-$2)))"); }

KPKG=linux-image-arm64; [ -n "$KERNEL_SUITE" ] && KPKG="linux-image-arm64/$KERNEL_SUITE"
PKGS="systemd-sysv,udev,kmod,dbus,e2fsprogs,dosfstools,fdisk,initramfs-tools,zstd,$KPKG,raspi-firmware"
PKGS="$PKGS,firmware-brcm80211,iproute2,systemd-resolved,systemd-timesyncd,wpasupplicant,fonts-dejavu-core,less"
# SSH for technicians: runs only when provisioning installed authorized keys (key-only).
PKGS="$PKGS,openssh-server"
# A/B updates (docs/updates.md): U-Boot for the Pi, RAUC and its D-Bus service, fw_setenv for
# RAUC's U-Boot backend, polkit for the daemon's reboot, xz for the bundle's root.tar.xz
# (RAUC runs `tar -xJ`).
PKGS="$PKGS,u-boot-rpi,rauc,rauc-service,libubootenv-tool,polkitd,xz-utils"
[ -n "${EXTRA_PACKAGES:-}" ] && PKGS="$PKGS,$EXTRA_PACKAGES"
SOURCES=("deb $MIRROR $SUITE main non-free-firmware")
case "$SUITE" in sid|unstable) ;; *)
  SOURCES+=("deb $MIRROR $SUITE-updates main non-free-firmware")
  SOURCES+=("deb ${MIRROR%/debian}/debian-security $SUITE-security main non-free-firmware");;
esac
[ -n "$KERNEL_SUITE" ] && SOURCES+=("deb $MIRROR $KERNEL_SUITE main non-free-firmware")

if [ "$REUSE_ROOTFS" = 1 ]; then
  echo "== [1/4] reuse $ROOTFS: reinstall $(basename "$DEB")  ($(date +%T))"; t=$SECONDS
  cp "$DEB" "$ROOTFS/tmp/motcua.deb"; chroot "$ROOTFS" dpkg -i /tmp/motcua.deb; rm -f "$ROOTFS/tmp/motcua.deb"
  # postinst wrote into the (empty) mount points; the data partition already has its tree.
  find "$ROOTFS/etc/motcua" "$ROOTFS/var/lib/motcua" -mindepth 1 -delete
  write_fstab "$ROOTFS"
  awk '!/^#/ && NF >= 2 {print $2}' "$ROOTFS/etc/fstab" | while read -r mp; do [ -d "$ROOTFS$mp" ] || install -d -m 0755 "$ROOTFS$mp"; done
  install -m 0755 "$HERE/boottest-report.sh" "$ROOTFS/usr/lib/motcua/boottest-report.sh"   # the test-only report, too
  install -m 0755 "$HERE/boottest-gpiosim.sh" "$ROOTFS/usr/lib/motcua/boottest-gpiosim.sh"
  install -m 0755 "$HERE/boottest-printer.sh" "$ROOTFS/usr/lib/motcua/boottest-printer.sh"
  install -m 0644 "$HERE/boottest-printer.pl" "$ROOTFS/usr/lib/motcua/boottest-printer.pl"
  install -m 0644 "$HERE/motcua-boottest-printer.service" "$ROOTFS/etc/systemd/system/"
  chroot "$ROOTFS" systemctl enable motcua-boottest-printer.service
  "$HERE/ab/install.sh" "$ROOTFS" "$RAUC_KEYS/ca.cert.pem"
  stamp "reinstall .deb" $t
else
echo "== [1/4] mmdebstrap $SUITE arm64 + $(basename "$DEB") -> $ROOTFS  ($(date +%T))"
t=$SECONDS
mmdebstrap --mode=root --arch=arm64 --variant=minbase --components=main,non-free-firmware \
  --include="$PKGS" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-include=/usr/share/doc/motcua/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --essential-hook="systemd-sysusers --root \"\$1\" \"$HERE/ab/motcua-ids.sysusers\" && install -D -m 0644 \"$HERE/ab/motcua-ids.sysusers\" \"\$1/etc/sysusers.d/00-motcua-ids.conf\"" \
  --essential-hook='chroot "$1" dpkg-divert --local --rename --add /usr/sbin/update-initramfs && printf "#!/bin/sh\necho update-initramfs: diverted during image build\n" > "$1/usr/sbin/update-initramfs" && chmod 755 "$1/usr/sbin/update-initramfs"' \
  --customize-hook="\"$SELF\" __customize \"\$1\"" \
  "$SUITE" "$ROOTFS" "${SOURCES[@]}"
stamp "mmdebstrap+customize" $t
fi

echo "== [2/4] assemble partitions (loopless)  ($(date +%T))"
t=$SECONDS
P="$OUT/parts"; mkdir -p "$P"
mkfs.vfat -F 32 -n RASPIFIRM -C "$P/boot.vfat" $((BOOT_MIB*1024)) >/dev/null
mcopy -i "$P/boot.vfat" -s -p -m -Q "$ROOTFS"/boot/firmware/* ::/
mke2fs -q -t ext4 -L MOTCUADATA -m 1 -d "$ROOTFS/srv/motcua" "$P/data.ext4" "${DATA_MIB}M"
# The root without the FAT and data contents (those are their own partitions).
mv "$ROOTFS/boot/firmware" "$P/firmware"; install -d -m 755 "$ROOTFS/boot/firmware"
mv "$ROOTFS/srv/motcua" "$P/data"; install -d -m 755 "$ROOTFS/srv/motcua"
restore() { rmdir "$ROOTFS/boot/firmware" "$ROOTFS/srv/motcua"; mv "$P/firmware" "$ROOTFS/boot/firmware"; mv "$P/data" "$ROOTFS/srv/motcua"; }
used_kib=$(du -sk --apparent-size "$ROOTFS" | cut -f1)
ROOT_MIB=${ROOT_MIB:-$(( used_kib*12/10/1024 + 128 ))}
# Each slot partition leaves room for bigger releases; the root filesystem itself (and so the
# bundle) stays the size of this one.
SLOT_MIB=${SLOT_MIB:-$(( ROOT_MIB*3/2 > 1536 ? ROOT_MIB*3/2 : 1536 ))}
[ "$SLOT_MIB" -ge "$ROOT_MIB" ] || { restore; echo "SLOT_MIB=$SLOT_MIB < root $ROOT_MIB MiB" >&2; exit 1; }
mke2fs -q -t ext4 -L RASPIROOT -m 0 -d "$ROOTFS" "$P/root.ext4" "${ROOT_MIB}M" || { restore; exit 1; }
if [ "$BUNDLE" = 1 ]; then
  # The update bundle of the same tree (a tarball RAUC unpacks into the other slot).
  echo "== bundle  ($(date +%T))"; tb=$SECONDS
  RAUC_KEYS=$RAUC_KEYS "$REPO/image/bundle.sh" "$ROOTFS" "$VERSION" "$IMG.raucb" || { restore; exit 1; }
  stamp "rauc bundle (tar.xz)" $tb
  t=$((t + SECONDS - tb))   # the assembly's time without the bundle's
fi
restore
A0=$((START_MIB + BOOT_MIB)); B0=$((A0 + SLOT_MIB)); D0=$((B0 + SLOT_MIB))
rm -f "$IMG"; truncate -s $((D0 + DATA_MIB))M "$IMG"
# label-id: the PARTUUIDs RAUC's system.conf names (image/ab/install.sh): 6d6f7463-02 and -03.
sfdisk -q "$IMG" <<EOF
label: dos
label-id: 0x6d6f7463
unit: sectors
start=$((START_MIB*2048)), size=$((BOOT_MIB*2048)), type=c, bootable
start=$((A0*2048)), size=$((SLOT_MIB*2048)), type=83
start=$((B0*2048)), size=$((SLOT_MIB*2048)), type=83
start=$((D0*2048)), size=$((DATA_MIB*2048)), type=83
EOF
dd if="$P/boot.vfat" of="$IMG" bs=1M seek=$START_MIB conv=notrunc,sparse status=none
dd if="$P/root.ext4" of="$IMG" bs=1M seek=$A0 conv=notrunc,sparse status=none
dd if="$P/data.ext4" of="$IMG" bs=1M seek=$D0 conv=notrunc,sparse status=none
fsck.vfat -n "$P/boot.vfat" >/dev/null; e2fsck -fn "$P/root.ext4" >/dev/null; e2fsck -fn "$P/data.ext4" >/dev/null
stamp "assemble (vfat+2 ext4+sfdisk)" $t
rm -rf "$P"

if [ "$BMAP" = 1 ]; then
  echo "== [3/4] bmap  ($(date +%T))"; t=$SECONDS
  rm -f "$IMG.bmap"; bmaptool create -o "$IMG.bmap" "$IMG"; stamp "bmaptool create" $t
fi
if [ "$XZ" = 1 ]; then
  echo "== [4/4] xz -T2  ($(date +%T))"; t=$SECONDS
  rm -f "$IMG.xz"; xz -T2 -6 -k -f "$IMG"; stamp "xz -T2 -6" $t
fi
# Release files: .sha256 of what is shipped, and the Imager JSON when URL_BASE is set.
if [ -e "$IMG.xz" ]; then
  DEVICES=$DEVICES "$HERE/release-files.sh" "$OUT" "$NAME" "$VERSION" "Debian $SUITE arm64, kernel $KVER"
fi

echo "== result"
sfdisk -l "$IMG" | sed -n '/^Device/,$p'
printf 'image: %s  apparent %s MiB, allocated %s MiB\n' "$IMG" $(( $(stat -c %s "$IMG")/1048576 )) $(( $(du -k "$IMG" | cut -f1)/1024 ))
[ -e "$IMG.xz" ] && printf 'xz:    %s MiB\n' $(( $(stat -c %s "$IMG.xz")/1048576 ))
sed 's/^/motcua-cmdline.env: /' "$ROOTFS/boot/firmware/motcua-cmdline.env"
printf '%s\n' "${TIMES[@]}"
printf '%-28s %5ds\n' "TOTAL" $((SECONDS-T0))
