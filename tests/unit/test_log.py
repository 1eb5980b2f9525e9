"""The library's logger masks account ids and secrets in the adapter's records only."""

from __future__ import annotations

from loguru import logger as app_logger

from platform_adapter.log import logger, mask


def test_mask_hides_accounts_and_secrets() -> None:
    text = mask("account DU1234567 and U7654321 password=hunter2 token: abc")
    assert "DU1234567" not in text and "U7654321" not in text and "hunter2" not in text and "abc" not in text
    assert "DU****567" in text


def test_masking_applies_to_the_adapters_records_not_the_applications() -> None:
    seen: list[str] = []
    sink = app_logger.add(lambda message: seen.append(message.record["message"]), format="{message}")
    try:
        logger.info("order for DU1234567")
        app_logger.info("my own DU7654321")
    finally:
        app_logger.remove(sink)
    assert seen == ["order for DU****567", "my own DU7654321"]
