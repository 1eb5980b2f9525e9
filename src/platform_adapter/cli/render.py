"""Text output for the shell: numbers, tables, a progress bar and "until a key is pressed"."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

UNITS = {"STK": "shares", "FUT": "contracts", "OPT": "contracts", "CASH": "units", "IND": "units"}


def qty(value: Any) -> str:
    """``Decimal('100')`` -> ``100``; ``Decimal('0.50')`` -> ``0.5``; ``None`` -> ``-``."""
    if value is None:
        return "-"
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return f"{int(d):,}"
    return format(d.normalize(), "f")


def price(value: float | None, digits: int | None = None) -> str:
    """At least two decimals and up to five when the price has them (forex moves in 0.00005)."""
    if value is None:
        return "-"
    if digits is not None:
        return f"{value:,.{digits}f}"
    text = f"{value:,.5f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def money(value: float | None) -> str:
    """``149.5`` -> ``$149.50``; ``-12.3`` -> ``-$12.30``."""
    if value is None:
        return "-"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A left-aligned text table (numbers right-aligned)."""
    cells = [[str(c) for c in headers]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_looks_numeric(r[i]) for r in cells[1:]) and len(cells) > 1 for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [c.rjust(w) if numeric[i] and n else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _looks_numeric(text: str) -> bool:
    t = text.replace(",", "").replace("$", "").replace("%", "").lstrip("-")
    if t in ("", "-"):
        return True
    try:
        float(t)
    except ValueError:
        return False
    return True


def key_value(pairs: Sequence[tuple[str, Any]]) -> str:
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(width)}  {'-' if v is None else v}" for k, v in pairs)


class ProgressBar:
    """``[#####.....]  5/10 chunks`` redrawn in place on a terminal; plain lines elsewhere."""

    def __init__(self, label: str, out: IO[str], width: int = 30) -> None:
        self.label = label
        self.out = out
        self.width = width
        self.tty = out.isatty()
        self._lock = threading.Lock()
        self._last = ""
        self.updates = 0

    def update(self, done: int, total: int) -> None:
        total = max(total, 1)
        done = min(max(done, 0), total)
        filled = int(self.width * done / total)
        text = f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
        with self._lock:
            if text == self._last:
                return
            self._last = text
            self.updates += 1
            if self.tty:
                self.out.write("\r" + text)
            else:
                self.out.write(text + "\n")
            self.out.flush()

    def close(self) -> None:
        with self._lock:
            if self.tty and self._last:
                self.out.write("\n")
                self.out.flush()


@contextmanager
def keypress_watch(stream: IO[str]) -> Iterator[Callable[[float], bool]]:
    """Yield ``wait(seconds) -> bool``: True once a key was pressed on ``stream`` (a terminal).

    The terminal is put in cbreak mode for the duration (no echo, no line buffering) so that one
    key is enough; the key is consumed.
    """
    fd = stream.fileno()
    try:
        import termios  # noqa: PLC0415 - POSIX only
        import tty  # noqa: PLC0415
    except ImportError:  # pragma: no cover - Windows
        def wait_plain(seconds: float) -> bool:
            time.sleep(seconds)
            return False

        yield wait_plain
        return
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)

        def wait(seconds: float) -> bool:
            ready, _, _ = select.select([fd], [], [], seconds)
            if ready:
                os.read(fd, 64)
                return True
            return False

        yield wait
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def clear_screen(out: IO[str]) -> None:
    if out.isatty():
        out.write("\x1b[H\x1b[2J")


