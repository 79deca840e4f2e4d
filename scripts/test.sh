#!/usr/bin/env bash
# Runs every check, failing fast: formatting, clippy (host crates, and the frontend on wasm32),
# cargo test (every crate; the backend's integration tests start the real server; the
# multi-instance suite runs two servers on one PostgreSQL database), the black-box suite again
# on PostgreSQL, the release frontend build, and the end-to-end tests (tests/e2e, node --test)
# against a backend this script starts on free loopback ports with a fresh database: once in
# REST mode, once in MVC mode, and once through nginx in front of two instances on PostgreSQL;
# then a smoke run of the benchmark (scripts/bench.sh --smoke) and a short run of every fuzz
# target (scripts/fuzz.sh --short).
#
# PostgreSQL (Debian's package, installed if missing) runs for the length of the script in a
# temporary directory on a free port (scripts/pg.sh); every test makes a database of its own.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# cluster.sh sources pg.sh, which sources setup.sh: each once.
# shellcheck source=scripts/cluster.sh
source "$ROOT/scripts/cluster.sh"

TEST_START=$SECONDS
STEPS_PASSED=0
CURRENT_STEP=
BACKEND_PID=
E2E_TMP=
PG_TMP=
FUZZ_BUILD_PID=
FUZZ_BUILD_LOG=

finish() {
  local rc=$?
  # Still building (no exit status yet): stopped with the rest.
  if [ -n "$FUZZ_BUILD_PID" ] && [ ! -f "$FUZZ_BUILD_LOG.rc" ]; then
    kill -- "-$FUZZ_BUILD_PID" 2>/dev/null || true
    wait "$FUZZ_BUILD_PID" 2>/dev/null || true
  fi
  if [ -n "$BACKEND_PID" ] && kill -0 "$BACKEND_PID" 2>/dev/null; then
    kill "$BACKEND_PID" 2>/dev/null || true
    wait "$BACKEND_PID" 2>/dev/null || true
  fi
  cluster_stop
  if [ -n "$E2E_TMP" ]; then
    rm -rf "$E2E_TMP"
  fi
  if [ -n "$PG_TMP" ]; then
    pg_stop "$PG_TMP/pg"
    rm -rf "$PG_TMP"
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
# The fuzz targets take the longest build of all (~9 min of both cores, cold) and share nothing
# with the other builds (their own flags and target dir), so they build from the start, in the
# background at the lowest priority (start_idle): on the cores the other steps leave idle (a
# test waiting on a server, a single-threaded link) rather than after them. The fuzzing step
# waits for it.
mkdir -p "$ROOT/fuzz/target/fuzz-logs"
FUZZ_BUILD_LOG="$ROOT/fuzz/target/fuzz-logs/build.log"
start_idle "$FUZZ_BUILD_LOG" "$ROOT/scripts/fuzz.sh" --short --build-only
FUZZ_BUILD_PID=$!
setup_test_tools
setup_postgres
setup_nginx
# The postgres user must reach the cluster's directory inside this one.
PG_TMP=$(mktemp -d)
chmod 711 "$PG_TMP"
TEST_POSTGRES_URL=$(pg_start "$PG_TMP/pg")
export TEST_POSTGRES_URL
ok "PostgreSQL for the tests: $TEST_POSTGRES_URL"

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
# The black-box suite (tests/api) runs on SQLite here; tests/multi on PostgreSQL.
step "cargo test" cargo test --locked --workspace
# The binary `cargo test --workspace` built, run again: selecting the one test target would
# change cargo's feature unification (the other crates' dev-dependencies drop out) and rebuild
# the whole dependency tree.
run_api_suite_on_postgres() {
  local binary
  binary=$(cargo test --locked --workspace --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "api" \
            and message.get("executable"):
        print(message["executable"])')
  if [ -z "$binary" ]; then
    fail "cargo built no api test binary"
    return 1
  fi
  (cd "$ROOT/backend" && TEST_DATABASE=postgres "$binary")
}
step "black-box suite on PostgreSQL (TEST_DATABASE=postgres cargo test --test api)" \
  run_api_suite_on_postgres
# The binary the e2e tests start is target/debug/backend, which `cargo test --workspace` built
# for the integration tests (CARGO_BIN_EXE_backend). `cargo build -p backend` would build it
# again, dependencies included, with the features unified without the dev-dependencies
# (112 s on this machine) for nothing.
[ -x "$ROOT/target/debug/backend" ] || {
  fail "cargo test built no target/debug/backend"
  exit 1
}

# --- end-to-end tests ------------------------------------------------------------------------
# start_backend MODE: the app's mode (rest or mvc, see README "REST or MVC").
start_backend() {
  local mode=$1 ports
  ports=$(free_ports 2)
  API_PORT=${ports% *}
  APP_PORT=${ports#* }
  E2E_API="http://127.0.0.1:$API_PORT"
  E2E_APP="http://127.0.0.1:$APP_PORT"
  E2E_TMP=$(mktemp -d)
  BACKEND_LOG="$ROOT/target/e2e-backend-$mode.log"
  note "backend ($mode mode): API $E2E_API, app $E2E_APP, database $E2E_TMP/test.db (log: target/e2e-backend-$mode.log)"
  # Registration by initial access token (RFC 7591 §3): the standards client registers one.
  "$ROOT/target/debug/backend" --demo --app-mode "$mode" --registration token \
    --api-addr "127.0.0.1:$API_PORT" --app-addr "127.0.0.1:$APP_PORT" \
    --issuer "$E2E_API" --app-url "$E2E_APP" \
    --database-url "sqlite://$E2E_TMP/test.db" --app-dir "$ROOT/dist" \
    >"$BACKEND_LOG" 2>&1 </dev/null &
  BACKEND_PID=$!
  wait_http "$E2E_API/.well-known/oauth-authorization-server" "$BACKEND_PID" "$BACKEND_LOG" ||
    return 1
  ok "backend answers on $E2E_API"
}

# run_e2e MODE [TEST FILE...]: the test files (all by default) against a backend in MODE. Each file
# skips itself unless E2E_MODE is the mode it is about. One file at a time: the labs move the
# server's clock and rotate its keys, which every other file would see.
run_e2e() {
  local mode=$1 rc=0
  shift
  start_backend "$mode" || return 1
  (cd "$ROOT/tests/e2e" && E2E_MODE="$mode" E2E_API="$E2E_API" E2E_APP="$E2E_APP" \
    CHROMIUM="$CHROMIUM" E2E_SCREENSHOTS="$ROOT/docs/screenshots" \
    timeout -k 10 600 node --test --test-concurrency=1 "$@") || rc=$?
  stop_backend "$rc" "end-to-end tests"
}

# stop_backend RC WHAT: stops the backend start_backend started; when RC (what WHAT returned) is
# not 0, says so with the end of the backend's log. Returns RC.
stop_backend() {
  local rc=$1
  if [ "$rc" -ne 0 ]; then
    fail "$2 failed; the end of the backend's log:"
    tail -n 40 "$BACKEND_LOG" >&2
  fi
  kill "$BACKEND_PID" 2>/dev/null || true
  wait "$BACKEND_PID" 2>/dev/null || true
  BACKEND_PID=
  return "$rc"
}

step "end-to-end tests, REST mode (node --test tests/e2e)" run_e2e rest
step "end-to-end tests, MVC mode (tests/e2e/mvc.test.mjs)" run_e2e mvc mvc.test.mjs

# run_postman: the Postman collection (postman/, README "Postman") with newman against a fresh
# demo, as a user who imported it would run it.
run_postman() {
  local rc=0
  start_backend rest || return 1
  (cd "$ROOT/tests/e2e" && timeout -k 10 300 ./node_modules/.bin/newman run \
    "$ROOT/postman/api-access.postman_collection.json" \
    --environment "$ROOT/postman/demo.postman_environment.json" \
    --env-var "base_url=$E2E_API" --env-var "app_url=$E2E_APP" \
    --color off --reporters cli) || rc=$?
  stop_backend "$rc" "the Postman collection"
}
step "Postman collection (newman, postman/)" run_postman

# run_e2e_cluster: the REST-mode suite through nginx, round-robin over two instances on one
# PostgreSQL database (scripts/cluster.sh): every page, token and API call may land on either.
run_e2e_cluster() {
  local ports rc=0 db_url dir
  ports=$(free_ports 2)
  dir="$ROOT/target/e2e-cluster"
  rm -rf "$dir"
  db_url="${TEST_POSTGRES_URL%/postgres}/e2e_cluster"
  "$(pg_bindir)/psql" "$TEST_POSTGRES_URL" -qc "CREATE DATABASE e2e_cluster" || return 1
  # With DPoP nonces required (RFC 9449 §8): a nonce one instance gives out is taken by the
  # other, and the standards client's DPoP test goes through use_dpop_nonce.
  CLUSTER_HOST=127.0.0.1 cluster_start "$ROOT/target/debug/backend" "$dir" "$db_url" \
    "${ports% *}" "${ports#* }" --dpop-nonce-required --registration token || return 1
  (cd "$ROOT/tests/e2e" && E2E_MODE=rest E2E_API="http://127.0.0.1:${ports% *}" \
    E2E_APP="http://127.0.0.1:${ports#* }" CHROMIUM="$CHROMIUM" timeout -k 10 600 node --test --test-concurrency=1) || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "end-to-end tests through the load balancer failed; the ends of the instances' logs:"
    tail -n 20 "$dir/instance-1.log" "$dir/instance-2.log" >&2
  fi
  local served
  served=$(awk '{print $NF}' "$dir/nginx-access.log" 2>/dev/null | sort | uniq -c | tr '\n' ' ')
  note "requests per instance: $served"
  [ "$rc" -ne 0 ] || cluster_metrics_check || rc=$?
  cluster_stop
  return "$rc"
}

# cluster_metrics_check: each instance's Prometheus scrape counts what that instance served
# (both served API calls; tokens were issued through the balancer), and the gauges read from the
# shared database agree.
cluster_metrics_check() {
  local url text total age issued=0 ages=()
  for url in "${CLUSTER_METRICS[@]}"; do
    text=$(curl -sf "$url") || { fail "no metrics at $url"; return 1; }
    # Token and API calls only: the start-up probe reached each instance directly.
    total=$(awk '/^http_requests_total\{origin="api",method="[A-Z]+",route="(\/token|\/api\/)/ {n += $NF}
      END {print n + 0}' <<<"$text")
    issued=$((issued + $(awk '/^oauth_tokens_issued_total\{/ {n += $NF} END {print n + 0}' <<<"$text")))
    age=$(awk '/^signing_key_age_seconds / {print int($NF / 60)}' <<<"$text")
    note "$url: $total token and API requests, current signing key $age min old"
    if [ "$total" -eq 0 ] || [ -z "$age" ]; then
      fail "the metrics at $url show no token or API request, or no signing key"
      return 1
    fi
    ages+=("$age")
  done
  note "tokens issued by both: $issued"
  if [ "$issued" -eq 0 ]; then
    fail "neither instance's metrics count a token issued"
    return 1
  fi
  # Minutes, read a moment apart: equal unless a minute ticked over in between.
  if [ $((ages[0] - ages[1])) -gt 1 ] || [ $((ages[1] - ages[0])) -gt 1 ]; then
    fail "the instances disagree about the shared signing key's age: ${ages[*]} min"
    return 1
  fi
}
step "end-to-end tests through nginx, two instances on PostgreSQL (scripts/cluster.sh)" run_e2e_cluster
# The benchmark's own code (wrk runs, the peer, the data-size and two-instance runs) with 1 s
# runs on the debug build: its figures mean nothing here, but it cannot rot.
step "benchmark smoke run (scripts/bench.sh --smoke)" \
  "$ROOT/scripts/bench.sh" --smoke --binary "$ROOT/target/debug/backend"
# Last: the only step that explores inputs nobody wrote down. Its build has been running in the
# background since the setup (see there).
run_fuzz() {
  local rc=0 start=$SECONDS
  idle_wait "building the fuzz targets" "$FUZZ_BUILD_PID" "$FUZZ_BUILD_LOG" || rc=$?
  FUZZ_BUILD_PID=
  [ "$rc" -eq 0 ] || return "$rc"
  note "the fuzz targets were built in the background ($(grep -a 'built .* in [0-9]* s' "$FUZZ_BUILD_LOG" |
    tail -n 1 | sed 's/.*built .* in \([0-9]*\) s.*/\1 s/'), $((SECONDS - start)) s of it waited for here)"
  "$ROOT/scripts/fuzz.sh" --short
}
step "fuzzing, 15 s per target (scripts/fuzz.sh --short)" run_fuzz

CURRENT_STEP=
printf '\nAll checks passed in %d s.\n' "$((SECONDS - TEST_START))"
echo "steps: $STEPS_PASSED passed, 0 failed"
