#!/usr/bin/env bash
# Bounded fuzzing of the sans-I/O codecs: builds every cargo-fuzz target in this directory
# and runs each for FUZZ_SECONDS (default 60), one after another. Exits non-zero when any
# target crashes (a panic, a broken invariant, a sanitizer report, a timeout or running out
# of memory); the input that did it is left in fuzz/artifacts/<target>/.
#
#   fuzz/run.sh                  every target
#   fuzz/run.sh pg_startup ...   only these
#   FUZZ_SECONDS=600 fuzz/run.sh
#   FUZZ_SEED=1 FUZZ_RUNS=300000 fuzz/run.sh   a fixed number of inputs from a fixed seed
#                                            (what CI runs: the same inputs every time)
#
# cargo-fuzz needs nightly-only rustc flags; the pinned stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1. The corpus grows in fuzz/corpus/<target> (not checked in), seeded from
# fuzz/seeds/<target>. The scram target links the proxy's actors crate: the first build
# takes several minutes (about 6 on one core); naming other targets leaves it out.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")"

export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
cargo_fuzz_version=0.13.2

if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
# libfuzzer-sys compiles libFuzzer itself, which is C++.
if ! command -v c++ >/dev/null; then
  echo "fuzzing needs a C++ compiler for libFuzzer (Debian: apt-get install g++)" >&2
  exit 1
fi
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  cargo install --locked cargo-fuzz --version "$cargo_fuzz_version"
fi

# Longest input per target: enough for several messages or a full handshake, short enough
# that each run tries many.
max_len() {
  case "$1" in
    pg_frames | mysql_packets | mysql_exchange) echo 4096 ;;
    pg_startup | pg_messages | mysql_handshake) echo 1024 ;;
    *) echo 512 ;;
  esac
}

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
if [ "${#targets[@]}" -eq 0 ]; then
  echo "no fuzz targets found (cargo fuzz list)" >&2
  exit 1
fi

# Only the scram target needs the proxy's actors crate (its `scram` feature).
features=()
for t in "${targets[@]}"; do
  if [ "$t" = scram ]; then features=(--features scram); fi
done

echo "building ${#targets[@]} fuzz targets"
cargo fuzz build "${features[@]}"

mkdir -p artifacts/logs
failed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  seeds=()
  if [ -d "seeds/$t" ]; then seeds=("seeds/$t"); fi
  log="artifacts/logs/$t.log"
  echo "fuzzing $t for ${FUZZ_RUNS:+$FUZZ_RUNS runs, not }${FUZZ_SECONDS}s (max_len $(max_len "$t"))"
  limit=(-max_total_time="$FUZZ_SECONDS")
  if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS"); fi
  if [ -n "${FUZZ_SEED:-}" ]; then limit+=(-seed="$FUZZ_SEED"); fi
  if cargo fuzz run "${features[@]}" "$t" "corpus/$t" "${seeds[@]}" -- \
    "${limit[@]}" -max_len="$(max_len "$t")" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    # libFuzzer's own summary: "Done <runs> runs in <s> second(s)".
    echo "  $(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1 || echo 'no summary')"
  else
    echo "  $t FAILED; the end of $log:" >&2
    tail -n 60 "$log" >&2
    failed+=("$t")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz targets that crashed: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
  exit 1
fi
echo "fuzzing done: ${#targets[@]} targets, ${FUZZ_RUNS:-${FUZZ_SECONDS}s}${FUZZ_RUNS:+ runs} each, no crash"
