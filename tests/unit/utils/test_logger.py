"""Logging: the adapter's daily file with the configured level and format, masking of the adapter's
records, and library manners (an application's handlers, format and patchers are left alone)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

from loguru import logger

from platform_adapter.config.settings import LoggingConfig
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.log import logger as pa_logger
from platform_adapter.utils.logger import remove_sinks, setup_logging

# records as if logged by a module of the adapter (a record's name is its caller's module)
adapter_logger = pa_logger.patch(lambda record: record.update(name="platform_adapter.testing"))


def test_daily_file_with_format_level_and_masking(tmp_path: Path) -> None:
    cfg = LoggingConfig(level="INFO", log_dir=str(tmp_path / "logs"), console=False,
                        format="{level} | {message}")
    user_lines: list[str] = []
    user_sink = logger.add(lambda m: user_lines.append(str(m)), level="INFO", format="{message}")
    setup_logging(cfg)
    try:
        adapter_logger.debug("hidden debug line")
        adapter_logger.info("connected to account DU1234567 with password=secret123")
        logger.info("the application's own record about U7654321")
        logger.complete()
    finally:
        remove_sinks()
        logger.remove(user_sink)
    files = list((tmp_path / "logs").glob("pa_*.log"))
    assert [f.name for f in files] == [f"pa_{datetime.now().strftime('%Y-%m-%d')}.log"]
    text = files[0].read_text()
    assert "INFO | connected to account DU****567 with password=***" in text
    assert "hidden debug line" not in text and "secret123" not in text
    assert "application's own record" not in text  # the adapter's file holds the adapter's records only
    # the application's handler gets the adapter's records masked, and its own as they are
    assert "connected to account DU****567 with password=***\n" in user_lines
    assert "the application's own record about U7654321\n" in user_lines


def test_debug_level_logs_every_tws_callback(tmp_path: Path) -> None:
    cfg = LoggingConfig(level="DEBUG", log_dir=str(tmp_path), console=False, format="{message}")
    setup_logging(cfg)
    try:
        wrapper = Wrapper()
        wrapper.debug = True
        wrapper.currentTime(1700000000)
        wrapper.nextValidId(17)
        logger.complete()
    finally:
        remove_sinks()
    text = next(tmp_path.glob("pa_*.log")).read_text()
    assert "TWS current_time(1700000000,)" in text and "TWS next_valid_id(17,)" in text


def test_setup_twice_keeps_one_set_of_sinks(tmp_path: Path) -> None:
    cfg = LoggingConfig(level="INFO", log_dir=str(tmp_path), console=True, format="{message}")
    setup_logging(cfg)
    setup_logging(cfg)
    try:
        adapter_logger.info("once")
        logger.complete()
    finally:
        remove_sinks()
    assert next(tmp_path.glob("pa_*.log")).read_text().count("once") == 1


_APPLICATION = textwrap.dedent("""
    import json, sys
    from loguru import logger

    logger.remove()
    seen = []
    logger.add(seen.append, level="DEBUG", format="USER {extra[app]} | {name} | {message}")
    logger.configure(patcher=lambda record: record["extra"].setdefault("app", "mine"))

    import platform_adapter
    from platform_adapter import PlatformAdapter

    pa = PlatformAdapter(**{"logging.log_dir": sys.argv[1], "logging.console": True, "environment": "test"})
    logger.info("application record for DU1234567")
    logger.complete()
    print(json.dumps([str(line) for line in seen]))
""")


def test_an_applications_handler_format_and_patcher_survive_import_and_construction(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _APPLICATION, str(tmp_path / "logs")], capture_output=True,
                         text=True, timeout=60, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert "USER mine | __main__ | application record for DU1234567\n" in seen  # its format, unmasked
    assert any(line.startswith("USER mine | platform_adapter.facade | Configuration loaded") for line in seen)
    # the adapter's console sink prints the adapter's records only
    assert "Configuration loaded" in out.stderr and "application record" not in out.stderr
    text = next((tmp_path / "logs").glob("pa_*.log")).read_text()
    assert "Configuration loaded" in text and "application record" not in text


def test_loguru_default_stderr_handler_is_kept_and_nothing_is_printed_twice(tmp_path: Path) -> None:
    script = ("import sys; from platform_adapter import PlatformAdapter; "
              "PlatformAdapter(**{'logging.log_dir': sys.argv[1], 'logging.console': True, 'environment': 'test'}); "
              "from loguru import logger; logger.info('still printed by loguru default handler')")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "logs")], capture_output=True, text=True,
                         timeout=60, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "still printed by loguru default handler" in out.stderr
    assert out.stderr.count("Configuration loaded") == 1
