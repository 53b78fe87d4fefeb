"""Settle a script call: commit what it published, apply the writes it asked for, then run its
callbacks with the results (and settle those the same way)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from gateway.collect.writes import PlcWriter
from gateway.core.errors import StoreError
from gateway.core.messages import CallContext
from gateway.core.write_forms import WRITE_TIMED_OUT, shaped_results
from gateway.rules.in_flight import CallsInFlight
from gateway.scripting import CallOutcome, ScriptRunner
from gateway.store import Outbox

log = logging.getLogger("gateway.scripts")


class WriteApplier:
    """Carries out ``write_plc_values`` requests of successful calls, in order."""

    def __init__(self, runner: ScriptRunner, outbox: Outbox, writer: PlcWriter,
                 in_flight: CallsInFlight | None = None) -> None:
        """``in_flight`` is where the rules mark each call they make and settle (the gateway's,
        which a script's configuration change waits on)."""
        self._runner, self._outbox, self.writer = runner, outbox, writer
        self.in_flight = in_flight or CallsInFlight()

    async def settle(self, outcome: CallOutcome, context: CallContext) -> None:
        """Commit a successful call's messages, then carry out its writes. Messages that cannot be
        stored are lost and logged; the writes are still made, as they need no outbox."""
        if outcome.error:
            return
        try:
            await self._outbox.enqueue(outcome.messages)
        except StoreError as exc:
            log.error("%s: %d message(s) could not be stored: %s", context.rule, len(outcome.messages), exc)
        await self.apply(outcome, context)

    async def apply(self, outcome: CallOutcome, context: CallContext) -> None:
        """Write, then call back; what a callback publishes is committed, what it writes applied."""
        if outcome.error:
            return
        for write in outcome.writes:
            try:
                results = await asyncio.wait_for(self.writer.apply(write.values, by=f"rule {context.rule}"),
                                                 write.timeout)
            except TimeoutError:
                log.warning("%s: a write did not end within %g s", context.rule, write.timeout)
                answer: Any = list(WRITE_TIMED_OUT)
            else:
                log.info("%s: wrote %s", context.rule, ", ".join(f"{r['var_name']}={r['result']}" for r in results))
                answer = shaped_results(results, write.shape)
            if write.callback_id is not None:
                callback = await self._runner.call_write_callback(write.callback_id, answer, write.tail, context)
                await self.settle(callback, context)
