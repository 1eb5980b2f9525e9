"""The numbers of the history pacing rules, as the docs state them, are the code's: the user
guide's "Long history and IB's pacing" (the one page that states the rules in full) against
``HistoricalPacer``'s defaults, the configuration defaults and the retry bound of
``adapters/market/historical.py``; README's code table and the API reference, which summarise it,
against the retry bound (and the reference's small-bar windows against the pacer's)."""

from __future__ import annotations

import inspect
import re

from platform_adapter.adapters.market.historical import PACING_RETRIES
from platform_adapter.config.settings import MarketDataConfig
from platform_adapter.utils.rate_limiter import LARGE_BAR_BURST_SECONDS, HistoricalPacer
from tests.docs.markdown import read, section

GUIDE = section(read("docs/user_guide.md"), "### Long history and IB's pacing")
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def pacer_default(name: str) -> float:
    default = inspect.signature(HistoricalPacer).parameters[name].default
    assert isinstance(default, int | float), name
    return default


def flat(text: str) -> str:
    """Markdown prose on one line (a number and its unit may be split across lines)."""
    return re.sub(r"\s+", " ", text)


def test_the_guide_and_the_reference_state_the_small_bar_windows_of_the_pacer() -> None:
    identical, same_max, same_window = (pacer_default("identical_window"), pacer_default("same_contract_max"),
                                        pacer_default("same_contract_window"))
    reference = flat(read("docs/api_reference.md"))
    for name, text in (("docs/user_guide.md", flat(GUIDE)), ("docs/api_reference.md", reference)):
        assert f"no identical request within {identical:g} s" in text, name
        assert f"at most {same_max:g} for one contract within {same_window:g} s" in text, name
    assert f"The wait is {identical:g} s after a first refusal" in flat(GUIDE)


def test_the_guide_states_the_configured_defaults() -> None:
    text = flat(GUIDE)
    md = MarketDataConfig()
    rate = md.historical_large_bar_requests_per_second
    assert rate is not None
    burst = max(1.0, rate * LARGE_BAR_BURST_SECONDS)
    assert f"({rate:g} by default: after a quiet spell {burst:g} go at once, then {rate:g} a second)" in text
    assert f"the ten-minute count ({md.historical_data_max_requests_per_10min} by default)" in text


def test_the_refusals_before_pacing_violation_are_the_retry_bound() -> None:
    ordinal = ORDINALS[PACING_RETRIES + 1]
    for name, text in (("docs/user_guide.md", GUIDE), ("README.md", read("README.md")),
                       ("docs/api_reference.md", read("docs/api_reference.md"))):
        stated = set(re.findall(r"\b(\w+) refusal\b", flat(text).lower())) & set(ORDINALS.values()) - {"first"}
        assert stated == {ordinal}, f"{name} states a {sorted(stated)} refusal; the code raises at the {ordinal}"


def test_the_guide_states_the_hold_after_a_refused_bar_line_as_the_window() -> None:
    """A 420 holds new bar lines and small-bar history for the pacer's whole ten-minute window."""
    minutes = pacer_default("window") / 60
    assert f"requests wait the whole {minutes:g} minutes" in flat(GUIDE)
