"""Reading the project's Markdown the way the doc tests need it: sections, tables, code blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```", re.S | re.M)
_PIPE = re.compile(r"(?<!\\)\|")


def read(name: str) -> str:
    """``README.md`` or ``docs/<name>``."""
    return (ROOT / name).read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """From the line ``heading`` (exact) to the next heading of the same or a higher level."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == heading]
    assert len(starts) == 1, f"expected one heading {heading!r}, found {len(starts)}"
    level = len(heading) - len(heading.lstrip("#"))
    out = []
    for line in lines[starts[0] + 1:]:
        match = re.match(r"^(#+) ", line)
        if match and len(match.group(1)) <= level:
            break
        out.append(line)
    return "\n".join(out)


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table in ``text``: its rows (header first, no separator row), each a list of
    cells with ``\\|`` turned back into ``|``. Fenced code is not searched."""
    text = _FENCE.sub("", text)
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in _PIPE.split(stripped.strip("|"))]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def ticked(cell: str) -> list[str]:
    """The ``code spans`` of a cell, in order."""
    return re.findall(r"`([^`]+)`", cell)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence
    lang: str
    body: str
    marker: str  # the HTML comment on the line before the fence ("" if none), e.g. "doc-test: sim"

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        marker = before[4:-3].strip() if before.startswith("<!--") and before.endswith("-->") else ""
        blocks.append(Block(path, text.count("\n", 0, match.start()) + 1, match.group("lang"),
                            match.group("body"), marker))
    return blocks
