# shellcheck shell=bash
#
# scripts/lib/services.sh: make a PostgreSQL and a Redis available to the
# calling script. Source it (do not execute it), then call `ensure_services`
# from the main shell (not inside $(...) or a subshell: the cleanup trap and
# the Redis child belong to the shell that calls it).
#
# ensure_services exports:
#   PG_ADMIN_URL  superuser URL of the server's `postgres` maintenance database
#   REDIS_URL     redis://127.0.0.1:PORT (or the caller's REDIS_URL)
#
# For each service, the first that works wins:
#   a) DATABASE_URL / REDIS_URL, when set and reachable (PG_ADMIN_URL is
#      DATABASE_URL with its database replaced by `postgres`);
#   b) whatever answers on 127.0.0.1:5432 / 127.0.0.1:6379 (for PostgreSQL:
#      only if user `postgres` can log in there without a password);
#   c) a throwaway instance started from the installed binaries in a temporary
#      folder on a free port, stopped and deleted when the script exits.
#   d) Binaries missing: as root, `apt-get install -y postgresql redis-server`
#      (and postgresql-client for psql), then b) or c); otherwise fail.
#
# Environment:
#   UNIONEYES_FORCE_THROWAWAY=1  skip a) and b): always start throwaway instances.
#
# Also provides:
#   pg_create_db_if_missing NAME  create database NAME through PG_ADMIN_URL
#   pg_url_with_db URL NAME       URL with its database replaced by NAME
#   services_cleanup              stop what ensure_services started (it runs on
#                                 EXIT by itself; call it yourself only if you
#                                 replace the EXIT trap after ensure_services)

_SVC_WAIT_SECONDS=30

_svc_log() { printf '[services] %s\n' "$*" >&2; }
_svc_die() {
  printf '[services] error: %s\n' "$*" >&2
  exit 1
}

_svc_forced() { [[ ${UNIONEYES_FORCE_THROWAWAY:-0} == 1 ]]; }

# Prefix for commands that start a server: a new session (setsid), so a Ctrl-C
# at the terminal does not reach it and the cleanup trap stops it after the
# caller's own processes.
_SVC_DETACH=()
if command -v setsid >/dev/null; then _SVC_DETACH=(setsid); fi

# True when something accepts TCP connections on HOST PORT.
_svc_tcp_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# Prints a port on 127.0.0.1 that nothing listens on.
_svc_free_port() {
  local port=$((20000 + RANDOM % 30000)) tries
  for ((tries = 0; tries < 200; tries++)); do
    if ! _svc_tcp_open 127.0.0.1 "$port"; then
      echo "$port"
      return
    fi
    port=$((port < 60000 ? port + 1 : 20000))
  done
  _svc_die "no free TCP port found on 127.0.0.1"
}

# Waits until "$@" succeeds, at most _SVC_WAIT_SECONDS.
_svc_wait_for() {
  local what=$1 deadline=$((SECONDS + _SVC_WAIT_SECONDS))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || _svc_die "$what did not answer within ${_SVC_WAIT_SECONDS}s"
    sleep 0.2
  done
}

# Installs Debian packages (root only); runs `apt-get update` once per shell.
_svc_apt_install() {
  if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
    _svc_die "missing $*: install it (Debian: sudo apt-get install -y $*), or set DATABASE_URL / REDIS_URL to running servers"
  fi
  _svc_log "installing $*"
  if [[ -z ${_SVC_APT_UPDATED:-} ]]; then
    apt-get update -qq
    _SVC_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- PostgreSQL -------------------------------------------------------------

pg_url_with_db() {
  local re='^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$'
  [[ $1 =~ $re ]] || _svc_die "not a postgres:// URL (database URLs must look like postgres://user@host:port/db)"
  printf '%s/%s%s\n' "${BASH_REMATCH[1]}" "$2" "${BASH_REMATCH[4]}"
}

# True when URL accepts a login (psql), or at least answers (pg_isready, TCP).
_svc_pg_usable() {
  if command -v psql >/dev/null; then
    PGCONNECT_TIMEOUT=3 psql -X -w -Atq -d "$1" -c 'select 1' >/dev/null 2>&1
  elif command -v pg_isready >/dev/null; then
    pg_isready -q -t 3 -d "$1"
  else
    local hostport=${1#*://}
    hostport=${hostport%%[/?]*}
    hostport=${hostport##*@}
    [[ $hostport == *:* ]] || hostport+=:5432
    _svc_tcp_open "${hostport%:*}" "${hostport##*:}"
  fi
}

# Prints the directory holding initdb and pg_ctl (newest version first).
_svc_pg_bindir() {
  local dir
  dir=$(pg_config --bindir 2>/dev/null) || dir=
  if [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]]; then
    echo "$dir"
    return
  fi
  while IFS= read -r dir; do
    if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then
      echo "$dir"
      return
    fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  dir=$(command -v initdb) && dirname "$dir"
}

# Runs "$@" as user postgres when we are root (PostgreSQL refuses root).
_svc_as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

_svc_start_postgres() {
  local bindir=$1 port data
  port=$(_svc_free_port)
  data=$_SVC_TMP/pg/data
  mkdir -p "$_SVC_TMP/pg"
  if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 ||
      useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
    chown -R postgres: "$_SVC_TMP"
  fi

  _svc_log "starting a throwaway PostgreSQL ($bindir) on 127.0.0.1:$port"
  _svc_as_pg "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C \
    --no-sync >"$_SVC_TMP/pg/initdb.log" 2>&1 ||
    _svc_die "initdb failed: $(tail -n 20 "$_SVC_TMP/pg/initdb.log")"
  cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$_SVC_TMP/pg'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
  _SVC_PG_BINDIR=$bindir _SVC_PG_DATA=$data
  _svc_as_pg "${_SVC_DETACH[@]}" "$bindir/pg_ctl" -D "$data" -l "$_SVC_TMP/pg/postgres.log" \
    -w -t "$_SVC_WAIT_SECONDS" start >/dev/null ||
    _svc_die "PostgreSQL did not start: $(tail -n 20 "$_SVC_TMP/pg/postgres.log")"
  PG_ADMIN_URL=postgres://postgres@127.0.0.1:$port/postgres
  _svc_wait_for "PostgreSQL on port $port" _svc_pg_usable "$PG_ADMIN_URL"
}

_svc_ensure_postgres() {
  local url bindir
  if ! _svc_forced; then
    if [[ -n ${DATABASE_URL:-} ]]; then
      url=$(pg_url_with_db "$DATABASE_URL" postgres)
      if _svc_pg_usable "$url"; then
        PG_ADMIN_URL=$url
        _svc_log "PostgreSQL: using the server from DATABASE_URL"
        return
      fi
      _svc_log "PostgreSQL: DATABASE_URL does not answer (or refuses the login), looking elsewhere"
    fi
    url=postgres://postgres@127.0.0.1:5432/postgres
    if _svc_pg_usable "$url"; then
      PG_ADMIN_URL=$url
      _svc_log "PostgreSQL: using $url"
      return
    fi
  fi

  if ! bindir=$(_svc_pg_bindir); then
    _svc_apt_install postgresql postgresql-client
    # The package may have created and started a cluster on 5432: use it if we can log in.
    url=postgres://postgres@127.0.0.1:5432/postgres
    if ! _svc_forced && _svc_pg_usable "$url"; then
      PG_ADMIN_URL=$url
      _svc_log "PostgreSQL: using the freshly installed $url"
      return
    fi
    bindir=$(_svc_pg_bindir) || _svc_die "PostgreSQL installed, but initdb/pg_ctl not found"
  fi
  _svc_start_postgres "$bindir"
}

pg_create_db_if_missing() {
  local name=$1
  [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || _svc_die "invalid database name: $name"
  local exists
  exists=$(psql -X -w -Atq -v ON_ERROR_STOP=1 -d "$PG_ADMIN_URL" \
    -c "select 1 from pg_database where datname = '$name'")
  if [[ $exists != 1 ]]; then
    _svc_log "creating database $name"
    psql -X -w -q -v ON_ERROR_STOP=1 -d "$PG_ADMIN_URL" -c "create database \"$name\""
  fi
}

# --- Redis ------------------------------------------------------------------

# True when URL answers PING (redis-cli), or when a PING over TCP gets a
# Redis reply (+PONG, or -NOAUTH when the server wants a password).
_svc_redis_usable() {
  if command -v redis-cli >/dev/null; then
    [[ $(timeout 3 redis-cli -u "$1" ping 2>/dev/null) == PONG ]]
  else
    local hostport=${1#*://}
    hostport=${hostport%%/*}
    hostport=${hostport##*@}
    [[ $hostport == *:* ]] || hostport+=:6379
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 &&
      IFS= read -r reply <&3 && [[ $reply == +PONG* || $reply == -NOAUTH* ]]' \
      "${hostport%:*}" "${hostport##*:}" 2>/dev/null
  fi
}

_svc_start_redis() {
  local port
  port=$(_svc_free_port)
  mkdir -p "$_SVC_TMP/redis"
  _svc_log "starting a throwaway Redis on 127.0.0.1:$port"
  "${_SVC_DETACH[@]}" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize no --dir "$_SVC_TMP/redis" >"$_SVC_TMP/redis/redis.log" 2>&1 &
  _SVC_REDIS_PID=$!
  REDIS_URL=redis://127.0.0.1:$port
  _svc_wait_for "Redis on port $port" _svc_redis_started
}

_svc_redis_started() {
  kill -0 "$_SVC_REDIS_PID" 2>/dev/null ||
    _svc_die "Redis exited: $(tail -n 20 "$_SVC_TMP/redis/redis.log")"
  _svc_redis_usable "$REDIS_URL"
}

_svc_ensure_redis() {
  if ! _svc_forced; then
    if [[ -n ${REDIS_URL:-} ]]; then
      if _svc_redis_usable "$REDIS_URL"; then
        _svc_log "Redis: using the server from REDIS_URL"
        return
      fi
      _svc_log "Redis: REDIS_URL does not answer, looking elsewhere"
    fi
    if _svc_redis_usable redis://127.0.0.1:6379; then
      REDIS_URL=redis://127.0.0.1:6379
      _svc_log "Redis: using $REDIS_URL"
      return
    fi
  fi
  command -v redis-server >/dev/null || _svc_apt_install redis-server
  if ! _svc_forced && _svc_redis_usable redis://127.0.0.1:6379; then
    REDIS_URL=redis://127.0.0.1:6379
    _svc_log "Redis: using the freshly installed $REDIS_URL"
    return
  fi
  _svc_start_redis
}

# --- Entry points -----------------------------------------------------------

services_cleanup() {
  if [[ -n ${_SVC_REDIS_PID:-} ]]; then
    kill "$_SVC_REDIS_PID" 2>/dev/null || true
    wait "$_SVC_REDIS_PID" 2>/dev/null || true
    _svc_log "stopped the throwaway Redis"
  fi
  if [[ -n ${_SVC_PG_DATA:-} ]]; then
    _svc_as_pg "$_SVC_PG_BINDIR/pg_ctl" -D "$_SVC_PG_DATA" -m fast -w -t 20 stop \
      >/dev/null 2>&1 || true
    _svc_log "stopped the throwaway PostgreSQL"
  fi
  if [[ -n ${_SVC_TMP:-} ]]; then
    rm -rf -- "$_SVC_TMP"
  fi
  _SVC_REDIS_PID='' _SVC_PG_DATA='' _SVC_TMP=''
}

ensure_services() {
  [[ -z ${_SVC_READY:-} ]] || return 0

  # Chain the caller's EXIT trap (if any) before ours.
  local previous
  local -a words
  previous=$(trap -p EXIT)
  if [[ -n $previous ]]; then
    eval "words=(${previous})" # trap -- 'COMMAND' EXIT
    _SVC_PREVIOUS_EXIT_TRAP=${words[2]}
  fi
  trap 'eval "${_SVC_PREVIOUS_EXIT_TRAP:-}"; services_cleanup' EXIT
  _SVC_TMP=$(mktemp -d "${TMPDIR:-/tmp}/unioneyes-services.XXXXXX")

  command -v psql >/dev/null || _svc_apt_install postgresql-client
  _svc_ensure_postgres
  _svc_ensure_redis
  export PG_ADMIN_URL REDIS_URL
  _SVC_READY=1
}
