#!/usr/bin/env bash
# Command 1: build Gatehouse and run it on the embedded SQLite default.
# Installs what is missing first (scripts/setup.sh). Data goes to ./data/.
# Any configuration variable from the README can be set in the environment.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

log "building (release)"
leptos_build --release

export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$ROOT/target/site}"
log "starting Gatehouse on ${GATEHOUSE_LISTEN_ADDR:-127.0.0.1:3000} (Ctrl-C to stop)"
exec "$CARGO_TARGET_DIR/release/gatehouse"
