#!/bin/sh
# Install or upgrade the gateway from this package, offline.
#
#   sudo ./install.sh            PREFIX, DATA and LOGS may be set in the environment:
#   PREFIX=/var/user/app/plc-edge-gateway  DATA=/var/user/data/dbhome/plc-edge-gateway
#   LOGS=/var/user/log/plc-edge-gateway    NO_SYSTEMD=1 to skip the systemd unit
#
# Each version goes to its own folder under $PREFIX/releases; $PREFIX/current points at the one
# in use. Configuration, certificates, the outbox and the history live in $DATA and are never
# touched by an upgrade. An upgrade that does not answer ready within READY_TIMEOUT s (60) is
# rolled back.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=plc-edge-gateway
PREFIX=${PREFIX:-/var/user/app/$NAME}
DATA=${DATA:-/var/user/data/dbhome/$NAME}
LOGS=${LOGS:-/var/user/log/$NAME}
PYTHON=${PYTHON:-python3}
VERSION=$(sed -n 's/^version //p' "$HERE/MANIFEST")
BUILD=$(sed -n 's/^build //p' "$HERE/MANIFEST")
RELEASE="$PREFIX/releases/$VERSION-$BUILD"

say() { printf '%s\n' "$*"; }
fail() { printf 'install failed: %s\n' "$*" >&2; exit 1; }

say "checking the package files against MANIFEST"
(cd "$HERE" && sed -n 's/^sha256 //p' MANIFEST | sha256sum -c --quiet -) || fail "a file does not match MANIFEST"

mkdir -p "$PREFIX/releases" "$DATA" "$LOGS"
if [ -d "$RELEASE" ]; then rm -rf "$RELEASE"; fi
say "installing $NAME $VERSION (build $BUILD) into $RELEASE"
"$PYTHON" -m venv "$RELEASE/venv" || fail "cannot create a virtual environment with $PYTHON"
"$RELEASE/venv/bin/pip" install --quiet --no-index --find-links "$HERE/wheels" "$NAME" \
  || { rm -rf "$RELEASE"; fail "pip could not install from the package's wheels"; }
cp "$HERE/start.sh" "$RELEASE/start.sh"
cp "$HERE/MANIFEST" "$RELEASE/MANIFEST"

if [ ! -f "$DATA/config.yaml" ]; then
  say "first install: the default configuration goes to $DATA/config.yaml"
  cp "$HERE/config.yaml" "$DATA/config.yaml"
  mkdir -p "$DATA/scripts"
  cp "$HERE"/scripts/*.py "$DATA/scripts/"
fi
"$RELEASE/venv/bin/gateway" check -c "$DATA/config.yaml" >/dev/null \
  || { rm -rf "$RELEASE"; fail "$DATA/config.yaml does not pass this version's gateway check; nothing was changed"; }

PREVIOUS=$(readlink "$PREFIX/current" 2>/dev/null || true)
ln -sfn "$RELEASE" "$PREFIX/current.new" && mv -Tf "$PREFIX/current.new" "$PREFIX/current"

USE_SYSTEMD=0
if [ -z "${NO_SYSTEMD:-}" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  USE_SYSTEMD=1
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@DATA@|$DATA|g" -e "s|@LOGS@|$LOGS|g" "$HERE/$NAME.service" \
    > "/etc/systemd/system/$NAME.service"
  systemctl daemon-reload
  systemctl enable "$NAME" >/dev/null 2>&1 || true
fi

restart() {
  if [ "$USE_SYSTEMD" = 1 ]; then systemctl restart "$NAME"; else
    "$PREFIX/current/start.sh" stop >/dev/null 2>&1 || true
    PREFIX="$PREFIX" DATA="$DATA" LOGS="$LOGS" "$PREFIX/current/start.sh" start
  fi
}

ready() {
  "$PREFIX/current/venv/bin/python" - "$DATA/config.yaml" "${READY_TIMEOUT:-60}" <<'PY'
import json, sys, time, urllib.request
from gateway.config import load_config
web = load_config(sys.argv[1]).model.gateway.web
host = "127.0.0.1" if web.host in ("0.0.0.0", "", "::") else web.host
for _ in range(int(sys.argv[2])):
    try:
        with urllib.request.urlopen(f"http://{host}:{web.port}/api/v1/health", timeout=2) as answer:
            if json.load(answer).get("status") == "ready":
                sys.exit(0)
    except OSError:
        pass
    time.sleep(1)
sys.exit(1)
PY
}

if [ -n "$PREVIOUS" ] || [ "${START:-1}" = 1 ]; then
  say "starting the gateway"
  restart
  if ready; then
    say "$NAME $VERSION is running and ready"
    [ -n "$PREVIOUS" ] && [ "$PREVIOUS" != "$RELEASE" ] && say "previous release kept in $PREVIOUS for a manual rollback"
  elif [ -n "$PREVIOUS" ] && [ "$PREVIOUS" != "$RELEASE" ]; then
    say "the new version did not answer ready within ${READY_TIMEOUT:-60} s: rolling back to $PREVIOUS"
    ln -sfn "$PREVIOUS" "$PREFIX/current.new" && mv -Tf "$PREFIX/current.new" "$PREFIX/current"
    restart
    fail "upgrade rolled back; see $LOGS/gateway.log"
  else
    fail "the gateway did not answer ready within ${READY_TIMEOUT:-60} s; see $LOGS/gateway.log"
  fi
fi
