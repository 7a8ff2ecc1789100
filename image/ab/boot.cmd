# boot.cmd - motcua's A/B boot script for U-Boot, the same on the Raspberry Pi (Debian's
# u-boot-rpi, rpi_arm64) and in QEMU (u-boot-qemu, qemu_arm64): distro boot runs it from the
# FAT partition with ${devtype} ${devnum} ${distro_bootpart} set (mmc 0:1 on the Pi, virtio 0:1
# in QEMU). Compiled to boot.scr with `mkimage -A arm64 -T script -C none`.
#
# Slot state is RAUC's U-Boot contract: BOOT_ORDER ("A B": try A first) and BOOT_A_LEFT /
# BOOT_B_LEFT (tries left). It lives in motcua-boot.env on the FAT partition, a CRC-checked
# binary environment (16 KiB) that Linux changes with fw_setenv (libubootenv, /etc/fw_env.config)
# — RAUC's `bootloader=uboot` backend — and this script with `env import -c` / `fatwrite`.
# Every boot takes one try from the first slot in BOOT_ORDER that has tries left, before the
# kernel is loaded: a slot that never gets marked good runs out of tries and the next one boots.
# A state file that does not read back (missing, or torn by a power cut during a write) means
# the defaults: A first, 3 tries each — a slot that boots.
#
# Checked in QEMU by image/ab/uboot-check.sh (slot logic, U-Boot only) and by booting the
# image (image/boot-test.sh, image/ota-test.sh: kernel, initrd and root from the slot).
echo "motcua: A/B boot script"
setenv BOOT_ORDER
setenv BOOT_A_LEFT
setenv BOOT_B_LEFT
if load ${devtype} ${devnum}:${distro_bootpart} ${scriptaddr} motcua-boot.env; then
  if env import -c ${scriptaddr} 0x4000 BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT; then
    echo "motcua: slot state read"
  else
    echo "motcua: slot state unreadable: defaults"
  fi
fi
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3
setenv bootslot
for s in ${BOOT_ORDER}; do
  if test -z "${bootslot}"; then
    if test "${s}" = "A" && test ${BOOT_A_LEFT} -gt 0; then
      setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1; setenv bootslot A; setenv bootpart 2
    fi
    if test "${s}" = "B" && test ${BOOT_B_LEFT} -gt 0; then
      setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1; setenv bootslot B; setenv bootpart 3
    fi
  fi
done
if test -z "${bootslot}"; then
  # Both slots used up their tries (e.g. a power cut at every boot): never brick; start over
  # with the first slot in the order.
  echo "motcua: no slot has tries left: 3 each again"
  setenv BOOT_A_LEFT 3; setenv BOOT_B_LEFT 3
  for s in ${BOOT_ORDER}; do test -n "${bootslot}" || setenv bootslot ${s}; done
  if test "${bootslot}" = "B"; then setenv bootpart 3; setexpr BOOT_B_LEFT 2; else setenv bootslot A; setenv bootpart 2; setexpr BOOT_A_LEFT 2; fi
fi
env export -c -s 0x4000 ${scriptaddr} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT
fatwrite ${devtype} ${devnum}:${distro_bootpart} ${scriptaddr} motcua-boot.env 0x4000
echo "MOTCUA_SLOT ${bootslot} part ${bootpart} order ${BOOT_ORDER} A=${BOOT_A_LEFT} B=${BOOT_B_LEFT}"
# Kernel, initrd and root from the chosen slot's ext4 (/vmlinuz and /initrd.img are Debian's
# symlinks); the root by PARTUUID, so the same line works for mmcblk0p2 and vda2.
part uuid ${devtype} ${devnum}:${bootpart} rootuuid
# The initrd 80 MiB above the kernel: rpi_arm64's ramdisk_addr_r is only 38 MiB above its
# kernel_addr_r, less than Debian's arm64 Image (about 50 MiB, uncompressed).
setexpr motcua_rd ${kernel_addr_r} + 0x5000000
if load ${devtype} ${devnum}:${bootpart} ${kernel_addr_r} /vmlinuz; then
  if load ${devtype} ${devnum}:${bootpart} ${motcua_rd} /initrd.img; then
    setenv initrd_size ${filesize}
    # Console, machine id, hostname: written by the image build and by provisioning.
    setenv motcua_bootargs
    if load ${devtype} ${devnum}:${distro_bootpart} ${scriptaddr} motcua-cmdline.env; then
      env import -t ${scriptaddr} ${filesize} motcua_bootargs
    fi
    setenv bootargs "${motcua_bootargs} root=PARTUUID=${rootuuid} ro rootwait rauc.slot=${bootslot}"
    booti ${kernel_addr_r} ${motcua_rd}:${initrd_size} ${fdt_addr}
  fi
fi
# Nothing to boot in this slot: the try is spent; start again (the next slot when none is left).
echo "MOTCUA_SLOT ${bootslot}: no kernel booted; resetting"
reset
