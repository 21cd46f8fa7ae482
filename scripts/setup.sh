#!/usr/bin/env bash
# Installs what building and testing Gatehouse needs, skipping what is already there.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run again.
#
# On an ordinary machine this is: system libraries (libxmlsec1, OpenSSL, libclang),
# the wasm32 Rust target, cargo-leptos, wasm-bindgen-cli at the version in
# Cargo.lock, and the npm packages (Tailwind, wasm-opt from npm's binaryen, the
# third-party test peers). Machines that cannot download the rustup wasm32 target
# fall back to Debian's Rust with -Z build-std (see ../shared/TOOLCHAIN.md).

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse/target}"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
mkdir -p "$CARGO_TARGET_DIR"

# --- system packages ---------------------------------------------------------------
need_pkgs=()
want_pkgs=(pkg-config libssl-dev libxml2-dev libxmlsec1-dev libxmlsec1-openssl libclang-dev clang xmlsec1 jsonnet nginx curl)
[ "${GATEHOUSE_SKIP_BROWSER:-0}" = 1 ] || want_pkgs+=(chromium)
if command -v dpkg >/dev/null 2>&1; then
  for p in "${want_pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
  done
fi
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ ! -f /tmp/.gatehouse-apt-updated ]; then
    log "apt-get update"
    $sudo apt-get update -qq && touch /tmp/.gatehouse-apt-updated
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    apt_install "${need_pkgs[@]}"
  else
    log "please install: ${need_pkgs[*]} (libxmlsec1 with OpenSSL, libxml2, libclang, pkg-config, Chromium)"
    exit 1
  fi
fi

# --- node packages -----------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  apt_install nodejs npm
fi
lock_hash="$(sha256sum package-lock.json 2>/dev/null | cut -c1-16 || true)"
if [ ! -f node_modules/.gatehouse-lock ] || [ "$(cat node_modules/.gatehouse-lock)" != "$lock_hash" ]; then
  # `npm install --no-save` follows package-lock.json without rewriting it. (`npm ci`
  # rejects locks written with omit-lockfile-registry-resolved, which leave out other
  # platforms' optional packages.)
  log "npm install (from package-lock.json)"
  npm install --no-save --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.gatehouse-lock
fi

# --- Python test peers (schemathesis: the admin API against its OpenAPI document;
# prometheus_client: parses /metrics; standardwebhooks: checks webhook signatures) ------
PY_VENV="${GATEHOUSE_PY_VENV:-$HOME/.cache/gatehouse/venv}"
PY_REQS="$ROOT/scripts/requirements-test.txt"
py_hash="$(sha256sum "$PY_REQS" | cut -c1-16)"
if [ ! -f "$PY_VENV/.gatehouse-reqs" ] || [ "$(cat "$PY_VENV/.gatehouse-reqs")" != "$py_hash" ]; then
  python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
  python3 -m venv "$PY_VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$PY_VENV"; }
  log "pip install -r scripts/requirements-test.txt"
  "$PY_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$PY_REQS"
  echo "$py_hash" > "$PY_VENV/.gatehouse-reqs"
fi
export PATH="$PY_VENV/bin:$PATH"

# --- the wasm32 target ---------------------------------------------------------------
# GATEHOUSE_WASM_FALLBACK=1: build the wasm side with Debian's Rust and -Z build-std.
export GATEHOUSE_WASM_FALLBACK="${GATEHOUSE_WASM_FALLBACK:-0}"
if [ "$GATEHOUSE_WASM_FALLBACK" = 0 ] && ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  log "rustup target add wasm32-unknown-unknown"
  if ! timeout 900 rustup target add wasm32-unknown-unknown; then
    log "rustup could not fetch the wasm32 target: using Debian's Rust with -Z build-std"
    GATEHOUSE_WASM_FALLBACK=1
  fi
fi
if [ "$GATEHOUSE_WASM_FALLBACK" = 1 ]; then
  for p in rustc-web cargo-web rust-web-src lld-19; do
    dpkg -s "$p" >/dev/null 2>&1 || apt_install rustc-web cargo-web rust-web-src lld-19
  done
fi

# --- cargo-leptos ------------------------------------------------------------------
CARGO_LEPTOS_VERSION=0.3.11
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 30 minutes the first time)"
  rustc_minor="$(rustc --version | sed -E 's/rustc 1\.([0-9]+).*/\1/')"
  if [ "${rustc_minor:-0}" -ge 96 ]; then
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  else
    # one of its dependencies needs rustc 1.96: use Debian's
    dpkg -s rustc-web >/dev/null 2>&1 || apt_install rustc-web cargo-web
    RUSTC=/usr/bin/rustc CARGO_TARGET_DIR="$HOME/.cache/gatehouse/tools-target" \
      /usr/bin/cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --root "$HOME/.cargo"
  fi
fi

# --- wasm-bindgen CLI, exactly the version in Cargo.lock --------------------------------
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; print $3; exit}' Cargo.lock | tr -d '"')"
if ! wasm-bindgen --version 2>/dev/null | grep -q " ${WB_VERSION}\$"; then
  log "installing wasm-bindgen-cli $WB_VERSION"
  CARGO_TARGET_DIR="$HOME/.cache/gatehouse/tools-target" cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

# --- how to build the site -------------------------------------------------------------
leptos_build() {
  # usage: leptos_build [--release]
  if [ "$GATEHOUSE_WASM_FALLBACK" = 1 ]; then
    PATH="$ROOT/node_modules/.bin:/usr/bin:$HOME/.cargo/bin:$PATH" \
    RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19 \
      cargo leptos build "$@" --lib-cargo-args=-Zbuild-std=std,panic_abort
  else
    cargo leptos build "$@"
  fi
}
export -f leptos_build 2>/dev/null || true
log "toolchain ready (target dir: $CARGO_TARGET_DIR)"
