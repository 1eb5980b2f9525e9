"""The metric keys that api_reference.md ("Metrics") and the user guide ("7. Monitoring") name are
the keys ``PlatformAdapter.metrics()`` returns: the reference names every one, and neither
names one it does not return (but for the adapters' raw counters, present once counted)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from platform_adapter import PlatformAdapter
from platform_adapter.config.settings import SECTIONS, load_settings
from tests.docs.markdown import read, section, tables, ticked

RAW_COUNTERS = {"md_ticks", "orders_placed", "fills"}  # the examples the reference gives of them


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    tmp: Path = tmp_path_factory.mktemp("metrics")
    settings = load_settings(None, env_file=os.devnull, use_environ=False,
                             overrides={"logging.log_dir": str(tmp), "logging.console": False,
                                        "orders.journal_path": str(tmp / "orders.db")})
    return set(PlatformAdapter(settings=settings, configure_logging=False).metrics())


def test_the_reference_names_every_metric_and_no_other(keys: set[str]) -> None:
    text = section(read("docs/api_reference.md"), "## Metrics").strip().split("\n\n")[0]
    named = set(re.findall(r"`(\w+)`", text)) - {"None"}
    assert not keys - named, f"api_reference.md's Metrics does not name {sorted(keys - named)}"
    assert not named - keys - RAW_COUNTERS, f"api_reference.md names metrics there are not: {named - keys}"


def test_the_user_guides_table_names_real_metrics(keys: set[str]) -> None:
    config_keys = {f for cls in SECTIONS.values() for f in cls.__dataclass_fields__}
    table = tables(section(read("docs/user_guide.md"), "## 7. Monitoring"))[0]  # Group | Keys
    named = {span for row in table[1:] for span in ticked(row[1]) if span.isidentifier()} - config_keys - {"None"}
    assert not named - keys, f"user_guide.md names metrics there are not: {sorted(named - keys)}"
