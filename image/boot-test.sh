#!/bin/bash
# boot-test.sh - boot the appliance image in QEMU (aarch64 `virt`, TCG, virtio-gpu) twice and
# check first-boot provisioning, units, the read-only root, access rules, the screen, and that
# killing the machine mid-write leaves catalog (and footage, once the recorder is in) intact.
#
# It works on a sparse copy of the image grown by GROW_MIB (so the data-partition grow is
# exercised), puts a filled-in provisioning file, a catalog and the `motcua-boottest` switch on
# the FAT partition with mtools (no loop devices), and boots it as the Pi does after its
# firmware: Debian's U-Boot (u-boot-qemu's qemu_arm64; u-boot-rpi on the Pi) runs the card's
# boot.scr, which picks slot A or B and loads that slot's kernel and initrd with the arguments in
# motcua-cmdline.env (provisioning adds the machine id and hostname there).
# The image's test-only unit (motcua-boottest.service) prints MOTCUA_TEST: lines on the console.
#
# Boot 2 also proves the appliance through its installed units, as their own users:
#  touch   a virtio tablet; QMP input-send-event taps the search box, types on the on-screen
#          keyboard, opens a result (screendumps matched against `motcua screenshot` renders),
#          then the idle timeout brings the kiosk home
#  camera  vivid (modules-load= on the command line) at counter 2: a snapshot through the
#          daemon, `snapshots verify`
#  GPIO    gpio-sim (if the kernel has it) labelled as the Pi 4 header chip: a button press
#          (BCM 27) becomes a snapshot through the udev rule's group; after the attract screen
#          comes up (300 s idle), a PIR edge (BCM 4, toggled over SSH) wakes it
#  review  headless Chromium on the host (image/review-check.py) logs in over the forwarded
#          HTTPS port as the provisioned supervisor, finds the V4L2 snapshot by record ID,
#          exports the case, and docs/verify-export.py checks the zip with the device's key
#  printer a USB printer (QEMU has none: dummy_hcd + the kernel's printer gadget, so the real
#          usblp driver gives /dev/usb/lp0): the kiosk's user prints a sample ticket inside the
#          kiosk unit's cgroup; the bytes the "printer" got are decoded on the host and compared
#          with the host's render; paper out and cover open as the daemon's doctor reports them
#  doctor  `motcua doctor --json`: every check ok, or a warning/failure with a known reason
#  timing  kernel start -> kiosk first frame / daemon ready (no device-timeout override)
#  SSH     key from the provisioning file: `motcua doctor` over a forwarded port; passwords refused
#
# Usage:  image/boot-test.sh IMAGE(.img or .img.xz) [WORKDIR]
# Env:    BOOT_TIMEOUT=600  GROW_MIB=512  SMP=2  MEM=2G  INSTALL=1 (install missing tools)
#         KIOSK_FLOOR_S=60  kernel start -> kiosk first frame must be at most this (boot 2)
#         HOST_MOTCUA=      a host build of motcua for reference renders (default: target/
#                           release or debug); without one the touch steps use coarser checks
#         REQUIRE_APP=1     daemon and kiosk must be active (0: report only, for builds
#                           without `motcua daemon` / `motcua kiosk`)
# Output: WORKDIR/serial-1.log, serial-2.log, screen-1.png, screen-2.png; PASS/FAIL lines; exit 0
#         when every required check passed.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")"); REPO=$(readlink -f "$HERE/..")
SRC=$(readlink -f "${1:?usage: boot-test.sh IMAGE [WORKDIR]}")
W=$(readlink -f "${2:-./boottest}")
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}; GROW_MIB=${GROW_MIB:-512}; SMP=${SMP:-2}; MEM=${MEM:-2G}
REQUIRE_APP=${REQUIRE_APP:-1}
PY=/usr/bin/python3
UBOOT=/usr/lib/u-boot/qemu_arm64/u-boot.bin
# Tools: installed when missing (as root; INSTALL=0 to only check). On bookworm, QEMU comes from
# bookworm-backports (7.2 cannot boot the trixie-backports kernel's virtio-gpu reliably).
if [ "${INSTALL:-1}" = 1 ] && [ "$(id -u)" = 0 ]; then
  need=()
  command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
  command -v mcopy >/dev/null || need+=(mtools)
  command -v sfdisk >/dev/null || need+=(fdisk)
  command -v xz >/dev/null || need+=(xz-utils)
  [ -e /usr/lib/u-boot/qemu_arm64/u-boot.bin ] || need+=(u-boot-qemu)
  if [ ${#need[@]} -gt 0 ]; then
    opt=()
    if grep -qs 'VERSION_CODENAME=bookworm' /etc/os-release; then
      grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/ ||
        echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/motcua-backports.list
      opt=(-t bookworm-backports)
    fi
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${opt[@]}" "${need[@]}"
  fi
fi
for c in qemu-system-aarch64 mcopy mdir sfdisk xz; do command -v $c >/dev/null || { echo "missing $c (apt-get install -t bookworm-backports qemu-system-arm; mtools fdisk xz-utils)" >&2; exit 1; }; done
[ -e "$UBOOT" ] || { echo "missing $UBOOT (apt-get install u-boot-qemu)" >&2; exit 1; }
mkdir -p "$W"; rm -f "$W"/serial-*.log "$W"/screen-*.png "$W"/qmp.sock
IMG="$W/disk.img"
echo "== copy $SRC -> $IMG (+${GROW_MIB} MiB)"
case "$SRC" in *.xz) xz -dc "$SRC" | cp --sparse=always /dev/stdin "$IMG";; *) cp --sparse=always "$SRC" "$IMG";; esac
truncate -s +"${GROW_MIB}M" "$IMG"

start=$(sfdisk -d "$IMG" | awk -F'[=,]' '/^[^ ]*1 :/ {gsub(/ /,"",$2); print $2}')
FAT="$IMG@@$((start*512))"
TOKEN="boottest-token-$RANDOM$RANDOM"
# A technician's SSH key (the test's own), and a real catalog signing key (RFC 8032's test
# key 1: the template's all-zero placeholder is refused by provisioning).
rm -f "$W/ssh_key" "$W/ssh_key.pub"; ssh-keygen -q -t ed25519 -N "" -C boottest -f "$W/ssh_key"
sed -e "s/^token = \"\"/token = \"$TOKEN\"/" -e 's/^password = ""/password = "boottest-password-1"/' \
  -e 's|^camera = "/dev/video0"|camera = "synthetic"|' -e 's|^camera = "/dev/video2"|camera = "/dev/video0"|' \
  -e 's/^# technician_pin = ""/technician_pin = "2468"/' \
  -e 's|"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="|"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="|' \
  "$REPO/image/motcua.toml.template" > "$W/motcua.toml"
printf '\n[ssh]\nauthorized_keys = ["%s"]\n' "$(cat "$W/ssh_key.pub")" >> "$W/motcua.toml"
# The ticket printer: the USB printer gadget the image's test-only unit plugs in (usblp).
printf '\n[printer]\ndevice = "/dev/usb/lp0"\n' >> "$W/motcua.toml"
# QEMU's serial console is ttyAMA0 (the Pi's is ttyS1); vivid: one capture-only node,
# /dev/video0 (counter 2's camera). Kept by provisioning, which adds the machine id and
# hostname to the same line. No device-timeout override (the 90 s wait was
# wpa_supplicant@wlan0's, now gone).
mtype -i "$FAT" ::/motcua-cmdline.env > "$W/motcua-cmdline.env"
sed -i -e '/^motcua_bootargs=/{s/console=ttyS[0-9][^ ]*//g; s/console=ttyAMA[0-9][^ ]*//g; s/  */ /g; s/ *$/ console=ttyAMA0 modules-load=vivid vivid.n_devs=1 vivid.node_types=0x1/}' "$W/motcua-cmdline.env"
mcopy -o -i "$FAT" "$W/motcua-cmdline.env" ::/
echo on > "$W/motcua-boottest"
mcopy -o -i "$FAT" "$W/motcua.toml" "$W/motcua-boottest" ::/
mcopy -o -i "$FAT" "$REPO/tests/fixtures/small-catalog.json" ::/boottest-catalog.json

qmp() {
  "$PY" - "$W/qmp.sock" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
f = s.makefile('rw'); f.readline()
f.write('{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
f.write(sys.argv[2] + '\n'); f.flush()
while True:
    line = f.readline()
    if not line or '"return"' in line or '"error"' in line: print(line.strip()); break
EOF
}

# boot N UNTIL_MARKER KILL(0/1) [HOOK]: boot, wait for the marker, screendump, run HOOK (a
# function: touch, SSH, HTTPS while the guest runs), then kill -9 or quit.
boot() {
  local n=$1 marker=$2 kill=$3 log="$W/serial-$1.log"
  echo "== boot $n: U-Boot ($UBOOT) -> boot.scr; $(mtype -i "$FAT" ::/motcua-cmdline.env | grep '^motcua_bootargs=')"
  local t0=$SECONDS; T0_NS=$(date +%s%N); FIRST_SERIAL_NS=""
  qemu-system-aarch64 -M virt -cpu cortex-a72 -smp "$SMP" -m "$MEM" \
    -bios "$UBOOT" \
    -drive file="$IMG",format=raw,if=virtio,cache=writeback \
    -nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22,hostfwd=tcp:127.0.0.1:$HTTPS_PORT-:8443 \
    -device virtio-gpu-pci -device virtio-tablet-pci -device virtio-keyboard-pci -display none -monitor none \
    -serial file:"$log" -qmp unix:"$W/qmp.sock",server=on,wait=off 2>"$W/qemu-$n.err" &
  QPID=$!
  local deadline=$((SECONDS + BOOT_TIMEOUT)) ok=0
  while [ $SECONDS -lt $deadline ]; do
    kill -0 $QPID 2>/dev/null || { echo "qemu exited early"; cat "$W/qemu-$n.err"; break; }
    [ -z "$FIRST_SERIAL_NS" ] && [ -s "$log" ] && FIRST_SERIAL_NS=$(date +%s%N)
    if grep -qa "$marker" "$log" 2>/dev/null; then ok=1; break; fi
    if grep -qaE 'Kernel panic|Gave up waiting|emergency mode' "$log" 2>/dev/null; then break; fi
    sleep 2
  done
  echo "   boot $n: marker '$marker' $([ $ok = 1 ] && echo "after $((SECONDS - t0)) s" || echo MISSING)"
  qmp "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$W/screen-$n.png\",\"format\":\"png\"}}" >/dev/null 2>&1 || true
  [ "$ok" = 1 ] && [ -n "${4:-}" ] && "$4"
  if [ "$kill" = 1 ]; then
    sleep 3; kill -9 $QPID 2>/dev/null || true; echo "   boot $n: killed (SIGKILL) while writing"
  else
    qmp '{"execute":"quit"}' >/dev/null 2>&1 || kill $QPID 2>/dev/null || true
  fi
  wait $QPID 2>/dev/null || true
  return $((1 - ok))
}
# (Not `kill -9 0` when QEMU never started: that kills the caller's whole process group.)
# (an if, not `&&`: under set -e a failed kill of a QEMU already gone would end the script
# with status 1 after a clean run)
trap 'if [ -n "${QPID:-}" ]; then kill -9 "$QPID" 2>/dev/null || true; fi' EXIT
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SSH_PORT=$(free_port); HTTPS_PORT=$(free_port)
KIOSK_FLOOR_S=${KIOSK_FLOOR_S:-60}
HOST_MOTCUA=${HOST_MOTCUA:-$(ls -t "$REPO"/target/release/motcua "$REPO"/target/debug/motcua 2>/dev/null | head -1 || true)}

fails=0; warns=0
check() {  # check REQUIRED(1/0) LOG NAME REGEX
  local req=$1 log=$2 name=$3 re=$4 line
  line=$(grep -a 'MOTCUA_TEST:\|MOTCUA_PROVISION:' "$log" | tr -d '\r' | grep -E -m1 -- "$re" || true)
  if [ -n "$line" ]; then echo "PASS  $name"
  elif [ "$req" = 1 ]; then echo "FAIL  $name   (wanted /$re/)"; fails=$((fails+1))
  else echo "WARN  $name   (wanted /$re/; not required: REQUIRE_APP=0)"; warns=$((warns+1)); fi
}
value() { grep -a "MOTCUA_TEST: $2 " "$1" | tr -d '\r' | head -1 | sed "s/^.*MOTCUA_TEST: $2 //"; }
val() { value "$@" || true; }   # (pipefail: a missing line is an empty value, not the end)

boot 1 "MOTCUA_TEST: writing" 1 || true
L1="$W/serial-1.log"
check 1 "$L1" "first boot applied the provisioning file" 'MOTCUA_PROVISION: applied'
check 1 "$L1" "firstboot unit active"             'unit motcua-firstboot active'
check "$REQUIRE_APP" "$L1" "daemon active"        'daemon-state active restarts=0'
check "$REQUIRE_APP" "$L1" "kiosk active"         'unit motcua-kiosk active'
check 1 "$L1" "root is read-only"                 'root-writable no'
check 1 "$L1" "no motcua.toml left on FAT, .applied there" 'fat .*motcua.toml.applied'
check 1 "$L1" "token blanked on the FAT copy"     'fat-token-line token = ""'
check 1 "$L1" "kiosk cannot read footage"         'kiosk-footage .*Permission denied'
check 1 "$L1" "kiosk cannot read secrets"         'kiosk-secrets .*Permission denied'
check 1 "$L1" "daemon user can read secrets"      'daemon-secrets readable'
check 1 "$L1" "/etc/motcua on the data partition" 'mount /etc/motcua .*/srv/motcua/etc|mount /etc/motcua /dev/vda4'
check 1 "$L1" "catalog imported"                  'import .*'
check "$REQUIRE_APP" "$L1" "snapshot through the daemon (synthetic camera)" 'capture \{"id":[0-9]+,"sha256":"[0-9a-f]{64}"'
check "$REQUIRE_APP" "$L1" "this-boot marker for the kiosk's technician screen" 'provision-marker yes'
check 1 "$L1" "technician PIN stored as a hash only" 'pin-hash yes'
grep -aq '"2468"' "$L1" && { echo "FAIL  the technician PIN appears on the console"; fails=$((fails+1)); }
grep -a 'MOTCUA_TEST: fat ' "$L1" | grep -q 'motcua.toml ' && { echo "FAIL  motcua.toml still on FAT"; fails=$((fails+1)); }
grep -aq "$TOKEN" "$L1" && { echo "FAIL  the token appears on the console"; fails=$((fails+1)); }

# While boot 2 runs: touch through QMP, SSH, HTTPS (results in $W/live.log, LIVE: lines).
tap() {  # tap NAME: a left click at the named point of image/touch-points.txt (virtio tablet)
  local x y w=1280 h=800
  read -r x y < <(awk -v n="$1" '$1 == n {print $2, $3}' "$HERE/touch-points.txt")
  qmp "{\"execute\":\"input-send-event\",\"arguments\":{\"events\":[{\"type\":\"abs\",\"data\":{\"axis\":\"x\",\"value\":$((x * 32767 / (w - 1)))}},{\"type\":\"abs\",\"data\":{\"axis\":\"y\",\"value\":$((y * 32767 / (h - 1)))}}]}}" >/dev/null || true
  qmp '{"execute":"input-send-event","arguments":{"events":[{"type":"btn","data":{"down":true,"button":"left"}}]}}' >/dev/null || true
  sleep 0.3
  qmp '{"execute":"input-send-event","arguments":{"events":[{"type":"btn","data":{"down":false,"button":"left"}}]}}' >/dev/null || true
}
dump() { qmp "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$W/touch-$1.png\",\"format\":\"png\"}}" >/dev/null 2>&1 || true; }
gssh() {  # gssh COMMAND: run COMMAND as root in the guest over SSH with the provisioned key
  # LogLevel=ERROR: no "Permanently added" warning mixed into outputs the test parses
  timeout 180 ssh -i "$W/ssh_key" -p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=60 root@127.0.0.1 "$1"
}
live() {
  {
    echo "LIVE: ports ssh $SSH_PORT https $HTTPS_PORT"
    # 7. SSH: key-only root login; the technician's doctor and status; a password is refused.
    local o
    o=$(gssh 'motcua doctor; echo "status $(systemctl is-active motcua-daemon motcua-kiosk | tr "\n" " ")"' 2>&1) || true
    echo "$o" | sed 's/^/LIVE: ssh-out /'
    o=$(timeout 90 ssh -p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
      -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive root@127.0.0.1 true 2>&1 | tail -1) || true
    echo "LIVE: ssh-password $o"
    # 4. Review UI over the forwarded HTTPS port (self-signed, so -k; the technician screen
    # shows its fingerprint).
    o=$(curl -sk --max-time 60 -o "$W/review-login.html" -w '%{http_code}' "https://127.0.0.1:$HTTPS_PORT/login" 2>&1) || true
    echo "LIVE: review-http $o $(grep -o -i -m1 '<form[^>]*' "$W/review-login.html" 2>/dev/null)"
    # The supervisor in headless Chromium: log in, find boot 2's V4L2 snapshot by its record
    # ID, export the case, and check the zip against the device's key (read over SSH).
    local pub
    pub=$(gssh 'cat /etc/motcua/device.pub' 2>/dev/null | tr -d '\r\n ') || true
    mkdir -p "$W/review"
    timeout 600 "$PY" "$HERE/review-check.py" "https://127.0.0.1:$HTTPS_PORT" giamsat boottest-password-1 \
      000.00.14.H56-261123-0200 "$W/review" $pub 2>&1 | sed 's/^/LIVE: /'
    # The bytes the USB printer gadget received from the kiosk's print (boot 2's report).
    gssh 'cat /run/motcua-boottest-printer/printed.bin' > "$W/printed.bin" 2>/dev/null || true
    echo "LIVE: printed-bytes $(stat -c %s "$W/printed.bin" 2>/dev/null)"
    # 1. Touch: home -> search box -> keyboard K H A I -> first result -> (idle) home.
    dump 0-home
    tap search-box; sleep 4; dump 1-search
    for k in K H A I; do tap "key-$k"; sleep 2; done; sleep 3; dump 2-typed
    tap result-khai-sinh; sleep 5; dump 3-procedure
    echo "LIVE: touch taps sent; waiting for the idle timeout (idle_home_secs = 90)"
    sleep 110; dump 4-idle
    # PIR: after attract_after_secs (300 s) without a touch the dim attract screen shows; a
    # motion edge on BCM 4 (gpio-sim, toggled over SSH) must wake it through the daemon.
    echo "LIVE: waiting for the attract screen (attract_after_secs = 300)"
    sleep 210; dump 5-attract
    o=$(gssh 'p=$(ls -d /sys/devices/platform/gpio-sim.*/gpiochip*/sim_gpio4 2>/dev/null | head -1);
      [ -n "$p" ] || { echo "no gpio-sim"; exit 0; }; echo pull-up > "$p/pull"; sleep 1; echo pull-down > "$p/pull"; echo "edge on $p"' 2>&1) || true
    echo "LIVE: pir $o"
    sleep 6; dump 6-wake
  } > "$W/live.log" 2>&1
}
boot 2 "MOTCUA_TEST: done boot=2" 0 live || true
L2="$W/serial-2.log"
check 1 "$L2" "second boot ran the report"        'boot=2'
check 1 "$L2" "kiosk user reads the installed catalog" 'kiosk-catalog catalog: version 3'
check "$REQUIRE_APP" "$L2" "daemon socket 0660 for the kiosk's group" 'kiosk-socket 660:motcua:motcua-kiosk'
check 1 "$L2" "machine id kept on the cmdline"    'cmdline .*systemd.machine_id='
check 1 "$L1" "U-Boot's boot.scr booted slot A (root on vda2)" 'ab rauc.slot=A root=/dev/vda2 BOOT_ORDER=A B'
check 1 "$L2" "slot A again on boot 2, its tries restored (marked good)" 'ab rauc.slot=A root=/dev/vda2 BOOT_ORDER=A B BOOT_A_LEFT=[23]'
check 1 "$L2" "RAUC sees slot A booted"            'rauc-status .*"booted":"A"'
check 1 "$L2" "hostname from the device name"     'hostname kiosk-sanh-chinh'
check "$REQUIRE_APP" "$L2" "daemon active after the kill" 'daemon-state active restarts=0'
check "$REQUIRE_APP" "$L2" "kiosk active after the kill"  'unit motcua-kiosk active'
check 1 "$L2" "firstboot skipped (file applied)"  'unit motcua-firstboot (inactive|active)'
# Same catalog (version and counts); the loop's later re-imports change only "applied <time>".
s1=$({ val "$L1" catalog-stats; } | sed 's/applied [^ ]* //' || true); s2=$({ val "$L2" catalog-stats; } | sed 's/applied [^ ]* //' || true)
if [ -n "$s1" ] && [ "$s1" = "$s2" ] && ! grep -qi error <<<"$s2"; then echo "PASS  catalog intact after SIGKILL mid-write: $s2"
else echo "FAIL  catalog after kill: before [$s1] after [$s2]"; fails=$((fails+1)); fi
check "$REQUIRE_APP" "$L2" "footage verified after SIGKILL mid-capture" 'snapshots-verify [0-9]+ chain entries, [1-9][0-9]* snapshots'
grep -a 'MOTCUA_TEST: snapshots-verify' "$L2" | grep -q PROBLEM && { echo "FAIL  footage problems after the kill"; fails=$((fails+1)); }
n1=$({ val "$L1" snapshots-count; } | grep -o '^[0-9]*' || true); n2=$({ val "$L2" snapshots-count; } | grep -o '^[0-9]*' || true)
if [ -n "$n1" ] && [ -n "$n2" ] && [ "$n2" -ge "$n1" ] && [ "$n1" -ge 3 ]; then echo "PASS  snapshots kept: $n1 after the captures, $n2 after the kill"
else echo "$([ "$REQUIRE_APP" = 1 ] && echo FAIL || echo WARN)  snapshots: [$n1] before, [$n2] after"; [ "$REQUIRE_APP" = 1 ] && fails=$((fails+1)); fi
d1=$({ val "$L1" data; } | sed 's/.*size-mib=//' || true); d2=$({ val "$L2" data; } | sed 's/.*size-mib=//' || true)
echo "INFO  data partition: ${d1:-?} MiB at first report, ${d2:-?} MiB at boot 2"
[ -n "$d2" ] && [ "${d2:-0}" -gt 400 ] && echo "PASS  data partition grown" || { echo "FAIL  data partition not grown"; fails=$((fails+1)); }
m1=$({ val "$L1" hostname; } | sed 's/.*machine-id //' || true); m2=$({ val "$L2" hostname; } | sed 's/.*machine-id //' || true)
[ -n "$m1" ] && [ "$m1" = "$m2" ] && echo "PASS  same machine id on both boots ($m2)" || { echo "FAIL  machine id $m1 -> $m2"; fails=$((fails+1)); }
echo "INFO  journal boots: $(val "$L2" boots-in-journal)"
screen() {  # screen N EXPECTED NAME
  local r
  if [ ! -s "$W/screen-$1.png" ]; then r="no screendump"
  elif r=$("$PY" "$HERE/screen-check.py" "$W/screen-$1.png" "$2"); then echo "PASS  $3: $r ($W/screen-$1.png)"; return; fi
  if [ "$REQUIRE_APP" = 1 ]; then echo "FAIL  $3: $r"; fails=$((fails+1)); else echo "WARN  $3: $r"; warns=$((warns+1)); fi
}
screen 1 technician "boot 1 screen is the kiosk's technician screen (virtio-gpu)"
screen 2 home "boot 2 screen is the kiosk's home screen (virtio-gpu)"
# ---- boot 2: the appliance as installed
livev() { grep -a "^LIVE: $1 " "$W/live.log" 2>/dev/null | head -1 | sed "s/^LIVE: $1 //"; }
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; fails=$((fails+1)); }
# 6. Timing: CLOCK_MONOTONIC in the guest counts from the kernel's start; QEMU start -> first
# serial output is the part before it (with -kernel there is no firmware stage).
for b in 1 2; do
  t=$(val "$W/serial-$b.log" timing)
  k=$(sed -n 's/.*kiosk-us \([0-9]*\).*/\1/p' <<<"$t"); dm=$(sed -n 's/.*daemon-us \([0-9]*\).*/\1/p' <<<"$t")
  echo "INFO  boot $b: kernel start -> kiosk first frame $(awk -v u="${k:-0}" 'BEGIN{printf "%.1f", u/1e6}') s, -> daemon ready $(awk -v u="${dm:-0}" 'BEGIN{printf "%.1f", u/1e6}') s; $(val "$W/serial-$b.log" systemd-analyze)"
  if [ "$b" = 2 ]; then
    if [ -n "$k" ] && [ "$k" -gt 0 ] && [ "$k" -le $((KIOSK_FLOOR_S * 1000000)) ]; then pass "kiosk first frame within ${KIOSK_FLOOR_S} s of the kernel's start (boot 2: $((k / 1000000)) s)"
    else fail "kiosk first frame within ${KIOSK_FLOOR_S} s of the kernel's start (boot 2: ${k:-?} us)"; fi
  fi
done
for b in 1 2; do
  echo "INFO  boot $b critical chain to the kiosk: $(val "$W/serial-$b.log" critical-chain | tr '|' '\n' | head -12 | tr '\n' ';')"
  echo "INFO  boot $b slowest units: $(val "$W/serial-$b.log" blame | tr '|' ';')"
done
[ -n "${FIRST_SERIAL_NS:-}" ] && echo "INFO  boot 2: QEMU start -> first serial output $(( (FIRST_SERIAL_NS - T0_NS) / 1000000 )) ms (add to the figures above for power-on)"
check 1 "$L2" "no wpa_supplicant without a wlan device" 'unit wpa_supplicant@wlan0 inactive'
check 1 "$L2" "fontconfig has a writable cache (no warning)" 'kiosk-fontconfig 0'
check 1 "$L2" "the kiosk holds /dev/input/event* open (tablet, keyboard)" 'kiosk-input [1-9]'
check 1 "$L2" "sshd runs (provisioned keys)" 'ssh active'
# 2. Camera
if grep -aq 'MOTCUA_TEST: video video0=' "$L2"; then
  check 1 "$L2" "V4L2 camera (vivid) snapshot through the daemon, linked to the record" 'capture-v4l2 \{"id":[0-9]+,"sha256":"[0-9a-f]{64}".*"counter":2,"record_id":"000.00.14.H56-261123-0200"'
  check 1 "$L2" "snapshots verify after the V4L2 and button snapshots" 'snapshots-verify-2 [0-9]+ chain entries'
  grep -a 'MOTCUA_TEST: snapshots-verify-2' "$L2" | grep -q PROBLEM && fail "footage problems on boot 2"
else
  echo "SKIP  V4L2 camera: $(val "$L2" capture-v4l2)"
fi
# 3. GPIO
if grep -aq 'MOTCUA_TEST: gpio-sim chip' "$L2"; then
  check 1 "$L2" "gpio-sim chip given to group gpio by the udev rule" 'gpio-sim chip gpiochip[0-9]+ 660:root:gpio'
  b=$(val "$L2" gpio-button); bb=$(sed -n 's/.*before=\([0-9]*\) after=\([0-9]*\).*/\1 \2/p' <<<"$b")
  if [ -n "$bb" ] && [ "${bb#* }" -gt "${bb% *}" ]; then pass "simulated button press (BCM 27) became a snapshot (reason button) through /dev/gpiochip, user motcua"
  else fail "simulated button press: $b"; fi
  echo "INFO  PIR edge (BCM 4) at boot 2's report: $(val "$L2" gpio-motion) (the wake is checked below)"
else
  echo "SKIP  GPIO: $(grep -a 'MOTCUA_TEST: gpio-sim' "$L2" | head -1 | tr -d '\r' | sed 's/.*MOTCUA_TEST: //')"
fi
# 8. Printer (issue 20): usblp on a USB printer gadget.
if grep -aq 'MOTCUA_TEST: printer-node [0-9]' "$L2"; then
  check 1 "$L2" "USB printer: usblp's /dev/usb/lp0, group lp (udev)" 'printer-node 660:root:lp driver=usblp'
  check 1 "$L2" "USB printer: the daemon's health reads its status from its own unit" 'printer-health "name":"printer","level":"ok","message":"/dev/usb/lp0: ready"'
  grep -aq 'MOTCUA_TEST: printer-kiosk-policy' "$L2" &&
    check 1 "$L2" "USB printer: as_kiosk is under the kiosk unit's device policy (/dev/fuse, 0666, refused)" 'printer-kiosk-policy .*/dev/fuse: Operation not permitted'
  check 1 "$L2" "USB printer: the kiosk's user prints inside the kiosk unit's device policy" 'printer-print-kiosk printed a sample ticket \([0-9]+ bytes\); the printer is now ready'
  check 1 "$L2" "USB printer: paper out prints nothing and says so" 'printer-paperout-kiosk .*the ticket was not printed: the printer is out of paper'
  check 1 "$L2" "USB printer: the daemon's doctor reports paper out" 'printer-paperout-doctor "name":"printer","level":"fail".*out of paper'
  check 1 "$L2" "USB printer: the daemon's doctor reports cover open" 'printer-coveropen-doctor "name":"printer","level":"fail".*cover open'
  check 1 "$L2" "USB printer: ready again" 'printer-ready-doctor "name":"printer","level":"ok"'
  if [ -n "$HOST_MOTCUA" ] && [ -x "$HOST_MOTCUA" ] && [ -s "$W/printed.bin" ]; then
    if r=$("$HOST_MOTCUA" printer decode "$W/printed.bin" --png "$W/printed.png" 2>&1) &&
       "$HOST_MOTCUA" printer test --png "$W/printer-host.png" >/dev/null 2>&1; then
      if cmp -s "$W/printed.png" "$W/printer-host.png"; then
        pass "USB printer: what the printer received decodes to the host's render of the same ticket, dot for dot ($r)"
      elif command -v tesseract >/dev/null && tesseract "$W/printed.png" - -l vie 2>/dev/null | grep -q 'Đăng ký khai sinh'; then
        pass "USB printer: what the printer received decodes and reads back (OCR), though not dot for dot the host's render ($r)"
      else
        fail "USB printer: the received page differs from the host's render ($r; $W/printed.png, $W/printer-host.png)"
      fi
    else
      fail "USB printer: the received bytes do not decode: $r"
    fi
  else
    echo "SKIP  USB printer page check: no host motcua or no bytes ($(livev printed-bytes))"
  fi
else
  echo "SKIP  USB printer: $(val "$L2" printer-node)"
fi
# 5. Doctor: every check ok, or a warning/failure whose reason the test knows.
val "$L2" doctor-json > "$W/doctor.json"
dres=$("$PY" - "$W/doctor.json" <<'PYEOF'
import json, sys
known = {  # check -> why it may be other than ok in this VM
    "server": "the template's server (motcua.example.gov.vn) does not exist",
    "clock": "no NTP server reachable from the VM",
    "gpio": "the running daemon holds its pins (doctor builds before ffce50f called that a failure; newer ones say 'held by the running motcua daemon'), or no gpio-sim in the kernel",
    "cameras": "no vivid in this kernel",
    "display": "virtio-gpu has no backlight",
}
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"no doctor JSON: {e}"); sys.exit(1)
bad = []
for c in r["checks"]:
    if c["level"] == "ok":
        continue
    why = known.get(c["name"])
    print(f"{c['level']} {c['name']}: {c['summary']} ({'known: ' + why if why else 'UNKNOWN'})")
    if not why:
        bad.append(c["name"])
sys.exit(1 if bad else 0)
PYEOF
) && pass "doctor --json: every check ok or a known reason" || fail "doctor --json has unexplained results"
sed 's/^/      /' <<<"$dres"
# 7. SSH
if grep -aq '^LIVE: ssh-out status active active' "$W/live.log" && grep -aq '^LIVE: ssh-out .*config ' "$W/live.log"; then
  pass "SSH login with the provisioned key ran \`motcua doctor\` and systemctl status"
else fail "SSH login with the provisioned key: $(grep -a '^LIVE: ssh-out' "$W/live.log" | head -3 | tr '\n' ' ')"; fi
if livev ssh-password | grep -q 'Permission denied (publickey)'; then pass "SSH refuses passwords (publickey only)"
else fail "SSH password login not refused as expected: $(livev ssh-password)"; fi
# 4. Review: the login page over the forwarded port, then the supervisor's steps in Chromium.
if livev review-http | grep -q '^200'; then pass "review UI answers over the forwarded HTTPS port: $(livev review-http | cut -c1-60)"
else fail "review UI over HTTPS: $(livev review-http)"; fi
if grep -aq '^LIVE: REVIEW: skipped' "$W/live.log"; then
  echo "SKIP  review in Chromium: $(grep -a '^LIVE: REVIEW: skipped' "$W/live.log" | head -1 | cut -c22-)"
else
  while IFS= read -r l; do
    case "$l" in "LIVE: REVIEW: ok "*) pass "review in Chromium: ${l#LIVE: REVIEW: ok }";;
                 "LIVE: REVIEW: FAIL "*) fail "review in Chromium: ${l#LIVE: REVIEW: FAIL }";; esac
  done < <(grep -a '^LIVE: REVIEW: ' "$W/live.log")
  grep -aq '^LIVE: REVIEW: ok docs/verify-export.py' "$W/live.log" ||
    fail "review in Chromium did not reach a verified export (see $W/review/)"
fi
# 1. Touch: screendumps matched against reference renders of the same screens on the host.
REFS=""
if [ -n "$HOST_MOTCUA" ] && [ -x "$HOST_MOTCUA" ]; then
  rd="$W/refs"; rm -rf "$rd"; mkdir -p "$rd/data"
  if "$HOST_MOTCUA" --data-dir "$rd/data" catalog import "$REPO/tests/fixtures/small-catalog.json" >/dev/null 2>&1; then
    for sc in home search: search:KHAI procedure:1.001193 attract; do
      f="$rd/$(tr ':.' '__' <<<"$sc").png"
      "$HOST_MOTCUA" --data-dir "$rd/data" screenshot --screen "$sc" --size 1280x800 --out "$f" >/dev/null 2>&1 &&
        REFS="$REFS $(tr ':.' '__' <<<"$sc")=$f"
    done
  fi
fi
[ -z "$REFS" ] && echo "INFO  no host motcua for reference renders: touch steps checked coarsely"
tstep() {  # tstep FILE EXPECTED-REFERENCE NAME COARSE REFERENCES-TO-TELL-APART...
  local r f=$1 want=$2 name=$3 coarse=$4 refs=() n; shift 4
  if [ ! -s "$W/touch-$f.png" ]; then fail "$name: no screendump"; return; fi
  for n in "$@"; do refs+=("$(tr ' ' '\n' <<<"$REFS" | grep "^$n=" || true)"); done
  if [ -n "$REFS" ]; then
    if r=$("$PY" "$HERE/screen-check.py" "$W/touch-$f.png" "match:$want" "${refs[@]}"); then pass "$name: $r"; else fail "$name: $r"; fi
  elif r=$("$PY" "$HERE/screen-check.py" "$W/touch-$f.png" "$coarse"); then pass "$name (coarse: $coarse): $r"; else fail "$name: $r"; fi
}
tstep 0-home home "touch: starts on the home screen" home home search_ procedure_1_001193
tstep 1-search search_ "touch: a tap on the search box opens search with the keyboard" not-home home search_ procedure_1_001193
tstep 2-typed search_KHAI "touch: typing KHAI on the on-screen keyboard lists its results" not-home search_ search_KHAI
tstep 3-procedure procedure_1_001193 "touch: a tap on the first result opens the procedure" not-home search_KHAI procedure_1_001193
tstep 4-idle home "touch: the idle timeout brings the kiosk home" home home search_KHAI procedure_1_001193
if livev pir | grep -q '^edge on'; then
  tstep 5-attract attract "idle: the dim attract screen after attract_after_secs" attract home attract
  tstep 6-wake home "PIR: a motion edge (BCM 4, gpio-sim) wakes the screen through the daemon" home home attract
else
  echo "SKIP  PIR wake: $(livev pir)"
fi
echo "INFO  failed units on boot 2: $(grep -ac 'FAILED' "$L2" || true)"; { grep -a 'FAILED' "$L2" || true; } | tr -d '\r' | head -5 | sed 's/^/      /'
echo "== $fails failed, $warns warnings"
[ $fails = 0 ]
