# boot.cmd - motcua's A/B boot script for U-Boot, the same on the Raspberry Pi (Debian's
# u-boot-rpi, rpi_arm64) and in QEMU (u-boot-qemu, qemu_arm64): distro boot runs it from the
# FAT partition with ${devtype} ${devnum} ${distro_bootpart} set (mmc 0:1 on the Pi, virtio 0:1
# in QEMU). Compiled to boot.scr with `mkimage -A arm64 -T script -C none`.
#
# Slot state is RAUC's U-Boot contract: BOOT_ORDER ("A B": try A first) and BOOT_A_LEFT /
# BOOT_B_LEFT (tries left). It is kept twice, in motcua/boot0.env and motcua/boot1.env on the
# FAT partition: libubootenv's redundant format (CRC32, a flags byte, 16 KiB in all), which
# Linux changes with fw_setenv (/etc/fw_env.config names both files) — RAUC's
# `bootloader=uboot` backend — and this script with `env import -c` / `fatwrite`. Each writer
# reads the copy with a good CRC and the newer flags, and writes the *other* copy with the
# flags one higher: a write torn by a power cut spoils only the copy being written, and the
# previous state is read next time. Both copies unreadable means the defaults: A first,
# 3 tries each.
# Every boot takes one try from the first slot in BOOT_ORDER that has tries left, before the
# kernel is loaded: a slot that never gets marked good runs out of tries and the next one boots.
#
# Checked in QEMU by image/ab/uboot-check.sh (slot logic, both copies, torn writes; U-Boot only)
# and by booting the image (image/boot-test.sh, image/ota-test.sh).
echo "motcua: A/B boot script"
setenv BOOT_ORDER
setenv BOOT_A_LEFT
setenv BOOT_B_LEFT
# Buffers above scriptaddr (this script is loaded there): each copy as read, the same copy
# as `env import -c` wants it (CRC then data, without the flags byte), and the copy to write.
setexpr r0 ${scriptaddr} + 0x10000
setexpr r1 ${scriptaddr} + 0x18000
setexpr c0 ${scriptaddr} + 0x20000
setexpr c1 ${scriptaddr} + 0x28000
setexpr w ${scriptaddr} + 0x30000
setenv ok0; setenv ok1; setenv f0 0; setenv f1 0
if load ${devtype} ${devnum}:${distro_bootpart} ${r0} motcua/boot0.env; then
  cp.b ${r0} ${c0} 4; setexpr mv_s ${r0} + 5; setexpr mv_d ${c0} + 4; cp.b ${mv_s} ${mv_d} 0x3ffb
  setexpr mv_s ${r0} + 4; setexpr.b f0 *${mv_s}
  if env import -c ${c0} 0x3fff BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT; then setenv ok0 1; fi
fi
if load ${devtype} ${devnum}:${distro_bootpart} ${r1} motcua/boot1.env; then
  cp.b ${r1} ${c1} 4; setexpr mv_s ${r1} + 5; setexpr mv_d ${c1} + 4; cp.b ${mv_s} ${mv_d} 0x3ffb
  setexpr mv_s ${r1} + 4; setexpr.b f1 *${mv_s}
  if env import -c ${c1} 0x3fff BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT; then setenv ok1 1; fi
fi
# The active copy, as U-Boot's own redundant environment decides (env/common.c): the valid
# one; of two, the higher flags, where 0 follows ff.
setenv act
if test -n "${ok0}"; then setenv act 0; fi
if test -n "${ok1}"; then
  if test -z "${ok0}"; then setenv act 1
  elif test "${f0}" = "ff" && test "${f1}" = "0"; then setenv act 1
  elif test "${f1}" = "ff" && test "${f0}" = "0"; then setenv act 0
  elif test 0x${f1} -gt 0x${f0}; then setenv act 1
  fi
fi
if test "${act}" = "0"; then
  env import -c ${c0} 0x3fff BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT; setenv fa ${f0}; setenv t 1
  echo "motcua: slot state from copy 0 (flags ${f0})"
elif test "${act}" = "1"; then
  setenv fa ${f1}; setenv t 0
  echo "motcua: slot state from copy 1 (flags ${f1})"
else
  setenv BOOT_ORDER; setenv BOOT_A_LEFT; setenv BOOT_B_LEFT; setenv fa 0; setenv t 0
  echo "motcua: no readable slot state: defaults"
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
# Write the other copy, flags one higher (mod 0x100): CRC, flags, data.
setexpr fn 0x${fa} + 1; setexpr fn ${fn} % 100
env export -c -s 0x3fff ${c0} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT
cp.b ${c0} ${w} 4; setexpr mv_s ${w} + 4; mw.b ${mv_s} ${fn} 1
setexpr mv_s ${c0} + 4; setexpr mv_d ${w} + 5; cp.b ${mv_s} ${mv_d} 0x3ffb
fatwrite ${devtype} ${devnum}:${distro_bootpart} ${w} motcua/boot${t}.env 0x4000
echo "MOTCUA_SLOT ${bootslot} part ${bootpart} order ${BOOT_ORDER} A=${BOOT_A_LEFT} B=${BOOT_B_LEFT}"
# Kernel, initrd and root from the chosen slot's ext4 (/vmlinuz and /initrd.img are Debian's
# symlinks); the root by PARTUUID, so the same line works for mmcblk0p2 and vda2.
part uuid ${devtype} ${devnum}:${bootpart} rootuuid
# Console, machine id, hostname: written by the image build and by provisioning. Read before
# the kernel is loaded: on the Pi, scriptaddr lies inside the loaded kernel.
setenv motcua_bootargs
if load ${devtype} ${devnum}:${distro_bootpart} ${scriptaddr} motcua-cmdline.env; then
  env import -t ${scriptaddr} ${filesize} motcua_bootargs
fi
# The initrd 80 MiB above the kernel: rpi_arm64's ramdisk_addr_r is only 38 MiB above its
# kernel_addr_r, less than Debian's arm64 Image (about 50 MiB, uncompressed).
setexpr motcua_rd ${kernel_addr_r} + 0x5000000
if load ${devtype} ${devnum}:${bootpart} ${kernel_addr_r} /vmlinuz; then
  if load ${devtype} ${devnum}:${bootpart} ${motcua_rd} /initrd.img; then
    setenv initrd_size ${filesize}
    setenv bootargs "${motcua_bootargs} root=PARTUUID=${rootuuid} ro rootwait rauc.slot=${bootslot}"
    booti ${kernel_addr_r} ${motcua_rd}:${initrd_size} ${fdt_addr}
  fi
fi
# Nothing to boot in this slot: the try is spent; start again (the next slot when none is left).
echo "MOTCUA_SLOT ${bootslot}: no kernel booted; resetting"
reset
