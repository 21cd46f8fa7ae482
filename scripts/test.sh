#!/usr/bin/env bash
# Command 2: run every test. Installs what is missing first (scripts/setup.sh).
# `--quick`: format, lints and the Rust tests on SQLite only (the local loop).
#
#   1. cargo fmt --check, cargo clippy -D warnings
#   2. the wasm client's dependency rule (no sqlx/openssl/xmlsec/reqwest)
#   3. Rust unit + integration tests on SQLite and PostgreSQL (with a bounded fuzz pass,
#      GATEHOUSE_FUZZ_SECONDS per target, default 15; scripts/fuzz.sh runs longer)
#   4. the test peers' own tests (Ory emulator, SAML IdP)
#   5. release build + end-to-end tests in headless Chromium
#   6. a 2-minute soak on SQLite (bounded WAL, database and memory)
#
# PostgreSQL: GATEHOUSE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
# each test gets a fresh database. GATEHOUSE_TEST_ENGINES=sqlite skips PostgreSQL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
# The target dir is reused from run to run; incremental caches would only grow it.
export CARGO_INCREMENTAL=0
step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*" >&2; }
t0=$(date +%s)

QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

if [ "$QUICK" = 1 ]; then
  step "quick: unit and integration tests on SQLite"
  GATEHOUSE_TEST_ENGINES=sqlite GATEHOUSE_FUZZ_SECONDS="${GATEHOUSE_FUZZ_SECONDS:-3}" \
    cargo test --workspace --no-fail-fast
  step "quick tests passed in $(( $(date +%s) - t0 ))s (the full run: ./scripts/test.sh)"
  exit 0
fi
cargo clippy -p gatehouse-app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate -- -D warnings

step "the wasm client depends on no server-only crate"
for crate in sqlx openssl xmlsec reqwest samael libxml tokio; do
  pulled="$(cargo tree -p gatehouse-app --target wasm32-unknown-unknown --no-default-features --features hydrate -e normal -i "$crate" 2>/dev/null || true)"
  if [ -n "$pulled" ]; then
    echo "the hydrate build pulls in $crate:" >&2
    echo "$pulled" >&2
    exit 1
  fi
done
echo "ok: the wasm client is free of sqlx, openssl, xmlsec, reqwest, samael, libxml and tokio"

step "Rust tests (engines: ${GATEHOUSE_TEST_ENGINES:-sqlite,postgres})"
PG_URL="${GATEHOUSE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
if [[ "${GATEHOUSE_TEST_ENGINES:-sqlite,postgres}" == *postgres* ]]; then
  # drop databases left by earlier runs
  psql "$PG_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'gh\_test\_%'" 2>/dev/null \
    | while read -r db; do psql "$PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true; done
fi
cargo test --workspace --no-fail-fast

step "the signature policy in the vendored samael (vendor/samael/GATEHOUSE-PATCH.md)"
cargo test --manifest-path vendor/samael/Cargo.toml --lib crypto::xmlsec

step "test peers' own tests"
node --test end2end/support/ory-emulator.test.mjs end2end/support/saml-idp.test.mjs

step "release build and end-to-end tests (headless Chromium)"
leptos_build --release
node end2end/run.mjs

step "soak: 2 minutes of sign-ins on SQLite, the WAL, the database and memory stay bounded"
cargo build --release -p gatehouse-bench
"$CARGO_TARGET_DIR/release/gatehouse-bench" --soak 2 --engines sqlite --rate 100 \
  --soak-check --soak-chart "$CARGO_TARGET_DIR/soak-check"

step "all tests passed in $(( $(date +%s) - t0 ))s"
