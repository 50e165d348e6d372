#!/usr/bin/env bash
# benches/memory.sh: resident memory (RSS) of the release binary idle and under load, the
# numbers behind the container memory limits in docs/deployment.md.
# Needs PostgreSQL and Redis (scripts/lib/services.sh finds or starts them) and wrk.
# Usage: benches/memory.sh [seconds of load per route, default 20] [connections, default 64]
#
# One instance with WORKERS=2 (what cpus: "2.0" gives a production replica), development
# mode (no external secrets), its own database and Redis prefix; the API_DEFAULT rate limit
# is raised so that the load is served, not refused. Loads: GET /api/members (session token,
# a 50-member page from PostgreSQL, the Redis rate-limit check, analytics) and GET /readyz.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh
ensure_services
secs=${1:-20}
conns=${2:-64}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --locked --bin unioneyes >/dev/null
bin=${CARGO_TARGET_DIR:-$root/target}/release/unioneyes
pg_create_db_if_missing unioneyes_bench
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
keys=$(mktemp -d)

export APP_ENV=development HOST=127.0.0.1 PORT=$port WORKERS=2 RUST_LOG=warn
DATABASE_URL=$(pg_url_with_db "$PG_ADMIN_URL" unioneyes_bench)
export DATABASE_URL REDIS_URL REDIS_KEY_PREFIX=unioneyes:bench: DEV_KEYS_DIR=$keys
CSRF_SECRET=$(head -c 32 /dev/urandom | base64)
export RATE_LIMITS=API_DEFAULT=100000/1s SHUTDOWN_DRAIN_SECS=0 CSRF_SECRET

"$bin" serve &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$keys"; services_cleanup' EXIT
for ((i = 0; ; i++)); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "the service exited" >&2; exit 1; }
  ((i < 300)) || { echo "the service was not ready within 30 s" >&2; exit 1; }
  sleep 0.1
done

kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
mib() { awk -v v="$1" 'BEGIN {printf "%.1f MiB", v / 1024}'; }

token=$("$bin" dev-token --user bench_user --org org_bench --role admin)
auth=(-H "Authorization: Bearer $token")
# A page of members to list (the first run of this script creates them).
count=$(curl -s "${auth[@]}" "http://127.0.0.1:$port/api/members?limit=50" | { grep -o '"id"' || true; } | wc -l)
for ((i = count; i < 50; i++)); do
  curl -s -o /dev/null "${auth[@]}" -H 'content-type: application/json' \
    -d "{\"firstName\":\"Bench$i\",\"lastName\":\"Member\",\"email\":\"bench$i@example.org\"}" \
    "http://127.0.0.1:$port/api/members"
done
count=$(curl -s "${auth[@]}" "http://127.0.0.1:$port/api/members?limit=50" | { grep -o '"id"' || true; } | wc -l)
echo "members listed per request: $count"

sleep 3
echo "idle after start:      RSS $(mib "$(kb VmRSS)"), threads $(kb Threads)"

load() { # label, path, extra wrk args...
  local label=$1 path=$2 peak=0 now out
  shift 2
  out=$(mktemp)
  wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" "http://127.0.0.1:$port$path" >"$out" &
  local wrk_pid=$!
  while kill -0 "$wrk_pid" 2>/dev/null; do
    now=$(kb VmRSS)
    ((now > peak)) && peak=$now
    sleep 0.5
  done
  wait "$wrk_pid"
  awk -v label="$label" -v peak="$(mib "$peak")" '
    /Requests\/sec/ {rps = $2} /^ +50%/ {p50 = $2} /^ +99%/ {p99 = $2}
    /Non-2xx/ {non2xx = $NF} /Socket errors/ {sock = $0}
    END {printf "%-22s RSS peak %s, %s req/s, p50 %s, p99 %s, non-2xx %d%s\n",
         label ":", peak, rps, p50, p99, non2xx, sock ? ", " sock : ""}' "$out"
  rm -f "$out"
}

load "GET /api/members" "/api/members?limit=50" "${auth[@]}"
load "GET /readyz" /readyz
sleep 5
echo "5 s after the load:    RSS $(mib "$(kb VmRSS)"), high-water mark $(mib "$(kb VmHWM)")"
echo "(wrk -t2 -c$conns -d${secs}s, WORKERS=2, $(nproc) cores shared with everything else running)"
