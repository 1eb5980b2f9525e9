"""The service's wire protocol (docs/service.md): envelopes, error replies, event names, line ids.

Commands: one ZeroMQ frame per request, a msgpack map ``{"v", "id", "cmd", "session", "args"}``;
one frame per reply, ``{"v", "id", "ok": true, "result"}`` or ``{"v", "id", "ok": false,
"error"}``. Events: frames holding a msgpack stream of ``{"ev": name, ...}`` maps.
An error travels as ``{"type", "message", ...its attributes}`` and is raised again on the
client as the same exception class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from platform_adapter import errors
from platform_adapter.adapters.contracts import to_spec
from platform_adapter.errors import PlatformAdapterError
from platform_adapter.models.contract import ContractSpec, SecType
from platform_adapter.models.market_data import TickByTickKind
from platform_adapter.service.schema import (
    DECIMAL_EXT,
    SPEC_FIELDS,
    SchemaError,
    frame_from_map,
    frame_map,
    pack,
    pack_request,
    unpack,
)

SCHEMA_VERSION = 1
EXTENSIONS = (DECIMAL_EXT,)
"""The msgpack extension types this service reads in requests (``hello``'s ``extensions``)."""
MAX_MESSAGE_BYTES = 1 << 20
"""Largest command frame the service reads (a larger one gets a ``too_large`` error reply)."""


class ErrorCode(StrEnum):
    """Why the service refused a frame before running it (``ProtocolError.code``)."""

    MALFORMED = "malformed"  # not a msgpack map of the envelope's fields
    TOO_LARGE = "too_large"  # over MAX_MESSAGE_BYTES
    UNSUPPORTED_VERSION = "unsupported_version"  # "v" is not SCHEMA_VERSION
    UNKNOWN_COMMAND = "unknown_command"
    NOT_IDENTIFIED = "not_identified"  # no live session for the token: send hello first
    NAME_IN_USE = "name_in_use"  # another live client holds the name
    INTERNAL = "internal"  # a bug in the service (logged there)


class ProtocolError(PlatformAdapterError):
    """The service refused a frame (malformed, too large, unknown command, ...): nothing ran."""

    def __init__(self, code: ErrorCode | str, message: str) -> None:
        self.code = ErrorCode(code)
        super().__init__(f"{self.code.value}: {message}")


class Event(StrEnum):
    """Event names (``"ev"``) on the events socket."""

    ATTACHED = "attached"
    HEARTBEAT = "heartbeat"
    QUOTE = "quote"
    BAR = "bar"
    TICK = "tick"
    LINE_ERROR = "line_error"
    ORDER_STATUS = "order_status"
    FILL = "fill"
    ACCOUNT = "account"
    CONNECTION = "connection"
    PROGRESS = "progress"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed command frame."""

    id: int
    cmd: str
    session: str | None
    args: dict[str, Any]


def encode_request(req_id: int, cmd: str, args: dict[str, Any], session: str | None = None,
                   decimal_ext: bool = True) -> bytes:
    """A request frame; its Decimals as the :data:`DECIMAL_EXT` extension, or as text for a
    service that does not read it (``decimal_ext`` False: one whose ``hello`` did not list it)."""
    envelope: dict[str, Any] = {"v": SCHEMA_VERSION, "id": req_id, "cmd": cmd, "args": args}
    if session is not None:
        envelope["session"] = session
    return pack_request(envelope) if decimal_ext else pack(envelope)


def parse_request(frame: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> Request:
    """The request in ``frame``; ProtocolError (with the request id when it could be read) otherwise."""
    if len(frame) > max_bytes:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"{len(frame)} bytes, the limit is {max_bytes}")
    try:
        msg = unpack(frame)
    except (ValueError, TypeError) as exc:  # msgpack's errors are ValueError subclasses
        raise ProtocolError(ErrorCode.MALFORMED, f"not a msgpack object ({type(exc).__name__})") from None
    if not isinstance(msg, dict):
        raise ProtocolError(ErrorCode.MALFORMED, f"the envelope must be a map, not {type(msg).__name__}")
    req_id = msg.get("id")
    if isinstance(req_id, bool) or not isinstance(req_id, int):
        raise ProtocolError(ErrorCode.MALFORMED, "'id' must be an integer")
    if msg.get("v") != SCHEMA_VERSION:
        raise RequestError(req_id, ProtocolError(ErrorCode.UNSUPPORTED_VERSION,
                                                 f"schema version {msg.get('v')!r}; this service speaks "
                                                 f"{SCHEMA_VERSION}"))
    cmd, session, args = msg.get("cmd"), msg.get("session"), msg.get("args", {})
    if not isinstance(cmd, str) or not isinstance(args, dict) or not isinstance(session, str | None):
        raise RequestError(req_id, ProtocolError(ErrorCode.MALFORMED,
                                                 "'cmd' must be text, 'args' a map, 'session' text"))
    return Request(req_id, cmd, session, args)


class RequestError(Exception):
    """A refused request whose id is known (so that the error reply can name it)."""

    def __init__(self, req_id: int, error: PlatformAdapterError) -> None:
        self.req_id = req_id
        self.error = error
        super().__init__(str(error))


def ok_reply(req_id: int, result: Any) -> bytes:
    return pack({"v": SCHEMA_VERSION, "id": req_id, "ok": True, "result": result})


def error_reply(req_id: int | None, exc: BaseException, decimal_ext: bool = False) -> bytes:
    """An error reply; a Decimal attribute (a refused argument's ``value``) as the
    :data:`DECIMAL_EXT` extension for a client that reads it (``decimal_ext``), else as text."""
    reply = {"v": SCHEMA_VERSION, "id": req_id, "ok": False, "error": error_map(exc)}
    return pack_request(reply) if decimal_ext else pack(reply)


def reads_extensions(value: Any) -> bool:
    """True when a ``hello``'s ``extensions`` (the types the client reads) holds :data:`DECIMAL_EXT`."""
    return isinstance(value, list) and DECIMAL_EXT in value


# --- errors --------------------------------------------------------------------------------------
_ERROR_TYPES: dict[str, type[PlatformAdapterError]] = {
    name: cls for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, PlatformAdapterError)} | {"ProtocolError": ProtocolError}


def error_map(exc: BaseException) -> dict[str, Any]:
    """``{"type", "message": str(exc), "attributes"}``: ``type`` is the nearest library error class
    (anything that is not a library error is a ProtocolError ``internal``). A DataFrame attribute
    (the bars a failed history request kept, :class:`~platform_adapter.errors.PartialHistory`)
    travels as :func:`frame_map`, its name listed under ``"frames"``; it is no larger than the
    frame the request would have returned, which travels the same way."""
    if not isinstance(exc, PlatformAdapterError):
        exc = ProtocolError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}")
    name = next(c.__name__ for c in type(exc).__mro__ if _ERROR_TYPES.get(c.__name__) is c)
    values = {key: value for key, value in vars(exc).items() if not key.startswith("_")}
    frames = sorted(key for key, value in values.items() if isinstance(value, pd.DataFrame))
    attributes = {key: frame_map(value) if key in frames else _plain(value) for key, value in values.items()}
    out = {"type": name, "message": str(exc), "attributes": attributes}
    if frames:
        out["frames"] = frames
    return out


def _plain(value: Any) -> Any:
    """A value msgpack can carry (others, e.g. a rejected argument's object, as their repr)."""
    try:
        pack(value)
    except (TypeError, ValueError, OverflowError):
        return repr(value)
    return value


def error_from_map(value: Any) -> PlatformAdapterError:
    """The exception an error map describes: the same class, message and attributes."""
    if not isinstance(value, dict):
        return ProtocolError(ErrorCode.MALFORMED, f"error reply is not a map: {value!r}")
    cls = _ERROR_TYPES.get(str(value.get("type")), PlatformAdapterError)
    exc = cls.__new__(cls)
    Exception.__init__(exc, str(value.get("message", "")))
    attributes = value.get("attributes")
    frames = value.get("frames")
    frames = set(map(str, frames)) if isinstance(frames, list) else set()
    for name, attr in (attributes.items() if isinstance(attributes, dict) else ()):
        if str(name) in frames:
            try:
                setattr(exc, str(name), frame_from_map(attr))
            except SchemaError:  # a frame the reply mangled: the error is still the error, without it
                continue
        else:
            setattr(exc, str(name), tuple(attr) if isinstance(attr, list) else attr)
    if isinstance(exc, ProtocolError):
        code = str(getattr(exc, "code", ""))
        exc.code = ErrorCode(code) if code in ErrorCode._value2member_map_ else ErrorCode.INTERNAL
    return exc


# --- market data lines -------------------------------------------------------------------------------
def instrument_key(symbol: Any, field: str = "symbol") -> str:
    """The facade's key of an instrument: ``"AAPL"`` for a plain symbol, ``ContractSpec.key`` else;
    checked as the facade checks it (its ValidationError, naming the field as it does)."""
    return to_spec(symbol, field).key


_FAITHFUL = (str, int, float, bool, type(None))  # values msgpack carries as they are


def _travels(value: Any) -> bool:
    """True when the service gets ``value`` back as it is (a ContractSpec: as a map of its fields)."""
    if isinstance(value, ContractSpec):
        return all(type(getattr(value, name)) in _FAITHFUL or name == "sec_type" and isinstance(value.sec_type, SecType)
                   for name in SPEC_FIELDS)
    return type(value) in _FAITHFUL


def sendable_spec(value: Any, field: str = "symbol", check: Callable[[Any, str], Any] = to_spec) -> Any:
    """An instrument argument as the user gave it: the service's facade judges it, in its own
    order. A value msgpack cannot carry as it is (a tuple, a mapping, a ContractSpec with a
    Decimal strike, ...) is no valid instrument: the facade's ``check`` of the argument runs
    here, and raises its error for it."""
    if not _travels(value):
        check(value, field)
    return value


def quote_line(key: str) -> str:
    return f"quotes|{key}"


def bar_line(key: str, what_to_show: str, use_rth: bool) -> str:
    return f"bars|{key}|{what_to_show.upper()}|{int(use_rth)}"


def tick_line(key: str, kind: TickByTickKind) -> str:
    return f"ticks|{key}|{kind.value}"
