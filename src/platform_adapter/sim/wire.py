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
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF

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

    def encode(self, sv: int) -> bytes:
        """The frame (length prefix included) for a session at server version ``sv``."""
        if sv < MIN_SERVER_VER_PROTOBUF:
            return frame(self.text)
        if self.proto is not None and sv >= PROTOBUF_FROM[self.msg_id]:
            body = self.proto().SerializeToString()
            return _HEADER.pack(len(body) + 4, self.msg_id + PROTOBUF_MSG_ID) + body
        body = payload(self.fields)
        return _HEADER.pack(len(body) + 4, self.msg_id) + body


@dataclass(frozen=True, slots=True)
class HandshakeReply:
    """The version reply of the handshake: text fields without a message id at every version."""

    fields: tuple[Field, ...]

    def encode(self, sv: int) -> bytes:
        """The frame; the same at every server version."""
        return frame(self.fields)


Outgoing = Message | HandshakeReply
