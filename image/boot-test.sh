#!/bin/bash
# boot-test.sh - boot the appliance image in QEMU (aarch64 `virt`, TCG, virtio-gpu) twice and
# check first-boot provisioning, units, the read-only root, access rules, the screen, and that
# killing the machine mid-write leaves catalog (and footage, once the recorder is in) intact.
#
# It works on a sparse copy of the image grown by GROW_MIB (so the data-partition grow is
# exercised), puts a filled-in provisioning file, a catalog and the `motcua-boottest` switch on
# the FAT partition with mtools (no loop devices), and boots the image's own kernel, initrd
# and cmdline.txt (re-read before boot 2: provisioning adds the machine id and hostname).
# The image's test-only unit (motcua-boottest.service) prints MOTCUA_TEST: lines on the console.
#
# Usage:  image/boot-test.sh IMAGE(.img or .img.xz) [WORKDIR]
# Env:    BOOT_TIMEOUT=600  GROW_MIB=512  SMP=2  MEM=2G  INSTALL=1 (install missing tools)
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
# Tools: installed when missing (as root; INSTALL=0 to only check). On bookworm, QEMU comes from
# bookworm-backports (7.2 cannot boot the trixie-backports kernel's virtio-gpu reliably).
if [ "${INSTALL:-1}" = 1 ] && [ "$(id -u)" = 0 ]; then
  need=()
  command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
  command -v mcopy >/dev/null || need+=(mtools)
  command -v sfdisk >/dev/null || need+=(fdisk)
  command -v xz >/dev/null || need+=(xz-utils)
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
mkdir -p "$W"; rm -f "$W"/serial-*.log "$W"/screen-*.png "$W"/qmp.sock
IMG="$W/disk.img"
echo "== copy $SRC -> $IMG (+${GROW_MIB} MiB)"
case "$SRC" in *.xz) xz -dc "$SRC" | cp --sparse=always /dev/stdin "$IMG";; *) cp --sparse=always "$SRC" "$IMG";; esac
truncate -s +"${GROW_MIB}M" "$IMG"

start=$(sfdisk -d "$IMG" | awk -F'[=,]' '/^[^ ]*1 :/ {gsub(/ /,"",$2); print $2}')
FAT="$IMG@@$((start*512))"
TOKEN="boottest-token-$RANDOM$RANDOM"
sed -e "s/^token = \"\"/token = \"$TOKEN\"/" -e 's/^password = ""/password = "boottest-password-1"/' \
  -e 's|^camera = "/dev/video0"|camera = "synthetic"|' -e 's/^# technician_pin = ""/technician_pin = "2468"/' \
  "$REPO/image/motcua.toml.template" > "$W/motcua.toml"
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

# boot N UNTIL_MARKER KILL(0/1): boot, wait for the marker, screendump, then kill -9 or quit.
boot() {
  local n=$1 marker=$2 kill=$3 log="$W/serial-$1.log"
  local K I
  K=$(mdir -b -i "$FAT" ::/ | sed -n 's|^::/\(vmlinuz-.*\)$|\1|p' | sort -V | tail -1)
  I=$(mdir -b -i "$FAT" ::/ | sed -n 's|^::/\(initrd.img-.*\)$|\1|p' | sort -V | tail -1)
  mcopy -o -n -i "$FAT" "::/$K" "$W/vmlinuz"; mcopy -o -n -i "$FAT" "::/$I" "$W/initrd.img"
  mcopy -o -n -i "$FAT" ::/cmdline.txt "$W/cmdline.txt"
  local cmdline
  # Under TCG on a busy 2-core host udev can take minutes to settle: give devices (the data
  # partition by label) 5 minutes instead of systemd's 90 s before the emergency shell.
  cmdline="$(sed -e 's/console=ttyS[0-9][^ ]*//g; s/console=ttyAMA[0-9]*[^ ]*//g' "$W/cmdline.txt" | tr -s ' ' | tr -d '\n') console=ttyAMA0 systemd.default_device_timeout_sec=300"
  echo "== boot $n: $K; cmdline: $cmdline"
  local t0=$SECONDS
  qemu-system-aarch64 -M virt -cpu cortex-a72 -smp "$SMP" -m "$MEM" \
    -kernel "$W/vmlinuz" -initrd "$W/initrd.img" -append "$cmdline" \
    -drive file="$IMG",format=raw,if=virtio,cache=writeback \
    -nic none -device virtio-gpu-pci -display none -monitor none \
    -serial file:"$log" -qmp unix:"$W/qmp.sock",server=on,wait=off 2>"$W/qemu-$n.err" &
  QPID=$!
  local deadline=$((SECONDS + BOOT_TIMEOUT)) ok=0
  while [ $SECONDS -lt $deadline ]; do
    kill -0 $QPID 2>/dev/null || { echo "qemu exited early"; cat "$W/qemu-$n.err"; break; }
    if grep -qa "$marker" "$log" 2>/dev/null; then ok=1; break; fi
    if grep -qaE 'Kernel panic|Gave up waiting|emergency mode' "$log" 2>/dev/null; then break; fi
    sleep 2
  done
  echo "   boot $n: marker '$marker' $([ $ok = 1 ] && echo "after $((SECONDS - t0)) s" || echo MISSING)"
  qmp "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$W/screen-$n.png\",\"format\":\"png\"}}" >/dev/null 2>&1 || true
  if [ "$kill" = 1 ]; then
    sleep 3; kill -9 $QPID 2>/dev/null || true; echo "   boot $n: killed (SIGKILL) while writing"
  else
    qmp '{"execute":"quit"}' >/dev/null 2>&1 || kill $QPID 2>/dev/null || true
  fi
  wait $QPID 2>/dev/null || true
  return $((1 - ok))
}
trap 'kill -9 ${QPID:-0} 2>/dev/null || true' EXIT

fails=0; warns=0
check() {  # check REQUIRED(1/0) LOG NAME REGEX
  local req=$1 log=$2 name=$3 re=$4 line
  line=$(grep -a 'MOTCUA_TEST:\|MOTCUA_PROVISION:' "$log" | tr -d '\r' | grep -E -m1 -- "$re" || true)
  if [ -n "$line" ]; then echo "PASS  $name"
  elif [ "$req" = 1 ]; then echo "FAIL  $name   (wanted /$re/)"; fails=$((fails+1))
  else echo "WARN  $name   (wanted /$re/; not required: REQUIRE_APP=0)"; warns=$((warns+1)); fi
}
value() { grep -a "MOTCUA_TEST: $2 " "$1" | tr -d '\r' | head -1 | sed "s/^.*MOTCUA_TEST: $2 //"; }

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
check 1 "$L1" "/etc/motcua on the data partition" 'mount /etc/motcua .*/srv/motcua/etc|mount /etc/motcua /dev/vda3'
check 1 "$L1" "catalog imported"                  'import .*'
check "$REQUIRE_APP" "$L1" "snapshot through the daemon (synthetic camera)" 'capture \{"id":[0-9]+,"sha256":"[0-9a-f]{64}"'
check "$REQUIRE_APP" "$L1" "this-boot marker for the kiosk's technician screen" 'provision-marker yes'
check 1 "$L1" "technician PIN stored as a hash only" 'pin-hash yes'
grep -aq '"2468"' "$L1" && { echo "FAIL  the technician PIN appears on the console"; fails=$((fails+1)); }
grep -a 'MOTCUA_TEST: fat ' "$L1" | grep -q 'motcua.toml ' && { echo "FAIL  motcua.toml still on FAT"; fails=$((fails+1)); }
grep -aq "$TOKEN" "$L1" && { echo "FAIL  the token appears on the console"; fails=$((fails+1)); }

boot 2 "MOTCUA_TEST: done boot=2" 0 || true
L2="$W/serial-2.log"
check 1 "$L2" "second boot ran the report"        'boot=2'
check 1 "$L2" "kiosk user reads the installed catalog" 'kiosk-catalog catalog: version 3'
check "$REQUIRE_APP" "$L2" "daemon socket 0660 for the kiosk's group" 'kiosk-socket 660:motcua:motcua-kiosk'
check 1 "$L2" "machine id kept on the cmdline"    'cmdline .*systemd.machine_id='
check 1 "$L2" "hostname from the device name"     'hostname kiosk-sanh-chinh'
check "$REQUIRE_APP" "$L2" "daemon active after the kill" 'daemon-state active restarts=0'
check "$REQUIRE_APP" "$L2" "kiosk active after the kill"  'unit motcua-kiosk active'
check 1 "$L2" "firstboot skipped (file applied)"  'unit motcua-firstboot (inactive|active)'
# Same catalog (version and counts); the loop's later re-imports change only "applied <time>".
s1=$(value "$L1" catalog-stats | sed 's/applied [^ ]* //'); s2=$(value "$L2" catalog-stats | sed 's/applied [^ ]* //')
if [ -n "$s1" ] && [ "$s1" = "$s2" ] && ! grep -qi error <<<"$s2"; then echo "PASS  catalog intact after SIGKILL mid-write: $s2"
else echo "FAIL  catalog after kill: before [$s1] after [$s2]"; fails=$((fails+1)); fi
check "$REQUIRE_APP" "$L2" "footage verified after SIGKILL mid-capture" 'snapshots-verify [0-9]+ chain entries, [1-9][0-9]* snapshots'
grep -a 'MOTCUA_TEST: snapshots-verify' "$L2" | grep -q PROBLEM && { echo "FAIL  footage problems after the kill"; fails=$((fails+1)); }
n1=$(value "$L1" snapshots-count | grep -o '^[0-9]*'); n2=$(value "$L2" snapshots-count | grep -o '^[0-9]*')
if [ -n "$n1" ] && [ -n "$n2" ] && [ "$n2" -ge "$n1" ] && [ "$n1" -ge 3 ]; then echo "PASS  snapshots kept: $n1 after the captures, $n2 after the kill"
else echo "$([ "$REQUIRE_APP" = 1 ] && echo FAIL || echo WARN)  snapshots: [$n1] before, [$n2] after"; [ "$REQUIRE_APP" = 1 ] && fails=$((fails+1)); fi
d1=$(value "$L1" data | sed 's/.*size-mib=//'); d2=$(value "$L2" data | sed 's/.*size-mib=//')
echo "INFO  data partition: ${d1:-?} MiB at first report, ${d2:-?} MiB at boot 2"
[ -n "$d2" ] && [ "${d2:-0}" -gt 400 ] && echo "PASS  data partition grown" || { echo "FAIL  data partition not grown"; fails=$((fails+1)); }
m1=$(value "$L1" hostname | sed 's/.*machine-id //'); m2=$(value "$L2" hostname | sed 's/.*machine-id //')
[ -n "$m1" ] && [ "$m1" = "$m2" ] && echo "PASS  same machine id on both boots ($m2)" || { echo "FAIL  machine id $m1 -> $m2"; fails=$((fails+1)); }
echo "INFO  journal boots: $(value "$L2" boots-in-journal)"
screen() {  # screen N EXPECTED NAME
  local r
  if [ ! -s "$W/screen-$1.png" ]; then r="no screendump"
  elif r=$("$PY" "$HERE/screen-check.py" "$W/screen-$1.png" "$2"); then echo "PASS  $3: $r ($W/screen-$1.png)"; return; fi
  if [ "$REQUIRE_APP" = 1 ]; then echo "FAIL  $3: $r"; fails=$((fails+1)); else echo "WARN  $3: $r"; warns=$((warns+1)); fi
}
screen 1 technician "boot 1 screen is the kiosk's technician screen (virtio-gpu)"
screen 2 home "boot 2 screen is the kiosk's home screen (virtio-gpu)"
echo "INFO  failed units on boot 2: $(grep -ac 'FAILED' "$L2" || true)"; { grep -a 'FAILED' "$L2" || true; } | tr -d '\r' | head -5 | sed 's/^/      /'
echo "== $fails failed, $warns warnings"
[ $fails = 0 ]
