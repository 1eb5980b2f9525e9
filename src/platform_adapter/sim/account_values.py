"""The account-value tags a real IB paper account sends to reqAccountUpdates.

Layout (108 tag/currency pairs) taken from a real paper account recording whose base
currency was AUD; here the base currency is USD (AUD and USD swapped). The third item is
the recorded value, used for non-monetary tags; monetary tags are computed.
"""

from __future__ import annotations

from collections.abc import Callable

ACCOUNT_VALUE_TAGS: tuple[tuple[str, str, str], ...] = (
    ('AccountCode', '', 'DU123456'),
    ('AccountOrGroup', 'USD', 'DU123456'),
    ('AccountOrGroup', 'BASE', 'DU123456'),
    ('AccountOrGroup', 'EUR', 'DU123456'),
    ('AccountOrGroup', 'AUD', 'DU123456'),
    ('AccountReady', '', 'true'),
    ('AccountType', '', 'JOINT'),
    ('AccruedCash', 'USD', '-159.62'),
    ('AccruedCash', 'BASE', '-159.62'),
    ('AccruedCash', 'EUR', '0.00'),
    ('AccruedCash', 'AUD', '0.00'),
    ('AccruedCash-S', 'USD', '-159.62'),
    ('AccruedDividend', 'USD', '279.86'),
    ('AccruedDividend-S', 'USD', '279.86'),
    ('AvailableFunds', 'USD', '900000.08'),
    ('AvailableFunds-S', 'USD', '900000.08'),
    ('Billable', 'USD', '0.00'),
    ('Billable-S', 'USD', '0.00'),
    ('BuyingPower', 'USD', '2000000.57'),
    ('CashBalance', 'USD', '-100000.79'),
    ('CashBalance', 'BASE', '-100000.0981'),
    ('CashBalance', 'EUR', '429.72'),
    ('CashBalance', 'AUD', '100000.27'),
    ('CorporateBondValue', 'USD', '0.00'),
    ('CorporateBondValue', 'BASE', '0.00'),
    ('CorporateBondValue', 'EUR', '0.00'),
    ('CorporateBondValue', 'AUD', '0.00'),
    ('Currency', 'USD', 'AUD'),
    ('Currency', 'BASE', 'BASE'),
    ('Currency', 'EUR', 'EUR'),
    ('Currency', 'AUD', 'USD'),
    ('Cushion', '', '0.753525'),
    ('EquityWithLoanValue', 'USD', '1000000.06'),
    ('EquityWithLoanValue-S', 'USD', '1000000.06'),
    ('ExcessLiquidity', 'USD', '800000.88'),
    ('ExcessLiquidity-S', 'USD', '800000.88'),
    ('ExchangeRate', 'USD', '1.00'),
    ('ExchangeRate', 'BASE', '1.00'),
    ('ExchangeRate', 'EUR', '1.5508992'),
    ('ExchangeRate', 'AUD', '1.5139472'),
    ('FullAvailableFunds', 'USD', '900000.08'),
    ('FullAvailableFunds-S', 'USD', '900000.08'),
    ('FullExcessLiquidity', 'USD', '800000.88'),
    ('FullExcessLiquidity-S', 'USD', '800000.88'),
    ('FullInitMarginReq', 'USD', '200000.97'),
    ('FullInitMarginReq-S', 'USD', '200000.97'),
    ('FullMaintMarginReq', 'USD', '200000.36'),
    ('FullMaintMarginReq-S', 'USD', '200000.36'),
    ('FundValue', 'USD', '0.00'),
    ('FundValue', 'BASE', '0.00'),
    ('FundValue', 'EUR', '0.00'),
    ('FundValue', 'AUD', '0.00'),
    ('FutureOptionValue', 'USD', '0.00'),
    ('FutureOptionValue', 'BASE', '0.00'),
    ('FutureOptionValue', 'EUR', '0.00'),
    ('FutureOptionValue', 'AUD', '0.00'),
    ('FuturesPNL', 'USD', '0.00'),
    ('FuturesPNL', 'BASE', '0.00'),
    ('FuturesPNL', 'EUR', '0.00'),
    ('FuturesPNL', 'AUD', '0.00'),
    ('FxCashBalance', 'USD', '0.00'),
    ('FxCashBalance', 'BASE', '0.00'),
    ('FxCashBalance', 'EUR', '0.00'),
    ('FxCashBalance', 'AUD', '0.00'),
    ('Guarantee', 'USD', '0.00'),
    ('Guarantee-S', 'USD', '0.00'),
    ('IndianStockHaircut', 'USD', '0.00'),
    ('IndianStockHaircut-S', 'USD', '0.00'),
    ('InitMarginReq', 'USD', '200000.97'),
    ('InitMarginReq-S', 'USD', '200000.97'),
    ('IssuerOptionValue', 'USD', '0.00'),
    ('IssuerOptionValue', 'BASE', '0.00'),
    ('IssuerOptionValue', 'EUR', '0.00'),
    ('IssuerOptionValue', 'AUD', '0.00'),
    ('Leverage-S', '', '1.48'),
    ('LookAheadAvailableFunds', 'USD', '900000.08'),
    ('LookAheadAvailableFunds-S', 'USD', '900000.08'),
    ('LookAheadExcessLiquidity', 'USD', '800000.88'),
    ('LookAheadExcessLiquidity-S', 'USD', '800000.88'),
    ('LookAheadInitMarginReq', 'USD', '200000.97'),
    ('LookAheadInitMarginReq-S', 'USD', '200000.97'),
    ('LookAheadMaintMarginReq', 'USD', '200000.36'),
    ('LookAheadMaintMarginReq-S', 'USD', '200000.36'),
    ('LookAheadNextChange', '', '1669071600'),
    ('MaintMarginReq', 'USD', '200000.36'),
    ('MaintMarginReq-S', 'USD', '200000.36'),
    ('MoneyMarketFundValue', 'USD', '0.00'),
    ('MoneyMarketFundValue', 'BASE', '0.00'),
    ('MoneyMarketFundValue', 'EUR', '0.00'),
    ('MoneyMarketFundValue', 'AUD', '0.00'),
    ('MutualFundValue', 'USD', '0.00'),
    ('MutualFundValue', 'BASE', '0.00'),
    ('MutualFundValue', 'EUR', '0.00'),
    ('MutualFundValue', 'AUD', '0.00'),
    ('NLVAndMarginInReview', '', 'false'),
    ('NetDividend', 'USD', '226.96'),
    ('NetDividend', 'BASE', '279.86'),
    ('NetDividend', 'EUR', '0.00'),
    ('NetDividend', 'AUD', '34.94'),
    ('NetLiquidation', 'USD', '1000000.24'),
    ('NetLiquidation-S', 'USD', '1000000.24'),
    ('NetLiquidationByCurrency', 'USD', '-36721.6507'),
    ('NetLiquidationByCurrency', 'BASE', '1000000.2413'),
    ('NetLiquidationByCurrency', 'EUR', '6547.5601'),
    ('NetLiquidationUncertainty', 'USD', '4.88'),
    ('OptionMarketValue', 'USD', '0.00'),
    ('OptionMarketValue', 'BASE', '0.00'),
    ('TotalCashValue', 'USD', '51463.78'),
)

STATIC = {"AccountReady", "AccountType", "NLVAndMarginInReview", "Currency", "AccountOrGroup",
          "AccountCode", "ExchangeRate", "LookAheadNextChange", "RealCurrency", "SegmentTitle-S",
          "TradingType-S", "WhatIfPMEnabled"}
FX_TO_USD = {"USD": 1.0, "BASE": 1.0, "EUR": 1.08, "AUD": 0.66}
PER_CCY_ZERO = {"AccruedCash", "CorporateBondValue", "FundValue", "FutureOptionValue",
                "FuturesPNL", "FxCashBalance", "IssuerOptionValue", "MoneyMarketFundValue",
                "MutualFundValue", "NetDividend", "OptionMarketValue", "RealizedPnL",
                "StockMarketValue", "TBillValue", "TBondValue", "TotalCashBalance",
                "UnrealizedPnL", "WarrantValue", "CashBalance", "NetLiquidationByCurrency"}


def account_values(account: str, vals: dict[str, float],
                   fmt_money: Callable[[float], str]) -> list[tuple[str, str, str]]:
    """(key, value, currency) triples for updateAccountValue."""
    out = []
    for tag, ccy, recorded in ACCOUNT_VALUE_TAGS:
        base_tag = tag[:-2] if tag.endswith("-S") else tag
        if tag in ("AccountCode",) or base_tag == "AccountOrGroup":
            value = account
        elif base_tag == "ExchangeRate":
            value = f"{1.0 / FX_TO_USD.get(ccy, 1.0):.7f}".rstrip("0").rstrip(".") if ccy != "BASE" else "1.00"
            if ccy == "USD":
                value = "1.00"
        elif base_tag == "Currency":
            value = ccy
        elif base_tag in STATIC or base_tag == "Cushion" or base_tag == "Leverage":
            value = recorded
            if base_tag == "Cushion":
                value = f"{vals.get('Cushion', 1.0):.6f}"
            elif base_tag == "Leverage":
                value = f"{vals.get('Leverage', 0.0):.2f}"
            elif base_tag == "AccountType":
                value = "INDIVIDUAL"
        elif ccy in ("AUD", "EUR"):
            value = "0.00"
        elif base_tag in vals:
            value = fmt_money(vals[base_tag])
        elif base_tag in PER_CCY_ZERO:
            value = fmt_money(vals.get(base_tag, 0.0))
        else:
            value = "0.00"
        out.append((tag, value, ccy))
    return out
