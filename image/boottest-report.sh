#!/bin/sh
# boottest-report.sh - console report for image/boot-test.sh (QEMU). Installed in the image
# but runs only when the test put /boot/firmware/motcua-boottest on the card. Prints lines
# starting with MOTCUA_TEST: unit states, mounts, modes, provisioning result, the kiosk's lack
# of access to footage and secrets, catalog and footage state, `motcua doctor`; on boot 1 it
# imports a catalog, takes snapshots, and keeps writing both so the test can kill the machine
# mid-write.
B=/boot/firmware
say() { echo "MOTCUA_TEST: $*"; }
M="motcua --config /etc/motcua/motcua.toml --data-dir /var/lib/motcua"
n=$(( $(cat /var/lib/motcua/.boottest-boots 2>/dev/null || echo 0) + 1 ))
echo "$n" > /var/lib/motcua/.boottest-boots; sync
say "boot=$n"
sleep "${SETTLE:-8}"
for u in motcua-firstboot motcua-daemon motcua-kiosk systemd-networkd; do
  say "unit $u $(systemctl is-active $u.service) restarts=$(systemctl show -p NRestarts --value $u.service)"
done
say "root-options $(findmnt -no OPTIONS /)"
if touch /.rw-test 2>/dev/null; then say "root-writable yes"; rm -f /.rw-test; else say "root-writable no"; fi
say "data $(findmnt -no SOURCE,FSTYPE /srv/motcua) size-mib=$(df -m --output=size /srv/motcua | tail -1 | tr -d ' ')"
for m in /etc/motcua /var/lib/motcua /var/log/journal /var/lib/systemd; do say "mount $m $(findmnt -no SOURCE $m | tr '\n' ' ')"; done
say "modes $(stat -c '%n=%a:%U:%G' /etc/motcua/secrets /etc/motcua/secrets/* /etc/motcua/motcua.toml /var/lib/motcua/footage 2>&1 | tr '\n' ' ')"
say "fat $(ls $B | grep -i motcua | tr '\n' ' ')"
say "fat-token-line $(grep '^token' $B/motcua.toml.applied 2>/dev/null)"
say "cmdline $(cat /proc/cmdline)"
# A/B (docs/updates.md): the slot U-Boot chose, the root it mounted, the slot state, RAUC's view.
say "ab $(grep -o 'rauc.slot=[AB]' /proc/cmdline) root=$(findmnt -no SOURCE /) $(fw_printenv BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT 2>&1 | tr '\n' ' ')"
say "rauc-status $(rauc status --output-format=json 2>&1 | tr -d '\n' | cut -c1-800)"
say "hostname $(hostname) machine-id $(cat /etc/machine-id)"
[ -e /run/motcua-provision/error ] && say "provision-error $(tail -1 /run/motcua-provision/error)"
[ -e /etc/motcua/provisioned.json ] && say "provisioned $(tr -d '\n' < /etc/motcua/provisioned.json | tr -s ' ')"
r=$(runuser -u motcua-kiosk -- ls /var/lib/motcua/footage 2>&1 >/dev/null | head -1); say "kiosk-footage ${r:-READABLE}"
r=$(runuser -u motcua-kiosk -- cat /etc/motcua/secrets/device-token 2>&1 >/dev/null | head -1); say "kiosk-secrets ${r:-READABLE}"
r=$(runuser -u motcua -- cat /etc/motcua/secrets/device-token 2>&1 >/dev/null | head -1); say "daemon-secrets ${r:-readable}"
r=$(runuser -u motcua-kiosk -- motcua --data-dir /var/lib/motcua catalog stats 2>&1 | sed -n 2p); say "kiosk-catalog $r"
say "kiosk-socket $(stat -c %a:%U:%G /var/lib/motcua/daemon.sock 2>&1)"
if $M snapshots --help >/dev/null 2>&1; then
  say "snapshots-verify $(runuser -u motcua -- $M snapshots verify 2>&1 | tr '\n' ' ')"
else
  say "snapshots-verify not in this build"
fi
if [ "$n" = 1 ] && [ -f $B/boottest-catalog.json ]; then
  install -m 0644 $B/boottest-catalog.json /tmp/catalog.json
  say "import $(runuser -u motcua -- $M catalog import /tmp/catalog.json 2>&1 | tr '\n' ' ')"
fi
# Snapshots through the daemon (the test provisions counter 1 with camera = "synthetic"), once
# it answers on its socket (under emulation it may still be starting).
for _ in $(seq 60); do
  [ "$(systemctl is-active motcua-daemon)" = active ] && [ -S /var/lib/motcua/daemon.sock ] && break
  sleep 2
done
say "daemon-state $(systemctl is-active motcua-daemon) restarts=$(systemctl show -p NRestarts --value motcua-daemon.service)"
say "daemon-log $(journalctl -u motcua-daemon -b --no-pager -o cat 2>/dev/null | grep -v 'camera degraded' | tail -3 | tr '\n' '|')"
if [ "$n" = 1 ]; then
  for i in 1 2 3; do
    say "capture $(runuser -u motcua -- $M snapshots capture --counter 1 --record 000.00.14.H56-261123-000$i --reason manual 2>&1 | tr '\n' ' ')"
  done
fi
say "snapshots-count $(runuser -u motcua -- $M snapshots list --counter 1 2>&1 >/dev/null | tail -1)"
if [ -e /run/motcua-provision/applied ]; then say "provision-marker yes"; else say "provision-marker no"; fi
if grep -q '^technician_pin_hash = "\$argon2id\$' /etc/motcua/motcua.toml && ! grep -rq '2468' /etc/motcua/motcua.toml $B/motcua.toml.applied; then say "pin-hash yes"; else say "pin-hash no"; fi
say "doctor $(motcua --config /etc/motcua/motcua.toml doctor 2>&1 | tr -s ' ' | tr '\n' '|')"
say "kiosk-log $(journalctl -u motcua-kiosk -b --no-pager -o cat 2>/dev/null | tail -3 | tr '\n' '|')"
say "catalog-stats $(runuser -u motcua -- $M catalog stats 2>&1 | head -3 | tr '\n' ' ')"
say "catalog-integrity $(runuser -u motcua -- sqlite3 /var/lib/motcua/catalog.db 'PRAGMA integrity_check' 2>/dev/null || echo 'sqlite3 not installed')"
say "boots-in-journal $(journalctl --list-boots --no-pager 2>/dev/null | wc -l)"
# Timing: when the kiosk (READY=1 after its first frame) and the daemon became active, in
# microseconds of CLOCK_MONOTONIC (from the kernel's start).
say "timing kiosk-us $(systemctl show -p ActiveEnterTimestampMonotonic --value motcua-kiosk.service) daemon-us $(systemctl show -p ActiveEnterTimestampMonotonic --value motcua-daemon.service)"
say "systemd-analyze $(systemd-analyze 2>&1 | head -1)"
# Where the time to the kiosk went: its critical chain, and the slowest units.
say "critical-chain $(systemd-analyze critical-chain --no-pager motcua-kiosk.service 2>&1 | tail -n +3 | tr -s ' ' | tr '\n' '|' | cut -c1-900)"
say "blame $(systemd-analyze blame --no-pager 2>&1 | head -8 | tr -s ' ' | tr '\n' '|')"
say "daemon-start $(journalctl -b --no-pager -o short-monotonic -u motcua-daemon 2>/dev/null | head -12 | cut -c1-160 | tr '\n' '|')"
say "unit wpa_supplicant@wlan0 $(systemctl is-active wpa_supplicant@wlan0.service) ssh $(systemctl is-active ssh.service)"
say "kiosk-fontconfig $(journalctl -u motcua-kiosk -b --no-pager -o cat 2>/dev/null | grep -c 'No writable cache')"
say "kiosk-input $(ls -l /proc/$(systemctl show -p MainPID --value motcua-kiosk)/fd 2>/dev/null | grep -c '/dev/input/event')"
say "gpio-chips $(for c in /dev/gpiochip*; do [ -e "$c" ] && printf '%s=%s ' "$c" "$(stat -c %a:%G "$c")"; done)"
say "video $(for v in /sys/class/video4linux/video*; do [ -e "$v" ] && printf '%s=%s ' "${v##*/}" "$(cat $v/name)"; done)"
if [ "$n" = 2 ]; then
  # Camera: a real V4L2 device (vivid, loaded by the test's modules-load=) at counter 2.
  if [ -e /dev/video0 ]; then
    say "capture-v4l2 $(runuser -u motcua -- $M snapshots capture --counter 2 --record 000.00.14.H56-261123-0200 --reason manual 2>&1 | tr '\n' ' ')"
  else
    say "capture-v4l2 no /dev/video0 (no vivid in kernel $(uname -r))"
  fi
  # GPIO: a simulated press of counter 2's button (BCM 27, active low) and a PIR edge (BCM 4),
  # through gpio-sim; the daemon (user motcua, group gpio) sees them on /dev/gpiochipN.
  sim=$(ls -d /sys/devices/platform/gpio-sim.*/gpiochip*/sim_gpio27 2>/dev/null | head -1)
  if [ -n "$sim" ]; then
    before=$(runuser -u motcua -- $M snapshots list --counter 2 --json 2>/dev/null | grep -o '"reason": *"button"' | wc -l)
    echo pull-down > "$sim/pull"; sleep 1; echo pull-up > "$sim/pull"
    after=$before
    for _ in $(seq 30); do
      after=$(runuser -u motcua -- $M snapshots list --counter 2 --json 2>/dev/null | grep -o '"reason": *"button"' | wc -l)
      [ "$after" -gt "$before" ] && break; sleep 1
    done
    say "gpio-button snapshots-with-reason-button before=$before after=$after"
    pir=${sim%/sim_gpio27}/sim_gpio4
    echo pull-up > "$pir/pull"; sleep 2; echo pull-down > "$pir/pull"
    say "gpio-motion $(journalctl -b --no-pager -o cat -u motcua-daemon -u motcua-kiosk 2>/dev/null | grep -i -m1 'motion' | tr -s ' ')"
  else
    say "gpio-button no gpio-sim chip"
  fi
  # Ticket printer: a USB printer gadget (boottest-printer.sh) seen through the real usblp
  # driver. The kiosk's user prints inside the kiosk unit's own cgroup, so its device policy
  # applies; the daemon answers health and doctor from its own unit.
  PR=/run/motcua-boottest-printer
  if [ -e /dev/usb/lp0 ] && [ -d $PR ]; then
    ask() {  # ask OP: one request on the daemon's local socket, the answer's printer entry
      perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => "/var/lib/motcua/daemon.sock") or die "connect: $!\n";
        print $s "{\"op\":\"$ARGV[0]\"}\n"; print scalar <$s>' "$1" 2>&1 | grep -o '"name":"printer"[^}]*' | head -1
    }
    as_kiosk() {  # as_kiosk CMD...: run as motcua-kiosk inside motcua-kiosk.service's cgroup
      sh -c 'echo $$ > /sys/fs/cgroup/system.slice/motcua-kiosk.service/cgroup.procs && exec setpriv --reuid=motcua-kiosk --regid=motcua-kiosk --init-groups "$@"' as_kiosk "$@" 2>&1 | tr '\n' ' '
    }
    say "printer-node $(stat -c %a:%U:%G /dev/usb/lp0) driver=$(basename "$(readlink /sys/class/usbmisc/lp0/device/driver)")"
    say "printer-health $(ask health)"
    : > $PR/received.bin
    # (the kiosk unit's device policy does apply to as_kiosk: /dev/fuse is 0666 but not allowed)
    say "printer-kiosk-policy $(as_kiosk sh -c 'exec 3<>/dev/fuse && echo opened /dev/fuse')"
    say "printer-print-kiosk $(as_kiosk motcua printer test --device /dev/usb/lp0)"
    sleep 2; cp $PR/received.bin $PR/printed.bin
    say "printer-received $(stat -c %s $PR/printed.bin) bytes"
    echo paper-out > $PR/mode
    say "printer-paperout-kiosk $(as_kiosk motcua printer test --device /dev/usb/lp0)"
    say "printer-paperout-doctor $(ask doctor)"
    echo cover-open > $PR/mode
    say "printer-coveropen-doctor $(ask doctor)"
    echo ready > $PR/mode
    say "printer-ready-doctor $(ask doctor)"
  else
    say "printer-node none: $(journalctl -b -u motcua-boottest-printer -o cat --no-pager 2>/dev/null | tail -2 | tr '\n' ' ')"
  fi
  say "snapshots-verify-2 $(runuser -u motcua -- $M snapshots verify 2>&1 | tr '\n' ' ')"
  say "doctor-json $(motcua --config /etc/motcua/motcua.toml doctor --json 2>/dev/null | tr -d '\n')"
fi
say "done boot=$n"
if [ "$n" = 1 ]; then
  # Keep writing (re-imports in a loop) so that the test's kill lands mid-write.
  say "writing"
  while :; do runuser -u motcua -- $M catalog import --allow-older /tmp/catalog.json >/dev/null 2>&1; done &
  i=0; while :; do i=$((i + 1)); runuser -u motcua -- $M snapshots capture --counter 1 --record "000.00.14.H56-261123-$(printf %04d $((i % 9000 + 100)))" --reason manual >/dev/null 2>&1; done &
  sleep 30
fi
