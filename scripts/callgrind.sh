#!/usr/bin/env bash
# Instructions per login, by shared object, counted by callgrind (README, "Speed").
# On these shared machines wall-clock A/B only resolves changes above ~10 %; an
# instruction count is the same whatever else the machine is doing. Runs the server
# under valgrind twice on a fresh SQLite database, once for 100 and once for 400
# logins (4 clients, back to back), and prints the difference per login, so the
# set-up (sign-up, product, connection) cancels out. libcrypto's figure is not
# comparable between builds: it includes the product's RSA key generation, whose cost
# is random, and valgrind runs OpenSSL's non-AVX-512 code.
#
#   scripts/callgrind.sh [path/to/gatehouse] [path/to/gatehouse-bench]
# (defaults: the release binaries in $CARGO_TARGET_DIR; build them with scripts/bench.sh)
# With CALLGRIND_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test each run gets a
# fresh PostgreSQL database there instead (the server's own instructions only).
set -euo pipefail
TARGET="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse/target}"
SERVER="${1:-$TARGET/release/gatehouse}"
BENCH="${2:-$TARGET/release/gatehouse-bench}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
WORK="$(mktemp -d)"
# A failed run leaves no server behind under valgrind.
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

run() { # run LOGINS -> $WORK/LOGINS.cg
  local n=$1 port=$((20000 + RANDOM % 20000)) data="$WORK/data-$1"
  mkdir -p "$data"
  local db=()
  if [ -n "${CALLGRIND_POSTGRES_URL:-}" ]; then
    local name="gh_callgrind_${n}_$$"
    PGOPTIONS="-c client_min_messages=warning" psql -q "$CALLGRIND_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
    db=(DATABASE_URL="${CALLGRIND_POSTGRES_URL%/*}/$name")
  fi
  env -u DATABASE_URL "${db[@]}" \
  GATEHOUSE_LISTEN_ADDR=127.0.0.1:$port GATEHOUSE_PUBLIC_URL=http://127.0.0.1:$port \
  GATEHOUSE_DATA_DIR="$data" GATEHOUSE_SECRET_KEY="$(head -c 32 /dev/urandom | base64)" \
  RUST_LOG=warn \
    valgrind --tool=callgrind --callgrind-out-file="$WORK/$n.cg" "$SERVER" >/dev/null 2>"$WORK/$n.vg" &
  local vg=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
  "$BENCH" --url "http://127.0.0.1:$port" --rate 0 --warmup 0 --logins "$n" --concurrency 4 >"$WORK/$n.bench" 2>&1 ||
    { cat "$WORK/$n.bench" "$WORK/$n.vg" >&2; exit 1; }
  kill -INT $vg
  wait $vg || true
}
echo "[callgrind] 100 logins, then 400 (a few minutes)" >&2
run 100
run 400
python3 - "$WORK/100.cg" "$WORK/400.cg" <<'PY'
import collections, re, subprocess, sys
def by_object(path):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    totals = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+.*\[(.*?)\]\s*$", line)
        if m and "PROGRAM TOTALS" not in line:
            totals[m.group(2).split("/")[-1]] += int(m.group(1).replace(",", ""))
    return totals
a, b = by_object(sys.argv[1]), by_object(sys.argv[2])
diff = {k: (b[k] - a[k]) / 300 for k in set(a) | set(b)}
for k, v in sorted(diff.items(), key=lambda kv: -kv[1]):
    if abs(v) > 20_000:
        print(f"{k:40s} {v / 1e6:8.3f} M instructions per login")
rest = sum(v for k, v in diff.items() if not k.startswith("libcrypto"))
print(f"{'all but libcrypto':40s} {rest / 1e6:8.3f} M instructions per login")

def inclusive(path, function):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+\S*?" + function + r"\b", line)
        if m:
            return int(m.group(1).replace(",", ""))
    return 0
# SQLite's WAL checkpoints (the background PASSIVE ones and the TRUNCATE once the
# log passes its bound), all through sqlite3Checkpoint. Under valgrind the server is
# ~50x slower, so a 250 ms tick sees fewer sign-ins and checkpoints more often than
# at full speed: this is an upper bound.
cp = (inclusive(sys.argv[2], "sqlite3Checkpoint") - inclusive(sys.argv[1], "sqlite3Checkpoint")) / 300
print(f"{'of which SQLite WAL checkpoints':40s} {cp / 1e6:8.3f} M instructions per login")
PY
