"""``core/ib_codes.py`` is the one source of truth for IB message codes: README's code table says
what ``README_ROWS`` says, every set is used by the code that reacts to it, and no other source
file compares a code with a bare number."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from platform_adapter.core import ib_codes

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src" / "platform_adapter"
SECTION = "## Troubleshooting: IB message codes"


def readme_rows() -> list[tuple[frozenset[int], str]]:
    """(codes, reaction) of each row of README's code table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README has no section {SECTION!r}"
    table = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0][:1].isdigit():
            continue  # not a row (header, separator, prose)
        rows.append((frozenset(int(c) for c in cells[0].split(",")), cells[2].replace("`", "")))
    return rows


def source_files() -> list[Path]:
    """The library's source, without the simulator (it plays the gateway) and ib_codes itself."""
    return [p for p in SRC.rglob("*.py") if "sim" not in p.relative_to(SRC).parts and p.name != "ib_codes.py"]


def test_readme_table_matches_readme_rows() -> None:
    rows = readme_rows()
    assert [sorted(codes) for codes, _ in rows] == [sorted(codes) for codes, _ in ib_codes.README_ROWS], \
        "README's code table and ib_codes.README_ROWS list different rows (or codes)"
    for (codes, stated), (_, reaction) in zip(rows, ib_codes.README_ROWS, strict=True):
        assert reaction.lower() in stated.lower(), f"README row {sorted(codes)} does not say {reaction!r}"


def test_each_row_is_a_set_that_reacts() -> None:
    sets = {name: value for name, value in vars(ib_codes).items() if isinstance(value, frozenset)}
    named = set(sets.values())
    for codes, reaction in ib_codes.README_ROWS:
        if reaction == "default order error":  # no set of their own: none of the order reactions applies
            special = ib_codes.ORDER_REJECTED | ib_codes.ORDER_CANCELLED | ib_codes.CANNOT_MODIFY | \
                ib_codes.DUPLICATE_ORDER_ID | ib_codes.NOTICES
            assert not codes & special
            continue
        assert codes in named, f"README row {sorted(codes)} is no set of ib_codes"
        for code in codes:
            assert ib_codes.reaction(code) == reaction
    assert ib_codes.reaction(99999) == ""


def test_every_set_is_used_by_the_code() -> None:
    """Each public set (and constant) is read by the code that reacts, directly as ``ib_codes.X``
    or through another used name of ib_codes (a set built from it, a function reading it)."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in source_files())
    tree = ast.parse(inspect.getsource(ib_codes))
    reads: dict[str, set[str]] = {}  # name -> the names its definition reads
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.FunctionDef)):
            name = node.name if isinstance(node, ast.FunctionDef) else \
                (node.targets[0] if isinstance(node, ast.Assign) else node.target).id  # type: ignore[union-attr]
            reads[name] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    used = {name for name in reads if re.search(rf"\bib_codes\.{name}\b", text)}
    while True:  # what a used name reads is used too (README_ROWS only documents)
        more = {r for name in used if name != "README_ROWS" for r in reads[name] if r in reads} - used
        if not more:
            break
        used |= more
    public = [name for name in reads if name.isupper() and name != "README_ROWS"]
    assert "FATAL_CONNECT" in public and "TOO_MANY_LINES" in public
    assert [name for name in public if name not in used] == []


BARE = re.compile(r"\bcode\w*\s*(?:==|!=)\s*\d|\d\s*(?:==|!=)\s*\w*code\b|\bcode\w*\s+(?:not\s+)?in\s*[(\[{]\s*\d")


def test_no_bare_code_numbers_in_the_source() -> None:
    assert BARE.search("if code == 10090:") and BARE.search("elif code in (101, 102):")
    hits = [f"{p.relative_to(SRC)}:{n}: {line.strip()}" for p in source_files()
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if BARE.search(line)]
    assert hits == []


@pytest.mark.parametrize(("message", "farm"), [
    ("Market data farm connection is broken:usfarm", "usfarm"),
    ("HMDS data farm connection is OK:ushmds", "ushmds"),
    ("Sec-def data farm connection is broken:secdefil ", "secdefil"),
    ("Market data farm connection is broken", "Market data farm connection is broken"),
    ("HMDS data farm connection is inactive but should be available upon demand.ushmds", "ushmds"),  # recorded
    ("Market data farm connection is inactive but should be available upon demand.usfarm.nj", "usfarm.nj"),
])
def test_farm_name(message: str, farm: str) -> None:
    assert ib_codes.farm_name(message) == farm
