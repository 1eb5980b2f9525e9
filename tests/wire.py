"""Frames as a gateway at server version 201+ sends them, and ibapi's own decoding of a frame (the
oracle for every fast path): a 4-byte big-endian message id, then the text fields without the id
field (id <= 200) or a protobuf body (wire id = id + 200)."""

from __future__ import annotations

from typing import Any

from ibapi.decoder import Decoder
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF

PROTOBUF_MSG_ID = 200


def binary_id(text_frame: bytes) -> bytes:
    """A text frame (``id\\0field\\0...``) as sent from version 201: the id as 4 bytes."""
    cut = text_frame.index(b"\0")
    return int(text_frame[:cut]).to_bytes(4, "big") + text_frame[cut + 1:]


def proto_frame(msg_id: int, message: Any) -> bytes:
    """A protobuf message as a frame (without the length prefix): wire id ``msg_id + 200``."""
    return (msg_id + PROTOBUF_MSG_ID).to_bytes(4, "big") + message.SerializeToString()


def ibapi_decode(decoder: Decoder, frame: bytes, server_version: int) -> None:
    """Decode ``frame`` exactly as ibapi's EClient does at ``server_version``."""
    if server_version >= MIN_SERVER_VER_PROTOBUF:
        msg_id = int.from_bytes(frame[:4], "big")
        if msg_id > PROTOBUF_MSG_ID:
            decoder.processProtoBuf(frame[4:], msg_id - PROTOBUF_MSG_ID)
        else:
            decoder.interpret(tuple(frame[4:].split(b"\0")[:-1]), msg_id)
        return
    cut = frame.index(b"\0")
    decoder.interpret(tuple(frame[cut + 1:].split(b"\0")[:-1]), int(frame[:cut]))
