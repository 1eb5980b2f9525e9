"""Shell argument parsing: every mistake is a one-line CommandError naming the problem."""

from __future__ import annotations

import pytest

from platform_adapter.cli import parsing
from platform_adapter.cli.parsing import CommandError


def test_appendix_order_line() -> None:
    a = parsing.order(parsing.split("AAPL BUY 100 LMT 150.00"))
    assert (a.symbol, a.action, a.quantity, a.order_type) == ("AAPL", "BUY", 100.0, "LMT")
    assert a.kwargs() == {"limit_price": 150.0}


@pytest.mark.parametrize(("line", "kwargs", "otype"), [
    ("msft sell 10 mkt", {}, "MKT"),
    ("TSLA SELL 5 STP 200", {"stop_price": 200.0}, "STP"),
    ("TSLA SELL 5 STP_LMT 199.5 200", {"limit_price": 199.5, "stop_price": 200.0}, "STP LMT"),
    ("TSLA SELL 5 STP LMT 199.5 200", {"limit_price": 199.5, "stop_price": 200.0}, "STP LMT"),
    ("AAPL BUY 1 LMT 10 tif=day outside_rth=yes", {"limit_price": 10.0, "tif": "DAY", "outside_rth": True}, "LMT"),
])
def test_order_forms(line: str, kwargs: dict[str, object], otype: str) -> None:
    a = parsing.order(parsing.split(line))
    assert a.order_type == otype
    assert a.kwargs() == kwargs


@pytest.mark.parametrize(("line", "fragment"), [
    ("AAPL BUY 100", "usage: place_order"),
    ("AAPL HOLD 100 MKT", "BUY or SELL"),
    ("AAPL BUY x MKT", "quantity must be a number"),
    ("AAPL BUY -5 MKT", "greater than 0"),
    ("AAPL BUY 5 FOO", "order type must be"),
    ("AAPL BUY 5 LMT", "LMT takes one price"),
    ("AAPL BUY 5 MKT 10", "MKT takes no price"),
    ("AAPL BUY 5 LMT abc", "limit price must be a number"),
    ("AAPL BUY 5 LMT 1 tif=FOK", "tif must be one of"),
    ("AAPL BUY 5 LMT 1 colour=red", "bad option"),
    ("AAPL BUY 5 LMT nan", "finite"),
])
def test_order_errors(line: str, fragment: str) -> None:
    with pytest.raises(CommandError, match=fragment) as info:
        parsing.order(parsing.split(line))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("text", "ib"), [("5D", "5 D"), ("5 d", "5 D"), ("2weeks", "2 W"), ("3600S", "3600 S"),
                                          ("1y", "1 Y"), ("6 M", "6 M")])
def test_duration(text: str, ib: str) -> None:
    assert parsing.duration(text) == ib


@pytest.mark.parametrize(("text", "ib"), [("1min", "1 min"), ("5m", "5 mins"), ("5 mins", "5 mins"), ("1h", "1 hour"),
                                          ("4h", "4 hours"), ("1d", "1 day"), ("30s", "30 secs"), ("1 secs", "1 secs"),
                                          ("1w", "1 week"), ("1mo", "1 month")])
def test_bar_size(text: str, ib: str) -> None:
    assert parsing.bar_size(text) == ib


@pytest.mark.parametrize("bad", ["", "D", "0D", "5X", "five days"])
def test_bad_duration(bad: str) -> None:
    with pytest.raises(CommandError, match="bad DURATION"):
        parsing.duration(bad)


@pytest.mark.parametrize("bad", ["min", "0min", "5parsecs"])
def test_bad_bar_size(bad: str) -> None:
    with pytest.raises(CommandError, match="bad BAR_SIZE"):
        parsing.bar_size(bad)


def test_history_forms() -> None:
    assert parsing.history(["aapl", "2D", "5min"]) == ("AAPL", "2 D", "5 mins", None)
    assert parsing.history(["AAPL", "2 D", "1 hour", "--csv", "out.csv"]) == ("AAPL", "2 D", "1 hour", "out.csv")
    assert parsing.history(["AAPL", "2", "D", "1", "min", "--csv=x.csv"]) == ("AAPL", "2 D", "1 min", "x.csv")
    with pytest.raises(CommandError, match="usage: history"):
        parsing.history(["AAPL", "2D"])
    with pytest.raises(CommandError, match="--csv needs"):
        parsing.history(["AAPL", "2D", "1h", "--csv"])


def test_modify() -> None:
    assert parsing.modify(["7", "qty=200", "limit=151.5", "tif=day"]) == (
        7, {"quantity": 200.0, "limit_price": 151.5, "tif": "DAY"})
    for args, fragment in ((["7"], "usage: modify"), (["x", "qty=1"], "order id must be a whole number"),
                           (["7", "qty"], "bad option"), (["7", "qty=-1"], "greater than 0"),
                           (["7", "outside_rth=yes"], "bad option"), (["7", "tif=FOK"], "tif must be one of")):
        with pytest.raises(CommandError, match=fragment):
            parsing.modify(args)


def test_symbols_dedupe_and_upper() -> None:
    assert parsing.symbols(["aapl", "MSFT,tsla", "AAPL"], "subscribe") == ["AAPL", "MSFT", "TSLA"]
    with pytest.raises(CommandError, match="usage: subscribe"):
        parsing.symbols([], "subscribe")


def test_split_reports_unbalanced_quotes() -> None:
    with pytest.raises(CommandError, match="cannot parse"):
        parsing.split('AAPL "2 D')


def test_forex_pairs_become_contract_specs_and_stocks_stay_symbols() -> None:
    from platform_adapter.models.contract import ContractSpec, SecType

    assert parsing.instrument("EUR.USD") == ContractSpec("EUR", SecType.FOREX, "IDEALPRO", "USD")
    assert parsing.instruments(["AAPL", "GBP.JPY"]) == ["AAPL", ContractSpec("GBP", SecType.FOREX, "IDEALPRO", "JPY")]
    assert parsing.instrument("BRK.B") == "BRK.B"  # not a currency pair
