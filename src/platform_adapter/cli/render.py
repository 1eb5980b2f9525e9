"""Shell output through rich: number formats, tables, key-value lists, progress, live views.

On a terminal the output has colours (``NO_COLOR`` turns them off) and the live views redraw in
place; anywhere else (a pipe, a file, a dumb terminal) it is plain text without escape codes,
trailing blanks or redraws, so scripts and logs stay clean.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from rich import box
from rich.console import Console, RenderableType
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

UNITS = {"STK": "shares", "FUT": "contracts", "OPT": "contracts", "CASH": "units", "IND": "units"}
PLAIN_WIDTH = 240  # off a terminal nothing wraps a table row
Cell = str | Text | int | float | None


def console_for(out: IO[str]) -> Console:
    """A console writing to ``out``: styled on a terminal, plain text elsewhere.

    Rich itself honours ``NO_COLOR`` (no colours), ``FORCE_COLOR`` and ``TERM=dumb``.
    """
    console = Console(file=out, markup=False, highlight=False, emoji=False)
    if not console.is_terminal:
        console.width = PLAIN_WIDTH
    return console


def emit(console: Console, renderable: RenderableType) -> None:
    """Print one result: as is on a terminal; plain elsewhere, each line without trailing blanks."""
    if console.is_terminal:
        console.print(renderable, soft_wrap=isinstance(renderable, (str, Text)))  # the terminal wraps lines
        return
    console.file.write(plain(renderable, console.width) + "\n")
    console.file.flush()


def plain(renderable: RenderableType, width: int = PLAIN_WIDTH) -> str:
    """The text of ``renderable`` without styles or trailing blanks (what pipes and tests see)."""
    if isinstance(renderable, (str, Text)):
        return str(renderable)  # a line is never wrapped
    console = Console(width=width, color_system=None, markup=False, highlight=False, emoji=False,
                      force_terminal=False)
    with console.capture() as captured:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in captured.get().splitlines())


# --- numbers ---------------------------------------------------------------------------------------
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


def signed_money(value: float | None) -> Text:
    """:func:`money`, red when negative and green when positive."""
    style = "" if not value else ("red" if value < 0 else "green")
    return Text(money(value), style=style)


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


# --- layouts ---------------------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], title: str | None = None) -> Table:
    """A table with a ruled bold header; columns whose every cell is a number are right-aligned."""
    cells = [[Text("-") if c is None else c if isinstance(c, Text) else Text(str(c)) for c in row] for row in rows]
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", title=title,
              title_justify="left", title_style="bold")
    for i, name in enumerate(headers):
        numeric = bool(cells) and all(_looks_numeric(r[i].plain) for r in cells)
        t.add_column(name, justify="right" if numeric else "left", no_wrap=True)
    for row in cells:
        t.add_row(*row)
    return t


def _looks_numeric(text: str) -> bool:
    t = text.replace(",", "").replace("$", "").replace("%", "").lstrip("-")
    if t in ("", "-"):
        return True
    try:
        float(t)
    except ValueError:
        return False
    return True


def key_value(pairs: Sequence[tuple[str, Any]], indent: int = 0) -> Table:
    """Two columns, the names in cyan: ``Name   value``."""
    grid = Table.grid(padding=(0, 2, 0, 0))
    grid.add_column(style="cyan", no_wrap=True)
    grid.add_column()
    for k, v in pairs:
        grid.add_row(" " * indent + k, v if isinstance(v, Text) else Text("-" if v is None else str(v)))
    return grid


# --- progress and live views -----------------------------------------------------------------------
class ProgressBar:
    """Progress of a chunked download: a rich bar on a terminal; ``label 3/10`` lines elsewhere.

    ``update(done, total)`` may be called from any thread.
    """

    def __init__(self, label: str, console: Console) -> None:
        self.label = label
        self.console = console
        self.updates = 0
        self._last: tuple[int, int] | None = None
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if console.is_interactive:
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console)

    def update(self, done: int, total: int) -> None:
        total = max(total, 1)
        done = min(max(done, 0), total)
        if (done, total) == self._last:
            return
        self._last = (done, total)
        self.updates += 1
        if self._bar is None:
            emit(self.console, f"{self.label} {done}/{total}")
            return
        if self._task is None:
            self._task = self._bar.add_task(self.label, total=total, completed=done)
            self._bar.start()
        else:
            self._bar.update(self._task, completed=done, total=total, refresh=True)

    def close(self) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.stop()


def live_view(console: Console, view: Callable[[], RenderableType], wait: Callable[[float], bool],
              period: float) -> None:
    """Show ``view()`` every ``period`` seconds until ``wait`` reports a key: redrawn in place on a
    terminal, printed again below on a dumb one."""
    if not console.is_interactive:
        while True:
            emit(console, view())
            if wait(period):
                return
    with Live(view(), console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=False) as live:
        while not wait(period):
            live.update(view(), refresh=True)


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
