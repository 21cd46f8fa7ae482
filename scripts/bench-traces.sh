#!/usr/bin/env bash
# What sign-in traces cost per sign-in (README, "Speed"): two instances of the same
# release build on the embedded SQLite default, one recording traces and one with
# GATEHOUSE_TRACE_RETENTION_DAYS=0, measured by gatehouse-bench alternately in one
# run; then the traces' size in the database per sign-in. Arguments go to gatehouse-bench, e.g. --logins 2000 --rounds 3.
# Instructions per sign-in: GATEHOUSE_TRACE_RETENTION_DAYS=0 scripts/callgrind.sh
# against scripts/callgrind.sh.
set -euo pipefail
GATEHOUSE_SKIP_BROWSER="${GATEHOUSE_SKIP_BROWSER:-1}"
export GATEHOUSE_SKIP_BROWSER
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

log "building the server and gatehouse-bench (release)"
leptos_build --release
cargo build --release -p gatehouse-bench
BIN="$CARGO_TARGET_DIR/release/gatehouse"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve NAME PORT RETENTION_DAYS (every server on core 0, the benchmark on core 1:
# they are measured one at a time)
serve() {
  mkdir -p "$WORK/$1"
  GATEHOUSE_LISTEN_ADDR="127.0.0.1:$2" GATEHOUSE_PUBLIC_URL="http://127.0.0.1:$2" \
    GATEHOUSE_DATA_DIR="$WORK/$1" GATEHOUSE_SECRET_KEY="$(openssl rand -base64 32)" \
    GATEHOUSE_TRACE_RETENTION_DAYS="$3" ORY_SYNC_INTERVAL_MS=0 RUST_LOG=warn \
    taskset -c 0 "$BIN" serve >>"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "not answering: $1 (log: $(cat "$WORK/$1.log"))" >&2
  exit 1
}

on="$(free_port)" off="$(free_port)"
serve traced "$on" 30
serve untraced "$off" 0

log "measuring, alternately: traces recorded, traces off"
bench_cpu=$(( $(nproc) > 1 ? 1 : 0 ))
taskset -c "$bench_cpu" "$CARGO_TARGET_DIR/release/gatehouse-bench" \
  --url "traces=http://127.0.0.1:$on" \
  --url "no traces=http://127.0.0.1:$off" \
  --rate 0 "$@"

sleep 1 # the trace writer's last batch
python3 - "$WORK/traced/gatehouse.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n, size, responses = db.execute(
    "SELECT COUNT(*), COALESCE(SUM(LENGTH(id) + LENGTH(product_id) + LENGTH(COALESCE(connection_id, '')) "
    "+ LENGTH(COALESCE(tenant, '')) + LENGTH(COALESCE(client_id, '')) + LENGTH(COALESCE(subject, '')) "
    "+ LENGTH(COALESCE(email, '')) + LENGTH(reference_id) + LENGTH(COALESCE(detail, '')) "
    "+ LENGTH(COALESCE(idp_response, ''))), 0), COALESCE(SUM(LENGTH(idp_response)), 0) FROM sign_in_traces"
).fetchone()
if n:
    print(f"traces stored: {n}; {size / n:.0f} bytes of text each ({responses / n:.0f} of them the redacted IdP response)")
else:
    print("no traces stored")
PY
