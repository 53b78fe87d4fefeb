"""Read file uploads (multipart/form-data, or a whole body) with a size cap; a malformed body is a
400, one over the cap a 413.

Only the named fields are read; a browser's file name comes back as text for the caller to
check, never used as a path here.
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from .api import ApiError


async def read_files(request: web.Request, fields: tuple[str, ...], max_bytes: int) -> dict[str, tuple[str, bytearray]]:
    """Return ``{field: (file name, content)}`` for the ``fields`` present in the upload."""
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "upload the file(s) as multipart/form-data")
    found: dict[str, tuple[str, bytearray]] = {}
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name not in fields:
                continue
            data = bytearray()
            while chunk := await part.read_chunk():
                data += chunk
                if len(data) > max_bytes:
                    raise ApiError(413, f"{part.name}: larger than {max_bytes // 1024} KiB")
            found[part.name] = (part.filename or "", data)  # not copied: an upload may be megabytes
    except (HttpProcessingError, ValueError, AssertionError) as exc:  # aiohttp asserts on some malformed bodies
        raise ApiError(400, f"the upload is not valid multipart/form-data: {exc}") from exc
    return found


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """Return the whole body (a single ``read`` returns only what has arrived so far)."""
    too_large = ApiError(413, f"the file is larger than {max_bytes // 1024} KiB")
    if (request.content_length or 0) > max_bytes:
        raise too_large
    data = bytearray()
    while chunk := await request.content.read(64 * 1024):
        data += chunk
        if len(data) > max_bytes:
            raise too_large
    return bytes(data)
