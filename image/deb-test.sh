#!/bin/bash
# deb-test.sh - install, check, remove and purge the motcua .deb in a fresh Debian chroot
# (amd64 on an amd64 build machine: the package is the same but for the binary), with apt
# resolving its dependencies from the archive like on a stock system.
#
# Usage:  image/deb-test.sh [WORKDIR]        (as root; default WORKDIR=./debtest)
# Env:    DEB=path/to/motcua_*.deb   default: build it with `cargo deb` (release, host features)
#         SUITE=<this machine's>     MIRROR=http://deb.debian.org/debian   INSTALL=1
#         ARCH=<this machine's>      e.g. ARCH=arm64 with the Pi's .deb (runs under qemu-user
#                                    binfmt, as in image/build.sh)
# Output: PASS/FAIL lines; exit 0 when every check passed. Needs mmdebstrap (installed if missing).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
W=$(readlink -f "${1:-./debtest}")
SUITE=${SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}
ARCH=${ARCH:-$(dpkg --print-architecture)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || { echo "must run as root (chroot)" >&2; exit 1; }
if [ "${INSTALL:-1}" = 1 ]; then
  command -v mmdebstrap >/dev/null || { apt-get update -q; DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap; }
  command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
fi
if [ -z "${DEB:-}" ]; then
  echo "== cargo deb (release, $(uname -m))"
  cargo deb --locked >/dev/null
  DEB=$(ls -t target/debian/motcua_*_"$ARCH".deb | head -1)
fi
DEB=$(readlink -f "$DEB")
echo "== $DEB ($(stat -c %s "$DEB") bytes), Depends: $(dpkg-deb -f "$DEB" Depends)"

R="$W/root"; rm -rf "$R"; mkdir -p "$W"
t=$SECONDS
mmdebstrap --quiet --architectures="$ARCH" --variant=apt --include=systemd,udev,ca-certificates "$SUITE" "$R" "$MIRROR" 2>&1 | tail -3
echo "== chroot ($SUITE $ARCH, $(du -sm "$R" | cut -f1) MiB) in $((SECONDS - t)) s"
cleanup() { for m in proc dev; do umount -l "$R/$m" 2>/dev/null || true; done; }
trap cleanup EXIT
mount -t proc proc "$R/proc"; mount --bind /dev "$R/dev"
inroot() { chroot "$R" "$@"; }

fails=0
ok() { if eval "$2" >/dev/null 2>&1; then echo "PASS  $1"; else echo "FAIL  $1   ($2)"; fails=$((fails + 1)); fi; }

cp "$DEB" "$R/tmp/motcua.deb"
inroot apt-get update -q > "$W/update.log" 2>&1 || { echo "FAIL  apt-get update in the chroot"; tail -5 "$W/update.log"; exit 1; }
if inroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/motcua.deb > "$W/install.log" 2>&1; then
  echo "PASS  apt-get install resolves the dependencies and configures the package"
else
  echo "FAIL  apt-get install (see $W/install.log)"; tail -20 "$W/install.log"; exit 1
fi
ok "motcua runs"                                   'inroot motcua --version'
ok "users motcua and motcua-kiosk"                 'inroot getent passwd motcua && inroot getent passwd motcua-kiosk'
ok "kiosk user is not in group motcua"             '! inroot id -nG motcua-kiosk | tr " " "\n" | grep -qx motcua'
ok "default config installed and accepted"         'inroot motcua --config /etc/motcua/motcua.toml --data-dir /var/lib/motcua catalog stats'
ok "secrets dir 0750 root:motcua"                  '[ "$(inroot stat -c %a:%U:%G /etc/motcua/secrets)" = 750:root:motcua ]'
ok "footage dir 0750 motcua:motcua"                '[ "$(inroot stat -c %a:%U:%G /var/lib/motcua/footage)" = 750:motcua:motcua ]'
ok "daemon user in the kiosk's group (its socket)"  'inroot id -nG motcua | tr " " "\n" | grep -qx motcua-kiosk'
ok "units enabled"                                 'inroot systemctl is-enabled motcua-daemon.service motcua-kiosk.service motcua-firstboot.service'
ok "backlight udev rule installed"                 '[ -f "$R/usr/lib/udev/rules.d/70-motcua-backlight.rules" ]'
ok "units pass systemd-analyze verify"             'inroot systemd-analyze verify /usr/lib/systemd/system/motcua-daemon.service /usr/lib/systemd/system/motcua-kiosk.service'
echo "INFO  exposure: $(inroot systemd-analyze security --offline=true /usr/lib/systemd/system/motcua-daemon.service 2>/dev/null | tail -1)"

# Data written while installed must survive remove and purge (footage is evidence).
cp tests/fixtures/small-catalog.json "$R/tmp/catalog.json"
ok "a catalog imports into /var/lib/motcua"        'inroot runuser -u motcua -- motcua --config /etc/motcua/motcua.toml --data-dir /var/lib/motcua catalog import /tmp/catalog.json'
echo "keep" > "$R/var/lib/motcua/footage/keep-me"
if inroot env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q motcua > "$W/remove.log" 2>&1; then
  echo "PASS  apt-get remove"; else echo "FAIL  apt-get remove (see $W/remove.log)"; fails=$((fails + 1)); fi
ok "binary gone"                                   '[ ! -e "$R/usr/bin/motcua" ]'
ok "units disabled"                                '[ -z "$(find "$R/etc/systemd/system" -name "motcua-*" 2>/dev/null)" ]'
ok "config kept on remove"                         '[ -f "$R/etc/motcua/motcua.toml" ]'
if inroot env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q motcua > "$W/purge.log" 2>&1; then
  echo "PASS  apt-get purge"; else echo "FAIL  apt-get purge (see $W/purge.log)"; fails=$((fails + 1)); fi
ok "config and secrets gone on purge"              '[ ! -e "$R/etc/motcua" ]'
ok "data kept on purge (footage is evidence)"      '[ -f "$R/var/lib/motcua/footage/keep-me" ] && [ -f "$R/var/lib/motcua/catalog.db" ]'
ok "dpkg no longer knows the package"              '! inroot dpkg -s motcua'
echo "== $fails failed"
[ "$fails" = 0 ]
