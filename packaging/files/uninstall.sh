#!/bin/sh
# Remove the gateway's program files. Data (configuration, certificates, outbox, history) and logs
# stay unless --purge is given.
set -eu
NAME=plc-edge-gateway
PREFIX=${PREFIX:-/var/user/app/$NAME}
DATA=${DATA:-/var/user/data/dbhome/$NAME}
LOGS=${LOGS:-/var/user/log/$NAME}
if command -v systemctl >/dev/null 2>&1 && [ -f "/etc/systemd/system/$NAME.service" ]; then
  systemctl disable --now "$NAME" >/dev/null 2>&1 || true
  rm -f "/etc/systemd/system/$NAME.service"
  systemctl daemon-reload || true
elif [ -x "$PREFIX/current/start.sh" ]; then
  PREFIX="$PREFIX" DATA="$DATA" LOGS="$LOGS" "$PREFIX/current/start.sh" stop || true
fi
rm -rf "$PREFIX"
if [ "${1:-}" = "--purge" ]; then
  rm -rf "$DATA" "$LOGS"
  echo "removed $PREFIX, $DATA and $LOGS"
else
  echo "removed $PREFIX; kept $DATA and $LOGS (pass --purge to remove them)"
fi
