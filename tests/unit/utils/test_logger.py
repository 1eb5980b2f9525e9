"""Logging: daily file in the configured folder, configured level and format, masking."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from loguru import logger

from platform_adapter.config.settings import LoggingConfig
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.utils.logger import remove_sinks, setup_logging


def test_daily_file_with_format_level_and_masking(tmp_path: Path) -> None:
    cfg = LoggingConfig(level="INFO", log_dir=str(tmp_path / "logs"), console=False,
                        format="{level} | {message}")
    setup_logging(cfg)
    try:
        logger.debug("hidden debug line")
        logger.info("connected to account DU1234567 with password=secret123")
        logger.complete()
    finally:
        remove_sinks()
    files = list((tmp_path / "logs").glob("pa_*.log"))
    assert [f.name for f in files] == [f"pa_{datetime.now().strftime('%Y-%m-%d')}.log"]
    text = files[0].read_text()
    assert "INFO | connected to account DU****567 with password=***" in text
    assert "hidden debug line" not in text and "secret123" not in text


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
        logger.info("once")
        logger.complete()
    finally:
        remove_sinks()
    assert next(tmp_path.glob("pa_*.log")).read_text().count("once") == 1
