"""The library's logger: loguru's, with account ids and secrets masked in the adapter's records.

Every module of the adapter logs through :data:`logger` (``from platform_adapter.log import
logger``). It is ``loguru.logger.patch(...)``: the masking applies to the records logged through
it only, so an application's own records, handlers, format and patchers are left as they are.
"""

from __future__ import annotations

import re
from typing import Any

from loguru import logger as _loguru

_ACCOUNT_RE = re.compile(r"\b(DU|DF|U|F)(\d{2,})(\d{3})\b")
_SECRET_RE = re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)(\s*[=:]\s*)(\S+)")


def mask(text: str) -> str:
    """Hide account ids (keep prefix and last three digits) and ``key=value`` secrets."""
    text = _ACCOUNT_RE.sub(lambda m: f"{m.group(1)}{'*' * len(m.group(2))}{m.group(3)}", text)
    return _SECRET_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def _mask_record(record: Any) -> None:
    record["message"] = mask(record["message"])


logger = _loguru.patch(_mask_record)
