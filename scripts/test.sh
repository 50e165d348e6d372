#!/usr/bin/env bash
#
# scripts/test.sh: the whole test suite, as CI runs it (.ci/run).
#
# Steps, stopping at the first failure:
#   1. cargo fmt --all -- --check
#   2. scripts/check-containers.sh  (static checks of docker/: linters, LB config,
#      the image builds what run.sh builds; no container engine needed)
#   3. cargo clippy --workspace --all-targets -- -D warnings
#   4. the browser toolchain of the dashboard test (tests/api/dashboard/):
#      Debian's Chromium (apt-get install as root when missing) and
#      playwright-core (npm ci --prefix tests/browser)
#   5. cargo test --workspace [ARGS...]  (extra arguments go to cargo test)
# PostgreSQL and Redis come from scripts/lib/services.sh (existing servers, or
# throwaway ones stopped on exit); they are set up only once fmt and clippy
# have passed. The Rust test harness gets them as TEST_PG_ADMIN_URL (it
# creates a fresh database per test there) and TEST_REDIS_URL.
#
# Environment: DATABASE_URL / REDIS_URL pick the servers when reachable;
# UNIONEYES_FORCE_THROWAWAY=1 always starts throwaway ones.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh

# Runs one step: prints a header line, then PASSED or FAILED (and exits).
step() {
  local name=$1 status=0
  shift
  printf '\n==> %s\n' "$name"
  "$@" || status=$?
  if ((status != 0)); then
    printf '\n==> FAILED: %s (exit %d)\n' "$name" "$status" >&2
    exit "$status"
  fi
  printf '==> passed: %s\n' "$name"
}

# rustfmt and clippy are rustup components; add them when missing.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null; then
    step "rustup component add rustfmt clippy" rustup component add rustfmt clippy
  fi
fi

step "cargo fmt --all -- --check" cargo fmt --all -- --check
# Before clippy, which would quietly rewrite a stale Cargo.lock (the image builds --locked).
step "scripts/check-containers.sh (Dockerfile, compose, LB config)" scripts/check-containers.sh
step "cargo clippy --workspace --all-targets -- -D warnings" \
  cargo clippy --workspace --all-targets -- -D warnings

printf '\n==> PostgreSQL and Redis\n'
ensure_services
export TEST_PG_ADMIN_URL=$PG_ADMIN_URL TEST_REDIS_URL=$REDIS_URL

# The dashboard's browser test drives /usr/bin/chromium with playwright-core.
browser_toolchain() {
  if [[ ! -x /usr/bin/chromium ]]; then
    if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
      echo "Chromium is missing: sudo apt-get install -y chromium chromium-driver" >&2
      return 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  npm ci --prefix tests/browser --prefer-offline --no-audit --no-fund --loglevel=error
}
step "browser toolchain (Chromium, playwright-core)" browser_toolchain

step "cargo test --workspace${*:+ $*}" cargo test --workspace "$@"
printf '\n==> all tests passed\n'
