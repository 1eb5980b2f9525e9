"""The market scanner over the universe's stocks and ETFs: its parameters (the XML IB's
reqScannerParameters returns, listing only what the simulator scans) and subscriptions ranked by
the simulated market."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from . import info_messages as im
from . import info_requests as iq
from .contracts import ContractSpec
from .market import Quote
from .pacing import HMDS
from .service import Service

if TYPE_CHECKING:
    from .session import Session

MAX_ROWS = 50


def _number(text: str) -> float | None:
    """A filter option's value as a number (None when it is not one)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return None if value != value else value


def _change(q: Quote) -> float:
    return (q.last - q.close) / q.close if q.close else 0.0


# scan code -> (display name, sort key: highest first)
SCAN_CODES: dict[str, tuple[str, Callable[[Quote], float]]] = {
    "TOP_PERC_GAIN": ("Top % Gainers", _change),
    "TOP_PERC_LOSE": ("Top % Losers", lambda q: -_change(q)),
    "MOST_ACTIVE": ("Most Active", lambda q: q.volume),
    "HOT_BY_VOLUME": ("Hot Contracts by Volume", lambda q: q.volume * abs(_change(q))),
    "HIGH_OPEN_GAP": ("Top Close-to-Open % Gainers", lambda q: (q.open - q.close) / q.close),
    "LOW_OPEN_GAP": ("Top Close-to-Open % Losers", lambda q: (q.close - q.open) / q.close),
}
# location code -> (display name, primary exchanges; empty = every US one)
LOCATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "STK.US": ("US Stocks", ()),
    "STK.US.MAJOR": ("Listed/NASDAQ", ()),
    "STK.NASDAQ": ("NASDAQ", ("NASDAQ",)),
    "STK.NYSE": ("NYSE", ("NYSE",)),
    "STK.ARCA": ("NYSE Arca", ("ARCA",)),
}
INSTRUMENTS = {"STK": "US Stocks"}
FILTERS = ("priceAbove", "priceBelow", "volumeAbove")
TEXT_NOT_CONFIGURED = HMDS + "Error: Market Scanner is not configured for one of the chosen locations."
# the simulator's own texts, in the form of IB's scanner errors
TEXT_UNKNOWN_SCAN = HMDS + "Error: Scanner type with code {code} is not configured."
TEXT_BAD_FILTER = HMDS + "Error: Invalid value {value!r} for filter {name}."


def parameters_xml() -> str:
    """A ScanParameterResponse document in the layout IB's has, listing what the simulator scans."""
    def tag(name: str, text: str) -> str:
        return f"<{name}>{escape(text)}</{name}>"
    instruments = "".join(f"<Instrument>{tag('name', n)}{tag('type', t)}{tag('filters', ','.join(FILTERS))}"
                          "</Instrument>" for t, n in INSTRUMENTS.items())
    locations = "".join(f"<Location>{tag('displayName', n)}{tag('locationCode', code)}{tag('instruments', 'STK')}"
                        f"{tag('routeExchange', 'SMART')}</Location>" for code, (n, _) in LOCATIONS.items())
    scans = "".join(f"<ScanType>{tag('displayName', n)}{tag('scanCode', code)}{tag('instruments', 'STK')}"
                    "</ScanType>" for code, (n, _) in SCAN_CODES.items())
    filters = "".join(f"<SimpleFilter>{tag('id', f)}{tag('category', 'Price')}</SimpleFilter>" for f in FILTERS)
    return ('<?xml version="1.0" encoding="UTF-8"?><ScanParameterResponse>'
            f'<InstrumentList varName="instrumentList">{instruments}</InstrumentList>'
            f'<LocationTree varName="locationTree">{locations}</LocationTree>'
            f'<ScanTypeList varName="scanTypeList">{scans}</ScanTypeList>'
            f'<FilterList varName="filterList">{filters}</FilterList></ScanParameterResponse>')


class Scanner(Service):
    """reqScannerParameters and scanner subscriptions (answered with the ranking when made)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.subscriptions: dict[int, iq.ReqScannerSubscription] = {}

    def h_reqScannerParameters(self, q: iq.ReqScannerParameters) -> None:
        self.send(im.scanner_parameters(parameters_xml()))

    def h_reqScannerSubscription(self, q: iq.ReqScannerSubscription) -> None:
        if q.instrument not in INSTRUMENTS or q.location_code not in LOCATIONS:
            self.error(q.req_id, 162, TEXT_NOT_CONFIGURED)
            return
        if q.scan_code not in SCAN_CODES:
            self.error(q.req_id, 162, TEXT_UNKNOWN_SCAN.format(code=q.scan_code))
            return
        for name in FILTERS:  # a filter option's value must be a number ("" or "abc" is not)
            value = dict(q.filter_options).get(name)
            if value is not None and _number(value) is None:
                self.error(q.req_id, 162, TEXT_BAD_FILTER.format(value=value, name=name))
                return
        self.subscriptions[q.req_id] = q
        self.send(im.scanner_data(q.req_id, self.rows(q)))

    def h_cancelScannerSubscription(self, q: iq.CancelScannerSubscription) -> None:
        self.subscriptions.pop(q.req_id, None)

    def rows(self, q: iq.ReqScannerSubscription) -> list[ContractSpec]:
        """The universe's stocks in the location that pass the filters, best first."""
        options = dict(q.filter_options)
        above = q.above_price if q.above_price is not None else float(options.get("priceAbove", "-inf"))
        below = q.below_price if q.below_price is not None else float(options.get("priceBelow", "inf"))
        volume = q.above_volume if q.above_volume is not None else float(options.get("volumeAbove", "-inf"))
        primaries = LOCATIONS[q.location_code][1]
        market = self.gw.market
        found = [c for c in self.gw.universe.contracts
                 if c.sec_type == "STK" and (not primaries or c.primary_exchange in primaries)
                 and above <= market.quote(c.con_id).last <= below and market.quote(c.con_id).volume >= volume]
        key = SCAN_CODES[q.scan_code][1]
        found.sort(key=lambda c: key(market.quote(c.con_id)), reverse=True)
        limit = q.number_of_rows if q.number_of_rows and q.number_of_rows > 0 else MAX_ROWS
        return found[:min(limit, MAX_ROWS)]
