"""Run cpppo's EtherNet/IP server as a child that dies with its parent.

``python -m gateway_plugins.logix.cpppo_child PARENT_PID cpppo-arguments...``: a simulator killed
without its clean-up (a demo stopped with kill -9, a test run cut short) must not leave a server
holding its port, so a thread ends this process as soon as its parent is gone.
"""

from __future__ import annotations

import os
import sys
import threading
import time


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main() -> None:
    """Watch the parent, then hand the rest of the command line to cpppo's server."""
    parent = int(sys.argv[1])
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    from cpppo.server.enip.main import main as serve

    sys.exit(serve(argv=sys.argv[2:]))


if __name__ == "__main__":
    main()
