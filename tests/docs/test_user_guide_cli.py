"""The user guide's tables of the program: the start-up options (section 2) are the options of
``platform_adapter.main``'s parser, and the shell's commands (section 3) are the shell's, both
ways."""

from __future__ import annotations

import re

from platform_adapter.cli.shell import Shell
from platform_adapter.main import build_parser
from tests.docs.markdown import read, section, tables, ticked

GUIDE = "docs/user_guide.md"


def first_column(heading: str, header: str) -> list[str]:
    found = [row[0] for table in tables(section(read(GUIDE), heading)) if table[0][0] == header
             for row in table[1:]]
    assert found, f"{GUIDE}: no {header} table under {heading!r}"
    return found


def test_the_options_table_lists_the_programs_options() -> None:
    documented = {option for cell in first_column("## 2. Start", "Option") for option in re.findall(r"--[\w-]+", cell)}
    real = {s for action in build_parser()._actions for s in action.option_strings} - {"-h", "--help"}
    assert not real - documented, f"options missing from {GUIDE} section 2: {sorted(real - documented)}"
    assert not documented - real, f"{GUIDE} section 2 lists options the program does not have: " \
                                  f"{sorted(documented - real)}"


def test_the_command_table_lists_the_shells_commands() -> None:
    documented = {span.split()[0] for cell in first_column("## 3. The shell", "Command") for span in ticked(cell)}
    real = {name[3:] for name in dir(Shell) if name.startswith("do_")} - {"EOF"}  # EOF: Ctrl-D, in the prose
    assert not real - documented, f"shell commands missing from {GUIDE} section 3: {sorted(real - documented)}"
    assert not documented - real, f"{GUIDE} section 3 lists commands the shell does not have: " \
                                  f"{sorted(documented - real)}"
