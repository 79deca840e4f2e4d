#!/usr/bin/env bash
# Fuzzes the parsers and validators that see untrusted input (fuzz/fuzz_targets/*.rs), each for
# a fixed time, and prints per target: runs, execs/s, coverage, crashes. A crash (a panic, a
# failed property assertion, a hang over FUZZ_TIMEOUT seconds) makes it exit 1 and print the
# reproducer.
#
#   scripts/fuzz.sh                 every target 60 s
#   scripts/fuzz.sh --short         every target 15 s (a smoke run, built with 16 codegen units)
#   scripts/fuzz.sh 300 endpoints   one target 300 s (FUZZ_SECONDS=300 works too)
#   scripts/fuzz.sh --build-only    build the targets, run none (with --short: its build)
#
# Toolchain: the stable Rust of rustup. cargo-fuzz passes nightly-only flags to rustc (the
# sanitizer-coverage passes libFuzzer needs); RUSTC_BOOTSTRAP=1 lets stable accept them, so no
# nightly toolchain is needed. No sanitizer (`-s none`): the workspace forbids unsafe code, so
# AddressSanitizer would find nothing in our code and halve the speed; overflow checks and debug
# assertions are on (fuzz/Cargo.toml). Signatures are made and checked in AWS-LC's C code
# (aws-lc-rs, directly and through jsonwebtoken), built without coverage instrumentation: the
# targets exercise it, but neither guide the fuzzer inside it nor check its memory safety.
# libFuzzer is C++ and needs a C++ compiler (g++).
#
# Builds go to fuzz/target (never the workspace's target/). Corpora live in fuzz/corpus/<target>:
# the hand-written seed-* files are committed, what the fuzzer adds stays local (fuzz/.gitignore).
# Crash reproducers go to fuzz/artifacts/<target>/, logs to fuzz/target/fuzz-logs/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/fuzz"
CARGO_FUZZ_VERSION=0.13.2

seconds="${FUZZ_SECONDS:-60}"
# cargo-fuzz builds release targets with one codegen unit, so that ThinLTO can still inline
# across the coverage instrumentation (its authors saw about 3x the executions per second); a
# smoke run asks for 16 instead, for a shorter build on few cores (549 s against 587 s here,
# with no fewer executions per second in these targets' 15 s runs).
build_flags=(--sanitizer none)
targets=()
build_only=0
for arg in "$@"; do
  case "$arg" in
    --short)
      seconds=15
      build_flags+=(--codegen-units 16)
      ;;
    --build-only) build_only=1 ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *[!0-9]*) targets+=("$arg") ;;
    *) seconds=$arg ;;
  esac
done
# A unit slower than this is reported as a hang (a crash). The slowest honest input, a login
# with a password, costs one Argon2 run: tens of milliseconds.
timeout_secs="${FUZZ_TIMEOUT:-20}"

note() { printf '\033[1m==>\033[0m %s\n' "$*"; }

export PATH="$HOME/.cargo/bin:$PATH"
have=$(cargo fuzz --version 2>/dev/null | awk '{print $2}') || have=
if [ "$have" != "$CARGO_FUZZ_VERSION" ]; then
  note "installing cargo-fuzz $CARGO_FUZZ_VERSION${have:+ (found $have)}"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
command -v c++ >/dev/null 2>&1 || {
  echo "libFuzzer needs a C++ compiler: apt-get install g++" >&2
  exit 1
}

export RUSTC_BOOTSTRAP=1
cd "$FUZZ"
start=$SECONDS
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
  note "building the fuzz targets ($(rustc --version), into fuzz/target)"
  cargo fuzz build "${build_flags[@]}"
else
  note "building ${targets[*]} ($(rustc --version), into fuzz/target)"
  for t in "${targets[@]}"; do
    cargo fuzz build "${build_flags[@]}" "$t"
  done
fi
build_secs=$((SECONDS - start))
if [ "$build_only" = 1 ]; then
  note "built ${targets[*]} in $build_secs s"
  exit 0
fi
bin_dir="$FUZZ/target/$(rustc -vV | sed -n 's/^host: //p')/release"

# The targets that need a server state put its SQLite file here; RAM-backed when possible.
db_parent=/dev/shm
[ -d "$db_parent" ] && [ -w "$db_parent" ] || db_parent="${TMPDIR:-/tmp}"
db_dir=$(mktemp -d "$db_parent/backend-fuzz.XXXXXX")
trap 'rm -rf "$db_dir"' EXIT

mkdir -p "$FUZZ/target/fuzz-logs"
summary=()
crashed=0
for t in "${targets[@]}"; do
  log="$FUZZ/target/fuzz-logs/$t.log"
  mkdir -p "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
  note "fuzzing $t for $seconds s (log: fuzz/target/fuzz-logs/$t.log)"
  rc=0
  FUZZ_DB_DIR="$db_dir" "$bin_dir/$t" \
    -max_total_time="$seconds" -timeout="$timeout_secs" -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$FUZZ/artifacts/$t/" \
    "$FUZZ/corpus/$t" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  status=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")
  reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  if [ "$rc" -ne 0 ] || [ -n "$reproducer" ]; then
    crashed=1
    summary+=("$(printf '%-22s CRASH (exit %s) after %s runs' "$t" "$rc" "${runs:-?}")")
    echo "--- $t crashed; the end of its log:" >&2
    grep -v -E '^#[0-9]+' "$log" | tail -n 30 >&2
    if [ -n "$reproducer" ]; then
      echo "reproducer: $reproducer" >&2
      echo "rerun it:   (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none $t $reproducer)" >&2
    fi
  else
    summary+=("$(printf '%-22s %10s runs %8s exec/s   cov %6s  ft %6s  corpus %5s   crashes 0' \
      "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")")
  fi
done

echo
note "fuzz summary ($seconds s per target, build $build_secs s, total $((SECONDS - start)) s)"
printf '%s\n' "${summary[@]}"
if [ "$crashed" -ne 0 ]; then
  echo "fuzzing found a crash: see the reproducer above" >&2
  exit 1
fi
