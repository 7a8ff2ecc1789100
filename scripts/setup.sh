#!/usr/bin/env bash
# Installs what building and testing motcua needs on a fresh Debian/Ubuntu machine:
# Debian packages (only the missing ones) and the Rust components. Safe to run again.
# Usage: scripts/setup.sh [--tests]   (--tests adds what the test suite needs)
set -euo pipefail

want_tests=0
[ "${1:-}" = "--tests" ] && want_tests=1

# Build: a C compiler for bundled SQLite, pkg-config, fontconfig (Slint asks it for fonts and
# panics when there is none, so at least one system font too), libclang for the v4l crate's
# bindgen (real cameras), cmake for libde265 (H.265 camera keyframes), which libde265-sys2
# builds from its embedded source with CMake.
pkgs=(build-essential pkg-config libfontconfig1-dev fonts-dejavu-core libclang-dev cmake curl ca-certificates)
if [ "$want_tests" = 1 ]; then
  # Real headless browser for the review UI tests; /usr/bin/time for the benchmarks;
  # Tesseract (Vietnamese) and zbar read printed tickets back in the printer tests; lighttpd
  # (HTTP snapshots, digest and basic auth) and GStreamer's RTSP server (MJPEG, H.264 from
  # x264enc in -ugly, H.265 from x265enc in -bad) play network cameras in the IP camera tests.
  pkgs+=(chromium chromium-driver time tesseract-ocr tesseract-ocr-vie zbar-tools lighttpd
         python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
         gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad)
  # The hub: a real PostgreSQL for its store tests (started by the tests themselves, as a
  # non-root user); Python venv for Schemathesis and npm for Redocly (scripts/api-conformance.sh).
  pkgs+=(postgresql python3-venv)
  command -v npx >/dev/null 2>&1 || pkgs+=(nodejs npm)
  # nasm (+ cmake): libjpeg-turbo (SIMD) built from source for the recorder bench's comparison
  # (the `turbojpeg` dev-dependency; never in the appliance). python3-venv: the export
  # verifier test installs `cryptography` into a venv when the system Python lacks it.
  pkgs+=(cmake nasm python3 python3-venv)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing the Rust toolchain with rustup" >&2
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >/dev/null
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy >/dev/null
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt >/dev/null
fi
