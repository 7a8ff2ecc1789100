#!/usr/bin/env bash
# Installs what building and testing motcua needs on a fresh Debian/Ubuntu machine:
# Debian packages (only the missing ones) and the Rust components. Safe to run again.
# Usage: scripts/setup.sh [--tests]   (--tests adds what the test suite needs)
set -euo pipefail

want_tests=0
[ "${1:-}" = "--tests" ] && want_tests=1

# Build: a C compiler for bundled SQLite, pkg-config, fontconfig (Slint asks it for fonts and
# panics when there is none, so at least one system font too), libclang for the v4l crate's
# bindgen (real cameras).
pkgs=(build-essential pkg-config libfontconfig1-dev fonts-dejavu-core libclang-dev curl ca-certificates)
if [ "$want_tests" = 1 ]; then
  # Real headless browser for the review UI tests; /usr/bin/time for the benchmarks.
  pkgs+=(chromium chromium-driver time)
  # cmake + nasm: libjpeg-turbo (SIMD) built from source for the recorder bench's comparison
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
