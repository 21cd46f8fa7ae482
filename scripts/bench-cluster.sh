#!/usr/bin/env bash
# Sign-ins per second through nginx with one and with two Gatehouse instances on one
# PostgreSQL database, and straight to one instance (the cost of the load balancer
# hop), measured by gatehouse-bench alternately in one run (README, "Several
# instances"). Arguments go to gatehouse-bench, e.g. --logins 2000 --rounds 3.
set -euo pipefail
GATEHOUSE_SKIP_BROWSER="${GATEHOUSE_SKIP_BROWSER:-1}"
export GATEHOUSE_SKIP_BROWSER
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

log "building the server and gatehouse-bench (release)"
leptos_build --release
cargo build --release -p gatehouse-bench
BIN="$CARGO_TARGET_DIR/release/gatehouse"
PG="${GATEHOUSE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
KEY="$(openssl rand -base64 32)"
WORK="$(mktemp -d)"
PIDS=()
DBS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for d in "${DBS[@]}"; do psql "$PG" -qc "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A fresh database; prints its URL.
database() {
  local name="gh_bench_$1_$$"
  psql "$PG" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
  DBS+=("$name")
  echo "${PG%/*}/$name"
}

# serve PORT PUBLIC_URL DATABASE_URL
serve() {
  GATEHOUSE_LISTEN_ADDR="127.0.0.1:$1" GATEHOUSE_PUBLIC_URL="$2" DATABASE_URL="$3" \
    GATEHOUSE_SECRET_KEY="$KEY" GATEHOUSE_TRUSTED_PROXIES=127.0.0.1/32 \
    ORY_SYNC_INTERVAL_MS=0 RUST_LOG=warn \
    "$BIN" serve >>"$WORK/servers.log" 2>&1 &
  PIDS+=($!)
}

# balance PORT UPSTREAM_PORT...: the configuration of docs/deploy.md without TLS.
balance() {
  local port="$1" dir="$WORK/nginx-$1"
  shift
  mkdir -p "$dir"
  {
    echo "daemon off; master_process off; worker_processes 1;"
    echo "error_log $dir/error.log warn; pid $dir/nginx.pid;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off;"
    echo "  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;"
    echo "  fastcgi_temp_path $dir/fcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;"
    echo "  upstream gatehouse {"
    for u in "$@"; do echo "    server 127.0.0.1:$u max_fails=1 fail_timeout=30s;"; done
    echo "    keepalive 64; }"
    echo "  server { listen 127.0.0.1:$port; client_max_body_size 2m;"
    echo "    location / { proxy_pass http://gatehouse; proxy_http_version 1.1;"
    echo '      proxy_set_header Connection ""; proxy_set_header Host $http_host;'
    echo '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;'
    echo '      proxy_set_header X-Request-Id $request_id;'
    echo "      proxy_next_upstream error timeout non_idempotent; } } }"
  } >"$dir/nginx.conf"
  nginx -p "$dir" -c "$dir/nginx.conf" 2>>"$WORK/nginx.log" &
  PIDS+=($!)
}

up() {
  for _ in $(seq 150); do
    curl -sf "$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "not answering: $1 (logs in $WORK)" >&2
  cat "$WORK"/*.log >&2 || true
  exit 1
}

# 1. one instance, no load balancer
p1="$(free_port)"
serve "$p1" "http://127.0.0.1:$p1" "$(database direct)"
# 2. nginx in front of one instance
n2="$(free_port)" p2="$(free_port)"
serve "$p2" "http://127.0.0.1:$n2" "$(database one)"
balance "$n2" "$p2"
# 3. nginx in front of two instances on one database
n3="$(free_port)" p3a="$(free_port)" p3b="$(free_port)"
db3="$(database two)"
serve "$p3a" "http://127.0.0.1:$n3" "$db3"
up "http://127.0.0.1:$p3a"   # the first one migrates
serve "$p3b" "http://127.0.0.1:$n3" "$db3"
balance "$n3" "$p3a" "$p3b"
for u in "http://127.0.0.1:$p1" "http://127.0.0.1:$n2" "http://127.0.0.1:$n3" "http://127.0.0.1:$p3b"; do
  up "$u"
done

log "measuring, alternately: direct, nginx → 1 instance, nginx → 2 instances"
"$CARGO_TARGET_DIR/release/gatehouse-bench" \
  --url "direct=http://127.0.0.1:$p1" \
  --url "nginx → 1 instance=http://127.0.0.1:$n2" \
  --url "nginx → 2 instances=http://127.0.0.1:$n3" \
  --rounds 2 --rate 0 "$@"
