#!/bin/bash
# install.sh - make a customised root filesystem an A/B root (docs/updates.md): U-Boot and its
# boot script on the FAT tree, the slot state file, RAUC's system.conf and keyring, and the
# privileges the daemon (user motcua) needs to install and reboot. Run by image/build.sh on the
# host, after the kernel and initramfs are in place (raspi-firmware's hooks rewrite config.txt).
#
# Usage: image/ab/install.sh ROOTFS KEYRING.pem
# Needs on the host: mkimage and mkenvimage (u-boot-tools). In the rootfs: u-boot-rpi, rauc,
#   rauc-service, libubootenv-tool, polkitd (image/build.sh's package list).
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
R=$1; KEYRING=$2
F="$R/boot/firmware"
# The partitions' PARTUUIDs are <disk id>-<number>; build.sh writes this disk id.
DISK_ID=6d6f7463

# --- the FAT side: firmware -> U-Boot -> boot.scr ------------------------------------------
install -m 0644 "$R/usr/lib/u-boot/rpi_arm64/u-boot.bin" "$F/u-boot.bin"
# raspi-firmware wrote kernel=vmlinuz-<version> and initramfs lines; the kernel now comes
# from the booted slot, so the FAT copies would only go stale.
sed -i -e 's/^kernel=.*/kernel=u-boot.bin/' -e '/^initramfs /d' "$F/config.txt"
grep -qx 'kernel=u-boot.bin' "$F/config.txt" || echo 'kernel=u-boot.bin' >> "$F/config.txt"
rm -f "$F"/vmlinuz-* "$F"/initrd.img-*
mkimage -q -A arm64 -T script -C none -n "motcua A/B" -d "$HERE/boot.cmd" "$F/boot.scr" >/dev/null
# Kernel arguments besides root=: raspi-firmware's cmdline.txt without root, ro, rootwait
# (boot.scr adds them for the chosen slot). Provisioning adds the machine id and hostname.
if [ -f "$F/cmdline.txt" ]; then
args=$(tr ' ' '\n' < "$F/cmdline.txt" | grep -v -E '^(root=.*|ro|rw|rootwait|panic=.*)$' | grep . | tr '\n' ' ' | sed 's/ $//')
# panic=10: a kernel panic, or an initramfs that cannot mount the slot's root, reboots after
# 10 s (initramfs-tools reboots instead of opening a shell), so the boot script's next try
# happens and a broken slot falls back by itself; from systemd on, the watchdog does that.
args="$args panic=10"
printf '# Kernel arguments for both slots (U-Boot: image/ab/boot.cmd adds root=, ro, rootwait,\n# rauc.slot=). Provisioning adds systemd.machine_id= and systemd.hostname=.\nmotcua_bootargs=%s\n' \
  "$args" > "$F/motcua-cmdline.env"
rm -f "$F/cmdline.txt"
fi
# The slot state in RAUC's U-Boot contract, twice (libubootenv's redundant format: CRC32, flags,
# data; 16 KiB each): slot A first, 3 tries each. Copy 0 is the active one (flags 1 > 0).
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' > "$R/tmp/motcua-boot.txt"
install -d -m 0755 "$F/motcua"
mkenvimage -r -s 0x4000 -o "$F/motcua/boot0.env" "$R/tmp/motcua-boot.txt"
cp "$F/motcua/boot0.env" "$F/motcua/boot1.env"
printf '\000' | dd of="$F/motcua/boot1.env" bs=1 seek=4 conv=notrunc status=none
rm -f "$R/tmp/motcua-boot.txt" "$F/motcua-boot.env"
# Linux's side of the same pair (fw_printenv / fw_setenv; RAUC's uboot backend calls them).
printf '/boot/firmware/motcua/boot0.env 0x0000 0x4000\n/boot/firmware/motcua/boot1.env 0x0000 0x4000\n' \
  > "$R/etc/fw_env.config"

# --- RAUC --------------------------------------------------------------------------------
install -d -m 0755 "$R/etc/rauc"
install -m 0644 "$KEYRING" "$R/etc/rauc/keyring.pem"
cat > "$R/etc/rauc/system.conf" <<EOF
# motcua A/B root (docs/updates.md). Slots by PARTUUID: /dev/mmcblk0p2 on the Pi, vda2 in QEMU.
[system]
compatible=motcua-rpi-arm64
bootloader=uboot
# Slot status on the data partition (the root is read-only).
data-directory=/srv/motcua/rauc
# Plain bundles (image/bundle.sh says why not verity: RAUC 1.13 and kernels >= 6.19); verity
# is accepted too, for when RAUC >= 1.15 is in the image.
bundle-formats=plain verity

# boot-attempts stays RAUC's default, 3: boot.cmd's defaults and slot-deadline.sh assume it
# (and RAUC writes the count in hex, which the boot script reads as decimal above 9).

[keyring]
path=/etc/rauc/keyring.pem

[slot.rootfs.0]
device=/dev/disk/by-partuuid/$DISK_ID-02
type=ext4
bootname=A

[slot.rootfs.1]
device=/dev/disk/by-partuuid/$DISK_ID-03
type=ext4
bootname=B
EOF
# Only the daemon decides a new slot is good (kiosk drew, health, sync: src/update/machine.rs).
ln -sf /dev/null "$R/etc/systemd/system/rauc-mark-good.service"
# At every boot, as root and before the daemon: mark the running slot good when it is the
# proven one (`motcua update settle`, src/update/agent.rs). Needs neither the configuration nor
# the daemon, so an unprovisioned card or a broken config still keeps its slot bootable.
cat > "$R/etc/systemd/system/motcua-slot-settle.service" <<'EOF'
[Unit]
Description=motcua: mark the running A/B slot good when it is the proven one
ConditionKernelCommandLine=rauc.slot
After=local-fs.target dbus.service
Wants=dbus.service
RequiresMountsFor=/var/lib/motcua /boot/firmware
Before=motcua-daemon.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/motcua --data-dir /var/lib/motcua update settle
[Install]
WantedBy=multi-user.target
EOF
install -d "$R/etc/systemd/system/multi-user.target.wants"
ln -sf ../motcua-slot-settle.service "$R/etc/systemd/system/multi-user.target.wants/motcua-slot-settle.service"
# The last resort: a slot not marked good 30 minutes after boot (a new slot whose daemon never
# started or hung before its own confirmation deadline, or a slot that is not the proven one)
# is rebooted, so the boot script's next try — and, after three, the other slot — happens
# without anyone at the device. motcua-slot-settle marks the proven slot at every boot, so a
# settled device never gets here.
install -d "$R/usr/lib/motcua"
cat > "$R/usr/lib/motcua/slot-deadline.sh" <<'EOF'
#!/bin/sh
# motcua-slot-deadline: reboot when the running slot was not marked good in this boot.
slot=$(sed -n 's/.*rauc\.slot=\([AB]\).*/\1/p' /proc/cmdline)
[ -n "$slot" ] || exit 0
left=$(fw_printenv -n "BOOT_${slot}_LEFT" 2>/dev/null)
[ "$left" = 3 ] && exit 0
echo "slot $slot was not marked good within 30 minutes of boot (tries left: ${left:-?}): rebooting"
exec systemctl reboot
EOF
chmod 0755 "$R/usr/lib/motcua/slot-deadline.sh"
cat > "$R/etc/systemd/system/motcua-slot-deadline.service" <<'EOF'
[Unit]
Description=motcua: reboot a slot not marked good 30 minutes after boot (A/B fallback)
ConditionKernelCommandLine=rauc.slot
RequiresMountsFor=/boot/firmware
[Service]
Type=oneshot
ExecStart=/usr/lib/motcua/slot-deadline.sh
EOF
cat > "$R/etc/systemd/system/motcua-slot-deadline.timer" <<'EOF'
[Unit]
Description=motcua: A/B slot deadline, 30 minutes after boot
ConditionKernelCommandLine=rauc.slot
[Timer]
OnBootSec=30min
AccuracySec=1min
[Install]
WantedBy=timers.target
EOF
install -d "$R/etc/systemd/system/timers.target.wants"
ln -sf ../motcua-slot-deadline.timer "$R/etc/systemd/system/timers.target.wants/motcua-slot-deadline.timer"

# --- privileges for the daemon (user motcua, no capabilities) ------------------------------
# RAUC's D-Bus service: install, mark, read status (root and user motcua only).
install -d "$R/etc/dbus-1/system.d"
cat > "$R/etc/dbus-1/system.d/motcua-rauc.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- motcua: the appliance daemon installs updates and marks slots through RAUC (docs/updates.md). -->
<busconfig>
  <!-- RAUC's stock policy lets every local user call it; here only root and the daemon may
       (the kiosk's user must not be able to install or mark a slot). -->
  <policy context="default">
    <deny send_destination="de.pengutronix.rauc"/>
  </policy>
  <policy user="root">
    <allow send_destination="de.pengutronix.rauc"/>
  </policy>
  <policy user="motcua">
    <allow send_destination="de.pengutronix.rauc" send_interface="de.pengutronix.rauc.Installer"/>
    <allow send_destination="de.pengutronix.rauc" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="de.pengutronix.rauc" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
</busconfig>
EOF
# logind asks polkit whether user motcua may reboot (`systemctl reboot` at a quiet moment).
install -d -m 0755 "$R/etc/polkit-1/rules.d"
cat > "$R/etc/polkit-1/rules.d/50-motcua-reboot.rules" <<'EOF'
// motcua: the appliance daemon reboots into an installed update at a quiet moment, and back
// after a failed one (docs/updates.md). Nothing else.
polkit.addRule(function(action, subject) {
    if (subject.user == "motcua" &&
        (action.id == "org.freedesktop.login1.reboot" ||
         action.id == "org.freedesktop.login1.reboot-multiple-sessions")) {
        return polkit.Result.YES;
    }
});
EOF
echo "A/B: U-Boot $(strings "$F/u-boot.bin" | grep -m1 -o 'U-Boot 20[0-9.]*[^ ]*'), boot.scr, RAUC $(chroot "$R" rauc --version 2>/dev/null | awk '{print $2}'), slots $DISK_ID-02/03"
