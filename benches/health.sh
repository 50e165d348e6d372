#!/usr/bin/env bash
# benches/health.sh: latency of /api/health, /livez and /readyz under load, with every
# dependency up and with Redis unreachable (the endpoints answer from the supervisor's cache).
# Needs PostgreSQL and Redis (scripts/lib/services.sh finds or starts them) and wrk.
# Usage: benches/health.sh [seconds per run, default 8]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh
ensure_services
secs=${1:-8}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --bin unioneyes >/dev/null
bin=${CARGO_TARGET_DIR:-$root/target}/release/unioneyes
pg_create_db_if_missing unioneyes_bench

run() { # label, redis url
  local port=18700
  APP_ENV=development HOST=127.0.0.1 PORT=$port WORKERS=1 RUST_LOG=warn \
    DATABASE_URL=$(pg_url_with_db "$PG_ADMIN_URL" unioneyes_bench) REDIS_URL=$2 \
    REDIS_KEY_PREFIX=unioneyes:bench: SHUTDOWN_DRAIN_SECS=0 "$bin" serve &
  local pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/livez" >/dev/null 2>&1 && break
    sleep 0.1
  done
  sleep 1
  echo "== $1: $(curl -s "http://127.0.0.1:$port/api/health" | head -c 120)…"
  for path in /api/health /livez /readyz; do
    printf '%-12s ' "$path"
    wrk -t1 -c16 -d"${secs}s" --latency "http://127.0.0.1:$port$path" |
      awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%10s req/s  p50 %8s  p99 %8s\n", rps, p50, p99}'
  done
  kill -TERM "$pid"; wait "$pid" || true
}

run "all dependencies up" "$REDIS_URL"
run "Redis unreachable (closed port)" "redis://127.0.0.1:1"
