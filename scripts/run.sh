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

# The backend builds from the start, beside the tools and the frontend but at the lowest
# priority (start_idle): it takes the cores they leave idle (downloads, trunk's single-threaded
# LTO links, wasm-opt) and no more, so it does not slow them down (built side by side at the
# same priority, all of it took longer than one after the other).
start=$SECONDS
backend_log="$LOG_DIR/backend-build.log"
mkdir -p "$LOG_DIR"
note "building the backend in the background: cargo build --release -p backend (log: ${backend_log#"$ROOT/"})"
start_idle "$backend_log" cargo build --release -p backend
backend_build=$!
trap 'kill -- "-$backend_build" 2>/dev/null || true' EXIT

setup_build_tools
# shellcheck disable=SC2119 # build_frontend takes trunk arguments, not this script's
build_frontend

note "waiting for the backend build"
rc=0
idle_wait "building the backend" "$backend_build" "$backend_log" || rc=$?
trap - EXIT
[ "$rc" -eq 0 ] || exit "$rc"
ok "backend built ($(grep -a 'Finished' "$backend_log" | tail -n 1 | sed 's/^ *//'); $((SECONDS - start)) s since the start)"

mkdir -p data
note "starting: target/release/backend --demo $*"
# glibc: allocations over 128 KiB always get their own mapping, given back when freed. Without
# this, glibc raises the threshold after the first Argon2 hash (19 MiB of work memory per login)
# and keeps such blocks: 52 MB idle after the demo seeding instead of 13 MB (README, "How fast").
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
exec "$ROOT/target/release/backend" --demo "$@"
