#!/usr/bin/env bash
# Load and soak test: the real backend binary, built in release mode, under steady mixed load
# (token issuance, logins with PKCE and refresh rotation, API reads and writes) for several
# minutes on loopback with a fresh database. Fails if any request fails, or if memory, file
# descriptors or database descriptors grow after the warm-up. The driver and its thresholds are
# in backend/tests/soak/main.rs.
#
#   scripts/soak.sh                 5 minutes
#   scripts/soak.sh --minutes 15    (SOAK_MINUTES=15 works too)
#
# Separate from scripts/test.sh: it takes minutes by design.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

minutes="${SOAK_MINUTES:-5}"
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes)
      minutes="${2:?--minutes needs a number}"
      shift 2
      ;;
    --minutes=*)
      minutes="${1#--minutes=}"
      shift
      ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $1 (try --help)" >&2
      exit 2
      ;;
  esac
done

# One release build of the server and the driver, in target/release: the server under test is
# target/release/backend, which this same command builds (the test finds it through
# CARGO_BIN_EXE_backend). The ignored test is the soak itself.
echo "==> building in release mode and running the soak for $minutes min"
SOAK_MINUTES="$minutes" cargo test --locked --release -p backend --test soak -- \
  --ignored --nocapture --test-threads=1
