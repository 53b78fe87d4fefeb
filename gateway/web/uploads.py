"""Read file uploads (multipart/form-data) with a size cap per file; a malformed body is a 400.

Only the named fields are read; a browser's file name comes back as text for the caller to
check, never used as a path here.
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from .api import ApiError


async def read_files(request: web.Request, fields: tuple[str, ...], max_bytes: int) -> dict[str, tuple[str, bytes]]:
    """Return ``{field: (file name, content)}`` for the ``fields`` present in the upload."""
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "upload the file(s) as multipart/form-data")
    found: dict[str, tuple[str, bytes]] = {}
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
            found[part.name] = (part.filename or "", bytes(data))
    except (HttpProcessingError, ValueError, AssertionError) as exc:  # aiohttp asserts on some malformed bodies
        raise ApiError(400, f"the upload is not valid multipart/form-data: {exc}") from exc
    return found
