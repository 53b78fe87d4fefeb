"""Browse what a device has (OPC UA's address space) to pick measures instead of typing them.

Each browse opens a connection of its own for the request and closes it: the controller's poller
keeps its own, and a slow browse never delays a poll.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.core.errors import AddressError, DeviceRejected, DriverError
from gateway.southbound import driver_for, parse_args

from .api import Api, ApiError
from .context import backend_of


def register(api: Api) -> None:
    """Add the browse endpoint."""
    api.route("GET", "/controllers/{name}/browse", "What a device has under a node (its top without node=), "
              "with the measure type of each value", "config",
              query=(("node", "string", "the address to list the children of"),))(browse)


async def browse(request: web.Request, _body: None) -> dict[str, Any]:
    name = request.match_info["name"]
    controller = next((c for c in backend_of(request).config.model.controllers if c.name == name), None)
    if controller is None:
        raise ApiError(404, f"no controller '{name}'")
    driver_class = driver_for(controller.protocol)
    if not driver_class.can_browse:
        raise ApiError(400, f"{controller.protocol} devices cannot be browsed: type the addresses "
                            f"({', '.join(driver_class.address_forms)})")
    node = request.query.get("node") or None
    driver = driver_class(controller.endpoint, controller.timeout, parse_args(driver_class, controller.args))
    try:
        await driver.connect()
        entries = await driver.browse(node)
    except (AddressError, DeviceRejected) as exc:  # a node that is not an address, or not there
        raise ApiError(400, f"{name}: {exc}") from None
    except DriverError as exc:
        raise ApiError(502, f"{name}: {exc}") from None
    finally:
        await driver.close()
    return {"controller": name, "node": node, "items": [
        {"address": e.address, "name": e.name, "folder": e.folder, "type": e.type.value if e.type else None}
        for e in entries]}
