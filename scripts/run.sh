#!/usr/bin/env bash
# Builds everything and runs the demo: the API and authorization server on http://localhost:5000,
# the app on http://localhost:8080 (log in as user0 / password0), data in data/app.db.
# Extra arguments go to the backend, e.g. `scripts/run.sh --api-addr 0.0.0.0:5000`
# (`target/release/backend --help` lists them all).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh"

# The backend builds while the app's tools install and the app builds: on two cores each of
# those builds has long stretches on one core (a crate's last steps, a link, wasm-opt), which
# the backend's build fills. On a fresh 2-core machine the first run took 12 min 42 s with
# everything one after the other (README, "How fast").
command -v cargo >/dev/null 2>&1 || {
  fail "cargo not found: install Rust with rustup (https://rustup.rs)"
  exit 1
}
setup_wasm_toolchain
note "building the backend meanwhile: cargo build --release -p backend (log: target/setup-logs/backend-build.log)"
start=$SECONDS
cargo build --release -p backend >"$LOG_DIR/backend-build.log" 2>&1 </dev/null &
backend=$!
trap 'kill "$backend" 2>/dev/null || true' EXIT
setup_build_tools
# shellcheck disable=SC2119 # build_frontend takes trunk arguments, not this script's
build_frontend
if ! wait "$backend"; then
  fail "building the backend failed; the end of $LOG_DIR/backend-build.log:"
  tail -n 60 "$LOG_DIR/backend-build.log" >&2
  exit 1
fi
trap - EXIT
ok "backend built ($((SECONDS - start)) s since its build started)"

mkdir -p data
note "starting: target/release/backend --demo $*"
# glibc: allocations over 128 KiB always get their own mapping, given back when freed. Without
# this, glibc raises the threshold after the first Argon2 hash (19 MiB of work memory per login)
# and keeps such blocks: 52 MB idle after the demo seeding instead of 13 MB (README, "How fast").
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
exec "$ROOT/target/release/backend" --demo "$@"
