#!/bin/sh
# Build and run a fuzz target on the stable toolchain: libFuzzer via libfuzzer-sys,
# SanitizerCoverage through stable -C flags (no nightly, no cargo-fuzz needed; `cargo fuzz run
# -s none <target>` works too).
#   fuzz/run.sh jpeg_parse                  # until stopped; new inputs go to target/fuzz/corpus-<t>
#   fuzz/run.sh jpeg_parse -runs=10000000   # any libFuzzer flag after the target name
#   fuzz/run.sh thumbnail
# Seeds: fuzz/corpus/<target>/ (committed; `cargo test` replays them). The build goes under
# the repository's target/fuzz (no second target directory).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
t=${1:?usage: fuzz/run.sh jpeg_parse|thumbnail [libFuzzer flags]}
shift
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
cargo build --release --manifest-path "$here/Cargo.toml" --target "$host" \
  --target-dir "$here/../target/fuzz" --bin "$t"
work="$here/../target/fuzz/corpus-$t"
mkdir -p "$here/artifacts" "$work"
exec "$here/../target/fuzz/$host/release/$t" -artifact_prefix="$here/artifacts/" \
  -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@" "$work" "$here/corpus/$t"
