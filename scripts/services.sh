#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis are reachable for the dev stack and the tests.
#
# DATABASE_URL / REDIS_URL set: those servers are the caller's business and are
# left alone. Otherwise the local servers on their default ports are used:
# started when installed but stopped, installed with apt-get when missing
# (as root), or, when not root, the exact command to run is printed.
set -euo pipefail

PG_PORT=5432
REDIS_PORT=6379

log() { echo "services: $*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do
    listening "$port" && return 0
    sleep 0.5
  done
  log "$name did not start listening on 127.0.0.1:$port within 30 s"
  return 1
}

install_packages() {
  if [ "$(id -u)" -ne 0 ]; then
    log "$* not installed. Install it, then run this again:"
    log "  sudo apt-get update && sudo apt-get install -y $*"
    exit 1
  fi
  log "installing $* with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_cluster_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

start_postgres() {
  local version
  version=$(pg_cluster_version)
  if [ -z "$version" ]; then
    install_packages postgresql
    version=$(pg_cluster_version)
    fresh_postgres=1
  fi
  log "starting PostgreSQL $version"
  if [ "$(id -u)" -eq 0 ] || [ "$(id -un)" = postgres ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  else
    log "PostgreSQL is installed but stopped. Start it, then run this again:"
    log "  sudo pg_ctlcluster --skip-systemctl-redirect $version main start"
    exit 1
  fi
  wait_for PostgreSQL "$PG_PORT"
  if [ "${fresh_postgres:-0}" = 1 ]; then
    # A fresh Debian cluster asks for a password over TCP; the tests' default
    # URL carries postgres:postgres.
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\""
  fi
}

start_redis() {
  if ! command -v redis-server >/dev/null; then
    install_packages redis-server
  fi
  listening "$REDIS_PORT" && return 0 # the package's own service may have started it
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
    --save "" --appendonly no --logfile /tmp/rd-redis.log
  wait_for Redis "$REDIS_PORT"
}

if [ -n "${DATABASE_URL:-}" ]; then
  log "DATABASE_URL is set: using that PostgreSQL"
elif listening "$PG_PORT"; then
  log "PostgreSQL is up on 127.0.0.1:$PG_PORT"
else
  start_postgres
fi

if [ -n "${REDIS_URL:-}" ]; then
  log "REDIS_URL is set: using that Redis"
elif listening "$REDIS_PORT"; then
  log "Redis is up on 127.0.0.1:$REDIS_PORT"
else
  start_redis
fi
