"""The pacer keeps both the message rate and the byte rate, with an injected clock."""

from __future__ import annotations

from gateway.cloud.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_message_rate() -> None:
    clock = FakeTime()
    pacer = Pacer(rate=100, monotonic=clock.monotonic, sleep=clock.sleep)
    for _ in range(201):
        await pacer.wait(100)
    assert abs(clock.now - 2.0) < 1e-9  # 200 intervals of 10 ms after the first message


async def test_byte_rate_wins_for_large_messages() -> None:
    clock = FakeTime()
    pacer = Pacer(rate=100, bytes_rate=512 * 1024, monotonic=clock.monotonic, sleep=clock.sleep)
    for _ in range(11):
        await pacer.wait(64 * 1024)  # 8 of these per second fit 512 KiB/s
    assert abs(clock.now - 10 * 0.125) < 1e-9


async def test_no_burst_after_a_quiet_spell() -> None:
    clock = FakeTime()
    pacer = Pacer(rate=10, monotonic=clock.monotonic, sleep=clock.sleep)
    await pacer.wait()
    clock.now += 60.0  # nothing to send for a minute
    start = clock.now
    for _ in range(3):
        await pacer.wait()
    assert abs(clock.now - start - 0.2) < 1e-9
