#!/usr/bin/env bash
# Installs what building, running and testing this workspace needs, skipping whatever is
# already there at the right version, and defines the one environment the wasm frontend is built
# in (`wasm_run`, `build_frontend`).
#
#   scripts/setup.sh            install the build tools (what scripts/run.sh needs)
#   scripts/setup.sh --tests    also the test-only tools (Chromium, the e2e tests' npm packages)
#
# scripts/run.sh and scripts/test.sh source this file and call `setup_build_tools`,
# `setup_test_tools` and `build_frontend` themselves.
#
# The wasm32 toolchain comes one of two ways:
#   host    the rustup toolchain has the wasm32-unknown-unknown standard library (a developer
#           laptop after `rustup target add wasm32-unknown-unknown`): plain cargo.
#   debian  it has not and rustup cannot download it (machines without the rustup servers):
#           Debian's rustc-web 1.96 with its library sources builds `std` for wasm32 itself
#           (RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort).
# Either way the wasm build has its own target dir, target/wasm. WASM_TOOLCHAIN=debian forces the
# second way.
#
# Long installs write their output to target/setup-logs/*.log; each step prints one line.

if [ -z "${BASH_VERSION:-}" ]; then
  echo "scripts/setup.sh needs bash" >&2
  exit 1
fi

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
LOG_DIR="$ROOT/target/setup-logs"
TOOLS_BIN="$ROOT/.tools/node_modules/.bin"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
WASM_TARGET=wasm32-unknown-unknown
WASM_TARGET_DIR="$ROOT/target/wasm"

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132
# Debian's toolchain for the `debian` path; rust-web-clippy lints the frontend on wasm32.
DEBIAN_WASM_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm rust-web-clippy lld-22)
DEBIAN_RUST_SRC=/usr/lib/rustlib/src/rust/library

mkdir -p "$LOG_DIR"
case ":$PATH:" in
  *":$CARGO_BIN:"*) ;;
  *) export PATH="$CARGO_BIN:$PATH" ;;
esac

# ---------------------------------------------------------------------------------------------
# Output helpers
ok() { printf '✓ %s\n' "$*"; }
note() { printf '→ %s\n' "$*"; }
fail() { printf '✗ %s\n' "$*" >&2; }

# run_logged NAME CMD...: runs CMD with its output in target/setup-logs/NAME.log; on failure
# shows the end of that log.
run_logged() {
  local name=$1 log="$LOG_DIR/$1.log" rc=0
  shift
  "$@" >"$log" 2>&1 </dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "$name failed (exit $rc); the end of $log:"
    tail -n 60 "$log" >&2
  fi
  return "$rc"
}

# start_idle LOG CMD...: starts CMD in the background, output to LOG, at the lowest CPU priority,
# in a session of its own ($! is its PID; `kill -- -$!` stops it and its children): it takes
# the cores the rest leaves idle, and no more. Linux's autogroups share the CPU fairly between
# sessions whatever the nice of their processes, so the new session's group is niced too;
# without that, the background took half the cores. It stops when the script that started it
# is gone, even killed with SIGKILL. Its exit status goes to LOG.rc: wait for it with idle_wait,
# not `wait` alone, which can be told another process's status in a run long enough for the
# PIDs to wrap around. Call both from the script's own shell, not a subshell (the watchdog
# watches the shell that called start_idle), and not under job control (`set -m`, where setsid
# forks and $! is not it).
start_idle() {
  local log=$1
  shift
  case $- in *m*)
    fail "start_idle: not under job control"
    return 1
    ;;
  esac
  rm -f "$log.rc"
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid bash -c '
    { echo 19 >/proc/self/autogroup; } 2>/dev/null || true
    parent=$PPID
    (while kill -0 "$parent" 2>/dev/null; do sleep 5; done; kill -- -$$ 2>/dev/null) &
    watchdog=$!
    rc=0
    nice -n 19 "$@" || rc=$?
    echo "$rc" >"$0.rc"
    kill "$watchdog" 2>/dev/null
    exit "$rc"
  ' "$log" "$@" >"$log" 2>&1 </dev/null &
}

# idle_wait WHAT PID LOG: waits for what start_idle started (PID, LOG) to end, and returns its
# exit status (1 when it left none: it was killed); on a failure, says that WHAT failed and
# shows the end of LOG.
idle_wait() {
  local what=$1 pid=$2 log=$3 rc
  wait "$pid" 2>/dev/null || true
  rc=$(cat "$log.rc" 2>/dev/null) || rc=
  case $rc in
    0) return 0 ;;
    '' | *[!0-9]*)
      fail "$what ended without an exit status (killed?); the end of $log:"
      rc=1
      ;;
    *) fail "$what failed (exit $rc); the end of $log:" ;;
  esac
  tail -n 60 "$log" >&2
  return "$rc"
}

# version_ge A B: A >= B for dotted version numbers.
version_ge() {
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]
}

# ---------------------------------------------------------------------------------------------
# Debian packages
APT_UPDATED=
apt_cmd() {
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get "$@"
  else
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get "$@"
  fi
}

can_apt() {
  command -v apt-get >/dev/null 2>&1 || return 1
  [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null
}

deb_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# apt_install PKG...: installs (or upgrades to the candidate version) the given packages.
apt_install() {
  if [ -z "$APT_UPDATED" ]; then
    note "apt-get update"
    run_logged apt-update apt_cmd update || return 1
    APT_UPDATED=1
  fi
  note "apt-get install $* (log: target/setup-logs/apt-install.log)"
  run_logged apt-install apt_cmd install -y "$@"
}

# ---------------------------------------------------------------------------------------------
# The wasm32 toolchain
WASM_MODE=

host_has_wasm_std() {
  local libdir
  libdir=$(rustc --print target-libdir --target "$WASM_TARGET" 2>/dev/null) || return 1
  compgen -G "$libdir/libstd-*.rlib" >/dev/null
}

# The lowest Rust the workspace supports (Cargo.toml's rust-version), for Debian's rustc.
workspace_rust_version() {
  sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1
}

debian_rust_version() {
  /usr/bin/rustc --version 2>/dev/null | awk '{print $2}'
}

debian_wasm_ready() {
  local pkg v min
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d "$DEBIAN_RUST_SRC" ] || return 1
  for pkg in "${DEBIAN_WASM_PACKAGES[@]}"; do
    deb_installed "$pkg" || return 1
  done
  v=$(debian_rust_version)
  min=$(workspace_rust_version)
  [ -n "$v" ] && version_ge "$v" "${min:-1.88}"
}

setup_wasm_toolchain() {
  if [ "${WASM_TOOLCHAIN:-}" != debian ] && host_has_wasm_std; then
    WASM_MODE=host
    ok "wasm32 std: rustup toolchain ($(rustc --version | awk '{print $2}')) has it"
    return 0
  fi
  if debian_wasm_ready; then
    WASM_MODE=debian
    ok "wasm32 std: Debian rustc-web $(debian_rust_version) builds it from source (already installed)"
    return 0
  fi
  if [ "${WASM_TOOLCHAIN:-}" != debian ] && command -v rustup >/dev/null 2>&1; then
    # Where rustup's servers are unreachable this hangs rather than failing: keep it short.
    note "trying: rustup target add $WASM_TARGET (20 s at most)"
    if run_logged rustup-target timeout -k 5 20 rustup target add "$WASM_TARGET" && host_has_wasm_std; then
      WASM_MODE=host
      ok "wasm32 std: installed with rustup"
      return 0
    fi
    note "rustup could not add $WASM_TARGET; using Debian's rustc-web instead"
  fi
  if can_apt; then
    apt_install "${DEBIAN_WASM_PACKAGES[@]}" || return 1
    if debian_wasm_ready; then
      WASM_MODE=debian
      ok "wasm32 std: Debian rustc-web $(debian_rust_version) installed"
      return 0
    fi
    fail "Debian's rustc-web is $(debian_rust_version) after installing; the workspace needs >= $(workspace_rust_version)"
    return 1
  fi
  fail "no Rust standard library for $WASM_TARGET. Install one of:"
  fail "  rustup target add $WASM_TARGET"
  fail "  (Debian/Ubuntu, as root) apt-get install ${DEBIAN_WASM_PACKAGES[*]}"
  return 1
}

# wasm_run CMD...: runs CMD (cargo, trunk) in the environment of the wasm build.
wasm_run() {
  if [ "$WASM_MODE" = debian ]; then
    # /usr/bin first so that cargo/rustc/clippy are Debian's 1.96; trunk and wasm-bindgen still
    # come from ~/.cargo/bin, and npm's wasm-opt (binaryen 132) comes before everything.
    env -u CARGO -u RUSTC -u RUSTUP_TOOLCHAIN -u RUSTC_WRAPPER \
      PATH="$TOOLS_BIN:/usr/bin:$CARGO_BIN:$PATH" \
      RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
      CARGO_TARGET_DIR="$WASM_TARGET_DIR" "$@"
  else
    env PATH="$TOOLS_BIN:$PATH" CARGO_TARGET_DIR="$WASM_TARGET_DIR" "$@"
  fi
}

# ---------------------------------------------------------------------------------------------
# trunk, wasm-bindgen, wasm-opt

# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
wasm_bindgen_version() {
  local v=
  if [ -f "$ROOT/Cargo.lock" ]; then
    v=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
  fi
  echo "${v:-0.2.130}"
}

# cargo_install_tool NAME VERSION INSTALLED-VERSION CARGO-INSTALL-ARGS...
cargo_install_tool() {
  local name=$1 want=$2 have=$3 start
  shift 3
  if [ "$have" = "$want" ]; then
    ok "$name $want (already installed)"
    return 0
  fi
  note "installing $name $want${have:+ (found $have)}: cargo install, a few minutes (log: target/setup-logs/install-$name.log)"
  start=$SECONDS
  # The tools' own release profiles ask for fat LTO and one codegen unit: the fastest binary,
  # built in the longest time. Their speed does not matter here, the first run's wait does:
  # trunk 0.21 builds in 234 s this way on 2 cores, against about 990 s with its own settings.
  # At opt-level 1 rather than 3: what the tools do takes a second or two per build at either
  # level (trunk waits on cargo, wasm-bindgen rewrites one wasm file).
  run_logged "install-$name" env CARGO_PROFILE_RELEASE_LTO=off \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 cargo install "$@" || return 1
  ok "$name $want installed in $((SECONDS - start)) s"
}

setup_trunk() {
  local have
  have=$(trunk --version 2>/dev/null | awk '{print $2}') || have=
  # Without its default features: no TLS stack (it downloads no tool, they are on PATH, and
  # `trunk serve` here is plain http) and no check for a newer version at each start.
  cargo_install_tool trunk "$TRUNK_VERSION" "$have" trunk --version "$TRUNK_VERSION" --locked \
    --no-default-features
}

setup_wasm_bindgen() {
  local want have
  want=$(wasm_bindgen_version)
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}') || have=
  # Not --locked: one of its locked dependency versions is no longer on the registry. Only the
  # wasm-bindgen binary, without a TLS stack (it downloads nothing).
  cargo_install_tool wasm-bindgen "$want" "$have" wasm-bindgen-cli --version "$want" \
    --no-default-features --bin wasm-bindgen
}

setup_wasm_opt() {
  local have
  have=$("$TOOLS_BIN/wasm-opt" --version 2>/dev/null) || have=
  if [[ "$have" == *"version_$BINARYEN_VERSION"* ]]; then
    ok "wasm-opt $BINARYEN_VERSION (already installed in .tools/)"
    return 0
  fi
  need_node || return 1
  # Debian's binaryen (108) produces a wasm that fails at start-up; npm's 132 works.
  note "installing wasm-opt: npm binaryen@$BINARYEN_VERSION into .tools/"
  run_logged install-binaryen npm install --prefix "$ROOT/.tools" --no-audit --no-fund \
    "binaryen@$BINARYEN_VERSION" || return 1
  "$TOOLS_BIN/wasm-opt" --version >/dev/null 2>&1 || {
    fail "wasm-opt from binaryen@$BINARYEN_VERSION does not run"
    return 1
  }
  ok "wasm-opt $BINARYEN_VERSION installed in .tools/"
}

need_node() {
  local major
  major=$(node --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/') || major=
  if [ -z "$major" ] || [ "$major" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
    fail "Node.js >= 20 with npm is needed (found: ${major:-none}); install it from nodejs.org or your package manager"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Test-only tools
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

setup_chromium() {
  local v
  if v=$("$CHROMIUM" --version 2>/dev/null); then
    ok "$v (already installed)"
    return 0
  fi
  if ! can_apt; then
    fail "Chromium is needed at $CHROMIUM for the browser tests (Debian/Ubuntu: apt-get install chromium), or set CHROMIUM"
    return 1
  fi
  apt_install chromium || return 1
  v=$("$CHROMIUM" --version 2>/dev/null) || {
    fail "chromium installed but $CHROMIUM --version fails"
    return 1
  }
  ok "$v installed"
}

setup_e2e_packages() {
  local dir="$ROOT/tests/e2e" stamp="$ROOT/tests/e2e/node_modules/.package-lock.json"
  need_node || return 1
  if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ] && [ "$stamp" -nt "$dir/package.json" ] &&
    [ -d "$dir/node_modules/playwright-core" ] && [ -d "$dir/node_modules/newman" ]; then
    ok "e2e npm packages (already installed)"
    return 0
  fi
  note "npm ci in tests/e2e (no browser download)"
  run_logged npm-e2e env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    npm ci --prefix "$dir" --no-audit --no-fund || return 1
  touch "$stamp"
  ok "e2e npm packages installed"
}

# ---------------------------------------------------------------------------------------------
# Entry points

setup_build_tools() {
  local start=$SECONDS
  command -v cargo >/dev/null 2>&1 || {
    fail "cargo not found: install Rust with rustup (https://rustup.rs)"
    return 1
  }
  setup_wasm_toolchain || return 1
  # One after the other: built side by side (and with the backend, at the same priority), on
  # two cores, the first run took longer, not shorter (README, "How fast"). scripts/run.sh
  # builds the backend beside them at the lowest priority instead (start_idle).
  setup_trunk || return 1
  setup_wasm_bindgen || return 1
  setup_wasm_opt || return 1
  setup_brotli
  [ $((SECONDS - start)) -lt 5 ] || ok "build tools ready in $((SECONDS - start)) s"
}

setup_test_tools() {
  setup_chromium || return 1
  setup_e2e_packages || return 1
}

# The cargo profile of trunk's release build (index.html's data-cargo-profile-release).
frontend_release_profile() {
  local p
  p=$(sed -n 's/.*data-cargo-profile-release="\([^"]*\)".*/\1/p' "$ROOT/index.html" 2>/dev/null | head -n 1)
  echo "${p:-release}"
}

# A hash of everything the frontend build reads, plus the toolchain that builds it.
frontend_inputs_hash() {
  local paths=() p
  for p in frontend shared style index.html Trunk.toml Cargo.lock Cargo.toml .cargo/config.toml; do
    [ -e "$ROOT/$p" ] && paths+=("$p")
  done
  {
    echo "mode=$WASM_MODE $(wasm_run rustc --version 2>/dev/null) trunk=$TRUNK_VERSION"
    echo "bundles=${FRONTEND_BUNDLES[*]} ${BUNDLE_DESCRIPTIONS[*]}"
    (cd "$ROOT" && find "${paths[@]}" -type f -print0 | sort -z | xargs -0 sha256sum)
  } | sha256sum | awk '{print $1}'
}

# The bundles built apart from the app (shared/src/bundle.rs), as BIN:FOLDER: each is the
# frontend's binary BIN, built with public URL /FOLDER/ into dist/FOLDER/.
FRONTEND_BUNDLES=(inspector:inspect console:admin)
# What each of them is, for its page's <meta name="description">.
declare -A BUNDLE_DESCRIPTIONS=(
  [inspector]="The OAuth Shop's inspector: the access token decoded, every exchange of the login on a timeline, a token debugger, the refusals explained, and labs that break things."
  [console]="The OAuth Shop's administration console: authorization servers, clients, scopes, claims, policies, users, keys and the security events."
)

# bundle_page BIN: writes the trunk page of the bundle BIN, made from index.html (the same head,
# so the bundles cannot drift apart) with its own binary and title, into target/bundles/, and
# prints its path relative to the root. Its paths are made relative to that folder.
bundle_page() {
  local bin=$1 page="target/bundles/$1.html"
  mkdir -p "$ROOT/target/bundles"
  sed -e "s/data-bin=\"frontend\"/data-bin=\"$bin\"/" \
    -e "s#<title>\(.*\)</title>#<title>\1 · $bin</title>#" \
    -e "s#<meta name=\"description\" content=\"[^\"]*\"#<meta name=\"description\" content=\"${BUNDLE_DESCRIPTIONS[$bin]:-}\"#" \
    -e 's#href="\(style/\|frontend/\)#href="../../\1#' "$ROOT/index.html" >"$ROOT/$page" || return 1
  grep -q "data-bin=\"$bin\"" "$ROOT/$page" || {
    echo "index.html names no data-bin=\"frontend\" to make the $bin page from" >&2
    return 1
  }
  echo "$page"
}

# build_frontend [TRUNK-ARGS...]: `trunk build --release` of the app (index.html) into dist/,
# then of each of FRONTEND_BUNDLES into its folder of dist/, skipped when no input changed.
# Several bundles, so that the first page carries only the pages a visitor lands on (issue 13).
# Not --offline: trunk passes that on to cargo, and on the Debian path cargo must be able
# to download the dependencies of `std` (dlmalloc, …) the first time it builds it. trunk itself
# downloads nothing, because setup_build_tools put the exact tool versions Trunk.toml names on
# PATH.
build_frontend() {
  local stamp="$WASM_TARGET_DIR/frontend-build.stamp" hash start bundle bin page folder built=1
  [ -n "$WASM_MODE" ] || setup_wasm_toolchain || return 1
  mkdir -p "$WASM_TARGET_DIR"
  hash=$(frontend_inputs_hash)
  for bundle in "${FRONTEND_BUNDLES[@]}"; do
    [ -f "$ROOT/dist/${bundle#*:}/index.html" ] || built=0
  done
  if [ "$built" = 1 ] && [ -f "$ROOT/dist/index.html" ] && [ -f "$stamp" ] &&
    [ "$(cat "$stamp")" = "$hash" ]; then
    ok "frontend dist/ is up to date"
    compress_dist
    return 0
  fi
  note "building the frontend: trunk build --release of each bundle (logs: target/setup-logs/trunk-build*.log)"
  start=$SECONDS
  rm -f "$stamp"
  (cd "$ROOT" && run_logged trunk-build wasm_run trunk build --release "$@") || return 1
  # trunk empties its dist directory before it writes: each bundle is built beside dist/, then
  # moved in.
  for bundle in "${FRONTEND_BUNDLES[@]}"; do
    bin=${bundle%%:*} folder=${bundle#*:}
    page=$(bundle_page "$bin") || return 1
    rm -rf "$ROOT/target/bundle-dist"
    (cd "$ROOT" && run_logged "trunk-build-$bin" wasm_run trunk build --release "$@" \
      --dist target/bundle-dist --public-url "/$folder/" "$page") || return 1
    rm -rf "${ROOT:?}/dist/$folder" && mv "$ROOT/target/bundle-dist" "$ROOT/dist/$folder" || return 1
  done
  echo "$hash" >"$stamp"
  ok "frontend built into dist/ in $((SECONDS - start)) s"
  compress_dist
}

# compress_dist: a gzip (-9) and, when the brotli tool is there, a brotli (-q 11) copy beside
# every file of dist/ a browser downloads, for the backend to send to browsers that accept them
# (backend/src/web.rs). Files already compressed since they last changed are skipped.
compress_dist() {
  local file made=0
  for file in "$ROOT"/dist/*.{wasm,js,css,html} "$ROOT"/dist/*/*.{wasm,js,css,html}; do
    [ -f "$file" ] || continue
    # Both tools give the copy the original's time: touched, it is newer than the original.
    if [ ! "$file.gz" -nt "$file" ]; then
      gzip -9 -n -k -f "$file" && touch "$file.gz" && made=1
    fi
    if command -v brotli >/dev/null 2>&1 && [ ! "$file.br" -nt "$file" ]; then
      brotli -q 11 -k -f "$file" && touch "$file.br" && made=1
    fi
  done
  [ "$made" = 0 ] || ok "dist/ compressed (gzip$(command -v brotli >/dev/null 2>&1 && echo ', brotli'))"
}

# setup_brotli: the brotli tool compress_dist uses (Debian's package); without it the app is
# sent gzip-compressed only.
setup_brotli() {
  command -v brotli >/dev/null 2>&1 && return 0
  if can_apt && apt_install brotli >/dev/null 2>&1; then
    ok "brotli installed"
  else
    note "no brotli tool: the app is served gzip-compressed only (Debian/Ubuntu: apt-get install brotli)"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  setup_build_tools
  if [ "${1:-}" = --tests ]; then
    setup_test_tools
  fi
fi
