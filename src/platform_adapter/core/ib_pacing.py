"""IB's historical pacing facts, in one place for the adapter's pacer and the simulator.

IB's tws-api page "Historical Data Limitations" titles its hard rules (identical requests within
15 s, six or more for one contract, exchange and tick type within 2 s, more than 60 in ten
minutes, BID_ASK counted twice) "Pacing Violations for Small Bars (30 secs or less)", and its
footnote 1 says: "At this time Historical Data Limitations for barSize = '1 mins' and greater
have been lifted" (a soft limit remains: "please use caution when requesting large amounts of
historical data or sending historical data requests too frequently"). The cap of 50
simultaneous open historical requests applies to every bar size.
"""

from __future__ import annotations

SMALL_BAR_SECONDS = 30
"""The largest bar IB's hard historical pacing rules apply to."""


def is_small_bar(bar_seconds: int) -> bool:
    """True for a bar of ``bar_seconds`` that IB's hard historical pacing rules apply to."""
    return bar_seconds <= SMALL_BAR_SECONDS
