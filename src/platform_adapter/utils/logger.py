"""Logging set-up (loguru): console plus a daily file ``pa_{date}.log``, with account ids masked."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import Any

from loguru import logger

from platform_adapter.config.settings import LoggingConfig

_ACCOUNT_RE = re.compile(r"\b(DU|DF|U|F)(\d{2,})(\d{3})\b")
_SECRET_RE = re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)(\s*[=:]\s*)(\S+)")
_handler_ids: list[int] = []
_lock = threading.Lock()


def mask(text: str) -> str:
    """Hide account ids (keep prefix and last three digits) and ``key=value`` secrets."""
    text = _ACCOUNT_RE.sub(lambda m: f"{m.group(1)}{'*' * len(m.group(2))}{m.group(3)}", text)
    return _SECRET_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def _patch(record: Any) -> None:
    record["message"] = mask(record["message"])


def setup_logging(config: LoggingConfig, *, console: bool | None = None) -> None:
    """(Re)configure the library's log sinks. Safe to call more than once."""
    with _lock:
        _remove_ours()
        try:
            logger.remove(0)  # loguru's default stderr sink: ours replaces it
        except ValueError:
            pass
        logger.configure(patcher=_patch)
        level = config.level.upper()
        if console if console is not None else config.console:
            _handler_ids.append(logger.add(sys.stderr, level=level, format=config.format, enqueue=False))
        log_dir = Path(config.log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        _handler_ids.append(
            logger.add(
                str(log_dir / "pa_{time:YYYY-MM-DD}.log"),
                level=level,
                format=config.format,
                rotation=config.rotation,
                retention=config.retention,
                enqueue=True,
                encoding="utf-8",
            )
        )


def remove_sinks() -> None:
    """Drop the sinks added by :func:`setup_logging` (tests and shutdown)."""
    with _lock:
        _remove_ours()


def _remove_ours() -> None:
    for handler_id in _handler_ids:
        try:
            logger.remove(handler_id)
        except ValueError:
            pass
    _handler_ids.clear()
