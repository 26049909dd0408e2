#!/usr/bin/env bash
# Install (Debian's redis-server) and start a local Redis for the multi-node tests, on loopback only, without
# persistence (nothing it holds is written to disk). Prints its URL on stdout. Safe to repeat.
set -euo pipefail
PORT=${BANGJIAO_TEST_REDIS_PORT:-6391}
if ! command -v redis-server >/dev/null; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
fi
if ! redis-cli -p "$PORT" ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no --daemonize yes \
    --dir /tmp --pidfile "/tmp/bangjiao-redis-$PORT.pid" --logfile "/tmp/bangjiao-redis-$PORT.log" >&2
  for _ in $(seq 1 30); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
redis-cli -p "$PORT" ping >/dev/null
echo "redis://127.0.0.1:$PORT/0"
