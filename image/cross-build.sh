#!/bin/bash
# cross-build.sh - build motcua for the Raspberry Pi (aarch64, profile release-pi) and,
# with DEB=1, package it with cargo-deb.
#
# Usage:  image/cross-build.sh            (from anywhere; as root the first time, to install)
# Env:    FEATURES=   cargo features; default: "--no-default-features --features kms,v4l2" when the
#                     package has a `kms` feature (the Pi kiosk: DRM/KMS + libinput; real cameras), else none
#         DEB=1       also build target/debian/motcua_*_arm64.deb
#         INSTALL=1   install missing tools (rustup target, gcc-aarch64-linux-gnu, arm64 -dev)
# Output: target/aarch64-unknown-linux-gnu/release-pi/motcua
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
TARGET=aarch64-unknown-linux-gnu
INSTALL=${INSTALL:-1}; DEB=${DEB:-0}

if [ "$INSTALL" = 1 ]; then
  rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
  need=()
  command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
  # OpenH264 (the `openh264` crate, H.264 camera keyframes) is C++ built from bundled source.
  command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
  # libde265 (the `libde265-rs` crate, H.265 camera keyframes) is C++ built with CMake from the
  # source its sys crate embeds.
  command -v cmake >/dev/null || need+=(cmake)
  command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
  # The kiosk's linuxkms backend links libudev, libinput, xkbcommon, fontconfig (arm64).
  for p in libudev-dev libinput-dev libxkbcommon-dev libfontconfig-dev; do
    dpkg -s "$p:arm64" >/dev/null 2>&1 || need+=("$p:arm64")
  done
  if [ ${#need[@]} -gt 0 ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
  fi
  if [ "$DEB" = 1 ] && ! command -v cargo-deb >/dev/null; then cargo install cargo-deb --locked; fi
fi

if [ -z "${FEATURES+x}" ]; then
  if grep -qE '^kms *=' Cargo.toml; then FEATURES="--no-default-features --features kms,v4l2"; else FEATURES=""; fi
fi
echo "== cargo build --profile release-pi --target $TARGET $FEATURES"
t=$SECONDS
# shellcheck disable=SC2086
cargo build --locked --profile release-pi --target "$TARGET" $FEATURES
BIN=target/$TARGET/release-pi/motcua
echo "built $BIN: $(stat -c %s "$BIN") bytes in $((SECONDS - t)) s"
file "$BIN" 2>/dev/null || true
if [ "$DEB" = 1 ]; then
  cargo deb --no-build --no-strip --target "$TARGET" --profile release-pi
  ls -l target/debian/*_arm64.deb
fi
