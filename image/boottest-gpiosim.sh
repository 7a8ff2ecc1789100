#!/bin/sh
# boottest-gpiosim.sh - test-only (image/boot-test.sh): before the daemon starts, make a
# simulated GPIO chip with gpio-sim if the kernel has it, labelled like the Pi 4's header chip
# (pinctrl-bcm2711, 28 lines), so the daemon's GPIO character-device backend finds it through
# the same path as on a Pi. Runs only when /boot/firmware/motcua-boottest exists. Prints
# MOTCUA_TEST: lines; says plainly when the kernel has no gpio-sim.
say() { echo "MOTCUA_TEST: $*"; }
if ! modprobe gpio-sim 2>/dev/null; then
  say "gpio-sim absent: kernel $(uname -r) has no gpio-sim module"; exit 0
fi
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
C=/sys/kernel/config/gpio-sim/motcua
mkdir -p "$C/bank0" || { say "gpio-sim absent: no configfs interface"; exit 0; }
echo pinctrl-bcm2711 > "$C/bank0/label"
echo 28 > "$C/bank0/num_lines"
echo 1 > "$C/live"
udevadm settle -t 20 || true
chip=$(cat "$C/bank0/chip_name" 2>/dev/null)
say "gpio-sim chip ${chip:-?} $(stat -c %a:%U:%G /dev/${chip:-none} 2>&1) dev $(cat $C/dev_name 2>/dev/null)"
