"""The build's errors: each message says what failed and what to do about it.

    BuildError               the package cannot be built
     └── EmulationUnavailable  this machine cannot run the target's binaries (qemu-user, binfmt_misc)
"""

from __future__ import annotations


class BuildError(Exception):
    """The package cannot be built; the message says why."""


class EmulationUnavailable(BuildError):
    """This machine cannot run the target's binaries; the message says what is missing."""
