#!/bin/sh
# Run the gateway without systemd: start | stop | status. The gateway restarts after a crash,
# waiting 1 s, then 2, 4... up to 60 s between attempts (reset after a run of 10 minutes).
# Needs only a POSIX shell and busybox-level tools (no pgrep, no procps).
set -eu
NAME=plc-edge-gateway
PREFIX=${PREFIX:-/var/user/app/$NAME}
DATA=${DATA:-/var/user/data/dbhome/$NAME}
LOGS=${LOGS:-/var/user/log/$NAME}
PIDFILE="$DATA/$NAME.pid"          # the supervisor
CHILDFILE="$DATA/$NAME.gateway.pid"  # the gateway it runs now

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

supervise() {
  child=""
  stopping=0
  # stop: the gateway gets SIGTERM (it checkpoints the outbox and exits), then the supervisor ends
  trap 'stopping=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true' TERM INT
  delay=1
  while [ "$stopping" = 0 ]; do
    started=$(date +%s)
    "$PREFIX/current/bin/gateway" run -c "$DATA/config.yaml" --log-file "$LOGS/gateway.log" &
    child=$!
    echo "$child" > "$CHILDFILE"
    status=0
    wait "$child" || status=$?
    while kill -0 "$child" 2>/dev/null; do wait "$child" || true; done  # a signal ended the wait early
    rm -f "$CHILDFILE"
    [ "$stopping" = 1 ] || [ "$status" = 0 ] && break
    [ $(( $(date +%s) - started )) -ge 600 ] && delay=1
    echo "$(date) gateway exited with status $status; restarting in $delay s"
    sleep "$delay" & wait $! || true  # in the background, so that a stop does not wait for it
    delay=$(( delay * 2 )); [ "$delay" -gt 60 ] && delay=60
  done
}

case "${1:-start}" in
  start)
    mkdir -p "$LOGS"
    if alive "$PIDFILE"; then echo "already running"; exit 0; fi
    # a new session, no terminal, no inherited pipes: the caller's shell or pipe is free at once
    setsid "$0" supervise </dev/null >>"$LOGS/supervisor.log" 2>&1 &
    echo $! > "$PIDFILE"
    echo "started (supervisor pid $(cat "$PIDFILE"))" ;;
  stop)
    if alive "$PIDFILE"; then
      kill -TERM "$(cat "$PIDFILE")" 2>/dev/null || true
      waited=0  # the gateway stops cleanly within a few seconds; after 30 it is killed
      while [ "$waited" -lt 30 ] && alive "$PIDFILE"; do sleep 1; waited=$((waited + 1)); done
      if alive "$PIDFILE"; then
        alive "$CHILDFILE" && kill -KILL "$(cat "$CHILDFILE")" 2>/dev/null
        kill -KILL "$(cat "$PIDFILE")" 2>/dev/null || true
      fi
    elif alive "$CHILDFILE"; then  # the supervisor was killed alone: stop what it left running
      kill -TERM "$(cat "$CHILDFILE")" 2>/dev/null || true
    fi
    rm -f "$PIDFILE" "$CHILDFILE"
    echo "stopped" ;;
  supervise)
    supervise ;;
  status)
    if alive "$PIDFILE"; then echo "running"; else echo "stopped"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
