"""Values on the wire (schema version 1): msgpack, never pickle.

A model dataclass travels as a map of its fields; ``Decimal`` as its decimal text in what the
service sends (:func:`pack`) and as the :data:`DECIMAL_EXT` extension in requests
(:func:`pack_request`: the service must tell a Decimal from a text, the facade does), ``datetime``
as msgpack's Timestamp extension (type -1, UTC), an enum as its value, a tuple as an array.
``Quote.updated_monotonic`` is a clock of the sending process: it travels as ``age`` (seconds
since the update) and becomes the receiver's own monotonic time again. :func:`decode` rebuilds a
model from its map, checking every field against the dataclass's annotations (extra keys are
ignored, so a newer peer may add fields; a missing field takes its default).
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
import types
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

import msgpack
import pandas as pd

from platform_adapter.models.contract import ContractSpec, SecType
from platform_adapter.models.market_data import Quote

T = TypeVar("T")
Convert = Callable[[Any, str], Any]


class SchemaError(ValueError):
    """A value that does not have the type its field declares (``path`` names the field)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


# --- encoding ---------------------------------------------------------------------------------
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # a model class -> its fields' names (looked up once)


def _default(value: Any) -> Any:
    """msgpack's hook for what it does not pack itself."""
    if isinstance(value, Quote):
        return quote_map(value)
    if isinstance(value, ContractSpec):
        return spec_map(value)
    names = _FIELD_NAMES.get(type(value))
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: getattr(value, name) for name in names}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, datetime):
        raise TypeError("a datetime must be timezone-aware")
    raise TypeError(f"{type(value).__name__} cannot be sent to the service")


def quote_map(q: Quote, now: float | None = None) -> dict[str, Any]:
    """A Quote's wire map: its fields (whatever they are: a field added to Quote travels as
    any other), with ``age`` in place of ``updated_monotonic``."""
    names = _QUOTE_FIELDS.get(type(q))
    if names is None:
        names = _QUOTE_FIELDS[type(q)] = tuple(f.name for f in dataclasses.fields(q) if f.name != "updated_monotonic")
    out = {name: getattr(q, name) for name in names}
    out["age"] = (max(0.0, (now or time.monotonic()) - q.updated_monotonic) if q.updated_monotonic else None)
    return out


RAW_SEC_TYPE = "raw_sec_type"
"""A ContractSpec map's flag: its ``sec_type`` is a plain text, not a SecType (the receiver keeps it text)."""
SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(ContractSpec))


def spec_map(spec: ContractSpec) -> dict[str, Any]:
    """A ContractSpec's wire map: its fields' values as they are (a wrong one too: the receiving
    facade judges it), with :data:`RAW_SEC_TYPE` when ``sec_type`` is a text that is no SecType."""
    out = {name: getattr(spec, name) for name in SPEC_FIELDS}
    if isinstance(spec.sec_type, str) and not isinstance(spec.sec_type, SecType):
        out[RAW_SEC_TYPE] = True
    return out


def spec_from_map(value: dict[str, Any]) -> ContractSpec:
    """The ContractSpec of a wire map, its fields NOT judged (the facade's ``to_spec`` does that,
    when it checks the instrument): ``sec_type`` becomes a SecType when it is the text of one and
    the map has no :data:`RAW_SEC_TYPE`. Unknown keys are ignored; KeyError without ``symbol``."""
    fields = {name: value[name] for name in SPEC_FIELDS if name in value}
    if "symbol" not in fields:
        raise KeyError("symbol")
    kind = fields.get("sec_type")
    if isinstance(kind, str) and kind in SecType._value2member_map_ and value.get(RAW_SEC_TYPE) is not True:
        fields["sec_type"] = SecType(kind)
    return ContractSpec(**fields)


DECIMAL_EXT = 1
"""msgpack extension type of a ``Decimal`` in a request; its payload is the decimal's ASCII text."""
_DECIMAL_TEXT = re.compile(r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:E[+-]?\d+)?|Inf(?:inity)?|s?NaN\d*)",
                           re.ASCII | re.IGNORECASE)


def _request_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return msgpack.ExtType(DECIMAL_EXT, str(value).encode("ascii"))
    return _default(value)


def _ext_hook(code: int, data: bytes) -> Any:
    """A :data:`DECIMAL_EXT` as its Decimal (ValueError when the payload is no decimal text);
    an unknown extension stays an ``ExtType`` (the facade refuses it as it would any odd value)."""
    if code != DECIMAL_EXT:
        return msgpack.ExtType(code, data)
    text = data.decode("ascii", errors="replace")
    if not _DECIMAL_TEXT.fullmatch(text):
        raise ValueError(f"extension {DECIMAL_EXT} (Decimal) holds {data[:40]!r}, not a decimal text")
    return Decimal(text)


def pack(value: Any) -> bytes:
    """One msgpack object (models, Decimals as text, datetimes): what the service sends."""
    return msgpack.packb(value, default=_default, datetime=True, use_bin_type=True)


def pack_request(value: Any) -> bytes:
    """As :func:`pack`, but a Decimal becomes the :data:`DECIMAL_EXT` extension (a client's request)."""
    return msgpack.packb(value, default=_request_default, datetime=True, use_bin_type=True)


def unpack(data: bytes) -> Any:
    """One msgpack object; Timestamps become tz-aware UTC datetimes, a :data:`DECIMAL_EXT` a
    Decimal. Raises ValueError."""
    return msgpack.unpackb(data, raw=False, timestamp=3, strict_map_key=False, ext_hook=_ext_hook)


def unpack_stream(data: bytes) -> list[Any]:
    """Every msgpack object of a frame holding several, in order."""
    unpacker = msgpack.Unpacker(raw=False, timestamp=3, strict_map_key=False, ext_hook=_ext_hook)
    unpacker.feed(data)
    return list(unpacker)


# --- decoding ---------------------------------------------------------------------------------
_CONVERTERS: dict[Any, Convert] = {}


def decode(cls: type[T], value: Any, path: str = "") -> T:
    """``value`` (a wire map) as an instance of the model ``cls``; SchemaError when it does not fit."""
    result: T = converter(cls)(value, path or cls.__name__)
    return result


def converter(tp: Any) -> Convert:
    """The (cached) function checking and converting a wire value to the type ``tp``."""
    conv = _CONVERTERS.get(tp)
    if conv is None:
        conv = _CONVERTERS[tp] = _build(tp)
    return conv


def _fail(path: str, reason: str) -> Any:
    raise SchemaError(path, reason)


def _build(tp: Any) -> Convert:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _union([converter(a) for a in get_args(tp) if a is not type(None)], type(None) in get_args(tp))
    if origin is tuple:
        item = converter(get_args(tp)[0])
        return lambda v, p: (tuple(item(x, f"{p}[{i}]") for i, x in enumerate(v)) if isinstance(v, list | tuple)
                             else _fail(p, "must be an array"))
    if origin is dict:
        key, val = (converter(a) for a in get_args(tp))
        return lambda v, p: ({key(k, p): val(x, f"{p}.{k}") for k, x in v.items()} if isinstance(v, dict)
                             else _fail(p, "must be a map"))
    if tp is Any:
        return lambda v, p: v
    if tp in _SCALARS:
        return _SCALARS[tp]
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _enum(tp)
    if dataclasses.is_dataclass(tp):
        return _model(tp)
    raise TypeError(f"no wire form for {tp!r}")


def _union(options: list[Convert], optional: bool) -> Convert:
    def conv(v: Any, p: str) -> Any:
        if v is None and optional:
            return None
        for option in options:
            try:
                return option(v, p)
            except SchemaError:
                continue
        return _fail(p, f"unexpected {type(v).__name__}")
    return conv


def _enum(tp: type[Enum]) -> Convert:
    def conv(v: Any, p: str) -> Any:
        try:
            return tp(v)
        except ValueError:
            return _fail(p, f"{v!r} is not a {tp.__name__}")
    return conv


def _model(cls: Any) -> Convert:
    hints = get_type_hints(cls)
    fields = [(f.name, hints[f.name], f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
              for f in dataclasses.fields(cls) if f.init]
    plan: list[tuple[str, bool, Convert]] = []

    def conv(v: Any, p: str) -> Any:
        if not isinstance(v, dict):
            return _fail(p, "must be a map")
        if not plan:
            plan.extend((name, required, converter(tp)) for name, tp, required in fields)
        kwargs = {}
        for name, required, field_conv in plan:
            if name in v:
                kwargs[name] = field_conv(v[name], f"{p}.{name}")
            elif required:
                _fail(f"{p}.{name}", "is missing")
        if issubclass(cls, Quote):
            age = v.get("age")
            if isinstance(age, int | float) and not isinstance(age, bool) and math.isfinite(age):
                kwargs["updated_monotonic"] = time.monotonic() - age
        return cls(**kwargs)
    return conv


def _float(v: Any, p: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return _fail(p, "must be a number")  # type: ignore[no-any-return]
    return float(v)


def _int(v: Any, p: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        return _fail(p, "must be an integer")  # type: ignore[no-any-return]
    return v


def _decimal(v: Any, p: str) -> Decimal:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        return _fail(p, "must be a decimal text or a number")  # type: ignore[no-any-return]
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return _fail(p, f"{v!r} is not a decimal number")  # type: ignore[no-any-return]


def _typed(tp: type) -> Convert:
    return lambda v, p: v if isinstance(v, tp) else _fail(p, f"must be {tp.__name__}, not {type(v).__name__}")


_SCALARS: dict[Any, Convert] = {
    float: _float, int: _int, Decimal: _decimal, str: _typed(str), bool: _typed(bool),
    datetime: _typed(datetime), bytes: _typed(bytes),
}
_QUOTE_FIELDS: dict[type, tuple[str, ...]] = {}  # a Quote class's field names without updated_monotonic


# --- DataFrames (historical bars) -------------------------------------------------------------------
def frame_map(frame: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame with a datetime index as columns of values, with each column's dtype."""
    def cell(x: Any) -> Any:
        return None if x is pd.NA else x

    return {
        "index": [ts.to_pydatetime() for ts in frame.index],
        "index_name": frame.index.name,
        "columns": {str(c): [cell(x) for x in frame[c].tolist()] for c in frame.columns},
        "dtypes": {str(c): str(frame[c].dtype) for c in frame.columns},
    }


def frame_from_map(value: Any) -> pd.DataFrame:
    """The DataFrame of :func:`frame_map`; SchemaError when the map is not one."""
    if not isinstance(value, dict) or not isinstance(value.get("columns"), dict):
        raise SchemaError("frame", "must be a map with columns")
    index = pd.DatetimeIndex(value.get("index") or [], name=value.get("index_name"))
    if index.tz is None:
        index = index.tz_localize("UTC")
    dtypes = value.get("dtypes") or {}
    if any(not isinstance(v, list) or len(v) != len(index) for v in value["columns"].values()):
        raise SchemaError("frame", f"every column must have {len(index)} values, one per index entry")
    try:
        data = {name: pd.array(values, dtype=dtypes.get(name)) for name, values in value["columns"].items()}
        return pd.DataFrame(data, index=index)
    except (TypeError, ValueError) as exc:
        raise SchemaError("frame", str(exc)) from None
