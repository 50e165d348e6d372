#!/usr/bin/env bash
#
# scripts/run.sh: run UnionEyes locally in development mode.
#
# Makes PostgreSQL and Redis available (scripts/lib/services.sh: existing
# servers, or throwaway ones stopped when this script exits), creates the
# `unioneyes_dev` database, builds the release binary (the profile that is
# deployed; slower to build than debug, but what you run is what ships),
# applies the migrations, then serves in the foreground until Ctrl-C (or
# SIGTERM). The banner with the URLs and tokens is printed once the instance
# answers /readyz.
#
#   ./scripts/run.sh                  serve
#   ./scripts/run.sh SUBCOMMAND ...   run another `unioneyes` subcommand with the
#                                     same development environment instead, e.g.
#                                     check-config, dev-token --user u --org o
#
# Environment (defaults in brackets):
#   DATABASE_URL      only picks the server; the database is DEV_DATABASE
#   DEV_DATABASE      [unioneyes_dev] (kept between runs)
#   REDIS_URL         Redis to use [127.0.0.1:6379, else a throwaway one]
#   REDIS_KEY_PREFIX  [unioneyes:dev:]
#   HOST, PORT        [127.0.0.1, 8080]
#   RUST_LOG          [info]
#   ADMIN_API_TOKEN   [generated once, kept in .dev/admin-token (git-ignored)]
#   SIN_ENCRYPTION_KEY, STRIPE_WEBHOOK_SECRET, CSRF_SECRET, METRICS_TOKEN
#                     [generated once, kept in .dev/]
#   APP_ORIGINS       [http://$HOST:$PORT]
#   DEV_KEYS_DIR      [.dev/keys: the local JWT key pair behind `unioneyes dev-token`]
#   UNIONEYES_FORCE_THROWAWAY=1  always start throwaway PostgreSQL and Redis
# APP_ENV is always `development`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh

DEV_DATABASE=${DEV_DATABASE:-unioneyes_dev}
# Subcommands that never connect get the URLs without servers being made available.
case ${1:-serve} in
  check-config | dev-token | healthcheck | help | --help | -h | --version | -V)
    DATABASE_URL=$(pg_url_with_db "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" "$DEV_DATABASE")
    REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
    ;;
  *)
    ensure_services
    pg_create_db_if_missing "$DEV_DATABASE"
    DATABASE_URL=$(pg_url_with_db "$PG_ADMIN_URL" "$DEV_DATABASE")
    ;;
esac

export APP_ENV=development
export DATABASE_URL REDIS_URL
export REDIS_KEY_PREFIX=${REDIS_KEY_PREFIX:-unioneyes:dev:}
export HOST=${HOST:-127.0.0.1}
export PORT=${PORT:-8080}
export RUST_LOG=${RUST_LOG:-info}

# Development secrets, generated once and kept in the git-ignored .dev/ (owner-only).
dev_secret() { # name, generator command
  local file=.dev/$1
  if [[ ! -s $file ]]; then
    (umask 077 && mkdir -p .dev && eval "$2" >"$file")
  fi
  cat "$file"
}
# 32 random bytes as 64 hex digits (never starts with a dash, pastes anywhere).
random_hex() { od -An -vtx1 -N32 /dev/urandom | tr -d ' \n'; }

token_origin="from ADMIN_API_TOKEN"
if [[ -z ${ADMIN_API_TOKEN:-} ]]; then
  ADMIN_API_TOKEN=$(dev_secret admin-token random_hex)
  token_origin="kept in .dev/admin-token"
fi
export ADMIN_API_TOKEN

export SIN_ENCRYPTION_KEY=${SIN_ENCRYPTION_KEY:-$(dev_secret sin-key 'head -c 32 /dev/urandom | base64')}
export STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-$(dev_secret stripe-webhook-secret 'printf "whsec_dev_%s" "$(head -c 24 /dev/urandom | base64 | tr "+/=" "-_x")"')}
export DEV_KEYS_DIR=${DEV_KEYS_DIR:-$root/.dev/keys}
# CSRF (docs/csrf.md): a kept secret, so tokens survive restarts; the service's own origin.
export CSRF_SECRET=${CSRF_SECRET:-$(dev_secret csrf-secret 'head -c 32 /dev/urandom | base64')}
export APP_ORIGINS=${APP_ORIGINS:-http://$HOST:$PORT}
# Prometheus /metrics on the main port behind a bearer token (docs/monitoring.md).
export METRICS_TOKEN=${METRICS_TOKEN:-$(dev_secret metrics-token random_hex)}

# The same command as docker/Dockerfile (scripts/check-containers.sh compares them).
bin=${CARGO_TARGET_DIR:-$root/target}/release/unioneyes
first=""
[[ -x $bin ]] || first=" (the first build takes several minutes)"
echo "==> cargo build --release --locked --bin unioneyes$first" >&2
cargo build --release --locked --bin unioneyes

# Another subcommand with the same environment (not exec: the EXIT trap stops
# throwaway services).
if (($#)); then
  status=0
  case $1 in
    # The tools that read or write tables need them (`serve` migrates by itself).
    org | rotate-sin-key) "$bin" migrate >&2 || exit ;;
  esac
  "$bin" "$@" || status=$?
  exit "$status"
fi

# `serve` applies pending migrations itself (DATABASE_MIGRATE_ON_STARTUP, default true).

# Where /metrics is served: the internal listener when METRICS_PORT is set (docs/monitoring.md).
metrics_url=http://$HOST:$PORT/metrics
if [[ -n ${METRICS_PORT:-} ]]; then
  metrics_url=http://${METRICS_HOST:-127.0.0.1}:$METRICS_PORT/metrics
  [[ $METRICS_PORT != 0 ]] || metrics_url="(METRICS_PORT=0: the log line 'metrics on …' names the port)"
fi
# The servers in use, without any password in their URLs.
hide_password() { sed -E 's#(://[^:/@]*):[^/]*@#\1:***@#' <<<"$1"; }
servers="$(hide_password "$DATABASE_URL")
                  $(hide_password "$REDIS_URL"), keys under $REDIS_KEY_PREFIX"
if [[ -n ${_SVC_PG_DATA:-}${_SVC_REDIS_PID:-} ]]; then
  servers+="
                  (throwaway servers, stopped with this script: other run.sh commands reach
                  them with DATABASE_URL=<the URL above> REDIS_URL=<the URL above>)"
fi

# The settings another run.sh command needs to reach this instance (only those not default):
# every run.sh is its own process and reads its own environment.
same=""
[[ $DEV_DATABASE == unioneyes_dev ]] || same+="DEV_DATABASE=$DEV_DATABASE "
[[ $REDIS_KEY_PREFIX == unioneyes:dev: ]] || same+="REDIS_KEY_PREFIX=$REDIS_KEY_PREFIX "
[[ $PORT == 8080 ]] || same+="PORT=$PORT "

banner() {
cat <<EOF

==> UnionEyes (development)
    URL:          http://$HOST:$PORT
    Health:       http://$HOST:$PORT/api/health
    Dashboard:    http://$HOST:$PORT/admin  (sign in with the admin token)
    API docs:     http://$HOST:$PORT/api/docs
    Metrics:      curl -H "Authorization: Bearer \$(cat .dev/metrics-token)" $metrics_url
    Data:         $servers
    Admin token:  $ADMIN_API_TOKEN  ($token_origin)
    Dev token:    $same$0 dev-token --user user_1 --org org_demo --role admin
    Other tools:  $same$0 check-config | org create --name … --slug … | migrate | rotate-sin-key
    Stripe:       webhook secret in .dev/stripe-webhook-secret (see docs/api.md)
    Stop with Ctrl-C (or SIGTERM when it runs in the background).

EOF
}

# Not exec: this shell must outlive the server so its EXIT trap stops the
# throwaway services. The server runs in its own session (so the terminal's
# Ctrl-C reaches it once, through us) and gets SIGINT/SIGTERM forwarded.
# `trap - INT QUIT` undoes bash ignoring them in background commands.
if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
  echo "==> something already listens on $HOST:$PORT; pick another port: PORT=8081 $0" >&2
  exit 1
fi
detach=()
if command -v setsid >/dev/null; then detach=(setsid); fi
(trap - INT QUIT && exec "${detach[@]}" "$bin" serve) &
server=$!
trap 'kill -INT "$server" 2>/dev/null || true' INT
trap 'kill -TERM "$server" 2>/dev/null || true' TERM
# The banner only once the instance answers /readyz; a server that exits first
# (port taken, bad configuration) gets a hint instead.
until "$bin" healthcheck --timeout-ms 500 >/dev/null 2>&1; do
  kill -0 "$server" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$server" 2>/dev/null; then
  banner
else
  echo "==> the server stopped before it was ready (see above). If port $PORT is taken: PORT=8081 $0" >&2
fi
status=0
wait "$server" || status=$?
# A trapped signal interrupts `wait`: keep waiting until the server has exited.
while kill -0 "$server" 2>/dev/null; do
  status=0
  wait "$server" || status=$?
done
exit "$status"
