"""Parse OPC UA NodeId addresses (pure).

Every string form of OPC UA Part 6: ``ns=2;s=Line1.Temp`` (string), ``ns=3;i=1001`` (numeric),
``ns=1;g=09087e75-8e5e-499b-954f-f2a9603db28a`` (GUID), ``ns=1;b=M/RbKBsRVkePCePcx24oRA==``
(opaque, base64), ``nsu=urn:plant:line1;s=Temp`` (namespace by URI, resolved against the
server's namespace array when connected), and any of them without ``ns=`` for namespace 0
(``i=2258``). The identifier is kept as written; whitespace around the parts is not allowed,
since a string identifier may itself hold spaces.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point

_FORM = re.compile(r"^(?:(?:ns=(\d+)|nsu=([^;]+));)?([isgb])=(.+)$", re.DOTALL)
_EXAMPLES = "expected e.g. ns=2;s=Line1.Temp, ns=3;i=1001, nsu=urn:plant:line1;s=Temp or i=2258"
UNSUPPORTED = (DataType.BCD,)  # an OPC UA server sends typed values: BCD is a register encoding


@dataclass(frozen=True, slots=True)
class NodeAddress:
    """A parsed NodeId: its namespace by index or by URI, its identifier type and identifier."""

    namespace: int | None  # None when given by URI
    namespace_uri: str | None
    kind: str  # i (numeric), s (string), g (GUID), b (opaque)
    identifier: str

    def with_index(self, index: int) -> str:
        """Return the NodeId string with the namespace as an index (a URI resolved to ``index``)."""
        return f"ns={index};{self.kind}={self.identifier}"


def parse_address(text: str) -> NodeAddress:
    """Parse ``text`` or raise AddressError saying which part is wrong."""
    match = _FORM.match(text)
    if match is None:
        raise AddressError(f"'{text}' is not an OPC UA NodeId ({_EXAMPLES})")
    index, uri, kind, identifier = match.groups()
    namespace = int(index) if index is not None else (None if uri is not None else 0)
    if namespace is not None and namespace > 65535:
        raise AddressError(f"'{text}': namespace index {namespace} is above 65535")
    _check_identifier(text, kind, identifier)
    return NodeAddress(namespace, uri, kind, identifier)


def _check_identifier(text: str, kind: str, identifier: str) -> None:
    if kind == "i" and not (identifier.isdigit() and int(identifier) < 2**32):
        raise AddressError(f"'{text}': a numeric identifier (i=) is a whole number from 0 to 4294967295")
    if kind == "g":
        try:
            uuid.UUID(identifier)
        except ValueError:
            raise AddressError(f"'{text}': a GUID identifier (g=) looks like 09087e75-8e5e-499b-954f-f2a9603db28a") \
                from None
    if kind == "b":
        try:
            base64.b64decode(identifier, validate=True)
        except binascii.Error:
            raise AddressError(f"'{text}': an opaque identifier (b=) is base64") from None


def check_point(point: Point) -> NodeAddress:
    """Parse the point's address and check its type fits OPC UA; return the address."""
    if point.dtype in UNSUPPORTED:
        raise AddressError(f"{point.name}: {point.dtype} is a register encoding; an OPC UA server sends typed values "
                           "(use the node's own type, e.g. WORD or INT)")
    return parse_address(point.address)
