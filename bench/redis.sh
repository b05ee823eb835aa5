#!/bin/sh
# Start or stop the bench's own Redis: loopback only, no persistence, its own port (never the
# test Redis at 6379: the bench FLUSHes this one before every Redis run).
#   sh bench/redis.sh start | stop | status
# REDIS_PORT (default 6391) and REDIS_CPU (default 0: the load generator's core, so Redis does
# not compete with the Node server on core 1) can be overridden.
set -eu
cd "$(dirname "$0")"
PORT="${REDIS_PORT:-6391}"
CPU="${REDIS_CPU:-0}"
DIR=".redis"
case "${1:-}" in
  start)
    if redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1; then
      echo "redis already answering on 127.0.0.1:$PORT"; exit 0
    fi
    command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install -y redis-server" >&2; exit 1; }
    mkdir -p "$DIR"
    PIN=""
    if [ -n "$CPU" ] && command -v taskset >/dev/null; then PIN="taskset -c $CPU"; fi
    $PIN redis-server --bind 127.0.0.1 --port "$PORT" --protected-mode yes \
      --save "" --appendonly no --dir "$(pwd)/$DIR" \
      --daemonize yes --pidfile "$(pwd)/$DIR/redis.pid" --logfile "$(pwd)/$DIR/redis.log"
    i=0
    until redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1; do
      i=$((i + 1)); [ "$i" -gt 50 ] && { echo "redis did not start; see bench/$DIR/redis.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "redis started on 127.0.0.1:$PORT (pid $(cat "$DIR/redis.pid"), no persistence)"
    ;;
  stop)
    if redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1; then
      redis-cli -h 127.0.0.1 -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
      echo "redis on 127.0.0.1:$PORT stopped"
    else
      echo "no redis answering on 127.0.0.1:$PORT"
    fi
    ;;
  status)
    redis-cli -h 127.0.0.1 -p "$PORT" ping
    ;;
  *)
    echo "usage: sh bench/redis.sh start|stop|status" >&2; exit 2 ;;
esac
