#!/usr/bin/env bash
# Make sure the local PostgreSQL, Redis and RabbitMQ that the tests use are up.
# Each service that does not answer is started with the machine's standard command, then we
# wait (with a deadline, not a fixed sleep) until it answers. A no-op when all three are up.
# Usage: bash .ci/ensure-services.sh   (also called by .ci/run)
set -euo pipefail

SERVICE_TIMEOUT_SECONDS="${SERVICE_TIMEOUT_SECONDS:-120}"

log() { printf '[ensure-services] %s\n' "$*"; }

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
# ping: the node is running (fails fast when it is not); check_running: the RabbitMQ app has
# finished booting; check_port_listener: AMQP clients can connect. (Not `rabbitmqctl
# await_startup`: it can block for a minute when the node is unreachable.)
rabbit_up() {
  rabbitmq-diagnostics -q ping >/dev/null 2>&1 &&
    rabbitmq-diagnostics -q check_running >/dev/null 2>&1 &&
    rabbitmq-diagnostics -q check_port_listener 5672 >/dev/null 2>&1
}

start_pg() {
  # pg_isready exit 1 = "rejecting connections" (starting up or shutting down): don't start twice.
  local rc=0
  pg_isready -h 127.0.0.1 -p 5432 -q || rc=$?
  if [ "$rc" -eq 1 ]; then
    log "PostgreSQL is starting; waiting"
    return 0
  fi
  # shellcheck disable=SC2046 # the machine's documented start command, verbatim
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
}

start_redis() {
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

start_rabbit() {
  # The Erlang VM may be up while the app is still booting: only start when ping fails.
  if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    log "RabbitMQ node is running but not ready yet; waiting"
    return 0
  fi
  rabbitmq-server -detached
}

# ensure NAME CHECK_FN START_FN
ensure() {
  local name="$1" check="$2" start="$3"
  if "$check"; then
    log "$name is up"
    return 0
  fi
  log "$name is down; starting it"
  if ! "$start"; then
    log "warning: the start command for $name failed; waiting in case it is coming up anyway"
  fi
  local deadline=$((SECONDS + SERVICE_TIMEOUT_SECONDS))
  until "$check"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "ERROR: $name did not answer within ${SERVICE_TIMEOUT_SECONDS}s"
      return 1
    fi
    sleep 1
  done
  log "$name is up (after $((SECONDS + SERVICE_TIMEOUT_SECONDS - deadline))s)"
}

main() {
  ensure PostgreSQL pg_up start_pg
  ensure Redis redis_up start_redis
  ensure RabbitMQ rabbit_up start_rabbit
}

# Run when executed; only define the functions when sourced.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
