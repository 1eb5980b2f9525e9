"""docs/service.md's command tables against the service: section 3.6 lists exactly the commands
of ``service/commands.py`` (both ways), each with its arguments, optional ones in brackets; 3.5
lists exactly the session commands the server answers itself."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from platform_adapter.service import commands as commands_module
from platform_adapter.service.commands import Commands
from platform_adapter.service.server import Service
from tests.docs.markdown import read, section, tables, ticked

SERVICE = "docs/service.md"


def registry() -> dict[str, commands_module.Command]:
    parts = SimpleNamespace(market_data=None, orders=None, account=None)  # the table only binds handlers
    return Commands(parts, None, None, None, lambda session: {}).table  # type: ignore[arg-type]


def top_level(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` where it is outside brackets, parentheses and code spans."""
    parts, depth, code, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "`":
            code = not code
        elif not code and ch in "([":
            depth += 1
        elif not code and ch in ")]":
            depth -= 1
        elif not code and depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    return [p.strip() for p in [*parts, text[start:]]]


def documented_commands(heading: str) -> dict[str, tuple[str, str]]:
    """cmd -> (its args cell, the args cell's part for it). A cell ``a.x` / `y`` names ``a.x``
    and ``a.y``; an args cell split by ``/`` as many times gives each command its part, else the
    whole cell is every command's."""
    out: dict[str, tuple[str, str]] = {}
    for table in tables(section(read(SERVICE), heading)):
        if table[0][0] != "cmd":
            continue
        for cells in table[1:]:
            names = ticked(cells[0])
            prefix = names[0].rpartition(".")[0]
            names = [n if "." in n or not prefix else f"{prefix}.{n}" for n in names]
            parts = top_level(cells[1], " / ")
            for i, name in enumerate(names):
                assert name not in out, f"{SERVICE}: {name} is documented twice"
                out[name] = (cells[1], parts[i] if len(parts) == len(names) else cells[1])
    assert out, f"{SERVICE}: no cmd table under {heading!r}"
    return out


def documented_args(part: str, table: dict[str, tuple[str, str]]) -> dict[str, bool]:
    """arg -> optional, from one command's args text: items separated by commas, each an
    argument in a code span (first span of the item; the rest describe it), ``[...]`` optional;
    ``as `cmd``` takes that command's arguments; ``-`` or nothing: none."""
    out: dict[str, bool] = {}
    for item in top_level(part, ","):
        if item in ("", "-"):
            continue
        match = re.fullmatch(r"as `([\w.]+)`", item)
        if match:
            name = match.group(1) if "." in match.group(1) else f"orders.{match.group(1)}"
            out.update(documented_args(table[name][1], table))
            continue
        optional = item.startswith("[") and item.endswith("]")
        spans = ticked(item)
        assert spans, f"{SERVICE}: {item!r} names no argument"
        out[spans[0]] = optional
    return out


def real_args(command: commands_module.Command) -> dict[str, bool]:
    return {name: default is not commands_module._REQUIRED for name, (_, default) in command.args.items()}


def test_the_command_table_lists_every_command_and_no_other() -> None:
    doc, real = set(documented_commands("### 3.6 Commands")), set(registry())
    assert not real - doc, f"commands missing from {SERVICE} 3.6: {sorted(real - doc)}"
    assert not doc - real, f"{SERVICE} 3.6 lists commands the service does not have: {sorted(doc - real)}"


@pytest.mark.parametrize("cmd", sorted(registry()))
def test_each_commands_arguments_are_documented(cmd: str) -> None:
    doc = documented_commands("### 3.6 Commands")
    if cmd not in doc:
        pytest.skip("not in the table (test_the_command_table_lists_every_command_and_no_other fails)")
    assert documented_args(doc[cmd][1], doc) == real_args(registry()[cmd]), \
        f"{SERVICE} 3.6 {cmd}: documented arguments (name: optional) differ from the service's"


def test_the_session_table_lists_the_session_commands() -> None:
    assert set(documented_commands("### 3.5 Sessions")) == set(Service._INLINE)


def test_parsing() -> None:
    assert top_level("`a`, [`b`, `c`], `d` (x, y)", ",") == ["`a`", "[`b`, `c`]", "`d` (x, y)"]
    table: dict[str, Any] = {"orders.p": ("", "`s`, [`k`: map of `x`, `y`]")}
    assert documented_args("as `p`, [`w` text or array, default `A`/`B`]", table) == \
        {"s": False, "k": True, "w": True}
