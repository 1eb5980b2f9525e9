"""News: bulletins, the providers every account has (Briefing.com and Dow Jones newsletters),
headlines and articles generated for the universe's contracts; Wall Street Horizon data refused as
an account without the WSH subscription is refused."""

from __future__ import annotations

import datetime as dt
import zlib

from . import info_messages as im
from . import info_requests as iq
from .contracts import NO_SECDEF_TEXT
from .service import Service
from .wire import Message

PROVIDERS = (("BRFG", "Briefing.com General Market Columns"), ("BRFUPDN", "Briefing.com Analyst Actions"),
             ("DJNL", "Dow Jones Newsletters"))
TEXT_10276 = "News feed is not allowed."
MAX_HEADLINES = 300  # IB returns at most 300 headlines per request
HEADLINE_SPACING = dt.timedelta(hours=7)
HEADLINES = ("{name} shares active in early trading", "Analyst actions: {symbol} price target reviewed",
             "{name}: what to watch this week", "Market movers include {symbol}",
             "{symbol} options see heavy volume")
BULLETIN = (1, 1, "Simulated gateway: no exchange bulletins today.", "")  # id, type, text, exchange
NEWS_TIME = "%Y-%m-%d %H:%M:%S.0"
NEWS_START = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _when(text: str, default: dt.datetime) -> dt.datetime:
    """A historical news time ('yyyy-MM-dd HH:mm:ss.0' or 'yyyyMMdd HH:mm:ss'), read as UTC."""
    for fmt in (NEWS_TIME, "%Y-%m-%d %H:%M:%S", "%Y%m%d %H:%M:%S", "%Y%m%d-%H:%M:%S", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
    return default


def article_id(provider: str, con_id: int, when: dt.datetime) -> str:
    """IB's article ids look like 'BRFG$04fb9da2': the provider, '$', an id."""
    return f"{provider}${zlib.crc32(f'{con_id}:{when.isoformat()}'.encode()):08x}"


class News(Service):
    """News bulletins, providers, headlines, articles and WSH."""

    def h_reqNewsBulletins(self, q: iq.ReqNewsBulletins) -> None:
        """The day's bulletins when all are asked for; new ones would follow (none are made)."""
        if q.all_messages:
            self.send(im.news_bulletin(*BULLETIN))

    def h_cancelNewsBulletins(self, q: iq.CancelNewsBulletins) -> None:
        """No bulletin is ever made after the request: nothing to stop."""

    def h_reqNewsProviders(self, q: iq.ReqNewsProviders) -> None:
        self.send(im.news_providers(PROVIDERS))

    def h_reqHistoricalNews(self, q: iq.ReqHistoricalNews) -> None:
        codes = [c for c in q.provider_codes.split("+") if c]
        if not codes or any(c not in dict(PROVIDERS) for c in codes):
            self.error(q.req_id, 10276, TEXT_10276)
            return
        spec = self.gw.universe.by_con_id.get(q.con_id)
        if spec is None:
            self.error(q.req_id, 200, NO_SECDEF_TEXT)
            return
        now = dt.datetime.now(dt.timezone.utc)
        # no headline is older than NEWS_START: a period before it has none (and its arithmetic
        # cannot leave the calendar, as "0001-01-01 00:00:00" minus 30 days would)
        end = max(min(_when(q.end_date_time, now), now), NEWS_START)
        start = max(_when(q.start_date_time, end - dt.timedelta(days=30)), NEWS_START)
        wanted = min(q.total_results, MAX_HEADLINES)
        msgs: list[Message] = []
        when = end.replace(minute=0, second=0, microsecond=0)
        while when > start and len(msgs) < wanted:
            code = codes[len(msgs) % len(codes)]
            headline = HEADLINES[len(msgs) % len(HEADLINES)].format(name=spec.long_name, symbol=spec.symbol)
            msgs.append(im.historical_news(q.req_id, when.strftime(NEWS_TIME), code,
                                           article_id(code, spec.con_id, when), headline))
            when -= HEADLINE_SPACING
        self.send(*msgs, im.historical_news_end(q.req_id, when > start))

    def h_reqNewsArticle(self, q: iq.ReqNewsArticle) -> None:
        if q.provider_code not in dict(PROVIDERS) or not q.article_id.startswith(q.provider_code + "$"):
            self.error(q.req_id, 10276, TEXT_10276)
            return
        text = (f"{dict(PROVIDERS)[q.provider_code]} - article {q.article_id}\n\n"
                "This article was written by the simulated gateway; it carries no market information.")
        self.send(im.news_article(q.req_id, 0, text))

    def h_reqWshMetaData(self, q: iq.ReqWshMetaData) -> None:
        self.error(q.req_id, 10276, TEXT_10276)

    def h_reqWshEventData(self, q: iq.ReqWshEventData) -> None:
        self.error(q.req_id, 10276, TEXT_10276)

    def h_cancelWshMetaData(self, q: iq.CancelWshMetaData) -> None:
        """WSH requests are refused: nothing to stop."""

    def h_cancelWshEventData(self, q: iq.CancelWshEventData) -> None:
        """WSH requests are refused: nothing to stop."""
