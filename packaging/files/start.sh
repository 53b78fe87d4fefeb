#!/bin/sh
# Run the gateway without systemd: start | stop | status. The gateway restarts after a crash,
# waiting 1 s, then 2, 4... up to 60 s between attempts (reset after a run of 10 minutes).
set -eu
NAME=plc-edge-gateway
PREFIX=${PREFIX:-/var/user/app/$NAME}
DATA=${DATA:-/var/user/data/dbhome/$NAME}
LOGS=${LOGS:-/var/user/log/$NAME}
PIDFILE="$DATA/$NAME.pid"

supervise() {
  delay=1
  while :; do
    started=$(date +%s)
    "$PREFIX/current/venv/bin/gateway" run -c "$DATA/config.yaml" --log-file "$LOGS/gateway.log" && exit 0
    [ $(( $(date +%s) - started )) -ge 600 ] && delay=1
    echo "$(date) gateway exited with an error; restarting in $delay s"
    sleep "$delay"
    delay=$(( delay * 2 )); [ "$delay" -gt 60 ] && delay=60
  done
}

case "${1:-start}" in
  start)
    mkdir -p "$LOGS"
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then echo "already running"; exit 0; fi
    # a new session, no terminal, no inherited pipes: the caller's shell or pipe is free at once
    setsid "$0" supervise </dev/null >>"$LOGS/supervisor.log" 2>&1 &
    echo $! > "$PIDFILE"
    echo "started (supervisor pid $(cat "$PIDFILE"))" ;;
  stop)
    if [ -f "$PIDFILE" ]; then
      supervisor=$(cat "$PIDFILE")
      children=$(pgrep -P "$supervisor" 2>/dev/null || true)
      kill -TERM "$supervisor" $children 2>/dev/null || true
      waited=0  # the gateway stops cleanly (outbox checkpointed) within a few seconds; then it is killed
      while [ "$waited" -lt 20 ] && kill -0 $children 2>/dev/null; do sleep 1; waited=$((waited + 1)); done
      kill -KILL $children 2>/dev/null || true
      rm -f "$PIDFILE"
    fi
    echo "stopped" ;;
  supervise)
    supervise ;;
  status)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then echo "running"; else echo "stopped"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
