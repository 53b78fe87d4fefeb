"""The WebSocket at ``/ws``: pushes changed values and new log lines about once a second.

A viewer gets every value once when it connects (and again after the gateway restarted on a new
configuration), then only what changed; log lines come after the last one it was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web

from .api import json_safe
from .context import backend_of
from .reading_view import source_fields

PUSH_EVERY = 1.0


async def live(request: web.Request) -> web.WebSocketResponse:
    """Serve one viewer until it goes away."""
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
    await socket.prepare(request)
    pusher = asyncio.create_task(_push(socket, request))
    try:
        async for message in socket:  # nothing is expected from the viewer; reading notices it leaving
            if message.type == WSMsgType.ERROR:
                break
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
    return socket


async def _push(socket: web.WebSocketResponse, request: web.Request) -> None:
    backend = backend_of(request)
    seen_values, version, last_log = None, 0, 0
    while not socket.closed:
        data = backend.live_data()
        if data is not None:
            if data.latest is not seen_values:  # the gateway restarted: its values are new
                seen_values, version = data.latest, 0
            changed = data.latest.changed_since(version)
            version = data.latest.version
            if changed:
                await socket.send_str(json.dumps({"type": "values", "items": [
                    {"controller": c, "name": n, "value": json_safe(r.value), "status": r.status,
                     "timestamp": r.timestamp, "error": r.error, **source_fields(r)} for c, n, r in changed]},
                    default=str))
        lines = backend.log_tail.since(last_log)
        if lines:
            last_log = lines[-1]["id"]
            await socket.send_str(json.dumps({"type": "log", "items": lines}, default=str))
        await asyncio.sleep(PUSH_EVERY)
