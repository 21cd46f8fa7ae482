#!/usr/bin/env bash
# The login benchmark (README, "Speed"): builds the release server and gatehouse-bench,
# then runs complete logins against the server on SQLite and on PostgreSQL.
# Arguments go to gatehouse-bench (see --help), e.g. --engines sqlite --logins 8000.
# --reference jackson also measures SAML Jackson in the same run; gatehouse-bench
# installs it (npm ci --prefix scripts/jackson) the first time it is needed.
set -euo pipefail
GATEHOUSE_SKIP_BROWSER="${GATEHOUSE_SKIP_BROWSER:-1}"
export GATEHOUSE_SKIP_BROWSER
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

log "building the server (release, as scripts/run.sh does)"
leptos_build --release
log "building gatehouse-bench (release)"
cargo build --release -p gatehouse-bench
exec "$CARGO_TARGET_DIR/release/gatehouse-bench" "$@"
