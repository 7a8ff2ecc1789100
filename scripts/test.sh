#!/usr/bin/env bash
# One command for every test: install what is needed, then formatting, lints and the tests.
# Longer suites run only when asked: MOTCUA_VM_TESTS=1 (QEMU hardware guest),
# MOTCUA_IMAGE_TESTS=1 (the .deb in a chroot; build and boot the Pi image).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
export PATH="$HOME/.cargo/bin:$PATH"

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo test"
cargo test --locked

# The hub's API against its OpenAPI description (Redocly lint, Schemathesis with every check;
# pinned versions, bounded examples, a real hub on loopback).
scripts/api-conformance.sh target/debug/motcua

# The A/B boot script's slot logic (tries, fallback, RAUC's switch, a torn state file) in
# Debian's qemu_arm64 U-Boot: about a minute, so on every run.
echo "== A/B boot script in U-Boot (QEMU)"
image/ab/uboot-check.sh
# Update bundles (image/bundle.sh) on small trees: every refusal, and what a good one holds.
echo "== update bundles"
image/ab/bundle-check.sh

if [ "${MOTCUA_VM_TESTS:-0}" = 1 ]; then
  echo "== real V4L2 cameras in a QEMU guest"
  tests/vm/run.sh
  echo "== real GPIO (rppal on a faked Pi + gpio-sim) in a QEMU guest"
  tests/vm/device.sh
fi
if [ "${MOTCUA_IMAGE_TESTS:-0}" = 1 ] && [ -x image/boot-test.sh ]; then
  echo "== the .deb installed, removed and purged in a fresh chroot (this machine's arch)"
  image/deb-test.sh
  echo "== image build and boot test"
  DEB=1 image/cross-build.sh && image/build.sh && image/boot-test.sh out/*.img.xz
  echo "== over-the-air updates: good, power cuts, broken, kernel panic, hang (QEMU, about 55 minutes)"
  image/ota-test.sh "$(ls -t out/*.img | head -1)"
fi
