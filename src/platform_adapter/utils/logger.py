"""The adapter's log sinks (loguru): console plus a daily file ``pa_{date}.log``.

Library manners: :func:`setup_logging` adds and removes only its own sinks, and they carry only
the adapter's records (``platform_adapter.*``). An application's handlers, format and patchers
are never touched; its records do not go into the adapter's sinks, and the adapter's records
also reach the application's handlers (masked: ``platform_adapter.log``). The console sink is
left out while loguru's pre-installed stderr handler (id 0) is still there, since that one
already prints every record: an application that wants the adapter's console format removes it
(``logger.remove(0)``), as ``python -m platform_adapter.main`` does.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from loguru import logger

from platform_adapter.config.settings import LoggingConfig
from platform_adapter.log import mask

__all__ = ["PACKAGE", "mask", "remove_default_stderr", "remove_sinks", "setup_logging"]

PACKAGE = "platform_adapter"
_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent) + os.sep
_handler_ids: list[int] = []
_lock = threading.Lock()


def _ours(record: Any) -> bool:
    """A record of the adapter: by its module's name, or by its file (``python -m
    platform_adapter.main`` runs as ``__main__``)."""
    name = record["name"] or ""
    return name == PACKAGE or name.startswith(PACKAGE + ".") or record["file"].path.startswith(_PACKAGE_DIR)


def _default_stderr_installed() -> bool:
    """True while loguru's own stderr handler (id 0, added at import) has not been removed."""
    handlers = getattr(getattr(logger, "_core", None), "handlers", None)
    return isinstance(handlers, dict) and 0 in handlers


def setup_logging(config: LoggingConfig, *, console: bool | None = None) -> None:
    """(Re)configure the adapter's log sinks. Safe to call more than once."""
    with _lock:
        _remove_ours()
        level = config.level.upper()
        if (console if console is not None else config.console) and not _default_stderr_installed():
            _handler_ids.append(logger.add(sys.stderr, level=level, format=config.format, filter=_ours,
                                           enqueue=False))
        log_dir = Path(config.log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        _handler_ids.append(
            logger.add(
                str(log_dir / "pa_{time:YYYY-MM-DD}.log"),
                level=level,
                format=config.format,
                filter=_ours,
                rotation=config.rotation,
                retention=config.retention,
                enqueue=True,
                encoding="utf-8",
            )
        )


def remove_default_stderr() -> None:
    """For applications (the shell, the service): drop loguru's pre-installed stderr handler, so
    that the adapter's console sink is the one that prints. A library never calls this."""
    try:
        logger.remove(0)
    except ValueError:
        pass


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
