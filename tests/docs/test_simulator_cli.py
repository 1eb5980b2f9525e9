"""docs/simulator.md's command line (the block that starts ``python -m platform_adapter.sim``)
names every option of the simulator's parser, and no other."""

from __future__ import annotations

import argparse
import re
from typing import Any, NoReturn

import pytest

from platform_adapter.sim import __main__ as sim_main
from tests.docs.markdown import read

DOC = "docs/simulator.md"


class _Parsed(Exception):
    """Raised in place of parsing: carries the parser ``main`` built."""


def real_options(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The option strings of the parser ``platform_adapter.sim``'s ``main`` builds (it is stopped
    before it parses: nothing starts)."""
    def capture(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> NoReturn:
        raise _Parsed(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(_Parsed) as caught:
        sim_main.main([])
    parser = caught.value.args[0]
    return {s for action in parser._actions for s in action.option_strings} - {"-h", "--help"}


def documented_options() -> set[str]:
    fence = re.compile(r"^```\n(python -m platform_adapter\.sim .*?)^```", re.S | re.M)
    blocks = [m.group(1) for m in fence.finditer(read(DOC))]
    assert len(blocks) == 1, f"{DOC}: expected one command-line block, found {len(blocks)}"
    return set(re.findall(r"--[\w-]+", blocks[0]))


def test_the_command_line_names_every_option_of_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    real, documented = real_options(monkeypatch), documented_options()
    assert not real - documented, f"options missing from {DOC}'s command line: {sorted(real - documented)}"
    assert not documented - real, f"{DOC}'s command line names options the simulator does not have: " \
                                  f"{sorted(documented - real)}"
