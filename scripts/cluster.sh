#!/usr/bin/env bash
# Two instances of the server on one PostgreSQL database, behind nginx, in one command: what a
# production deployment looks like, on this machine. nginx balances round-robin, so
# consecutive requests land on different instances.
#
#   scripts/cluster.sh                  the app on http://localhost:8080, the authorization
#                                       server and API on http://localhost:5000 (as run.sh)
#   scripts/cluster.sh --app-mode mvc   the same in MVC mode (the backend-for-frontend)
#
# Extra arguments go to both instances. The instances listen on free loopback ports (printed at
# the start, each with its Prometheus metrics listener: README "Metrics"); their logs are data/cluster/instance-N.log, nginx's data/cluster/nginx-*.log.
# PostgreSQL runs from data/pg on a free port (scripts/pg.sh), with the database `api_access`
# (kept between runs; delete data/pg to start over). Ctrl-C stops everything. Log in as
# user0 / password0; the nav bar says which mode runs, and the `X-Served-By` header of each
# response says which instance answered.
#
# Sourced (by scripts/test.sh), it defines setup_nginx, cluster_start, cluster_stop and
# wait_http (until a URL answers), and sources scripts/pg.sh (free_ports, pg_start, pg_stop,
# setup_postgres, ...) and through it scripts/setup.sh.

if [ -z "${BASH_VERSION:-}" ]; then
  echo "scripts/cluster.sh needs bash" >&2
  exit 1
fi

CLUSTER_ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# shellcheck source=scripts/pg.sh
source "$CLUSTER_ROOT/scripts/pg.sh"

CLUSTER_PIDS=()
# The instances' metrics URLs, set by cluster_start.
CLUSTER_METRICS=()

setup_nginx() {
  if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    ok "nginx $(nginx_bin -v 2>&1 | sed 's/.*nginx\///') (already installed)"
    return 0
  fi
  if ! can_apt; then
    fail "nginx is needed as the load balancer (Debian/Ubuntu: apt-get install nginx)"
    return 1
  fi
  apt_install nginx || return 1
  ok "nginx installed"
}

# nginx's path (Debian keeps it in /usr/sbin, which a user's PATH may lack).
nginx_path() {
  command -v nginx 2>/dev/null || echo /usr/sbin/nginx
}

nginx_bin() {
  "$(nginx_path)" "$@"
}

# cluster_nginx_conf DIR LB_API LB_APP API1 API2 APP1 APP2: a round-robin balancer for the API
# origin and one for the app origin. Each answer names its instance in `X-Served-By`.
cluster_nginx_conf() {
  local dir=$1 lb_api=$2 lb_app=$3 api1=$4 api2=$5 app1=$6 app2=$7 listen_api listen_app
  listen_api="listen 127.0.0.1:$lb_api;"
  listen_app="listen 127.0.0.1:$lb_app;"
  # `localhost` is also ::1, which browsers try first when it is there.
  if [ -e /proc/net/if_inet6 ] && python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    listen_api="$listen_api listen [::1]:$lb_api;"
    listen_app="$listen_app listen [::1]:$lb_app;"
  fi
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 1024; }
http {
  log_format balanced '\$remote_addr "\$request" \$status \$upstream_addr';
  access_log $dir/nginx-access.log balanced;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  # The requests are small (the server refuses bodies over 64 KiB anyway): keep them in memory.
  client_max_body_size 1m;
  client_body_buffer_size 1m;
  proxy_buffering off;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  # The server attributes a request to the address nginx saw (TRUSTED_PROXIES), and publishes
  # URLs under its configured issuer, not under the Host it was reached by.
  proxy_set_header Host \$http_host;
  proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto \$scheme;
  add_header X-Served-By \$upstream_addr always;
  # An instance that is down (killed, restarting) is skipped for 5 s after one failure; a
  # request it failed before answering is retried on the other one, but never one that may
  # have changed something (nginx does not retry POST, PATCH or DELETE by default).
  proxy_next_upstream error timeout;
  upstream api { server $api1 max_fails=1 fail_timeout=5s; server $api2 max_fails=1 fail_timeout=5s; keepalive 16; }
  upstream app { server $app1 max_fails=1 fail_timeout=5s; server $app2 max_fails=1 fail_timeout=5s; keepalive 16; }
  server { $listen_api location / { proxy_pass http://api; } }
  server { $listen_app location / { proxy_pass http://app; } }
}
EOF
}

# wait_http URL PID LOG: until URL answers, or fail (with the end of LOG) if PID exits or 90 s
# pass.
wait_http() {
  local url=$1 pid=$2 log=$3 deadline=$((SECONDS + 90))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      fail "exited before it answered on $url; the end of $log:"
      tail -n 30 "$log" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "nothing answered on $url within 90 s; the end of $log:"
      tail -n 30 "$log" >&2
      return 1
    fi
    sleep 0.2
  done
}

# cluster_start BINARY DIR DATABASE_URL LB_API_PORT LB_APP_PORT [BACKEND-ARGS...]: two instances
# of BINARY (--demo) on DATABASE_URL, on free ports, and nginx on LB_API_PORT / LB_APP_PORT in
# front of them; the public URLs are http://$CLUSTER_HOST:PORT (default localhost). Logs and
# nginx's files go to DIR. Both instances start at once: on an empty database one migrates and
# seeds while the other waits.
cluster_start() {
  local binary=$1 dir=$2 database_url=$3 lb_api=$4 lb_app=$5 host=${CLUSTER_HOST:-localhost} i pid
  local ports
  shift 5
  mkdir -p "$dir/tmp"
  # Eight candidates, so that six remain when the balancer's own two (free a moment ago, but not
  # held) come back among them.
  read -r -a ports < <(free_ports 8 | tr ' ' '\n' | grep -vx -e "$lb_api" -e "$lb_app" | head -n 6 | xargs)
  local api=("127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}")
  local app=("127.0.0.1:${ports[2]}" "127.0.0.1:${ports[3]}")
  local metrics=("127.0.0.1:${ports[4]}" "127.0.0.1:${ports[5]}")
  CLUSTER_METRICS=("http://${metrics[0]}/metrics" "http://${metrics[1]}/metrics")
  for i in 0 1; do
    # One service: the same issuer and app URL (the balancer's), the database shared; the
    # backend-for-frontend reaches its own instance's API directly.
    DATABASE_URL="$database_url" TRUSTED_PROXIES="127.0.0.1,::1" \
      ISSUER="http://$host:$lb_api" APP_URL="http://$host:$lb_app" \
      BFF_UPSTREAM="http://${api[$i]}" API_ADDR="${api[$i]}" APP_ADDR="${app[$i]}" \
      METRICS_ADDR="${metrics[$i]}" \
      APP_DIR="$CLUSTER_ROOT/dist" RUST_LOG="${RUST_LOG:-info,tower_http=warn,sqlx=warn}" \
      "$binary" --demo "$@" >"$dir/instance-$((i + 1)).log" 2>&1 </dev/null &
    CLUSTER_PIDS+=($!)
  done
  for i in 0 1; do
    pid=${CLUSTER_PIDS[$i]}
    wait_http "http://${api[$i]}/.well-known/oauth-authorization-server" "$pid" \
      "$dir/instance-$((i + 1)).log" || return 1
  done
  cluster_nginx_conf "$dir" "$lb_api" "$lb_app" "${api[0]}" "${api[1]}" "${app[0]}" "${app[1]}"
  nginx_bin -t -c "$dir/nginx.conf" -p "$dir" >"$dir/nginx-test.log" 2>&1 || {
    fail "nginx refused its configuration:"
    cat "$dir/nginx-test.log" >&2
    return 1
  }
  # The binary itself in the background (not a function, whose subshell would be what $!
  # names), so that cluster_stop stops nginx.
  "$(nginx_path)" -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' >"$dir/nginx.out" 2>&1 </dev/null &
  CLUSTER_PIDS+=($!)
  wait_http "http://127.0.0.1:$lb_api/.well-known/oauth-authorization-server" "$!" \
    "$dir/nginx-error.log" || return 1
  ok "instances 1 and 2 (API ${api[0]}, ${api[1]}; app ${app[0]}, ${app[1]}; metrics ${CLUSTER_METRICS[*]}) behind nginx on :$lb_api and :$lb_app"
}

cluster_stop() {
  local pid
  for pid in "${CLUSTER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${CLUSTER_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  CLUSTER_PIDS=()
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ROOT="$CLUSTER_ROOT"
  cd "$ROOT"
  setup_build_tools
  # shellcheck disable=SC2119 # build_frontend takes trunk arguments, not this script's
  build_frontend
  note "building the backend: cargo build --release -p backend"
  cargo build --release -p backend
  setup_postgres
  setup_nginx
  mkdir -p data/cluster
  url=$(pg_start "$ROOT/data/pg")
  trap 'cluster_stop; pg_stop "$ROOT/data/pg"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if ! "$(pg_bindir)/psql" "$url" -tAc "SELECT 1 FROM pg_database WHERE datname = 'api_access'" | grep -q 1; then
    "$(pg_bindir)/psql" "$url" -qc "CREATE DATABASE api_access"
  fi
  cluster_start "$ROOT/target/release/backend" "$ROOT/data/cluster" "${url%/postgres}/api_access" \
    5000 8080 "$@"
  note "the app: http://localhost:8080 (user0 / password0); the API: http://localhost:5000"
  note "PostgreSQL: ${url%/postgres}/api_access; Ctrl-C stops everything"
  wait "${CLUSTER_PIDS[@]}"
fi
