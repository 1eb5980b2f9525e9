"""Which account a call is about, when the login manages several (advisor or linked accounts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from platform_adapter.errors import ValidationError


def managed_account(value: Any, accounts: Sequence[str], default: str) -> str:
    """``value`` when it is one of ``accounts`` (IB's managed accounts; any account while none are
    known), ``default`` for None or an empty text; ValidationError otherwise."""
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise ValidationError("account", value, "must be an account id (text)")
    account = value.strip()
    if accounts and account not in accounts:
        raise ValidationError("account", value, f"is not one of the managed accounts {list(accounts)}")
    return account
