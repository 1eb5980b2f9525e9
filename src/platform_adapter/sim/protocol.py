"""TWS socket framing and field encoding.

Frames are a 4-byte big-endian length followed by NUL-terminated ASCII fields.
Values are rendered the way TWS renders them in the recordings:
integers plainly, doubles in plain (non-scientific) notation with a ``.0`` for
integral values, UNSET double as ``1.7976931348623157E308``, booleans as 0/1,
``None`` as the empty string and Decimals without exponent.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable, Sequence
from decimal import Decimal

Field = str | int | float | bool | Decimal | None

UNSET_INTEGER = 2**31 - 1
UNSET_DOUBLE = 1.7976931348623157e308
UNSET_DOUBLE_STR = "1.7976931348623157E308"
MAX_FRAME = 16 * 1024 * 1024


class Unset:
    """Marker for an unset double that TWS renders as an empty field."""


def fmt_float(value: float) -> str:
    """Render a double like TWS: shortest round-trip digits, never scientific."""
    if value == UNSET_DOUBLE:
        return UNSET_DOUBLE_STR
    if value != value:  # NaN
        return ""
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


def fmt_decimal(value: Decimal) -> str:
    """Render a Decimal without exponent and without trailing zeros."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def qty(x: float) -> Decimal:
    """A quantity as a Decimal (TWS sends sizes as decimals)."""
    return Decimal(repr(float(x))).normalize()


def fmt(value: Field) -> str:
    """Render one field value as text (without the NUL terminator)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return fmt_float(value)
    if isinstance(value, Decimal):
        return fmt_decimal(value)
    return str(value)


def payload(fields: Iterable[Field], ascii7: bool = True) -> bytes:
    """Encode fields into a payload (no length prefix): 7-bit ASCII with backslash escapes (TWS from
    server version 153, ENCODE_MSG_ASCII7), or UTF-8 (``ascii7=False``, the older gateways)."""
    if ascii7:
        return b"".join(fmt(f).encode("ascii", "backslashreplace") + b"\0" for f in fields)
    return b"".join(fmt(f).encode() + b"\0" for f in fields)


def frame(fields: Iterable[Field], ascii7: bool = True) -> bytes:
    """Encode fields into a length-prefixed frame."""
    body = payload(fields, ascii7)
    return struct.pack(">I", len(body)) + body


def split_fields(body: bytes) -> list[str]:
    """Split a payload into text fields (the trailing terminator is dropped)."""
    parts = body.split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    return [p.decode("latin-1") for p in parts]


class FrameReader:
    """Reads length-prefixed frames from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def read_exact(self, n: int) -> bytes:
        """Return exactly n bytes; raise ConnectionError on EOF."""
        while len(self._buf) < n:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("peer closed")
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def read_frame(self) -> bytes:
        """Return the payload of the next frame."""
        (size,) = struct.unpack(">I", self.read_exact(4))
        if size > MAX_FRAME:
            raise ConnectionError(f"frame too large: {size}")
        return self.read_exact(size)

    def read_fields(self) -> list[str]:
        """Return the fields of the next frame."""
        return split_fields(self.read_frame())


def parse_version_range(text: str) -> tuple[int, int]:
    """Parse ``v100..200[ options]`` into (min, max)."""
    spec = text.strip().split(" ", 1)[0]
    if not spec.startswith("v"):
        raise ValueError(f"bad version spec {text!r}")
    spec = spec[1:]
    if ".." in spec:
        lo, hi = spec.split("..", 1)
        return int(lo), int(hi)
    return int(spec), int(spec)


def fields_of(items: Sequence[Field]) -> list[str]:
    """Render fields to strings (for comparisons in tests)."""
    return [fmt(f) for f in items]
