#!/bin/sh
# boottest-printer.sh - test-only (image/boot-test.sh): before the daemon starts, plug a USB
# printer into the guest. QEMU has no emulated USB printer, so the kernel plays both ends:
# dummy_hcd is a USB host controller and a device controller wired to each other, and a
# configfs gadget with the printer function (usb_f_printer) is enumerated on it. The host side
# binds the real usblp driver, so the appliance sees /dev/usb/lp0 exactly as with a printer
# on a Pi's USB port (udev's default rule gives it group lp); the gadget side is
# /dev/g_printer0, where boottest-printer.pl answers ESC/POS status requests and records what
# was printed. Runs only when /boot/firmware/motcua-boottest exists. Prints MOTCUA_TEST: lines.
say() { echo "MOTCUA_TEST: $*"; }
for m in dummy_hcd libcomposite usb_f_printer; do
  modprobe "$m" 2>/dev/null || { say "printer-gadget absent: kernel $(uname -r) has no $m module"; exit 0; }
done
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
G=/sys/kernel/config/usb_gadget/motcua-printer
mkdir -p "$G" || { say "printer-gadget absent: no usb_gadget configfs"; exit 0; }
# Linux Foundation's multifunction gadget IDs: honest about what it is.
echo 0x1d6b > "$G/idVendor"; echo 0x0104 > "$G/idProduct"
mkdir -p "$G/strings/0x409"
echo motcua > "$G/strings/0x409/manufacturer"
echo "boot-test ESC/POS printer" > "$G/strings/0x409/product"
echo 0001 > "$G/strings/0x409/serialnumber"
mkdir -p "$G/functions/printer.usb0"
echo "MFG:motcua;MDL:boottest-escpos;CMD:ESC/POS;CLS:PRINTER;" > "$G/functions/printer.usb0/pnp_string"
echo 16 > "$G/functions/printer.usb0/q_len"
mkdir -p "$G/configs/c.1/strings/0x409"
echo printer > "$G/configs/c.1/strings/0x409/configuration"
ln -sf "$G/functions/printer.usb0" "$G/configs/c.1/"
udc=$(ls /sys/class/udc | head -1)
echo "$udc" > "$G/UDC" || { say "printer-gadget could not bind to UDC ${udc:-none}"; exit 0; }
for _ in $(seq 40); do [ -e /dev/usb/lp0 ] && [ -e /dev/g_printer0 ] && break; sleep 0.5; done
udevadm settle -t 20 || true
say "printer-gadget udc=$udc lp0=$(stat -c %a:%U:%G /dev/usb/lp0 2>&1) gadget=$(stat -c %a /dev/g_printer0 2>&1) driver=$(basename "$(readlink /sys/class/usbmisc/lp0/device/driver 2>/dev/null)" 2>/dev/null)"
# The printer's side, as its own transient unit (it outlives this oneshot).
mkdir -p /run/motcua-boottest-printer
echo ready > /run/motcua-boottest-printer/mode
systemd-run --unit=motcua-boottest-printer-emulator --quiet \
  /usr/bin/perl /usr/lib/motcua/boottest-printer.pl /dev/g_printer0 /run/motcua-boottest-printer ||
  say "printer-emulator did not start"
