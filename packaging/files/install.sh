#!/bin/sh
# Install or upgrade the gateway from this package, offline. The package brings its own Python and
# libraries: the device needs a Linux kernel 3.2 or newer and a POSIX shell (busybox is enough).
#
#   ./install.sh                 as root; PREFIX, DATA and LOGS may be set in the environment:
#   PREFIX=/var/user/app/plc-edge-gateway  DATA=/var/user/data/dbhome/plc-edge-gateway
#   LOGS=/var/user/log/plc-edge-gateway    NO_SYSTEMD=1 to skip the systemd unit
#   START=0 to install without starting    READY_TIMEOUT=120 seconds to wait for the gateway
#   REINSTALL=1 to install the build in use again (repairs a damaged release)
#
# Each version goes to its own folder under $PREFIX/releases; $PREFIX/current points at the one
# in use, and the one before it is kept for a rollback (older ones are removed: flash is small).
# Configuration, certificates, the outbox and the history live in $DATA and are never touched by
# an upgrade. An upgrade that does not answer ready within READY_TIMEOUT s is rolled back.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=plc-edge-gateway
PREFIX=${PREFIX:-/var/user/app/$NAME}
DATA=${DATA:-/var/user/data/dbhome/$NAME}
LOGS=${LOGS:-/var/user/log/$NAME}
READY_TIMEOUT=${READY_TIMEOUT:-120}
field() { sed -n "s/^$1 //p" "$HERE/MANIFEST"; }
VERSION=$(field version)
BUILD=$(field build)
ARCH=$(field arch)
RELEASE="$PREFIX/releases/$VERSION-$BUILD"

say() { printf '%s\n' "$*"; }
fail() { printf 'install failed: %s\n' "$*" >&2; exit 1; }

MACHINE=$(uname -m)
case "$ARCH:$MACHINE" in
  "$ARCH:$ARCH"|armv7l:armv7*|armv7l:armv8l) ;;
  *) fail "this package is for $ARCH, this device is $MACHINE" ;;
esac

say "checking the package files against MANIFEST"
BAD=$(cd "$HERE" && sed -n 's/^sha256 //p' MANIFEST | sha256sum -c - 2>&1 | grep -v ': OK$' || true)
[ -z "$BAD" ] || fail "files do not match MANIFEST (a damaged copy?): $(printf '%s' "$BAD" | head -n 3)"

mkdir -p "$PREFIX/releases" "$DATA" "$LOGS"
if [ "$(readlink "$PREFIX/current" 2>/dev/null || true)" = "$RELEASE" ] && [ -z "${REINSTALL:-}" ]; then
  say "$NAME $VERSION (build $BUILD) is already installed and in use; REINSTALL=1 installs it again"
  exit 0
fi
rm -rf "$RELEASE.partial"
[ -d "$RELEASE" ] && rm -rf "$RELEASE"
NEED_KB=$(field size_kb)
FREE_KB=$(df -Pk "$PREFIX/releases" | awk 'NR == 2 { print $4 }')
if [ -n "$FREE_KB" ] && [ "$FREE_KB" -lt "$NEED_KB" ]; then
  fail "$PREFIX needs $((NEED_KB / 1024)) MiB free for this release, it has $((FREE_KB / 1024)) MiB"
fi

# the interpreter asks the kernel for this release's own loader (glibc), not the device's
set -- $(field interpreter)
LOADER="$RELEASE/$(field loader)"
[ "${#LOADER}" -lt "$3" ] || fail "PREFIX is too long: the loader's path would take ${#LOADER} of at most $(( $3 - 1 )) characters"

say "installing $NAME $VERSION (build $BUILD, $ARCH) into $RELEASE"
mkdir -p "$RELEASE.partial"
cp -R "$HERE/runtime/." "$RELEASE.partial/" || { rm -rf "$RELEASE.partial"; fail "copying the files failed"; }
printf '%s\000' "$LOADER" | dd of="$RELEASE.partial/$1" bs=1 seek="$2" conv=notrunc 2>/dev/null \
  || { rm -rf "$RELEASE.partial"; fail "cannot write the loader path into $1"; }
mv "$RELEASE.partial" "$RELEASE"
cp "$HERE/start.sh" "$HERE/MANIFEST" "$RELEASE/"

if ! PROBLEM=$("$RELEASE/bin/gateway" --version 2>&1); then
  rm -rf "$RELEASE"
  fail "the gateway's interpreter does not run on this device (kernel $(uname -r), $MACHINE): $PROBLEM"
fi

if [ ! -f "$DATA/config.yaml" ]; then
  say "first install: the default configuration goes to $DATA/config.yaml"
  cp "$HERE/config.yaml" "$DATA/config.yaml"
  mkdir -p "$DATA/scripts"
  cp "$HERE"/scripts/*.py "$DATA/scripts/"
fi
say "checking $DATA/config.yaml with this version"
"$RELEASE/bin/gateway" check -c "$DATA/config.yaml" >/dev/null \
  || { rm -rf "$RELEASE"; fail "$DATA/config.yaml does not pass this version's gateway check; nothing was changed"; }

PREVIOUS=$(readlink "$PREFIX/current" 2>/dev/null || true)
# point $PREFIX/current at a release in one rename(2), so a power cut leaves the old link or the
# new one; busybox's mv has no -T and would move the new link into the old release's folder
switch_to() {
  rm -f "$PREFIX/current.new"
  ln -s "$1" "$PREFIX/current.new" &&
    "$1/bin/python" -c 'import os, sys; os.replace(sys.argv[1], sys.argv[2])' "$PREFIX/current.new" "$PREFIX/current"
}
switch_to "$RELEASE"

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
  "$PREFIX/current/bin/python" - "$DATA/config.yaml" "$READY_TIMEOUT" <<'PY'
import json, ssl, sys, time, urllib.request
from gateway.config import load_config
web = load_config(sys.argv[1]).model.gateway.web
host = "127.0.0.1" if web.host in ("0.0.0.0", "", "::") else web.host
scheme = "https" if web.tls else "http"
local = ssl._create_unverified_context()  # this machine asking itself: its own made certificate
deadline = time.monotonic() + int(sys.argv[2])
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"{scheme}://{host}:{web.port}/api/v1/health", timeout=2, context=local) as answer:
            if json.load(answer).get("status") == "ready":
                sys.exit(0)
    except OSError:
        pass
    time.sleep(1)
sys.exit(1)
PY
}

ui_address() {  # where the UI is, and the fingerprint of the certificate it shows (to check the browser's warning)
  "$PREFIX/current/bin/python" - "$DATA/config.yaml" <<'PY'
import sys
from pathlib import Path
from cryptography import x509
from gateway.config import load_config
from gateway.core.certificates import fingerprint
config = load_config(sys.argv[1])
web = config.model.gateway.web
said = f"{'https' if web.tls else 'http'}://<this gateway's address>:{web.port}/"
certificate = config.resolve(config.model.gateway.data_dir) / "web" / "certificate.pem"
if web.tls and certificate.exists():
    said += f" (its certificate's SHA-256 fingerprint: {fingerprint(x509.load_pem_x509_certificate(certificate.read_bytes()))})"
print(said)
PY
}

prune() {  # keep the release in use and the one before it
  for old in "$PREFIX"/releases/*; do
    case "$old" in "$RELEASE"|"$PREVIOUS"|*.partial) ;; *) [ -d "$old" ] && rm -rf "$old" && say "removed the old release $old" ;; esac
  done
}

if [ -n "$PREVIOUS" ] || [ "${START:-1}" = 1 ]; then
  say "starting the gateway"
  restart
  if ready; then
    say "$NAME $VERSION is running and ready"
    [ -n "$PREVIOUS" ] && [ "$PREVIOUS" != "$RELEASE" ] && say "previous release kept in $PREVIOUS for a manual rollback"
    prune
    if [ -f "$DATA/state/setup-code" ]; then
      say "set the administrator password in the web UI, $(ui_address)"
      say "with the one-time setup code $(cat "$DATA/state/setup-code"), or run: $PREFIX/current/bin/gateway passwd -c $DATA/config.yaml"
    fi
  elif [ -n "$PREVIOUS" ] && [ "$PREVIOUS" != "$RELEASE" ]; then
    say "the new version did not answer ready within $READY_TIMEOUT s: rolling back to $PREVIOUS"
    switch_to "$PREVIOUS"
    restart
    ready || fail "upgrade rolled back, but $PREVIOUS did not answer ready either; see $LOGS/gateway.log"
    fail "upgrade rolled back: $PREVIOUS runs again; see $LOGS/gateway.log for why the new version did not start"
  else
    fail "the gateway did not answer ready within $READY_TIMEOUT s; see $LOGS/gateway.log"
  fi
else
  prune
fi
