"""Apply the writes a script call asked for, then run its callbacks with the results."""

from __future__ import annotations

import logging

from gateway.collect.writes import PlcWriter
from gateway.errors import StoreError
from gateway.scripting import CallContext, CallOutcome, ScriptRunner
from gateway.store import Outbox

log = logging.getLogger("gateway.scripts")


class WriteApplier:
    """Carries out ``write_plc_values`` requests of successful calls, in order."""

    def __init__(self, runner: ScriptRunner, outbox: Outbox, writer: PlcWriter) -> None:
        self._runner, self._outbox, self.writer = runner, outbox, writer

    async def apply(self, outcome: CallOutcome, context: CallContext) -> None:
        """Write, then call back; what a callback publishes is committed, what it writes applied."""
        if outcome.error:
            return
        for write in outcome.writes:
            results = await self.writer.apply(write.values)
            log.info("%s: wrote %s", context.rule, ", ".join(f"{r['var_name']}={r['result']}" for r in results))
            if write.callback_id is not None:
                callback = await self._runner.call_write_callback(write.callback_id, results, write.tail, context)
                if not callback.error:
                    try:
                        await self._outbox.enqueue(callback.messages)
                    except StoreError as exc:  # the writes were done; only the callback's messages are lost
                        log.error("%s: %d message(s) of the write callback could not be stored: %s", context.rule,
                                  len(callback.messages), exc)
                await self.apply(callback, context)
