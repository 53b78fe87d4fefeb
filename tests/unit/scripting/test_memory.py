"""What the gateway reads of the script worker's memory from /proc: whether the kernel holds its
address-space cap, and its peak resident memory."""

from __future__ import annotations

import resource
import subprocess
import sys

from gateway.scripting.memory import address_space_capped, peak_resident_bytes

_WAIT = "import sys; sys.stdin.read()"


def _cap_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_a_process_with_an_address_space_limit_is_capped_and_one_without_is_not() -> None:
    capped = subprocess.Popen([sys.executable, "-c", _WAIT], stdin=subprocess.PIPE, preexec_fn=_cap_address_space)
    free = subprocess.Popen([sys.executable, "-c", _WAIT], stdin=subprocess.PIPE)
    try:
        assert address_space_capped(capped.pid)
        assert not address_space_capped(free.pid)
    finally:
        for process in (capped, free):
            process.communicate(b"")


def test_peak_resident_memory_counts_what_a_process_touched_even_after_it_let_go() -> None:
    touched = "x = b'x' * (120 << 20); del x; import sys; print('done', flush=True); sys.stdin.read()"
    process = subprocess.Popen([sys.executable, "-c", touched], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"done\n"
        assert peak_resident_bytes(process.pid) >= 120 << 20
    finally:
        process.communicate(b"")


def test_a_process_that_does_not_exist_reads_as_unknown() -> None:
    beyond_pid_max = 2**22 + 1
    assert peak_resident_bytes(beyond_pid_max) == 0
    assert address_space_capped(beyond_pid_max)  # nothing to ask: the worker's own rlimit stands
