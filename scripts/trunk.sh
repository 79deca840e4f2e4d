#!/usr/bin/env bash
# Runs trunk in the wasm build environment that scripts/setup.sh prepares (the right cargo and
# wasm32 standard library, wasm-bindgen, npm's wasm-opt, target/wasm). setup_build_tools puts the
# exact tool versions Trunk.toml names on PATH, so trunk never downloads one. For example:
#   scripts/trunk.sh serve            the app on http://localhost:8080, rebuilt on change
#   scripts/trunk.sh build --release  the app's bundle alone, into an emptied dist/ (the inspector
#                                     and the console are gone until scripts/run.sh builds every
#                                     bundle: shared/src/bundle.rs, build_frontend)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh"

setup_build_tools
wasm_run trunk "$@"
