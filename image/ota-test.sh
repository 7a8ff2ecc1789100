#!/bin/bash
# ota-test.sh - the whole over-the-air update cycle of the A/B image in QEMU (docs/updates.md):
# a real hub on the host (HTTPS, its own CA), the image booted through Debian's U-Boot
# (u-boot-qemu, the same boot.scr as the Pi's u-boot-rpi), RAUC in the guest, signed bundles.
#
#  1. good update    slot A -> B: published on the hub, found by the daemon at its default
#                    poll interval, downloaded, installed by RAUC, rebooted at a quiet moment,
#                    confirmed (kiosk drew, health, sync). Catalog and footage intact,
#                    `snapshots verify` clean. Publish -> confirmed must be <= 15 min.
#  2. power cuts     SIGKILL of QEMU while RAUC writes the other slot: the running slot boots,
#                    the install is done again; SIGKILL during the new slot's first boot: it
#                    boots again (tries left) and is confirmed. A working slot every time.
#  3. broken update  a bundle whose kiosk never draws (its unit masked): B boots, is not
#                    confirmed within confirm_timeout_secs, marked bad; A boots again and the
#                    hub's record of the device says the update failed, with the reason.
#  4. kernel panic   a bundle whose init exits at once: the kernel panics on every try of the
#                    new slot, panic=10 reboots it, U-Boot spends the slot's tries and boots
#                    the old slot, whose daemon reports the update failed.
#  5. hung kernel    a panic that does not reboot (kernel.panic=0): the hardware watchdog
#                    systemd arms (QEMU's i6300esb here, bcm2835-wdt on the Pi) resets it.
#  Screendumps after each boot: WORKDIR/screen-*.png.
#
# Usage:  image/ota-test.sh IMAGE.img [WORKDIR]      (as root: builds bundles from slot A read
#                                                    through a loop device, runs QEMU)
# Env:    RAUC_KEYS=<image dir>/rauc-keys (the keys the image was built with)
#         MOTCUA=target/release/motcua or target/debug/motcua (the host's hub)
#         BOOT_TIMEOUT=600  SMP=2  MEM=2G  CONFIRM_S=300 (the device's confirm_timeout_secs)
#         STEPS="good cuts broken panic hang" (a subset to run)
# Output: PASS/FAIL lines, INFO timings; exit 0 when every check passed.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
REPO=$(readlink -f "$HERE/..")
SRC=$(readlink -f "${1:?usage: image/ota-test.sh IMAGE.img [WORKDIR]}")
W=$(readlink -m "${2:-./otatest}")
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}; SMP=${SMP:-2}; MEM=${MEM:-2G}; CONFIRM_S=${CONFIRM_S:-300}
STEPS=${STEPS:-good cuts broken panic hang}
KEYS=$(readlink -m "${RAUC_KEYS:-$(dirname "$SRC")/rauc-keys}")
M=${MOTCUA:-$(ls -t "$REPO"/target/release/motcua "$REPO"/target/debug/motcua 2>/dev/null | head -1 || true)}
UBOOT=/usr/lib/u-boot/qemu_arm64/u-boot.bin
PY=/usr/bin/python3
for c in qemu-system-aarch64 mcopy mtype sfdisk debugfs dumpe2fs xz rauc openssl sqlite3 ssh; do
  command -v $c >/dev/null || { echo "missing $c" >&2; exit 1; }
done
[ -e "$UBOOT" ] || { echo "missing $UBOOT (apt-get install u-boot-qemu)" >&2; exit 1; }
[ -x "$M" ] || { echo "no host motcua (cargo build, or MOTCUA=)" >&2; exit 1; }
[ -s "$KEYS/signing.key.pem" ] || { echo "no signing keys in $KEYS (the image's RAUC_KEYS)" >&2; exit 1; }

rm -rf "$W"; mkdir -p "$W"; cd "$W"
fails=0
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; fails=$((fails + 1)); }
info() { echo "INFO  $*"; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SSH_PORT=$(free_port); HUB_PORT=$(free_port)

echo "== disk: $SRC -> $W/disk.img (+512 MiB)"
cp --sparse=always "$SRC" disk.img; truncate -s +512M disk.img
part_start() { sfdisk -d disk.img | awk -F'[=,]' -v n="$1" '$0 ~ "img"n" :" {gsub(/ /,"",$2); print $2}'; }
FAT="disk.img@@$(( $(part_start 1) * 512 ))"
mtype -i "$FAT" ::/boot.scr >/dev/null 2>&1 || { echo "not an A/B image (no boot.scr on the FAT partition)" >&2; exit 1; }

echo "== bundles from slot A's root filesystem"
A0=$(part_start 2)
dd if=disk.img of=p2.img bs=512 skip="$A0" count=$((64 * 2048)) status=none
# (the superblock is in the first 64 MiB; dumpe2fs then fails on the journal beyond them)
sb=$(dumpe2fs -h p2.img 2>/dev/null || true)
blocks=$(awk -F: '/^Block count/ {gsub(/ /,"",$2); print $2}' <<<"$sb")
bsize=$(awk -F: '/^Block size/ {gsub(/ /,"",$2); print $2}' <<<"$sb")
[ -n "$blocks" ] && [ -n "$bsize" ] || { echo "no ext4 superblock in slot A" >&2; exit 1; }
rm -f p2.img
dd if=disk.img of=root.ext4 bs=512 skip="$A0" count=$((blocks * bsize / 512)) conv=sparse status=none
BASE=$(debugfs -R "cat /var/lib/dpkg/status" root.ext4 2>/dev/null | awk '/^Package: /{p=($2=="motcua")} p && /^Version: /{print $2; exit}' || true)
BASE=${BASE:-0.1.0}
V1="$BASE+ota1"; V2="$BASE+ota2"; VB="$BASE+broken"; VP="$BASE+panic"
# The bundles are made from slot A's tree (bundle.sh tars a directory): the image read-only
# through a loop device, copied with owners, modes and hard links.
mkdir -p mnt tree
mount -o loop,ro,noload root.ext4 mnt || { echo "cannot loop-mount slot A's root (this test needs loop devices)" >&2; exit 1; }
cp -a mnt/. tree/ || { umount mnt; echo "cannot copy slot A's root" >&2; exit 1; }
umount mnt; rmdir mnt
# Each bundle's root carries /etc/motcua-bundle naming it, so every boot can show which root
# is really mounted (not only what RAUC's status file on the data partition says). The first
# is made as image/build.sh makes release bundles (its size is the floor's); the others with
# a quicker xz (the same format, only larger).
mkbundle() {  # mkbundle NAME VERSION [broken|panic] [XZ]: NAME.raucb, slot A's root marked VERSION
  echo "$2" > tree/etc/motcua-bundle
  # broken: the kiosk's unit masked, so the new slot never draws and is never confirmed.
  [ "${3:-}" = broken ] && ln -s /dev/null tree/etc/systemd/system/motcua-kiosk.service
  # panic: /sbin/init (usr-merged) exits at once; the kernel panics when PID 1 dies.
  if [ "${3:-}" = panic ]; then
    mv tree/usr/sbin/init tree/usr/sbin/init.ota-test
    printf '#!/bin/sh\necho "ota-test: this init exits at once"\nexit 1\n' > tree/usr/sbin/init
    chmod 755 tree/usr/sbin/init
  fi
  RAUC_KEYS=$KEYS BUNDLE_XZ=${4:-} "$REPO/image/bundle.sh" tree "$2" "$1.raucb"
  rm -f tree/etc/motcua-bundle tree/etc/systemd/system/motcua-kiosk.service
  if [ -L tree/usr/sbin/init.ota-test ] || [ -e tree/usr/sbin/init.ota-test ]; then
    mv -f tree/usr/sbin/init.ota-test tree/usr/sbin/init
  fi
}
mkbundle good1 "$V1" "" "--arm64 --lzma2=preset=9"
mkbundle good2 "$V2" "" "-3"
mkbundle broken "$VB" broken "-3"
if [[ " $STEPS " == *" panic "* ]]; then mkbundle panic "$VP" panic "-3"; fi
rm -rf tree
xz_root=$(xz -T2 -6 -c root.ext4 | wc -c); b1=$(stat -c %s good1.raucb)
info "bundle $((b1 / 1048576)) MiB; the root filesystem compressed with xz -6: $((xz_root / 1048576)) MiB"
[ "$b1" -le "$xz_root" ] && pass "bundle ($b1 B) no larger than the compressed root filesystem ($xz_root B)" \
  || fail "bundle ($b1 B) is $(( (b1 - xz_root) * 100 / xz_root )) % larger than the root filesystem compressed with xz -6 ($xz_root B)"
rm -f root.ext4

echo "== hub on 127.0.0.1:$HUB_PORT (the guest's 10.0.2.2), HTTPS from its own CA"
H="$W/hub"; mkdir -p "$H"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=ota-test CA" \
  -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign" \
  -keyout ca.key -out hub-ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=10.0.2.2" \
  -keyout hub.key -out hub.csr 2>/dev/null
printf 'subjectAltName=IP:10.0.2.2,IP:127.0.0.1\nbasicConstraints=CA:false\nextendedKeyUsage=serverAuth\n' > hub.ext
openssl x509 -req -in hub.csr -CA hub-ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile hub.ext -out hub.crt 2>/dev/null
PUB=$("$M" hub keygen --data "$H" 2>/dev/null | grep -Eo '[A-Za-z0-9+/]{43}=' | head -1)
TOKEN=$("$M" hub device add ota-1 --center "OTA test" --data "$H" 2>/dev/null | tail -1)
"$M" hub publish "$REPO/tests/fixtures/small-catalog.json" --expires-in-days 30 --data "$H" >/dev/null
"$M" hub serve --data "$H" --listen "127.0.0.1:$HUB_PORT" --tls-cert hub.crt --tls-key hub.key > hub.log 2>&1 &
HUB_PID=$!
QPID=""
trap 'kill -9 ${QPID:-} 2>/dev/null || true; kill $HUB_PID 2>/dev/null || true' EXIT
publish() {  # publish VERSION BUNDLE -> the release id
  "$M" hub update publish --data "$H" --channel stable --version "$1" --bundle "$2" --percent 100 2>&1 | tee -a publish.log
}
device_update() {  # the hub's copy of the device's latest heartbeat, its "update" object
  sqlite3 "$H/hub.db" "SELECT last_heartbeat FROM devices WHERE name = 'ota-1'" 2>/dev/null |
    "$PY" -c 'import json,sys; t=sys.stdin.read().strip(); print(json.dumps(json.loads(t).get("update")) if t else "")' 2>/dev/null || true
}

echo "== provisioning file"
rm -f ssh_key ssh_key.pub; ssh-keygen -q -t ed25519 -N "" -C ota-test -f ssh_key
sed -e "s/^token = \"\"/token = \"$TOKEN\"/" -e 's/^password = ""/password = "ota-test-password-1"/' \
  -e 's|^camera = "/dev/video[0-9]"|camera = "synthetic"|' \
  -e "s|^url = \"https://motcua.example.gov.vn\"|url = \"https://10.0.2.2:$HUB_PORT\"|" \
  -e "s|\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"|\"$PUB\"|" \
  -e '/^button_pin/d' -e '/^motion_pin/d' -e '/^led_pin/d' \
  "$REPO/image/motcua.toml.template" > motcua.toml
printf '\n[ssh]\nauthorized_keys = ["%s"]\n' "$(cat ssh_key.pub)" >> motcua.toml
# The hub's certificate is from the test's own CA ([server] ca); updates at any hour, and the
# confirmation limit of this test.
"$PY" - motcua.toml hub-ca.pem <<'EOF'
import sys
path, ca = sys.argv[1], open(sys.argv[2]).read()
t = open(path).read()
i = t.index("\n]\n", t.index("[server]")) + 3
open(path, "w").write(t[:i] + 'ca = """\n' + ca + '"""\n' + t[i:])
EOF
printf '\n[update]\nwindow = "00:00-00:00"\nconfirm_timeout_secs = %s\n' "$CONFIRM_S" >> motcua.toml
mcopy -o -i "$FAT" motcua.toml ::/
# QEMU's serial console is ttyAMA0 (the Pi's is ttyS1).
mtype -i "$FAT" ::/motcua-cmdline.env > motcua-cmdline.env
sed -i -e '/^motcua_bootargs=/{s/console=ttyS[0-9][^ ]*//g; s/  */ /g; s/ *$/ console=ttyAMA0/}' motcua-cmdline.env
mcopy -o -i "$FAT" motcua-cmdline.env ::/

# ---- QEMU: one process until a power cut; the guest's own reboots go through U-Boot again.
RUN=0
start() {
  RUN=$((RUN + 1)); LOG="$W/serial-$RUN.log"; : > "$LOG"
  qemu-system-aarch64 -M virt -cpu cortex-a72 -smp "$SMP" -m "$MEM" -bios "$UBOOT" \
    -drive file="$W/disk.img",format=raw,if=virtio,cache=writeback \
    -nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22 \
    -device virtio-gpu-pci -device virtio-tablet-pci -device i6300esb -display none -monitor none \
    -serial file:"$LOG" -qmp unix:"$W/qmp.sock",server=on,wait=off 2>"$W/qemu-$RUN.err" &
  QPID=$!
  echo "   QEMU run $RUN (pid $QPID)"
}
power_cut() { kill -9 "$QPID" 2>/dev/null || true; wait "$QPID" 2>/dev/null || true; QPID=""; echo "   power cut (SIGKILL of QEMU) at $(date +%T)"; }
qmp() {
  "$PY" - "$W/qmp.sock" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw'); f.readline()
f.write('{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
f.write(sys.argv[2] + '\n'); f.flush()
while True:
    line = f.readline()
    if not line or '"return"' in line or '"error"' in line: break
EOF
}
SHOT=0
screen() {  # screen NAME: a screendump of the kiosk now
  SHOT=$((SHOT + 1)); local f="$W/screen-$SHOT-$1.png"
  qmp "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$f\",\"format\":\"png\"}}" >/dev/null 2>&1 || true
  [ -s "$f" ] && echo "   screendump $f"
}
g() { ssh -q -i "$W/ssh_key" -p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o ConnectTimeout=5 -o BatchMode=yes root@127.0.0.1 "$@"; }
# slots_seen: the U-Boot slot lines of this run, in order ("A B ...").
slots_seen() { tr -d '\r' < "$LOG" | sed -n 's/^MOTCUA_SLOT \([AB]\) part.*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }
wait_for() {  # wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds; 1 on timeout
  local until=$((SECONDS + $1)) what=$2; shift 2
  while [ $SECONDS -lt $until ]; do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$QPID" 2>/dev/null || { echo "   QEMU exited while waiting for: $what"; return 1; }
    sleep 5
  done
  echo "   timed out waiting for: $what"; return 1
}
slot_line_count() { [ "$(tr -d '\r' < "$LOG" | grep -c '^MOTCUA_SLOT [AB] part')" -ge "$1" ]; }
fast_poll() {  # the steps after the first: the daemon asks the hub every 20 s
  g "grep -q '^poll_interval_secs' /etc/motcua/motcua.toml || { sed -i 's/^\[update\]/[update]\npoll_interval_secs = 20/' /etc/motcua/motcua.toml && systemctl restart motcua-daemon; }"
}
daemon_up() { g 'systemctl is-active -q motcua-daemon && test -S /var/lib/motcua/daemon.sock'; }
kiosk_up() { g 'systemctl is-active -q motcua-kiosk'; }
phase() { g 'cat /var/lib/motcua/update/state.json 2>/dev/null' | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["phase"]["phase"])' 2>/dev/null || echo "?"; }
last_result() { g 'cat /var/lib/motcua/update/state.json 2>/dev/null' | "$PY" -c 'import json,sys; l=json.load(sys.stdin).get("last") or {}; print(l.get("result",""), l.get("version",""), l.get("reason",""))' 2>/dev/null || true; }
is_phase() { [ "$(phase)" = "$1" ]; }
is_last() { last_result | grep -q "^$1 $2"; }
booted() { g 'rauc status --output-format=json' | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["booted"])' 2>/dev/null || echo "?"; }
M_G="motcua --config /etc/motcua/motcua.toml --data-dir /var/lib/motcua"
root_is() {  # root_is SLOT MARKER: the mounted root is SLOT's partition and carries MARKER
  local want got; want=/dev/vda$([ "$1" = A ] && echo 2 || echo 3)
  got=$(g "echo \$(findmnt -no SOURCE /) \$(cat /etc/motcua-bundle 2>/dev/null || echo flashed)")
  [ "$got" = "$want $2" ] && pass "root: $got (slot $1)" || fail "root: wanted [$want $2], got [$got]"
}
data_state() {  # catalog and footage as the daemon's user sees them
  g "runuser -u motcua -- $M_G catalog stats 2>&1 | head -2 | tr '\n' ' '; echo; runuser -u motcua -- $M_G snapshots list --counter 1 2>&1 >/dev/null | tail -1"
}

# ---- 1. boot slot A, provision, point the daemon at the hub
echo "== 1. first boot (slot A): provisioning"
start
wait_for "$BOOT_TIMEOUT" "SSH and the daemon on the first boot" daemon_up || true
[ "$(slots_seen)" = "A" ] && pass "U-Boot booted slot A (boot.scr: $(tr -d '\r' < "$LOG" | grep -m1 '^MOTCUA_SLOT'))" || fail "U-Boot slot lines: [$(slots_seen)]"
info "rauc status: $(g 'rauc status --detailed --output-format=json' 2>&1 | tr -d '\n' | cut -c1-900)"
# The hub's CA and [update] came with the provisioning file: check they reached the device.
[ "$(g 'grep -c "BEGIN CERTIFICATE" /etc/motcua/hub-ca.pem; grep -c "^ca_file = \"/etc/motcua/hub-ca.pem\"" /etc/motcua/motcua.toml; grep -c "^confirm_timeout_secs = '"$CONFIRM_S"'" /etc/motcua/motcua.toml' 2>&1 | tr '\n' ' ')" = "1 1 1 " ] \
  && pass "provisioning installed the hub's CA ([server] ca) and [update]" \
  || fail "provisioned hub CA / [update]: $(g 'ls -l /etc/motcua; cat /etc/motcua/motcua.toml' 2>&1 | tr '\n' '|' | cut -c1-600)"
for i in 1 2 3; do
  g "runuser -u motcua -- $M_G snapshots capture --counter 1 --record 000.00.14.H56-261206-000$i --reason manual" >/dev/null 2>&1 || true
done
wait_for 300 "a heartbeat at the hub" sh -c "[ -n \"\$(sqlite3 '$H/hub.db' \"SELECT last_heartbeat FROM devices WHERE name='ota-1'\")\" ]" \
  && pass "the device syncs with the hub (HTTPS, pinned CA)" || fail "no heartbeat from the device at the hub"
wait_for 120 "slot A marked good" sh -c "ssh -q -i '$W/ssh_key' -p $SSH_PORT -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1 fw_printenv BOOT_A_LEFT | grep -qx BOOT_A_LEFT=3" \
  && pass "the running slot is marked good at boot (BOOT_A_LEFT=3)" || fail "slot A not marked good: $(g 'fw_printenv' 2>&1 | tr '\n' ' ')"
DATA0=$(data_state); info "data before updates: $DATA0"
[ -n "$DATA0" ] || fail "no catalog or footage state read before the updates"
root_is A flashed
screen boot-A
info "doctor update: $(g 'motcua --config /etc/motcua/motcua.toml doctor 2>&1 | grep -i -A3 update | tr -s " " | tr "\n" "|"')"

if [[ " $STEPS " == *" good "* ]]; then
  echo "== good update $V1: publish -> confirmed at the default poll interval (300 s)"
  T_PUB=$SECONDS; publish "$V1" good1.raucb
  if wait_for 900 "the quiet reboot into B" slot_line_count 2 && wait_for "$BOOT_TIMEOUT" "the daemon on B" daemon_up \
     && wait_for 600 "confirmation of $V1" is_last confirmed "$V1"; then
    dt=$((SECONDS - T_PUB))
    [ "$dt" -le 900 ] && pass "publish -> confirmed on slot B in $dt s (floor 900 s)" || fail "publish -> confirmed took $dt s (floor 900 s)"
  else fail "good update not confirmed (phase $(phase), last: $(last_result))"; fi
  [ "$(slots_seen)" = "A B" ] && pass "slots booted: A then B" || fail "slots booted: [$(slots_seen)]"
  [ "$(booted)" = B ] && pass "RAUC: booted B" || fail "RAUC booted: $(booted)"
  root_is B "$V1"
  D=$(data_state); [ -n "$D" ] && [ "$D" = "$DATA0" ] && pass "catalog and footage intact across the update: $D" || fail "data changed: [$DATA0] -> [$D]"
  v=$(g "runuser -u motcua -- $M_G snapshots verify 2>&1" | tr '\n' ' '); if grep -qE '[0-9]+ chain entries, [1-9][0-9]* snapshots' <<<"$v" && ! grep -qiE 'PROBLEM|error|fail|mismatch' <<<"$v"; then pass "snapshots verify clean: $v"; else fail "snapshots verify: [$v]"; fi
  wait_for 300 "the hub sees $V1 on B" sh -c "sqlite3 '$H/hub.db' \"SELECT last_heartbeat FROM devices WHERE name='ota-1'\" | grep -q '\"slot\":\"B\"'" \
    && pass "the hub's record: $(device_update)" || fail "the hub's record: $(device_update)"
  screen after-update-B
fi

if [[ " $STEPS " == *" cuts "* ]]; then
  echo "== power cuts with $V2: during the install, then during the new slot's first boot"
  fast_poll
  FROM=$(booted); TO=$([ "$FROM" = A ] && echo B || echo A)
  publish "$V2" good2.raucb >/dev/null
  if wait_for 600 "the install of $V2 to start" is_phase installing; then
    # Cut while RAUC writes the slot, once its log says so (a tarball: "Extracting ... to";
    # an image: "writing data to device"), else after 60 s of installing.
    wait_for 60 "RAUC writing slot $TO" g "journalctl -u rauc -b --no-pager | grep -qiE 'Extracting .* to |writing data to device|(copying|writing) image'" || true
    rlog=$(g "journalctl -u rauc -b --no-pager -o cat | tail -4" 2>&1 | tr '\n' '|')
    info "RAUC's log before the cut: $rlog"
    sleep 5
    # Still writing when the power goes (no "Unmounting", no "updated slot" yet)?
    rnow=$(g "journalctl -u rauc -b --no-pager -o cat | tail -2" 2>&1 | tr '\n' '|')
    power_cut
    if grep -qiE 'Extracting .* to |writing data to device|(copying|writing) image' <<<"$rlog" && ! grep -qiE 'Unmounting|updated slot|succeeded' <<<"$rnow"; then
      pass "the power was cut while RAUC wrote slot $TO"
    else fail "the cut did not fall while RAUC wrote slot $TO (log: $rlog then $rnow)"; fi
  else fail "never saw the install start (phase $(phase))"; power_cut; fi
  start
  wait_for "$BOOT_TIMEOUT" "the daemon after the cut during install" daemon_up || true
  [ "$(slots_seen)" = "$FROM" ] && pass "cut during install: slot $FROM (the running one) booted" || fail "cut during install: slots [$(slots_seen)]"
  root_is "$FROM" "$V1"
  screen after-install-cut-$FROM
  if wait_for 900 "the reboot into $TO after the install was done again" slot_line_count 2; then
    sleep 25; power_cut
  else fail "no reboot into $TO after the cut (phase $(phase), last: $(last_result))"; power_cut; fi
  start
  if wait_for "$BOOT_TIMEOUT" "the daemon after the cut during the first boot" daemon_up \
     && wait_for 600 "confirmation of $V2" is_last confirmed "$V2"; then
    pass "cut during the first boot of $TO: booted $(slots_seen) again, $V2 confirmed"
  else fail "after the cut during the first boot: slots [$(slots_seen)], phase $(phase), last: $(last_result)"; fi
  [ "$(booted)" = "$TO" ] && pass "RAUC: booted $TO" || fail "RAUC booted: $(booted)"
  root_is "$TO" "$V2"
  D=$(data_state); [ -n "$D" ] && [ "$D" = "$DATA0" ] && pass "catalog and footage intact after the cuts" || fail "data changed: [$DATA0] -> [$D]"
  screen after-cuts-$TO
fi

if [[ " $STEPS " == *" broken "* ]]; then
  echo "== broken update $VB (the kiosk never draws): rolled back"
  fast_poll
  FROM=$(booted); TO=$([ "$FROM" = A ] && echo B || echo A)
  n0=$(tr -d '\r' < "$LOG" | grep -c '^MOTCUA_SLOT [AB] part' || true)
  publish "$VB" broken.raucb >/dev/null
  if wait_for 900 "the reboot into $TO" slot_line_count $((n0 + 1)); then
    wait_for "$BOOT_TIMEOUT" "SSH on the broken slot" g true || true
    sleep 30; screen broken-$TO
    info "on $TO: kiosk $(g 'systemctl is-active motcua-kiosk' 2>&1), phase $(phase)"
    root_is "$TO" "$VB"
  else fail "no reboot into $TO (phase $(phase), last: $(last_result))"; fi
  if wait_for $((CONFIRM_S + 600)) "the rollback reboot" slot_line_count $((n0 + 2)) \
     && wait_for "$BOOT_TIMEOUT" "the daemon after the rollback" daemon_up \
     && wait_for 300 "the failure recorded" is_last failed "$VB"; then
    pass "rolled back: slots $(slots_seen | tr ' ' '\n' | tail -3 | tr '\n' ' ')— $(last_result)"
  else fail "no rollback: slots [$(slots_seen)], phase $(phase), last: $(last_result)"; fi
  [ "$(booted)" = "$FROM" ] && pass "RAUC: booted $FROM again" || fail "RAUC booted: $(booted)"
  root_is "$FROM" "$V2"
  wait_for 300 "the hub hears of the failure" sh -c "sqlite3 '$H/hub.db' \"SELECT last_heartbeat FROM devices WHERE name='ota-1'\" | grep -q '\"result\":\"failed\"'" \
    && pass "the hub's record: $(device_update)" || fail "the hub's record: $(device_update)"
  D=$(data_state); [ -n "$D" ] && [ "$D" = "$DATA0" ] && pass "catalog and footage intact after the rollback" || fail "data changed: [$DATA0] -> [$D]"
  sleep 20; screen after-rollback-$FROM
fi

if [[ " $STEPS " == *" panic "* ]]; then
  echo "== kernel panic $VP (init exits): panic=10 reboots, U-Boot falls back"
  fast_poll
  FROM=$(booted); TO=$([ "$FROM" = A ] && echo B || echo A)
  n0=$(tr -d '\r' < "$LOG" | grep -c '^MOTCUA_SLOT [AB] part' || true)
  p0=$(tr -d '\r' < "$LOG" | grep -c 'Kernel panic - not syncing' || true)
  # since_publish: the U-Boot slot lines after the publish; back_on: the last of them is FROM
  since_publish() { slots_seen | tr ' ' '\n' | tail -n +$((n0 + 1)) | tr '\n' ' ' | sed 's/ $//'; }
  back_on() { local s; s=$(since_publish); [ -n "$s" ] && [ "${s##* }" = "$FROM" ]; }
  publish "$VP" panic.raucb >/dev/null
  if wait_for 1800 "the fall back to $FROM" back_on \
     && wait_for "$BOOT_TIMEOUT" "the daemon after the fall back" daemon_up; then
    seq=$(since_publish); tries=$(tr ' ' '\n' <<<"$seq" | grep -cx "$TO" || true)
    panics=$(( $(tr -d '\r' < "$LOG" | grep -c 'Kernel panic - not syncing' || true) - p0 ))
    info "slots after the publish: $seq; kernel panics: $panics ($(tr -d '\r' < "$LOG" | grep -m1 'Kernel panic - not syncing'))"
    want=""; for _ in $(seq "$tries"); do want="$want$TO "; done; want="$want$FROM"
    if [ "$tries" -ge 1 ] && [ "$seq" = "$want" ] && [ "$panics" -ge "$tries" ]; then
      pass "the kernel panicked on each of $TO's $tries tries and U-Boot booted $FROM"
    else fail "slots after the publish [$seq], $panics kernel panics"; fi
  else fail "no fall back to $FROM: slots after the publish [$(since_publish)], phase $(phase)"; fi
  [ "$(booted)" = "$FROM" ] && pass "RAUC: booted $FROM again" || fail "RAUC booted: $(booted)"
  root_is "$FROM" "$V2"
  wait_for 300 "the failure recorded" is_last failed "$VP" \
    && pass "the daemon on $FROM: $(last_result)" || fail "not recorded as failed: phase $(phase), last: $(last_result)"
  hub_failed() {
    local hb; hb=$(sqlite3 "$H/hub.db" "SELECT last_heartbeat FROM devices WHERE name='ota-1'")
    grep -q "\"version\":\"$VP\"" <<<"$hb" && grep -q '"result":"failed"' <<<"$hb"
  }
  wait_for 300 "the hub hears of the failure" hub_failed \
    && pass "the hub's record: $(device_update)" || fail "the hub's record: $(device_update)"
  D=$(data_state); [ -n "$D" ] && [ "$D" = "$DATA0" ] && pass "catalog and footage intact after the panics" || fail "data changed: [$DATA0] -> [$D]"
  sleep 20; screen after-panic-$FROM
fi

if [[ " $STEPS " == *" hang "* ]]; then
  echo "== a hung kernel: the hardware watchdog, armed by systemd (RuntimeWatchdogSec), resets it"
  # QEMU's i6300esb stands in for the Pi's bcm2835-wdt: both are modules loaded by udev after
  # systemd has started, so this also shows systemd arms a watchdog that appears late.
  wd=$(g 'd=/sys/class/watchdog/watchdog0; echo $(cat $d/identity) $(cat $d/state) $(cat $d/timeout)' 2>&1 || true)
  info "watchdog0: $wd"
  [[ "$wd" == *" active 15" ]] && pass "systemd armed the hardware watchdog: $wd" || fail "watchdog0 not armed by systemd: [$wd]"
  FROM=$(booted)
  n0=$(tr -d '\r' < "$LOG" | grep -c '^MOTCUA_SLOT [AB] part' || true)
  # A panic that never reboots (kernel.panic=0) is a hung machine: nothing pings the watchdog.
  g 'echo 0 > /proc/sys/kernel/panic; echo 1 > /proc/sys/kernel/sysrq; nohup sh -c "sleep 2; echo c > /proc/sysrq-trigger" >/dev/null 2>&1 &' || true
  T_HANG=$SECONDS
  if wait_for 60 "the kernel to stop" sh -c "tr -d '\r' < '$LOG' | grep -q 'Kernel panic - not syncing: sysrq triggered crash'" \
     && wait_for 300 "the watchdog's reset" slot_line_count $((n0 + 1)); then
    pass "the watchdog reset the hung machine; U-Boot ran again $((SECONDS - T_HANG)) s after the hang"
  else fail "no reset after the hang: slot lines [$(slots_seen)]"; fi
  wait_for "$BOOT_TIMEOUT" "the daemon after the watchdog's reset" daemon_up || true
  [ "$(booted)" = "$FROM" ] && pass "RAUC: booted $FROM after the reset" || fail "RAUC booted: $(booted)"
  D=$(data_state); [ -n "$D" ] && [ "$D" = "$DATA0" ] && pass "catalog and footage intact after the hang" || fail "data changed: [$DATA0] -> [$D]"
  sleep 20; screen after-hang-$FROM
fi

info "doctor update: $(g 'motcua --config /etc/motcua/motcua.toml doctor 2>&1 | grep -i -A3 update | tr -s " " | tr "\n" "|"')"
info "rauc status: $(g 'rauc status --detailed --output-format=json' 2>&1 | tr -d '\n' | cut -c1-1500)"
g 'journalctl -b --no-pager -u motcua-daemon -u rauc | tail -200' > journal-last.txt 2>&1 || true
qmp '{"execute":"quit"}' >/dev/null 2>&1 || true
echo "== $fails failed"
[ "$fails" = 0 ]
