#!/usr/bin/env bash
# A local Redis Cluster for the cluster test run, the failover test and the cluster bench: six
# redis-server processes (three masters, three replicas) on 127.0.0.1, no persistence, data under
# /tmp. A short cluster-node-timeout makes a replica take over a dead master within seconds.
#
#   scripts/redis-cluster.sh start    start (or restart) the six nodes and create the cluster
#   scripts/redis-cluster.sh stop     stop them and remove their data
#   scripts/redis-cluster.sh nodes    print the nodes as REDIS_CLUSTER_NODES wants them
#   scripts/redis-cluster.sh revive PORT
#                                     start a node that died again: it keeps its nodes.conf, so it
#                                     rejoins the cluster (a dead master comes back as a replica)
#
# REDIS_CLUSTER_BASE_PORT (default 7101) moves the ports (base to base+5); REDIS_CLUSTER_NODE_TIMEOUT
# (ms, default 1500) is cluster-node-timeout.
set -euo pipefail

BASE_PORT="${REDIS_CLUSTER_BASE_PORT:-7101}"
NODE_TIMEOUT="${REDIS_CLUSTER_NODE_TIMEOUT:-1500}"
DIR="/tmp/cine-redis-cluster-${BASE_PORT}"
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=("$((BASE_PORT + i))"); done

nodes() {
  local list=()
  for port in "${PORTS[@]}"; do list+=("127.0.0.1:${port}"); done
  (IFS=,; echo "${list[*]}")
}

stop() {
  for port in "${PORTS[@]}"; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  for port in "${PORTS[@]}"; do
    for _ in $(seq 1 50); do
      redis-cli -p "$port" ping >/dev/null 2>&1 || break
      sleep 0.1
    done
  done
  rm -rf "$DIR"
}

start_node() {
  local port="$1"
  mkdir -p "$DIR/$port"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
    --dir "$DIR/$port" --logfile "$DIR/$port/redis.log" --pidfile "$DIR/$port/redis.pid" \
    --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout "$NODE_TIMEOUT" --save "" --appendonly no
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "redis node $port did not start (log: $DIR/$port/redis.log)" >&2
  return 1
}

revive() {
  local port="$1"
  [ -f "$DIR/$port/nodes.conf" ] || { echo "no node $port in $DIR" >&2; return 1; }
  redis-cli -p "$port" ping >/dev/null 2>&1 || start_node "$port"
}

start() {
  stop
  for port in "${PORTS[@]}"; do start_node "$port"; done
  local addresses=()
  for port in "${PORTS[@]}"; do addresses+=("127.0.0.1:${port}"); done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
  # Created is not yet usable: every node must agree the slots are covered.
  for _ in $(seq 1 300); do
    local ok=0
    for port in "${PORTS[@]}"; do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' && ok=$((ok + 1))
    done
    if [ "$ok" -eq "${#PORTS[@]}" ]; then
      echo "redis cluster up: $(nodes)"
      return 0
    fi
    sleep 0.1
  done
  echo "redis cluster did not reach cluster_state:ok within 30 s (logs in $DIR)" >&2
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  nodes) nodes ;;
  revive) revive "${2:?usage: $0 revive PORT}" ;;
  *)
    echo "usage: $0 start|stop|nodes|revive PORT" >&2
    exit 2
    ;;
esac
