"""Calendar and grid rules for the generated parts of the universe: future and option expiries,
strike grids, local symbols and simulator contract ids."""

from __future__ import annotations

import datetime as dt
import zlib

QUARTER_MONTHS = (3, 6, 9, 12)
MONTH_CODES = "FGHJKMNQUVXZ"  # futures month letters, January first
SIM_CON_ID_BASE = 900_000_000  # generated contracts get ids from here (IB's own are lower)
SIM_CON_ID_SPAN = 99_000_000


def third_friday(year: int, month: int) -> dt.date:
    """The third Friday of a month (US equity options and index futures expire then)."""
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def _months_from(today: dt.date) -> list[tuple[int, int]]:
    """(year, month) from today's month on, for three years."""
    return [(today.year + (today.month - 1 + k) // 12, (today.month - 1 + k) % 12 + 1) for k in range(36)]


def monthly_expiries(today: dt.date, count: int) -> list[dt.date]:
    """The next ``count`` third Fridays on or after ``today``."""
    dates = (third_friday(y, m) for y, m in _months_from(today))
    return [d for d in dates if d >= today][:count]


def quarterly_expiries(today: dt.date, count: int) -> list[dt.date]:
    """The next ``count`` quarterly (March, June, September, December) third Fridays."""
    dates = (third_friday(y, m) for y, m in _months_from(today) if m in QUARTER_MONTHS)
    return [d for d in dates if d >= today][:count]


def strike_step(price: float) -> float:
    """The strike spacing listed around a price (wider for dearer underlyings)."""
    for limit, step in ((25.0, 1.0), (100.0, 2.5), (250.0, 5.0), (1000.0, 10.0)):
        if price < limit:
            return step
    return 50.0


def strike_grid(price: float, each_side: int) -> list[float]:
    """``2 * each_side + 1`` strikes centred on the listed strike nearest ``price``."""
    step = strike_step(price)
    centre = round(price / step) * step
    return [round(centre + k * step, 4) for k in range(-each_side, each_side + 1)]


def future_local_symbol(root: str, expiry: dt.date) -> str:
    """IB's local symbol of a future, e.g. ESZ6 for the December 2026 E-mini."""
    return f"{root}{MONTH_CODES[expiry.month - 1]}{expiry.year % 10}"


def option_local_symbol(symbol: str, expiry: dt.date, right: str, strike: float) -> str:
    """The OSI symbol IB uses as an equity option's local symbol, e.g. 'AAPL  261218C00200000'."""
    return f"{symbol:<6}{expiry:%y%m%d}{right}{round(strike * 1000):08d}"


def sim_con_id(key: str, taken: set[int]) -> int:
    """A stable contract id for a generated contract, unique among ``taken`` (which it joins)."""
    con_id = SIM_CON_ID_BASE + zlib.crc32(key.encode()) % SIM_CON_ID_SPAN
    while con_id in taken:
        con_id += 1
    taken.add(con_id)
    return con_id
