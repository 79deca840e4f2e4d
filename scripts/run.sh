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

setup_build_tools
# shellcheck disable=SC2119 # build_frontend takes trunk arguments, not this script's
build_frontend

note "building the backend: cargo build --release -p backend"
start=$SECONDS
cargo build --release -p backend
ok "backend built in $((SECONDS - start)) s"

mkdir -p data
note "starting: target/release/backend --demo $*"
# glibc: allocations over 128 KiB always get their own mapping, given back when freed. Without
# this, glibc raises the threshold after the first Argon2 hash (19 MiB of work memory per login)
# and keeps such blocks: 52 MB idle after the demo seeding instead of 13 MB (README, "How fast").
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
exec "$ROOT/target/release/backend" --demo "$@"
