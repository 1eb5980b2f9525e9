"""Log masking hides account ids and secrets."""

from __future__ import annotations

from platform_adapter.utils.logger import mask


def test_mask_hides_accounts_and_secrets() -> None:
    text = mask("account DU1234567 and U7654321 password=hunter2 token: abc")
    assert "DU1234567" not in text and "U7654321" not in text and "hunter2" not in text and "abc" not in text
    assert "DU****567" in text
