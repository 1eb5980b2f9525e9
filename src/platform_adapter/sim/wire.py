"""Messages the simulated gateway sends, and their bytes on the wire at a server version.

Below server version 201 a frame is the text fields with the message id first. From 201 a frame
is a 4-byte big-endian message id then the body: the text fields without the id, or, once the
message's family has switched (``families.PROTOBUF_FROM``), the protobuf body under the id + 200.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import Message as ProtoMessage
from ibapi.common import PROTOBUF_MSG_ID
from ibapi.server_versions import MAX_CLIENT_VER, MIN_SERVER_VER_ENCODE_MSG_ASCII7, MIN_SERVER_VER_PROTOBUF

from .families import PROTOBUF_FROM
from .protocol import Field, frame, payload

_HEADER = struct.Struct(">II")  # frame length, message id


@dataclass(frozen=True, slots=True)
class Message:
    """One reply: its id (``ibapi.message.IN``), its text fields after the id, and (where ibapi
    has a protobuf form for it) a builder of its protobuf body, called only when needed."""

    msg_id: int
    fields: tuple[Field, ...]
    proto: Callable[[], ProtoMessage] | None = None

    @property
    def text(self) -> list[Field]:
        """The text fields with the message id first (the layout below server version 201)."""
        return [self.msg_id, *self.fields]

    def fields_at(self, sv: int) -> tuple[Field, ...]:
        """The text fields after the id as a gateway at ``sv`` sends them."""
        return self.fields

    def encode(self, sv: int) -> bytes:
        """The frame (length prefix included) for a session at server version ``sv``."""
        if sv < MIN_SERVER_VER_PROTOBUF:
            return frame((self.msg_id, *self.fields_at(sv)), sv >= MIN_SERVER_VER_ENCODE_MSG_ASCII7)
        if self.proto is not None and sv >= PROTOBUF_FROM[self.msg_id]:
            body = self.proto().SerializeToString()
            return _HEADER.pack(len(body) + 4, self.msg_id + PROTOBUF_MSG_ID) + body
        body = payload(self.fields_at(sv))
        return _HEADER.pack(len(body) + 4, self.msg_id) + body


@dataclass(frozen=True, slots=True)
class Versioned:
    """A text field a gateway sends only at server versions ``since <= sv < before``: one that
    ``MIN_SERVER_VER_<since>`` added, or a version field dropped at ``before``."""

    value: Field
    since: int = 0
    before: int = MAX_CLIENT_VER + 1


Layout = tuple[Field | Versioned, ...]


def _resolve(layout: Layout, sv: int) -> tuple[Field, ...]:
    return tuple(f.value if isinstance(f, Versioned) else f for f in layout
                 if not isinstance(f, Versioned) or f.since <= sv < f.before)


@dataclass(frozen=True, slots=True)
class VersionedMessage(Message):
    """A reply whose text layout depends on the server version: ``layout`` holds ``Versioned``
    fields, resolved for the session's version when the frame is built; ``fields`` is the layout at
    the newest version."""

    layout: Layout = ()

    def fields_at(self, sv: int) -> tuple[Field, ...]:
        return _resolve(self.layout, sv)


def versioned(msg_id: int, layout: Layout, proto: Callable[[], ProtoMessage] | None = None) -> VersionedMessage:
    """A message laid out per server version (``Versioned`` fields present only where they apply)."""
    return VersionedMessage(msg_id, _resolve(layout, MAX_CLIENT_VER), proto, layout)


@dataclass(frozen=True, slots=True)
class HandshakeReply:
    """The version reply of the handshake: text fields without a message id at every version."""

    fields: tuple[Field, ...]

    def encode(self, sv: int) -> bytes:
        """The frame; the same at every server version."""
        return frame(self.fields)


Outgoing = Message | HandshakeReply
