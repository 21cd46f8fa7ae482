#!/usr/bin/env bash
# Fuzz the SAML response path and the metadata parser for [minutes] (default 10),
# release build. Findings (panics, hangs, signature bypasses) go to target/fuzz-findings/.
#   ./scripts/fuzz.sh [minutes] [--seed N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
minutes="${1:-10}"
shift || true
cargo run --release -p gatehouse-fuzz -- --seconds "$(( minutes * 60 ))" "$@"
