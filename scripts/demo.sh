#!/usr/bin/env bash
# One command for a newcomer: install what is needed, build, and run `motcua demo`
# (the kiosk in a window on the embedded demo catalog with a queue that advances by itself).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked
exec target/release/motcua demo "$@"
