"""The REST API's route table: every endpoint declares its method, path, body model and whether
it is public, so the OpenAPI document, the authentication check and the tests all read the same
table. Only login, setup and health are public; everything else needs a session.

Handlers receive the request and the validated body (a pydantic model or pydantic dataclass, or
None) and return plain data. Errors become JSON answers with a message a user can act on: a bad body is a 400 naming
the field, a refused configuration a 422 listing each problem with its path, never a traceback.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from gateway import __version__
from gateway.config.validation_text import UNION_TAGS, in_words
from gateway.core.errors import ConfigError, GatewayError
from gateway.core.upload_shape import ShapeError, check_json

log = logging.getLogger("gateway.web")

PREFIX = "/api/v1"
MAX_BODY_VALUES = 300_000  # the largest form (a whole list section of 10,000 measures) has some 150,000
MAX_BODY_DEPTH = 64
_LINE = re.compile(r" \(line \d+\)$")  # a config.yaml line number means nothing to the page's form
Handler = Callable[[web.Request, Any], Awaitable[Any]]


class ApiError(Exception):
    """An answer other than 200, with a message for the user."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra, self.headers = status, message, extra, headers or {}


@dataclass(frozen=True)
class Endpoint:
    """One route of the API."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[Any] | None = None  # a pydantic model or pydantic dataclass
    public: bool = False
    query: tuple[tuple[str, str, str], ...] = ()  # (name, type, description)
    raw_body: str | None = None  # a content type read by the handler itself (uploads)
    on_bad_body: Callable[[web.Request], None] | None = None  # e.g. a login counts a malformed body as failed


@dataclass
class Api:
    """The table of endpoints, installed into an aiohttp application."""

    endpoints: list[Endpoint] = field(default_factory=list)

    def route(self, method: str, path: str, summary: str, tag: str, *, body: type[Any] | None = None,
              public: bool = False, query: tuple[tuple[str, str, str], ...] = (),
              raw_body: str | None = None,
              on_bad_body: Callable[[web.Request], None] | None = None) -> Callable[[Handler], Handler]:
        """Register the decorated handler for ``method`` ``PREFIX + path``."""
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, handler, summary, tag, body, public, query, raw_body,
                                           on_bad_body))
            return handler
        return register

    def install(self, app: web.Application) -> None:
        """Add every endpoint (and the OpenAPI document) to ``app``."""
        for endpoint in self.endpoints:
            app.router.add_route(endpoint.method, PREFIX + endpoint.path, _wrap(endpoint))
        app.router.add_get(PREFIX + "/openapi.json", self._openapi_handler)

    def endpoint_of(self, request: web.Request) -> Endpoint | None:
        """Return the endpoint a request was routed to (None for pages and static files)."""
        resource = request.match_info.route.resource
        if resource is None:
            return None
        path = resource.canonical.removeprefix(PREFIX)
        return next((e for e in self.endpoints if e.path == path and e.method == request.method), None)

    async def _openapi_handler(self, _request: web.Request) -> web.Response:
        return web.json_response(self.openapi())

    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI 3.1 document of the table."""
        paths: dict[str, dict[str, Any]] = {}
        schemas: dict[str, Any] = {}
        for endpoint in self.endpoints:
            operation: dict[str, Any] = {
                "summary": endpoint.summary, "tags": [endpoint.tag],
                "operationId": f"{endpoint.method.lower()}_{endpoint.path.strip('/').replace('/', '_')}"
                               .replace("{", "").replace("}", ""),
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {}}}},
                              "400": {"description": "bad request"}},
            }
            if not endpoint.public:
                operation["security"] = [{"session": []}]
                operation["responses"]["401"] = {"description": "not logged in"}
            parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                          for name in _path_names(endpoint.path)]
            parameters += [{"name": name, "in": "query", "required": False, "schema": {"type": kind},
                            "description": text} for name, kind, text in endpoint.query]
            if parameters:
                operation["parameters"] = parameters
            if endpoint.body is not None:
                schema = body_adapter(endpoint.body).json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[endpoint.body.__name__] = schema
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{endpoint.body.__name__}"}}}}
            elif endpoint.raw_body is not None:
                operation["requestBody"] = {"required": True, "content": {
                    endpoint.raw_body: {"schema": {"type": "string", "format": "binary"}}}}
            paths.setdefault(PREFIX + endpoint.path, {})[endpoint.method.lower()] = operation
        return {
            "openapi": "3.1.0",
            "info": {"title": "Edge gateway admin API", "version": __version__},
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "gw_session"}}},
        }


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _wrap(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            body = await _validated_body(request, endpoint) if endpoint.body is not None else None
            result = await endpoint.handler(request, body)
        except ApiError as exc:
            return web.json_response({"error": exc.message, **exc.extra}, status=exc.status, headers=exc.headers)
        except ConfigError as exc:
            return web.json_response({"error": "the configuration was not changed", "problems": [
                {"path": p.path, "message": _LINE.sub("", p.message)} for p in exc.problems]}, status=422)
        except GatewayError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except Exception:  # a bug: logged with its traceback, answered as JSON without one
            log.exception("%s %s failed", request.method, request.path)
            return web.json_response({"error": "internal error; the gateway log has the details"}, status=500)
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(result, dumps=_dumps)
    return handle


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def body_adapter(model: type[Any]) -> TypeAdapter[Any]:
    """Return the validator and serializer of a body type, built once."""
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


async def _validated_body(request: web.Request, endpoint: Endpoint) -> Any:
    """Return the endpoint's validated body; a refused one gets one log line (and no traceback)."""
    assert endpoint.body is not None
    try:
        return await _body(request, endpoint.body)
    except ApiError as exc:
        log.warning("%s %s from %s refused: %s", request.method, request.path, request.remote, exc.message)
        if endpoint.on_bad_body is not None:
            endpoint.on_bad_body(request)
        raise


async def _body(request: web.Request, model: type[Any]) -> Any:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, f"the body is too large ({exc.text})") from exc
    try:  # the shape first: a body of [[[[...]]]] or [{}, {}, ...] costs nothing until it is parsed
        check_json(raw, MAX_BODY_VALUES, MAX_BODY_DEPTH)
        data = json.loads(raw)
    except ShapeError as exc:
        raise ApiError(400, f"the body is not accepted: {exc}") from exc
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, f"the body is not JSON: {exc}") from exc
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:  # "\ud800" is valid JSON but no character: it could not be saved
        raise ApiError(400, "the body holds text that is not valid Unicode") from exc
    try:
        return body_adapter(model).validate_python(data, context={"secrets_hidden": True})
    except ValidationError as exc:
        raise ApiError(400, "the request is not valid", problems=[
            {"path": ".".join(str(p) for p in error["loc"] if p not in UNION_TAGS), "message": in_words(error)}
            for error in exc.errors()
        ]) from exc


def _dumps(value: Any) -> str:
    """JSON for browsers: a PLC's NaN or infinity (a FLOAT register may hold either) becomes a string,
    since JSON has no such numbers."""
    try:
        return json.dumps(value, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(json_safe(value), default=str, allow_nan=False)


def json_safe(value: Any) -> Any:
    """Return ``value`` with NaN and infinities (at any depth) as strings, which JSON can carry."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
