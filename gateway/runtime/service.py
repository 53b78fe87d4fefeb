"""The gateway as a service: the web UI stays up while the gateway restarts on a new configuration.

``gateway run`` starts a :class:`GatewayService`. It serves the admin UI (a front end handed in by
the caller: this layer knows no web routes) and runs a :class:`~gateway.runtime.app.Gateway` for
the current configuration; when the UI saves a change, the running gateway stops cleanly (the
outbox keeps what is undelivered) and a new one starts on the saved file. The log tail, the script
logs and the password store live here, across restarts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from gateway.cloud.probe import probe_cloud
from gateway.collect.probe import probe_controller
from gateway.config import Cloud, Controller, LoadedConfig, load_config
from gateway.config.changes import changed_controllers, describe_change
from gateway.config.identity import serial_number
from gateway.config.save import edit_config, write_atomically
from gateway.config.validation_text import pydantic_problems
from gateway.core.audit import CONFIG
from gateway.core.errors import ConfigError, GatewayError
from gateway.runtime.app import Gateway
from gateway.runtime.log_tail import LogTail
from gateway.runtime.passwords import PasswordStore
from gateway.runtime.script_logs import ScriptLogs
from gateway.runtime.status import GatewayStatus, LiveData
from gateway.scripting.loading import check_scripts
from gateway.store.audit_log import AuditLog

log = logging.getLogger("gateway")
T = TypeVar("T")
# Starts serving a user interface for the service; returns what stops it again (the web layer's serve_admin_ui).
FrontEnd = Callable[["GatewayService"], Awaitable[Callable[[], Awaitable[None]]]]


class GatewayService:
    """Owns the front end and the running gateway; swaps the gateway when the configuration changes.

    It is the web layer's ``AdminBackend``: the UI reads :meth:`status` and :meth:`live_data`,
    writes with :meth:`write_value` and changes the configuration with :meth:`change`."""

    def __init__(self, config: LoadedConfig, *, front_end: FrontEnd | None = None) -> None:
        self.config = config
        self.started_at = time.time()
        self.gateway: Gateway | None = None
        self.log_tail = LogTail(config.model.gateway.log_level)
        self.data_dir: Path = config.resolve(config.model.gateway.data_dir)
        self.script_logs = ScriptLogs(self.data_dir / "logs" / "scripts")
        self.passwords = PasswordStore(self.data_dir)
        self.audit: AuditLog | None = None  # open while the service runs: it outlives the gateways
        self._front_end = front_end
        self._stop = asyncio.Event()
        self._next: LoadedConfig | None = None
        self._swapped = asyncio.Event()
        self._swap_lock = asyncio.Lock()
        self._config_lock = asyncio.Lock()  # one configuration change at a time, from any page
        self._rollback: LoadedConfig | None = None  # what runs again if the applied configuration fails
        self._apply_error: Exception | None = None
        self._restore_text: str | None = None  # the file as it was before the change being applied

    def request_stop(self) -> None:
        """Stop the gateway and the front end."""
        self._stop.set()

    def status(self) -> GatewayStatus | None:
        """Return what the running gateway says now; None while it starts or restarts."""
        return self.gateway.status() if self.gateway is not None else None

    def live_data(self) -> LiveData | None:
        """Return the running gateway's configuration, latest values and stores; None while it starts."""
        return self.gateway.live_data() if self.gateway is not None else None

    async def write_value(self, controller: str, measure: str, value: Any, by: str) -> dict[str, Any] | None:
        """Write one value to a PLC now, as the UI asks for ``by``; return its result (``result``
        is "OK" or "Failed" with an ``error``), or None while the gateway starts."""
        writer = self.gateway.plc_writer if self.gateway is not None else None
        if writer is None:
            return None
        [result] = await writer.apply({controller: {measure: value}}, by=by)
        return result

    async def test_connection(self, item: Controller | Cloud) -> str:
        """Connect once with a controller's or a cloud's settings (as a form holds them, not saved);
        return what happened, or raise GatewayError (ConfigError for bad driver args) saying why not."""
        model = self.config.model
        if isinstance(item, Cloud):
            return await probe_cloud(item, self.config.resolve, f"{model.gateway.name}-{serial_number()}")
        try:
            return await probe_controller(item, model.serial_ports)
        except ValidationError as exc:
            raise ConfigError(pydantic_problems(exc, prefix="args")) from exc
        except OSError as exc:
            raise GatewayError(f"{item.endpoint}: {exc}") from exc

    async def change(self, edit: Callable[[], T], by: str = "a script", how: str = "",
                     action: str = CONFIG) -> tuple[T, LoadedConfig]:
        """Change the configuration: ``edit`` validates and saves the file (in a thread); then the
        saved configuration runs (see :meth:`apply`: if it cannot start, the file as it was before
        comes back). Return what ``edit`` returned and the configuration. One change at a time.
        The audit log says that ``by`` did ``action`` (``how``: "saved measures") and what changed."""
        async with self._config_lock:
            before = await asyncio.to_thread(self.config.path.read_text, encoding="utf-8")
            previous = self.config.model
            result = await asyncio.to_thread(edit)
            loaded = result if isinstance(result, LoadedConfig) else await asyncio.to_thread(load_config,
                                                                                               self.config.path)
            await self.apply(loaded, restore=before)
            if self.audit is not None:
                what = describe_change(previous, loaded.model)
                self.audit.record(by, action, how or "changed the configuration", "; ".join(what))
            return result, loaded

    async def _change_from_script(self, edit: Callable[[Any], None]) -> None:
        """Save and run a configuration edit a script asked for (``quickfaas.config.set``), as a
        change from the UI: validated again against the file as it is now, rolled back if the
        gateway cannot start with it."""
        try:
            await self.change(lambda: edit_config(self.config.path, edit, check_scripts), by="a script",
                              how="changed group settings (quickfaas.config.set)")
        except GatewayError as exc:  # ConfigError too
            log.error("a script's configuration change was not made: %s", exc)

    async def apply(self, config: LoadedConfig, restore: str | None = None) -> None:
        """Run ``config`` (already validated) instead of the current one; return once the new
        gateway has started.

        Raise GatewayError when it cannot start: the previous configuration runs again, and the
        file gets back the ``restore`` text, so a change never leaves the gateway stopped.
        """
        async with self._swap_lock:
            if await self._replace_controllers(config):
                return
            self._swapped.clear()
            self._apply_error = None
            self._restore_text = restore
            self._next, self._rollback = config, self.config
            if self.gateway is not None:
                self.gateway.request_stop()
            await self._swapped.wait()
            if self._apply_error is not None:
                raise GatewayError(f"the gateway could not start with the new configuration ({self._apply_error}); "
                                   "the previous configuration was restored")

    async def _replace_controllers(self, config: LoadedConfig) -> bool:
        """Take up a change to controller settings only by restarting just those pollers; return
        False when the change needs the whole gateway to restart."""
        names = changed_controllers(self.config.model, config.model)
        if names is None or self.gateway is None:
            return False
        try:
            await self.gateway.replace_controllers(config, names)
        except GatewayError as exc:
            log.info("configuration changed: %s; the gateway restarts", exc)
            return False
        self.config = config
        return True

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Serve until :meth:`request_stop` or cancellation."""
        self.log_tail.attach()
        self.script_logs.attach()
        stop_front_end = None
        try:
            self.audit = await AuditLog.open(self.data_dir / "audit.db")
            if self._front_end is not None:
                stop_front_end = await self._front_end(self)
            while not self._stop.is_set():
                error = await self._run_gateway(started)
                if self._next is not None:
                    self.config, self._next = self._next, None
                    log.info("configuration changed: the gateway restarts with %s", self.config.path)
                elif error is not None and self._rollback is not None:
                    self._restore(error)
                elif error is not None:
                    raise error
                else:
                    break  # stopped
        finally:
            if stop_front_end is not None:
                await stop_front_end()
            if self.audit is not None:
                await self.audit.close()
            self.script_logs.close()
            self.log_tail.close()

    def _restore(self, error: Exception) -> None:
        """Put the previous configuration file back after the new one failed to start."""
        assert self._rollback is not None
        log.error("the gateway could not start with the new configuration: %s; restoring the previous one", error)
        if self._restore_text is not None:
            write_atomically(self.config.path, self._restore_text, keep_backup=False)
        self.config, self._rollback, self._apply_error = self._rollback, None, error

    async def _run_gateway(self, started: asyncio.Event | None) -> Exception | None:
        """Run one gateway until it stops; return the error that ended it, if any."""
        gateway = Gateway(self.config, script_logs=self.script_logs, change_config=self._change_from_script,
                          audit=self.audit)
        self.gateway = gateway
        gateway_started = asyncio.Event()
        task = asyncio.create_task(gateway.run(gateway_started), name="gateway")
        waiters = {asyncio.create_task(gateway_started.wait()), asyncio.create_task(self._stop.wait())}
        try:
            await asyncio.wait({task, *waiters}, return_when=asyncio.FIRST_COMPLETED)
            if gateway_started.is_set():
                self._rollback = None
                self._swapped.set()
                if started is not None:
                    started.set()
                waiters.add(stop := asyncio.create_task(self._stop.wait()))
                await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # Ctrl-C or SIGTERM: the gateway has stopped (outbox closed, clouds told) before the
            # caller goes on to stop what it talks to, such as the demo's simulators and broker.
            task.cancel()
            await asyncio.wait({task})
            raise
        finally:
            for waiter in waiters:
                waiter.cancel()
        gateway.request_stop()
        try:
            await task
        except Exception as exc:  # noqa: BLE001 - the gateway failed: the caller restores or gives up
            return exc
        finally:
            self.gateway = None if self.gateway is gateway else self.gateway
        return None
