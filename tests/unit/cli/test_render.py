"""Shell output through rich: number formats, tables, plain text off a terminal, colours and
NO_COLOR on one, progress and live views."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from rich.text import Text

from platform_adapter.cli import render


def test_money_and_qty() -> None:
    assert render.money(-12.3) == "-$12.30"
    assert render.money(None) == "-"
    assert render.qty(Decimal("1500")) == "1,500"
    assert render.ratio(0.25) == "25.0%"


def test_table_alignment() -> None:
    text = render.plain(render.table(["A", "Num"], [["x", "1"], ["yy", "10.5"]]))
    assert text.splitlines() == ["A     Num", "─────────", "x       1", "yy   10.5"]


def test_progress_bar_plain_output() -> None:
    out = StringIO()
    bar = render.ProgressBar("AAPL", render.console_for(out))
    bar.update(1, 4)
    bar.update(1, 4)
    bar.update(4, 4)
    bar.close()
    assert out.getvalue().splitlines() == ["AAPL 1/4", "AAPL 4/4"]
    assert bar.updates == 2


def test_prices_keep_the_decimals_they_have() -> None:
    from platform_adapter.cli.render import price

    assert [price(x) for x in (2.0, 1.0875, 150.5, 0.00005, None)] == ["2.00", "1.0875", "150.50", "0.00005", "-"]
    assert price(1.23456, digits=2) == "1.23"


class _Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def _styled(out: StringIO) -> str:
    console = render.console_for(out)
    render.emit(console, Text.assemble(("Error:", "bold red"), " boom"))
    render.emit(console, render.table(["A"], [[Text("x", style="green")]]))
    return out.getvalue()


def test_a_terminal_gets_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = _styled(_Terminal())
    assert "\x1b[1;31mError:" in out and "\x1b[32mx" in out


def test_no_color_keeps_bold_but_drops_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = _styled(_Terminal())
    assert "\x1b[1mError:" in out and "\x1b[31m" not in out and "\x1b[32m" not in out


def test_a_pipe_gets_plain_text_without_trailing_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = _styled(StringIO())
    assert out.splitlines() == ["Error: boom", "A", "─", "x"]


def test_live_view_off_a_terminal_prints_each_refresh() -> None:
    out = StringIO()
    keys = iter([False, True])
    frames = iter(["one", "two", "three"])
    render.live_view(render.console_for(out), lambda: next(frames), lambda seconds: next(keys), 0.0)
    assert out.getvalue().splitlines() == ["one", "two"]


def test_live_view_on_a_terminal_redraws_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    out = _Terminal()
    keys = iter([False, False, True])
    frames = iter(["one", "two", "three", "four"])
    render.live_view(render.console_for(out), lambda: next(frames), lambda seconds: next(keys), 0.0)
    text = out.getvalue()
    assert text.index("one") < text.index("two") < text.index("three")
    assert text.count("\x1b[2K") >= 2  # each frame erases the one before


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    out = _Terminal()
    bar = render.ProgressBar("AAPL 3 D", render.console_for(out))
    for done in (1, 2, 3):
        bar.update(done, 3)
    bar.close()
    text = out.getvalue()
    assert "AAPL 3 D" in text and "1/3" in text and "3/3" in text and "━" in text


def test_long_lines_are_never_wrapped_off_a_terminal() -> None:
    out = StringIO()
    line = Text.assemble(("Error:", "bold red"), " " + "x" * 400)
    render.emit(render.console_for(out), line)
    assert out.getvalue() == "Error: " + "x" * 400 + "\n"
