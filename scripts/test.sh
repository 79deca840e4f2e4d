#!/usr/bin/env bash
# Runs every check, failing fast: formatting, clippy (host crates, and the frontend on wasm32),
# cargo test (every crate; the backend's integration tests start the real server), the release
# frontend build, and the end-to-end tests (tests/e2e, node --test) against a backend this
# script starts on free loopback ports with a fresh database: once in REST mode, once in MVC mode;
# then a short run of every fuzz target (scripts/fuzz.sh --short).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh"

TEST_START=$SECONDS
STEPS_PASSED=0
CURRENT_STEP=
BACKEND_PID=
E2E_TMP=

finish() {
  local rc=$?
  if [ -n "$BACKEND_PID" ] && kill -0 "$BACKEND_PID" 2>/dev/null; then
    kill "$BACKEND_PID" 2>/dev/null || true
    wait "$BACKEND_PID" 2>/dev/null || true
  fi
  if [ -n "$E2E_TMP" ]; then
    rm -rf "$E2E_TMP"
  fi
  if [ "$rc" -ne 0 ]; then
    fail "test.sh failed at: ${CURRENT_STEP:-setup} (exit $rc, after $((SECONDS - TEST_START)) s)"
    echo "steps: $STEPS_PASSED passed, 1 failed"
  fi
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# step NAME CMD...: runs one check; its output goes to the terminal.
step() {
  local start=$SECONDS
  CURRENT_STEP=$1
  shift
  printf '\n=== %s\n' "$CURRENT_STEP"
  "$@"
  STEPS_PASSED=$((STEPS_PASSED + 1))
  ok "$CURRENT_STEP ($((SECONDS - start)) s)"
}

# --- setup -----------------------------------------------------------------------------------
CURRENT_STEP=setup
setup_build_tools
setup_test_tools

# --- static checks, the wasm build, unit/integration tests ----------------------------------
step "cargo fmt --check" cargo fmt --all -- --check
step "clippy (host crates)" cargo clippy --all-targets --locked -- -D warnings
# The release build first: the wasm clippy below then reuses its build scripts and proc-macros
# (same profile and target dir) instead of compiling them all again in the dev profile.
step "frontend build (trunk, release)" build_frontend --locked
step "clippy (frontend, wasm32)" \
  wasm_run cargo clippy -p frontend --target "$WASM_TARGET" --profile "$(frontend_release_profile)" \
  --locked -- -D warnings
# --workspace: also the frontend's pure-logic unit tests (JWT decoding, formatting), on the host.
step "cargo test" cargo test --locked --workspace
# The binary the e2e tests start; cargo test has built nearly all of it.
step "backend build (debug)" cargo build --locked -p backend

# --- end-to-end tests ------------------------------------------------------------------------
# Two distinct free loopback ports, both held open while picked.
free_ports() {
  node -e '
    const net = require("net");
    const a = net.createServer().listen(0, "127.0.0.1", () => {
      const b = net.createServer().listen(0, "127.0.0.1", () => {
        console.log(a.address().port, b.address().port);
        a.close(); b.close();
      });
    });'
}

# start_backend MODE: the app's mode (rest or mvc, see README "REST or MVC").
start_backend() {
  local mode=$1 ports
  ports=$(free_ports)
  API_PORT=${ports% *}
  APP_PORT=${ports#* }
  E2E_API="http://127.0.0.1:$API_PORT"
  E2E_APP="http://127.0.0.1:$APP_PORT"
  E2E_TMP=$(mktemp -d)
  BACKEND_LOG="$ROOT/target/e2e-backend-$mode.log"
  note "backend ($mode mode): API $E2E_API, app $E2E_APP, database $E2E_TMP/test.db (log: target/e2e-backend-$mode.log)"
  "$ROOT/target/debug/backend" --demo --app-mode "$mode" \
    --api-addr "127.0.0.1:$API_PORT" --app-addr "127.0.0.1:$APP_PORT" \
    --issuer "$E2E_API" --app-url "$E2E_APP" \
    --database-url "sqlite://$E2E_TMP/test.db" --app-dir "$ROOT/dist" \
    >"$BACKEND_LOG" 2>&1 </dev/null &
  BACKEND_PID=$!

  local deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null "$E2E_API/.well-known/oauth-authorization-server" 2>/dev/null; do
    if ! kill -0 "$BACKEND_PID" 2>/dev/null; then
      fail "the backend exited before it answered; the end of its log:"
      tail -n 40 "$BACKEND_LOG" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "the backend did not answer on $E2E_API within 60 s; the end of its log:"
      tail -n 40 "$BACKEND_LOG" >&2
      return 1
    fi
    sleep 0.2
  done
  ok "backend answers on $E2E_API"
}

# run_e2e MODE [TEST FILE...]: the test files (all by default) against a backend in MODE. Each file
# skips itself unless E2E_MODE is the mode it is about.
run_e2e() {
  local mode=$1 rc=0
  shift
  start_backend "$mode" || return 1
  (cd "$ROOT/tests/e2e" && E2E_MODE="$mode" E2E_API="$E2E_API" E2E_APP="$E2E_APP" \
    CHROMIUM="$CHROMIUM" timeout -k 10 600 node --test "$@") || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "end-to-end tests failed; the end of the backend's log:"
    tail -n 40 "$BACKEND_LOG" >&2
  fi
  kill "$BACKEND_PID" 2>/dev/null || true
  wait "$BACKEND_PID" 2>/dev/null || true
  BACKEND_PID=
  return "$rc"
}

step "end-to-end tests, REST mode (node --test tests/e2e)" run_e2e rest
step "end-to-end tests, MVC mode (tests/e2e/mvc.test.mjs)" run_e2e mvc mvc.test.mjs
# Last: the longest step (building the fuzz targets, cold, takes ~6 min), and the only one that
# explores inputs nobody wrote down.
step "fuzzing, 15 s per target (scripts/fuzz.sh --short)" "$ROOT/scripts/fuzz.sh" --short

CURRENT_STEP=
printf '\nAll checks passed in %d s.\n' "$((SECONDS - TEST_START))"
echo "steps: $STEPS_PASSED passed, 0 failed"
