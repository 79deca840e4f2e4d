#!/usr/bin/env bash
# The benchmark of issue 13: the release build beside a peer, with one load generator (wrk, one
# thread, 32 connections) on this machine, printed as ratios from the same run (these machines
# are noisy: compare ratios, not absolute figures from different runs).
#
#   scripts/bench.sh                    every figure, 10 s per load run (about 6 minutes)
#   scripts/bench.sh --duration 30      longer runs
#   scripts/bench.sh --smoke            1 s runs, small data, the debug build: checks that the
#                                       benchmark itself works (scripts/test.sh runs this)
#   scripts/bench.sh --binary PATH      another build of the backend (say, the previous commit's)
#   scripts/bench.sh --first-run        also time the README's run command on a fresh clone of
#                                       this commit with an empty cargo home and npm cache (no
#                                       crate downloaded, no tool installed; about 10 minutes more)
#
# What it prints:
#   P1  GET /api/hello with a valid Bearer JWT vs the same handler without one (authentication
#       cost); /api/whoami and /api/products with the JWT beside them
#   P2  client-credentials tokens/s (client_secret_basic) vs node-oidc-provider 9 configured
#       alike (tests/bench/peer.mjs: ES256 JWT access tokens, one confidential client, memory)
#   P3  resident memory, idle and at the end of the token load, vs the peer's
#   P4  the first page load as a browser accepting br and gzip receives it (dist/ must be built)
#   P5  token issuance and API reads with 1k and with 1M stored orders, grants and events, on
#       SQLite and on PostgreSQL
#   P6  two instances on PostgreSQL behind nginx vs one instance on the same database
#   and, with --first-run, the seconds from the run command to the app answering,
# with p50/p99 latencies. Not part of scripts/test.sh (it is long), which runs --smoke instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/cluster.sh
source "$ROOT/scripts/cluster.sh"

DURATION=10
SMOKE=0
FIRST_RUN=0
FIRST_RUN_SECS=
FIRST_RUN_GROUP=
BINARY=
BIG_ROWS=1000000
SMALL_ROWS=1000
CONNECTIONS=32
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="${2:?--duration needs seconds}"; shift 2 ;;
    --duration=*) DURATION="${1#--duration=}"; shift ;;
    --binary) BINARY="${2:?--binary needs a path}"; shift 2 ;;
    --binary=*) BINARY="${1#--binary=}"; shift ;;
    --smoke) SMOKE=1; shift ;;
    --first-run) FIRST_RUN=1; shift ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$SMOKE" = 1 ]; then
  DURATION=1
  BIG_ROWS=2000
  SMALL_ROWS=100
  CONNECTIONS=4
fi

BENCH_TMP=
PIDS=()
finish() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  stop_first_run
  cluster_stop
  if [ -n "$BENCH_TMP" ]; then
    pg_stop "$BENCH_TMP/pg"
    rm -rf "$BENCH_TMP"
  fi
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- setup -----------------------------------------------------------------------------------
need_node
if ! command -v wrk >/dev/null 2>&1; then
  can_apt || { fail "wrk is needed (Debian/Ubuntu: apt-get install wrk)"; exit 1; }
  apt_install wrk
fi
setup_postgres
setup_nginx
if [ ! -d "$ROOT/tests/bench/node_modules/oidc-provider" ]; then
  note "installing the peer (node-oidc-provider) in tests/bench"
  (cd "$ROOT/tests/bench" && run_logged npm-bench npm ci --no-audit --no-fund)
fi
if [ -z "$BINARY" ]; then
  if [ "$SMOKE" = 1 ]; then
    cargo build --locked -p backend
    BINARY="$ROOT/target/debug/backend"
  else
    note "building the backend in release mode"
    cargo build --locked --release -p backend
    BINARY="$ROOT/target/release/backend"
  fi
fi
BENCH_TMP=$(mktemp -d)
chmod 711 "$BENCH_TMP"
export RUST_LOG=warn
# As scripts/run.sh starts the server (see there).
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"

# --- first run -------------------------------------------------------------------------------
# The README's run command as a newcomer meets it: a fresh clone of this commit, an empty cargo
# home (every crate downloaded, trunk and wasm-bindgen built again) and an empty npm cache. What
# stays is what the machines come with: the Rust toolchain (rustup) and Debian's packages. Timed
# from the command to the app answering on its port, before the load runs (the machine idle).
first_run() {
  local dir="$BENCH_TMP/first-run" tool path ports api app pid start
  note "first run: scripts/run.sh on a fresh clone with an empty cargo home (log: $dir/run.log)"
  mkdir -p "$dir/cargo-home/bin"
  git clone -q "$ROOT" "$dir/clone"
  for tool in cargo rustc rustdoc rustup rustfmt cargo-fmt cargo-clippy clippy-driver; do
    if [ -e "$CARGO_BIN/$tool" ]; then ln -s "$CARGO_BIN/$tool" "$dir/cargo-home/bin/$tool"; fi
  done
  # The machine's cargo settings (a registry mirror, say) stay; its downloads do not.
  for tool in config.toml config; do
    if [ -f "$CARGO_BIN/../$tool" ]; then cp "$CARGO_BIN/../$tool" "$dir/cargo-home/$tool"; fi
  done
  # Without the tools the usual cargo home holds (trunk, wasm-bindgen).
  path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$CARGO_BIN" | paste -sd:)
  ports=$(free_ports 2)
  api=${ports% *}
  app=${ports#* }
  start=$SECONDS
  # In a process group of its own, so that stopping it stops cargo and trunk too.
  setsid bash -c '
    cd "$1/clone"
    export CARGO_HOME="$1/cargo-home" PATH="$1/cargo-home/bin:$2" npm_config_cache="$1/npm-cache"
    exec scripts/run.sh --api-addr "127.0.0.1:$3" --app-addr "127.0.0.1:$4" \
      --issuer "http://127.0.0.1:$3" --app-url "http://127.0.0.1:$4"
  ' first-run "$dir" "$path" "$api" "$app" >"$dir/run.log" 2>&1 &
  pid=$!
  FIRST_RUN_GROUP=$pid
  until curl -fsS -o /dev/null "http://127.0.0.1:$app/" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      fail "the first run stopped before the app answered; the end of $dir/run.log:"
      tail -20 "$dir/run.log" >&2
      return 1
    fi
    if [ $((SECONDS - start)) -gt 3600 ]; then
      fail "the first run took more than an hour; see $dir/run.log"
      return 1
    fi
    sleep 1
  done
  FIRST_RUN_SECS=$((SECONDS - start))
  ok "first run: the app answered $FIRST_RUN_SECS s after the run command started"
  stop_first_run
  rm -rf "$dir"
}
stop_first_run() {
  if [ -n "$FIRST_RUN_GROUP" ]; then
    kill -- "-$FIRST_RUN_GROUP" 2>/dev/null || true
    wait "$FIRST_RUN_GROUP" 2>/dev/null || true
    FIRST_RUN_GROUP=
  fi
}
if [ "$FIRST_RUN" = 1 ]; then
  first_run
fi

# --- helpers ---------------------------------------------------------------------------------
# The figures of each run: NAME -> "req/s p50_ms p99_ms".
declare -A RESULT

# load NAME URL [wrk args...]: one wrk run; fails if any answer was not 2xx or a socket failed.
load() {
  local name=$1 url=$2 out rps p50 p99 bad
  shift 2
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" 2>&1) || {
    fail "$name: wrk failed"
    echo "$out" >&2
    return 1
  }
  echo "$out" >"$BENCH_TMP/wrk-$name.txt"
  bad=$(echo "$out" | awk '/Non-2xx or 3xx responses/ { print $NF }')
  if [ -n "$bad" ]; then
    fail "$name: $bad answers were not 2xx (wrk's output: $BENCH_TMP/wrk-$name.txt)"
    echo "$out" >&2
    return 1
  fi
  if echo "$out" | grep -q 'Socket errors'; then
    fail "$name: socket errors"
    echo "$out" >&2
    return 1
  fi
  rps=$(echo "$out" | awk '/^Requests\/sec:/ { printf "%.0f", $2 }')
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }' | to_ms)
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }' | to_ms)
  if [ -z "$rps" ] || [ "$rps" = 0 ]; then
    fail "$name: no request completed"
    echo "$out" >&2
    return 1
  fi
  RESULT[$name]="$rps $p50 $p99"
  printf '  %-34s %8s req/s   p50 %7s ms   p99 %7s ms\n' "$name" "$rps" "$p50" "$p99"
}

# wrk's latencies (1.23ms, 456.78us, 1.02s) in milliseconds.
to_ms() {
  awk '{ v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
         if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000;
         printf "%.2f", v }'
}

rps() { echo "${RESULT[$1]}" | awk '{ print $1 }'; }
ratio() { awk -v a="$(rps "$1")" -v b="$(rps "$2")" 'BEGIN { printf "%.2f", a / b }'; }

# rss_kb PID: resident memory now; anon_kb PID: the part of it that is not mapped from a file
# (heap, stacks: the rest is mostly the program's code, shared and given back under pressure).
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }

# start_backend NAME DATABASE_URL: one instance with the demo data on free ports; sets API.
start_backend() {
  local name=$1 url=$2 port
  port=$(free_ports 2)
  API="http://127.0.0.1:${port% *}"
  APP="http://127.0.0.1:${port#* }"
  "$BINARY" --demo --database-url "$url" --api-addr "127.0.0.1:${port% *}" \
    --app-addr "127.0.0.1:${port#* }" --issuer "$API" --app-url "$APP" --app-dir "$ROOT/dist" \
    >"$BENCH_TMP/$name.log" 2>&1 </dev/null &
  BACKEND_PID=$!
  PIDS+=("$BACKEND_PID")
  wait_http "$API/.well-known/oauth-authorization-server" "$BACKEND_PID" "$BENCH_TMP/$name.log"
}

stop_backend() {
  kill "$BACKEND_PID" 2>/dev/null || true
  wait "$BACKEND_PID" 2>/dev/null || true
  local kept=() pid
  for pid in "${PIDS[@]}"; do
    [ "$pid" = "$BACKEND_PID" ] || kept+=("$pid")
  done
  PIDS=("${kept[@]}")
}

# client_token BASE: a client-credentials access token of demo-service.
client_token() {
  curl -fsS -u demo-service:demo-service-secret -d grant_type=client_credentials \
    -d scope=products:read "$1/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}

BASIC="Basic $(printf 'demo-service:demo-service-secret' | base64 -w0)"
cat >"$BENCH_TMP/token.lua" <<EOF
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=products%3Aread"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "$BASIC"
EOF

# api_runs PREFIX BASE: the API and token runs against one server (or balancer).
api_runs() {
  local prefix=$1 base=$2 token
  token=$(client_token "$base")
  load "$prefix hello anonymous" "$base/api/hello"
  load "$prefix hello Bearer" "$base/api/hello" -H "Authorization: Bearer $token"
  load "$prefix whoami Bearer" "$base/api/whoami" -H "Authorization: Bearer $token"
  load "$prefix products Bearer" "$base/api/products" -H "Authorization: Bearer $token"
  load "$prefix tokens" "$base/token" -s "$BENCH_TMP/token.lua"
}

# --- P1, P2, P3: one instance on SQLite beside the peer ---------------------------------------
echo
note "P1-P3: the backend ($BINARY) on SQLite, and node-oidc-provider"
start_backend sqlite "sqlite://$BENCH_TMP/bench.db"
sleep 1
# After the demo seeding, which hashed three passwords with Argon2 (19 MiB each).
IDLE_KB=$(rss_kb "$BACKEND_PID")
IDLE_ANON_KB=$(anon_kb "$BACKEND_PID")
# P4: the first page as a browser accepting br and gzip receives it: index.html and what it
# names (trunk's script, wasm and style), bytes on the wire.
# The inspector and the console are bundles of their own (shared/src/bundle.rs), loaded when one
# of their pages is opened: reported beside it.
# page_load PAGE INDEX: the bytes of PAGE and of what its INDEX (a dist/ file) names.
page_load() {
  local total=0 path bytes
  for path in "$1" $(grep -oE '(href|src)="/[^"]+\.(js|wasm|css)"' "$2" |
    sed -E 's/^[a-z]+="//; s/"$//' | sort -u); do
    # In a command substitution, where `set -e` does not stop the script: fail by hand.
    bytes=$(curl -fsS -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: br, gzip' "$APP$path") ||
      return 1
    total=$((total + bytes))
  done
  echo "$total"
}
FIRST_LOAD_BYTES= INSPECTOR_LOAD_BYTES= CONSOLE_LOAD_BYTES=
if [ -f "$ROOT/dist/index.html" ]; then
  FIRST_LOAD_BYTES=$(page_load / "$ROOT/dist/index.html") || { fail "the first page did not load"; exit 1; }
fi
if [ -f "$ROOT/dist/inspect/index.html" ]; then
  INSPECTOR_LOAD_BYTES=$(page_load /token "$ROOT/dist/inspect/index.html") ||
    { fail "the inspector did not load"; exit 1; }
fi
if [ -f "$ROOT/dist/admin/index.html" ]; then
  CONSOLE_LOAD_BYTES=$(page_load /admin/ "$ROOT/dist/admin/index.html") ||
    { fail "the console did not load"; exit 1; }
fi
api_runs one "$API"
LOADED_KB=$(rss_kb "$BACKEND_PID")
LOADED_ANON_KB=$(anon_kb "$BACKEND_PID")
stop_backend

PEER_PORT=$(free_ports 1)
node "$ROOT/tests/bench/peer.mjs" "$PEER_PORT" >"$BENCH_TMP/peer.log" 2>&1 </dev/null &
PEER_PID=$!
PIDS+=("$PEER_PID")
wait_http "http://127.0.0.1:$PEER_PORT/.well-known/openid-configuration" "$PEER_PID" "$BENCH_TMP/peer.log"
# The peer's first tokens compile its code paths (V8): as for the backend, a short warm-up.
token=$(client_token "http://127.0.0.1:$PEER_PORT")
[ -n "$token" ] || { fail "the peer issued no token"; exit 1; }
PEER_IDLE_KB=$(rss_kb "$PEER_PID")
PEER_IDLE_ANON_KB=$(anon_kb "$PEER_PID")
load "peer tokens" "http://127.0.0.1:$PEER_PORT/token" -s "$BENCH_TMP/token.lua"
PEER_LOADED_KB=$(rss_kb "$PEER_PID")
PEER_LOADED_ANON_KB=$(anon_kb "$PEER_PID")
kill "$PEER_PID" 2>/dev/null || true

# --- P5: data size, on both databases; P6: two instances on PostgreSQL ------------------------
echo
note "PostgreSQL for P5 and P6"
PG_URL=$(pg_start "$BENCH_TMP/pg")
PSQL="$(pg_bindir)/psql"

# fill_sql ROWS SERIES: the inserts of `fill`, with x running over SERIES.
# fill ENGINE URL ROWS: ROWS orders (other owners), grants (revoked and live, with refresh
# tokens) and security events, written straight into the database of a stopped server.
fill_sql() {
  local rows=$1 series=$2
  cat <<EOF
INSERT INTO orders (owner, client_id, product_id, quantity, unit_price_cents, created_at)
  SELECT 'usr_bench_' || (x % 5000), 'demo-spa', 1 + (x % 14), 1, 100, 1700000000 + x FROM $series;
INSERT INTO grants (id, client_id, user_id, scope, auth_time, created_at, expires_at, revoked_at)
  SELECT 'grant-bench-' || x, 'demo-spa', 'usr_bench_' || (x % 5000), 'openid', 1700000000,
         1700000000, 1700000000 + x, CASE WHEN x % 2 = 0 THEN 1700000000 END FROM $series;
INSERT INTO refresh_tokens (token_hash, grant_id, scope, created_at, expires_at)
  SELECT 'hash-bench-' || x, 'grant-bench-' || x, 'openid', 1700000000, 1700000000 + x FROM $series;
INSERT INTO security_events (at, kind, client_id, user_id, address, detail)
  SELECT 1700000000 + x, 'token_issued', 'demo-spa', 'usr_bench_' || (x % 5000), '127.0.0.1', ''
  FROM $series;
EOF
}

fill() {
  local engine=$1 url=$2 rows=$3
  case "$engine" in
    sqlite)
      python3 - "${url#sqlite://}" "$(fill_sql "$rows" "temp.series")" "$rows" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TEMP TABLE series AS WITH RECURSIVE s(x) AS "
           f"(SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {int(sys.argv[3])}) SELECT x FROM s")
db.executescript("BEGIN;" + sys.argv[2] + "COMMIT;")
db.close()
EOF
      ;;
    postgres)
      fill_sql "$rows" "generate_series(1, $rows) AS x" |
        as_pg "$PSQL" -q -v ON_ERROR_STOP=1 "$url" >/dev/null
      as_pg "$PSQL" -q -c 'VACUUM ANALYZE' "$url" >/dev/null
      ;;
  esac
}

# size_run ENGINE ROWS: a fresh database with ROWS of each, then issuance and API reads.
size_run() {
  local engine=$1 rows=$2 url api_token
  case "$engine" in
    sqlite) url="sqlite://$BENCH_TMP/size-$rows.db" ;;
    postgres) url=$(pg_new_database "size_$rows") ;;
  esac
  # The first start migrates and seeds; the rows go in while no server runs.
  start_backend "size-$engine-$rows" "$url"
  stop_backend
  fill "$engine" "$url" "$rows"
  api_token=$("$BINARY" --database-url "$url" tokens create --user user0 --name bench \
    --scope "orders:read" 2>/dev/null | head -n 1)
  start_backend "size-$engine-$rows" "$url"
  load "$engine $rows tokens" "$API/token" -s "$BENCH_TMP/token.lua"
  load "$engine $rows orders (API token)" "$API/api/orders" -H "Authorization: Token $api_token"
  stop_backend
}

# pg_new_database NAME: an empty database on the benchmark's server; prints its URL.
pg_new_database() {
  as_pg "$PSQL" -q -c "CREATE DATABASE $1" "$PG_URL" >/dev/null
  echo "${PG_URL%/*}/$1"
}

echo
note "P5: $SMALL_ROWS and $BIG_ROWS stored orders, grants, refresh tokens and events"
for engine in sqlite postgres; do
  size_run "$engine" "$SMALL_ROWS"
  size_run "$engine" "$BIG_ROWS"
done

echo
note "P6: one instance, then two behind nginx, on one PostgreSQL database"
ONE_URL=$(pg_new_database one)
start_backend pg-one "$ONE_URL"
api_runs pg1 "$API"
stop_backend
ports=$(free_ports 2)
LB_API=${ports% *}
CLUSTER_HOST=127.0.0.1
cluster_start "$BINARY" "$BENCH_TMP/cluster" "$(pg_new_database two)" "$LB_API" "${ports#* }" \
  >/dev/null
api_runs pg2 "http://127.0.0.1:$LB_API"
cluster_stop

# --- the table ---------------------------------------------------------------------------------
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
echo
echo "## Results ($(nproc) cores, $(date -u +%F), wrk -t1 -c$CONNECTIONS -d${DURATION}s$([ "$SMOKE" = 1 ] && echo ', SMOKE RUN: not figures'))"
echo
echo "| target | measured | ratio |"
echo "| --- | --- | --- |"
echo "| P1 /api/hello with a Bearer JWT vs without (same handler) | $(rps 'one hello Bearer') vs $(rps 'one hello anonymous') req/s | **$(ratio 'one hello Bearer' 'one hello anonymous')** (target ≥ 0.90) |"
echo "| P1 /api/whoami with the JWT vs /api/hello without | $(rps 'one whoami Bearer') vs $(rps 'one hello anonymous') req/s | $(ratio 'one whoami Bearer' 'one hello anonymous') |"
echo "| P1 /api/products with the JWT vs /api/hello without | $(rps 'one products Bearer') vs $(rps 'one hello anonymous') req/s | $(ratio 'one products Bearer' 'one hello anonymous') |"
echo "| P2 client-credentials tokens/s vs node-oidc-provider | $(rps 'one tokens') vs $(rps 'peer tokens') /s | **$(ratio 'one tokens' 'peer tokens')×** (target ≥ 10) |"
echo "| P3 RSS after the token load vs the peer's | $(mb "$LOADED_KB") vs $(mb "$PEER_LOADED_KB") | **$(awk -v a="$LOADED_KB" -v b="$PEER_LOADED_KB" 'BEGIN { printf "%.2f", a / b }')×** (target ≤ 0.25) |"
echo "| P3 RSS idle (after the start, which seeds) vs the peer's | $(mb "$IDLE_KB") vs $(mb "$PEER_IDLE_KB") | target ≤ 25 MB |"
echo "| P3 of that RSS, the part not mapped from a file (heap, stacks), after the load / idle vs the peer's | $(mb "$LOADED_ANON_KB") / $(mb "$IDLE_ANON_KB") vs $(mb "$PEER_LOADED_ANON_KB") / $(mb "$PEER_IDLE_ANON_KB") | $(awk -v a="$LOADED_ANON_KB" -v b="$PEER_LOADED_ANON_KB" 'BEGIN { printf "%.2f", a / b }')× after the load |"
if [ -n "$FIRST_LOAD_BYTES" ]; then
  echo "| P4 first page load on the wire (br, gzip accepted) | $(awk -v b="$FIRST_LOAD_BYTES" 'BEGIN { printf "%.0f KB", b / 1024 }') | target ≤ 120 KB |"
  [ -z "$INSPECTOR_LOAD_BYTES" ] ||
    echo "| P4 the inspector's page load, when /token, /timeline… is opened (not in the first) | $(awk -v b="$INSPECTOR_LOAD_BYTES" 'BEGIN { printf "%.0f KB", b / 1024 }') | |"
  [ -z "$CONSOLE_LOAD_BYTES" ] ||
    echo "| P4 the console's page load, when /admin is opened (not in the first) | $(awk -v b="$CONSOLE_LOAD_BYTES" 'BEGIN { printf "%.0f KB", b / 1024 }') | |"
else
  echo "| P4 first page load on the wire | dist/ not built: run scripts/run.sh once | |"
fi
if [ -n "$FIRST_RUN_SECS" ]; then
  echo "| First run of scripts/run.sh (fresh clone, empty cargo home and npm cache) | $((FIRST_RUN_SECS / 60)) min $((FIRST_RUN_SECS % 60)) s | target ≤ 10 min |"
else
  echo "| First run of scripts/run.sh | not measured: add --first-run | |"
fi
for engine in sqlite postgres; do
  echo "| P5 $engine tokens/s, $BIG_ROWS rows vs $SMALL_ROWS | $(rps "$engine $BIG_ROWS tokens") vs $(rps "$engine $SMALL_ROWS tokens") /s | **$(ratio "$engine $BIG_ROWS tokens" "$engine $SMALL_ROWS tokens")** (target ≥ 0.8) |"
  echo "| P5 $engine /api/orders, $BIG_ROWS rows vs $SMALL_ROWS | $(rps "$engine $BIG_ROWS orders (API token)") vs $(rps "$engine $SMALL_ROWS orders (API token)") req/s | **$(ratio "$engine $BIG_ROWS orders (API token)" "$engine $SMALL_ROWS orders (API token)")** (target ≥ 0.8) |"
done
for run in "hello Bearer" "products Bearer" "tokens"; do
  echo "| P6 $run, two instances behind nginx vs one (PostgreSQL) | $(rps "pg2 $run") vs $(rps "pg1 $run") /s | $(ratio "pg2 $run" "pg1 $run") |"
done
echo
echo "Latencies (p50 / p99, ms):"
for name in "${!RESULT[@]}"; do
  echo "$name ${RESULT[$name]}"
done | sort | awk '{ p99 = $NF; p50 = $(NF-1); $NF = ""; $(NF-1) = ""; $(NF-2) = ""; printf "  %-36s %7s / %7s\n", $0, p50, p99 }'
