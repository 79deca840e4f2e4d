#!/usr/bin/env bash
# A PostgreSQL server of its own, in a directory, on a free loopback port: for the tests and
# for trying several instances locally. Nothing is installed system-wide but Debian's
# `postgresql` package (when its server binaries are missing), and nothing listens beyond
# 127.0.0.1.
#
#   scripts/pg.sh start DIR    create a cluster in DIR if there is none, start it, print its URL
#   scripts/pg.sh stop DIR     stop it
#   scripts/pg.sh url DIR      print the URL of the running cluster
#
# The URL (postgres://postgres@127.0.0.1:PORT/postgres) is also written to DIR/url. Local
# connections are trusted (no password): keep DIR and the port to yourself. `initdb` and
# `postgres` refuse to run as root, so as root they run as the `postgres` user.
#
# Sourced (by scripts/cluster.sh, and through it by scripts/test.sh), it defines
# setup_postgres, pg_bindir, pg_start, pg_stop, pg_url and free_ports, and sources
# scripts/setup.sh (ok, note, fail, the setup_* functions).

if [ -z "${BASH_VERSION:-}" ]; then
  echo "scripts/pg.sh needs bash" >&2
  exit 1
fi

PG_ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# shellcheck source=scripts/setup.sh
source "$PG_ROOT/scripts/setup.sh"

# The directory of PostgreSQL's server binaries (Debian keeps them off PATH), newest first.
pg_bindir() {
  local dir ctl
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/pg_isready" ]; then
      echo "$dir"
      return 0
    fi
  done
  # Elsewhere (another distribution, a source build): wherever pg_ctl really is.
  if ctl=$(command -v pg_ctl 2>/dev/null); then
    dir=$(dirname "$(readlink -f "$ctl")")
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_isready" ]; then
      echo "$dir"
      return 0
    fi
  fi
  return 1
}

# Installs Debian's PostgreSQL server if its binaries are missing.
setup_postgres() {
  local bindir
  if bindir=$(pg_bindir); then
    ok "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') (already installed)"
    return 0
  fi
  if ! can_apt; then
    fail "PostgreSQL's server is needed (Debian/Ubuntu: apt-get install postgresql)"
    return 1
  fi
  apt_install postgresql || return 1
  bindir=$(pg_bindir) || {
    fail "postgresql installed, but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
    return 1
  }
  ok "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') installed"
}

# as_pg CMD...: runs CMD as the user the cluster belongs to (postgres, when we are root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# free_ports N: N distinct loopback ports (default 1) that were free a moment ago, on one line,
# space-separated. All N are held open together while they are picked, so none is picked twice.
free_ports() {
  python3 -c '
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))' "${1:-1}"
}

pg_url() {
  cat "$1/url"
}

# pg_start DIR: a running cluster in DIR/data, its URL in DIR/url (and on stdout).
pg_start() {
  local dir=$1 bindir port deadline
  bindir=$(pg_bindir) || {
    fail "no PostgreSQL server binaries; run setup_postgres first"
    return 1
  }
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    chmod 700 "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      fail "the postgres user cannot reach $dir: make its parent directories traversable (chmod o+x)"
      return 1
    fi
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
      fail "initdb failed; the end of $dir/initdb.log:"
      tail -n 20 "$dir/initdb.log" >&2
      return 1
    }
  fi
  if as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    pg_url "$dir"
    return 0
  fi
  port=$(free_ports 1)
  # The tests create a database each and throw the whole cluster away afterwards: fsync off
  # (this is not the durability under test), more connections than the default 100. TCP on
  # loopback only, no Unix socket (whose path would have to fit in 107 bytes).
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c max_connections=400 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || {
    fail "PostgreSQL did not start; the end of $dir/server.log:"
    tail -n 20 "$dir/server.log" >&2
    return 1
  }
  deadline=$((SECONDS + 30))
  until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "PostgreSQL on port $port is not ready after 30 s"
      return 1
    fi
    sleep 0.2
  done
  echo "postgres://postgres@127.0.0.1:$port/postgres" >"$dir/url"
  chmod 644 "$dir/url"
  pg_url "$dir"
}

pg_stop() {
  local dir=$1 bindir
  bindir=$(pg_bindir) || return 0
  [ -f "$dir/data/PG_VERSION" ] || return 0
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start)
      [ -n "${2:-}" ] || { echo "usage: scripts/pg.sh start DIR" >&2; exit 2; }
      setup_postgres >&2
      pg_start "$2"
      ;;
    stop)
      [ -n "${2:-}" ] || { echo "usage: scripts/pg.sh stop DIR" >&2; exit 2; }
      pg_stop "$2"
      ;;
    url)
      [ -n "${2:-}" ] || { echo "usage: scripts/pg.sh url DIR" >&2; exit 2; }
      pg_url "$2"
      ;;
    *)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 2
      ;;
  esac
fi
