#!/usr/bin/env bash
# benches/rolling_restart.sh: a rolling restart through HAProxy with the committed
# docker/haproxy/haproxy.cfg, without a container engine (docs/deployment.md).
# Two release instances on loopback ports stand in for app1 and app2 (same timings as
# docker/compose.prod.yml: SHUTDOWN_DRAIN_SECS=10, SHUTDOWN_GRACE_SECS=30); HAProxy (the
# Debian package, installed with apt-get as root when missing) runs the committed config
# with only its bind address and the two server addresses rewritten. wrk sends
# authenticated GET /api/members through the LB the whole time while app1, then app2, get
# SIGTERM and are started again once gone.
# Needs PostgreSQL and Redis (scripts/lib/services.sh) and wrk.
# Usage: benches/rolling_restart.sh [connections, default 16]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh
ensure_services
conns=${1:-16}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
if ! command -v haproxy >/dev/null && [[ ! -x /usr/sbin/haproxy ]]; then
  _svc_apt_install haproxy
fi
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
cargo build --release --locked --bin unioneyes >/dev/null
bin=${CARGO_TARGET_DIR:-$root/target}/release/unioneyes
pg_create_db_if_missing unioneyes_bench
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
declare -A port pid
port[app1]=$(free_port) port[app2]=$(free_port) lb_port=$(free_port)
work=$(mktemp -d)

export APP_ENV=development HOST=127.0.0.1 WORKERS=1 RUST_LOG=warn
DATABASE_URL=$(pg_url_with_db "$PG_ADMIN_URL" unioneyes_bench)
export DATABASE_URL REDIS_URL REDIS_KEY_PREFIX=unioneyes:bench: DEV_KEYS_DIR=$work/keys
export RATE_LIMITS=API_DEFAULT=100000/1s SHUTDOWN_DRAIN_SECS=10 SHUTDOWN_GRACE_SECS=30
CSRF_SECRET=$(head -c 32 /dev/urandom | base64)
export TRUSTED_PROXIES=127.0.0.1 CSRF_SECRET

stamp() { printf '%s\n' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f s", b - a}'; }

start() { # name
  PORT=${port[$1]} "$bin" serve >>"$work/$1.log" 2>&1 &
  pid[$1]=$!
  local t0
  t0=$(stamp)
  until [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port[$1]}/readyz") == 200 ]]; do
    kill -0 "${pid[$1]}" 2>/dev/null || { echo "$1 exited: $(tail -n 5 "$work/$1.log")" >&2; exit 1; }
    sleep 0.05
  done
  echo "$1: started, ready after $(since "$t0" "$(stamp)")"
}

cleanup() {
  for name in app1 app2; do kill -TERM "${pid[$name]:-}" 2>/dev/null || true; done
  kill "${lb_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
  services_cleanup
}
trap cleanup EXIT

# Request logging off (`no log`): the server state changes still reach stderr.
sed -e "s/^    bind :8080$/    bind 127.0.0.1:$lb_port/" -e "s/^    log global$/    no log/" \
  -e "s/^    server app1 app1:8080$/    server app1 127.0.0.1:${port[app1]}/" \
  -e "s/^    server app2 app2:8080$/    server app2 127.0.0.1:${port[app2]}/" \
  docker/haproxy/haproxy.cfg >"$work/haproxy.cfg"
grep -q "127.0.0.1:${port[app2]}" "$work/haproxy.cfg" || { echo "haproxy.cfg changed shape" >&2; exit 1; }

start app1
start app2
token=$("$bin" dev-token --user bench_user --org org_bench --role admin)
# HAProxy's log lines, each with the time it was read.
"$haproxy" -db -f "$work/haproxy.cfg" > >(while IFS= read -r line; do
  printf '%s %s\n' "$EPOCHREALTIME" "$line"
done >"$work/lb.log") 2>&1 &
lb_pid=$!
# Both servers in rotation (rise 2, inter 2 s).
sleep 5

wrk -t2 -c"$conns" -d45s --latency -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$lb_port/api/members?limit=20" >"$work/wrk.txt" &
wrk_pid=$!
sleep 5
for name in app1 app2; do
  t_term=$(stamp)
  kill -TERM "${pid[$name]}"
  wait "${pid[$name]}" || true
  t_exit=$(stamp)
  t_down=$(awk -v s="$name is DOWN" 'index($0, s) {print $1}' "$work/lb.log" | tail -n 1)
  echo "$name: SIGTERM -> HAProxy took it out after $(since "$t_term" "${t_down:-$t_term}"), process exited after $(since "$t_term" "$t_exit")"
  t_start=$(stamp)
  start "$name"
  until awk -v s="$name is UP" -v t="$t_start" 'index($0, s) && $1 > t {found = 1} END {exit !found}' "$work/lb.log"; do
    awk -v a="$t_start" -v b="$(stamp)" 'BEGIN {exit !(b - a > 30)}' && { echo "HAProxy did not put $name back within 30 s" >&2; exit 1; }
    sleep 0.1
  done
  echo "$name: back in HAProxy's rotation $(since "$t_start" "$(stamp)") after the start"
done
wait "$wrk_pid"
echo
echo "wrk through HAProxy during both restarts (wrk -t2 -c$conns -d45s):"
grep -E 'requests in|Non-2xx|Socket errors|Requests/sec|^ +(50|99)%' "$work/wrk.txt"
grep -q -E 'Non-2xx|Socket errors' "$work/wrk.txt" || echo "  no failed request: every response was 2xx, no socket error"
