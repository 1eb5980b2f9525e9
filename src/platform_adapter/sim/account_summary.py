"""reqAccountSummary's rows: the account tags, and the `$LEDGER` tags per currency ("$LEDGER" for
the base currency, "$LEDGER:ALL" for every currency, "$LEDGER:USD" for one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SUMMARY_TAGS = (
    "AccountType", "NetLiquidation", "TotalCashValue", "SettledCash", "AccruedCash", "BuyingPower",
    "EquityWithLoanValue", "PreviousDayEquityWithLoanValue", "GrossPositionValue", "ReqTEquity",
    "ReqTMargin", "SMA", "InitMarginReq", "MaintMarginReq", "AvailableFunds", "ExcessLiquidity",
    "Cushion", "FullInitMarginReq", "FullMaintMarginReq", "FullAvailableFunds",
    "FullExcessLiquidity", "LookAheadNextChange", "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq", "LookAheadAvailableFunds", "LookAheadExcessLiquidity",
    "HighestSeverity", "DayTradesRemaining", "Leverage", "RealizedPnL", "UnrealizedPnL",
)
NON_MONEY = {"AccountType": "INDIVIDUAL", "Cushion": None, "LookAheadNextChange": "0",
             "HighestSeverity": "0", "DayTradesRemaining": "-1", "Leverage": None}
# the tags IB gives per currency for "$LEDGER" (its reqAccountSummary documentation)
LEDGER_TAGS = frozenset({
    "CashBalance", "TotalCashBalance", "AccruedCash", "StockMarketValue", "OptionMarketValue",
    "FutureOptionValue", "FuturesPNL", "NetLiquidationByCurrency", "UnrealizedPnL", "RealizedPnL",
    "ExchangeRate", "FundValue", "NetDividend", "MutualFundValue", "MoneyMarketFundValue",
    "CorporateBondValue", "TBondValue", "TBillValue", "WarrantValue", "FxCashBalance", "AccountOrGroup",
    "RealCurrency", "IssuerOptionValue"})
LEDGER = "$LEDGER"

Row = tuple[str, str, str]  # tag, value, currency


def money(x: float) -> str:
    """Monetary value as TWS prints it (two decimals)."""
    return f"{x:.2f}"


def _account_row(tag: str, vals: Mapping[str, float]) -> Row | None:
    if tag in NON_MONEY:
        v = NON_MONEY[tag]
        if v is None:
            v = f"{vals.get(tag, 0.0):.6f}".rstrip("0").rstrip(".") if tag == "Cushion" else f"{vals.get(tag, 0.0):.2f}"
        return tag, v, ""
    if tag in vals:
        return tag, money(vals[tag]), "USD"
    return None


def _ledger_rows(tag: str, ledger: Sequence[Row]) -> list[Row]:
    """The ledger values for "$LEDGER", "$LEDGER:ALL" or "$LEDGER:<currency>"."""
    _, _, which = tag.partition(":")
    currency = which.upper() or "BASE"
    return [r for r in ledger if r[0] in LEDGER_TAGS and (currency == "ALL" or r[2] == currency)]


def summary_rows(tags: Sequence[str], vals: Mapping[str, float], ledger: Sequence[Row]) -> list[Row]:
    """The rows for the requested tags ("All" or none: every account tag); ``ledger`` is the
    account's per-currency values (reqAccountUpdates' triples)."""
    wanted = SUMMARY_TAGS if not tags or "All" in tags else tags
    out: list[Row] = []
    for tag in wanted:
        if tag.upper().startswith(LEDGER):
            out += _ledger_rows(tag, ledger)
        elif (row := _account_row(tag, vals)) is not None:
            out.append(row)
    return out
