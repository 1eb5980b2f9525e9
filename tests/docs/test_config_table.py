"""docs/user_guide.md's configuration table lists every configuration key (every field of every
section dataclass of ``config/settings.py``, and ``environment``) with its real default, and no key
the code does not have."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

import pytest

from platform_adapter.config.settings import DEFAULT_CONFIG_PATH, ENV_KEYS, SECTIONS, Settings, load_settings
from tests.docs.markdown import read, section, tables

HEADING = "## 6. Configuration"


def code_keys() -> dict[str, Any]:
    """``section.key`` (and the top-level ``environment``) -> the dataclass default."""
    keys = {f"{name}.{f.name}": f.default for name, cls in SECTIONS.items() for f in dataclasses.fields(cls)}
    keys.update({f.name: f.default for f in dataclasses.fields(Settings) if f.name not in SECTIONS})
    return keys


def documented() -> dict[str, str]:
    """Key -> its Default cell, from every table of the section whose header starts with Key."""
    rows: dict[str, str] = {}
    for table in tables(section(read("docs/user_guide.md"), HEADING)):
        if table[0][:2] != ["Key", "Default"]:
            continue
        for cells in table[1:]:
            key = cells[0].strip("`")
            assert key not in rows, f"{key} is in the configuration table twice"
            rows[key] = cells[1]
    assert rows, f"no Key | Default table under {HEADING!r}"
    return rows


def parse_default(cell: str) -> Any:
    """A Default cell as a value: ``none``/``empty`` is None, ``true``/``false`` a bool, digits a
    number, ``"text"`` or bare text a string; a trailing ``(note)`` and backticks are ignored."""
    text = re.sub(r"\s*\([^)]*\)$", "", cell.strip()).strip("`")
    if text.lower() in ("none", "empty"):
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def same(doc: Any, real: Any) -> bool:
    if isinstance(real, bool) or isinstance(doc, bool):
        return doc is real
    if isinstance(real, (int, float)) and isinstance(doc, (int, float)):
        return float(doc) == float(real)
    return bool(doc == real)


def test_every_key_of_the_code_is_in_the_table() -> None:
    missing = sorted(set(code_keys()) - set(documented()))
    assert not missing, f"configuration keys missing from user_guide.md's table: {missing}"


def test_every_key_of_the_table_exists() -> None:
    unknown = sorted(set(documented()) - set(code_keys()))
    assert not unknown, f"user_guide.md's configuration table lists keys the code does not have: {unknown}"


@pytest.mark.parametrize("key", sorted(code_keys()))
def test_the_documented_default_is_the_real_one(key: str) -> None:
    cell = documented().get(key)
    if cell is None:
        pytest.skip("not in the table (test_every_key_of_the_code_is_in_the_table fails)")
    real = code_keys()[key]
    assert same(parse_default(cell), real), f"{key}: the table says {cell!r}, the code's default is {real!r}"


def test_the_packaged_config_yaml_keeps_the_defaults() -> None:
    """The table's defaults are also what ``PlatformAdapter()`` gets from the packaged config.yaml."""
    packaged = load_settings(DEFAULT_CONFIG_PATH, env_file=os.devnull, use_environ=False)
    assert packaged == Settings()


def test_parse_default() -> None:
    assert [parse_default(c) for c in ("30", "0.1", "true", "none", "empty (off)", '""', "`logs/x.db`", "live")] \
        == [30, 0.1, True, None, None, "", "logs/x.db", "live"]
    assert not same(1, True) and same(30, 30.0) and not same("30", 30)


def test_the_env_keys_are_the_loaders() -> None:
    """The sentence "The ``.env`` keys are ..." names exactly the variables the loader reads."""
    text = " ".join(section(read("docs/user_guide.md"), HEADING).split())
    sentence = text.split("The `.env` keys are ", 1)[1].split("(see", 1)[0]
    assert set(re.findall(r"`(\w+)`", sentence)) == set(ENV_KEYS)
