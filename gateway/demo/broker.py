"""Run a private Mosquitto broker on a loopback port (the demo's broker, and the tests')."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from gateway.core.errors import GatewayError

_PR_SET_PDEATHSIG = 1


def port_is_open(host: str, port: int) -> bool:
    """Return True when something accepts TCP connections on ``host:port``."""
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def mosquitto_path() -> str:
    """Return the mosquitto executable, or raise with how to install it."""
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if Path(p).exists()), None
    )
    if found is None:
        raise GatewayError("mosquitto is not installed (apt-get install mosquitto)")
    return found


def _apart_but_not_orphaned() -> None:
    """Run the demo's broker in its own session, so Ctrl-C in the demo's terminal (or a signal to
    the demo's process group) stops the gateway first and the broker after it, not both at once
    with the gateway logging a lost broker on its way out. It still ends when the thread that
    started it does (prctl's parent-death signal follows the thread), which for the demo is at its
    very end."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):  # Linux only
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class MosquittoBroker:
    """A mosquitto process listening on ``host:port`` with the given extra configuration."""

    def __init__(self, port: int, host: str = "127.0.0.1", extra_config: str = "allow_anonymous true\n",
                 persistent: bool = False, own_session: bool = False) -> None:
        self.host, self.port = host, port
        self._own_session = own_session
        self._extra = extra_config
        self._persistent = persistent
        self._dir = tempfile.TemporaryDirectory(prefix="mosquitto-")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until it accepts connections."""
        config = Path(self._dir.name) / "mosquitto.conf"
        persistence = (f"persistence true\npersistence_location {self._dir.name}/\n" if self._persistent
                       else "persistence false\n")
        # Started as root, mosquitto would switch to its own user and lose access to our files.
        user = "user root\n" if os.geteuid() == 0 else ""
        config.write_text(f"listener {self.port} {self.host}\n{user}{persistence}{self._extra}")
        log_file = open(Path(self._dir.name) / "mosquitto.log", "wb")  # noqa: SIM115 - lives with the process
        self._process = subprocess.Popen([mosquitto_path(), "-c", str(config)], stdout=log_file,
                                         stderr=subprocess.STDOUT,
                                         preexec_fn=_apart_but_not_orphaned if self._own_session else None)
        deadline = time.monotonic() + timeout
        while not port_is_open(self.host, self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise GatewayError(f"mosquitto did not start on {self.host}:{self.port}: {self.log_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the broker (it can be started again on the same port)."""
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def log_text(self) -> str:
        """Return what mosquitto logged."""
        path = Path(self._dir.name) / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        """Stop and remove the temporary files."""
        self.stop()
        self._dir.cleanup()
