"""The interactive shell of spec appendix A (``cmd`` + ``readline``), also usable from scripts.

Every command prints its result or one line ``Error: <reason>``; no traceback ever reaches the
user (the details go to the log file at DEBUG). Output goes through a rich console
(:mod:`platform_adapter.cli.render`): styled on a terminal, plain text in pipes and files.
"""

from __future__ import annotations

import cmd
import inspect
import os
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from loguru import logger
from rich.console import Group, RenderableType
from rich.text import Text

from platform_adapter.cli import parsing, views
from platform_adapter.cli.parsing import CommandError
from platform_adapter.cli.render import ProgressBar, console_for, emit, keypress_watch, live_view
from platform_adapter.errors import NotConnected, PlatformAdapterError
from platform_adapter.models import Bar, Quote

COMMON_SYMBOLS = ("AAPL", "MSFT", "TSLA", "SPY", "AMZN", "GOOGL", "NVDA", "META", "QQQ", "IWM")
REFRESH_SECONDS = 1.0
BARS_REFRESH_SECONDS = 0.5
BARS_SHOWN = 15
MAX_BARS_KEPT = 500
HISTORY_LENGTH = 1000
STOP_HINT = "(press any key to stop)"
MODIFY_CONFIRM_SECONDS = 5.0


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _quantity(value: float) -> int | Decimal:
    return int(value) if value == int(value) else Decimal(str(value))


class Shell(cmd.Cmd):
    """Operator shell over a :class:`~platform_adapter.PlatformAdapter`.

    ``interactive=True`` uses readline (tab completion, history) and live views that refresh
    until a key is pressed; otherwise :meth:`run_lines` executes commands one by one and every
    view is printed once.
    """

    prompt = "> "
    intro = "platform_adapter shell. Type 'help' for the commands, 'quit' to leave."
    doc_header = "Commands (help COMMAND for details):"

    def __init__(self, pa: Any, *, interactive: bool = True, stdin: TextIO | None = None,
                 stdout: TextIO | None = None, history_file: str | os.PathLike[str] | None = None) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        self.pa = pa
        self.interactive = interactive
        self.use_rawinput = interactive
        self.history_file = Path(history_file) if history_file else None
        self.console = console_for(self.stdout)
        self.failures = 0
        self.last_failed = False
        self._lock = threading.Lock()
        self._subscribed: list[str] = []
        self._latest: dict[str, Quote] = {}
        self._updates: Counter[str] = Counter()
        self._bars: dict[str, deque[Bar]] = {}

    # --- loop and error handling ---------------------------------------------------------------
    def say(self, text: RenderableType) -> None:
        emit(self.console, text)

    def onecmd(self, line: str) -> bool:
        """Run one command; any error becomes one line and counts as a failure."""
        self.last_failed = False
        try:
            return bool(super().onecmd(line))
        except CommandError as exc:
            self._fail(str(exc))
        except NotConnected as exc:
            self._fail(f"{exc} (use: connect)")
        except PlatformAdapterError as exc:
            self._fail(str(exc))
        except KeyboardInterrupt:
            self._fail("interrupted")
        except Exception as exc:  # noqa: BLE001 - the shell must survive anything a command does
            logger.opt(exception=True).debug("command {!r} failed", line)
            self._fail(f"{type(exc).__name__}: {exc}")
        return False

    def _fail(self, message: str) -> None:
        self.failures += 1
        self.last_failed = True
        first = message.strip().splitlines()[0] if message.strip() else "failed"
        self.say(Text.assemble(("Error:", "bold red"), f" {first}"))

    def default(self, line: str) -> None:
        word = line.split()[0] if line.split() else line
        raise CommandError(f"unknown command {word!r}; type 'help' for the list of commands")

    def emptyline(self) -> bool:
        return False

    def run_lines(self, lines: Iterable[str], echo: bool = True, stop_on_error: bool = False) -> int:
        """Non-interactive mode: run each non-blank, non-``#`` line; return the failure count."""
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if echo:
                self.say(f"{self.prompt}{line}")
            if self.onecmd(line):
                break
            if stop_on_error and self.last_failed:
                break
        return self.failures

    def run_interactive(self) -> int:
        """The interactive loop with readline history; returns the failure count."""
        readline = self._setup_readline()
        try:
            while True:
                try:
                    self.cmdloop()
                    break
                except KeyboardInterrupt:
                    self.say("^C (type 'quit' to leave)")
                    self.intro = ""
        finally:
            if readline is not None and self.history_file is not None:
                try:
                    readline.write_history_file(str(self.history_file))
                except OSError:
                    logger.debug("could not write shell history to {}", self.history_file)
        return self.failures

    def _setup_readline(self) -> Any:
        try:
            import readline  # noqa: PLC0415 - optional (absent on some platforms)
        except ImportError:
            return None
        readline.set_completer_delims(" \t\n")
        if self.history_file is not None and self.history_file.is_file():
            try:
                readline.read_history_file(str(self.history_file))
            except OSError:
                logger.debug("could not read shell history {}", self.history_file)
        readline.set_history_length(HISTORY_LENGTH)
        return readline

    # --- connection ---------------------------------------------------------------------------------
    def do_connect(self, arg: str) -> None:
        """connect [HOST:PORT | PORT]  -- connect to the IB Gateway / TWS (default: the configured one)."""
        args = parsing.split(arg)
        host: str | None = None
        port: int | None = None
        if len(args) > 1:
            raise CommandError("usage: connect [HOST:PORT | PORT]")
        if args:
            h, sep, p = args[0].rpartition(":")
            host = h if sep and h else None
            port = parsing.integer(p, "port")
            if port > 65535:
                raise CommandError(f"port must be 1-65535, got {port}")
        if not self.pa.connect(host, port):
            raise CommandError(f"Connection failed: {self.pa.connection.last_error or 'no reason given'}")
        c = self.pa.connection
        self.say(f"Connected to IB Gateway on {c.host}:{c.port}")

    def do_disconnect(self, arg: str) -> None:
        """disconnect  -- close the connection (subscriptions end)."""
        self._no_args(arg, "disconnect")
        self.pa.disconnect()
        with self._lock:
            self._subscribed.clear()
            self._bars.clear()
        self.say("Disconnected")

    def do_status(self, arg: str) -> None:
        """status  -- connection state, gateway, accounts, uptime, reconnects, heartbeat."""
        self._no_args(arg, "status")
        self.say(views.status_text(self.pa.connection.get_connection_status()))

    # --- market data ----------------------------------------------------------------------------------
    def _on_quote(self, symbol: str, quote: Quote) -> None:
        with self._lock:
            self._latest[symbol] = quote
            self._updates[symbol] += 1

    def do_subscribe(self, arg: str) -> None:
        """subscribe SYMBOL [SYMBOL...]  -- stream quotes (see them with 'quotes')."""
        syms = parsing.symbols(parsing.split(arg), "subscribe")
        self.pa.market_data.subscribe_quotes(parsing.instruments(syms), self._on_quote)
        with self._lock:
            for s in syms:
                if s not in self._subscribed:
                    self._subscribed.append(s)
        self.say(f"Subscribed to {len(syms)} symbol{'s' if len(syms) != 1 else ''}")

    def do_unsubscribe(self, arg: str) -> None:
        """unsubscribe SYMBOL [SYMBOL...]  -- stop quote streams."""
        syms = parsing.symbols(parsing.split(arg), "unsubscribe")
        self.pa.market_data.unsubscribe_quotes(parsing.instruments(syms))
        with self._lock:
            self._subscribed = [s for s in self._subscribed if s not in syms]
            for s in syms:
                self._latest.pop(s, None)
        self.say(f"Unsubscribed from {len(syms)} symbol{'s' if len(syms) != 1 else ''}")

    def _quote(self, symbol: str) -> Quote | None:
        getter = getattr(self.pa.market_data, "get_quote", None)
        if getter is not None:
            try:
                q = getter(symbol)
                if q is not None:
                    return q  # type: ignore[no-any-return]
            except PlatformAdapterError:
                pass
        with self._lock:
            return self._latest.get(symbol) or self.pa.state.get_quote(symbol)

    def _quotes_view(self) -> RenderableType:
        with self._lock:
            syms = list(self._subscribed)
            updates = dict(self._updates)
        return views.quotes_table({s: self._quote(s) for s in syms}, updates)

    def do_quotes(self, arg: str) -> None:
        """quotes  -- table of the latest quotes; refreshes until a key is pressed (once in scripts)."""
        self._no_args(arg, "quotes")
        if not self._live():
            self.say(self._quotes_view())
            return
        with keypress_watch(sys.stdin) as wait:
            live_view(self.console, lambda: Group(self._quotes_view(), Text(STOP_HINT, style="dim")), wait,
                      REFRESH_SECONDS)

    def do_history(self, arg: str) -> None:
        """history SYMBOL DURATION BAR_SIZE [--csv FILE]  -- historical bars, e.g. history AAPL 5D 1h."""
        symbol, duration, bar_size, csv_path = parsing.history(parsing.split(arg))
        fetch = self.pa.market_data.get_historical_data
        progress = ProgressBar(f"{symbol} {duration} of {bar_size}", self.console)
        kwargs: dict[str, Any] = {"progress": progress.update} if _accepts(fetch, "progress") else {}
        try:
            df = fetch(parsing.instrument(symbol), duration, bar_size, **kwargs)
        finally:
            progress.close()
        rows = views.frame_rows(df)
        if not rows:
            self.say(f"No bars for {symbol} ({duration} of {bar_size})")
        else:
            self.say(f"{len(rows)} bars for {symbol}: {rows[0]['time']} .. {rows[-1]['time']} (UTC)")
            self.say(views.bars_table(rows, limit=10))
        if csv_path:
            path = Path(csv_path).expanduser()
            try:
                df.to_csv(path)
            except OSError as exc:
                raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
            self.say(f"Wrote {len(rows)} bars to {path}")

    def _on_bar(self, *args: Any) -> None:
        bar = args[-1]
        symbol = getattr(bar, "symbol", None) or str(args[0])
        with self._lock:
            self._bars.setdefault(symbol, deque(maxlen=MAX_BARS_KEPT)).append(bar)

    def do_bars(self, arg: str) -> None:
        """bars SYMBOL [stop]  -- stream 5-second bars and show them (until a key is pressed)."""
        args = parsing.split(arg)
        if not args or len(args) > 2 or (len(args) == 2 and args[1].lower() != "stop"):
            raise CommandError("usage: bars SYMBOL [stop]")
        symbol = parsing.symbols(args[:1], "bars")[0]
        md = self.pa.market_data
        if len(args) == 2:
            cancel = getattr(md, "cancel_real_time_bars", None) or getattr(md, "unsubscribe_real_time_bars", None)
            if cancel is None:
                raise CommandError("this market data adapter cannot stop real-time bars")
            cancel(parsing.instrument(symbol))
            with self._lock:
                self._bars.pop(symbol, None)
            self.say(f"Stopped 5-second bars for {symbol}")
            return
        with self._lock:
            streaming = symbol in self._bars
        if not streaming:
            md.subscribe_real_time_bars(parsing.instrument(symbol), self._on_bar)
            with self._lock:
                self._bars.setdefault(symbol, deque(maxlen=MAX_BARS_KEPT))
            self.say(f"Streaming 5-second bars for {symbol}")
        if not self._live():
            with self._lock:
                bars = list(self._bars.get(symbol, ()))
            self.say(views.bars_table(bars) if bars else f"No bars for {symbol} yet")
            return
        with keypress_watch(sys.stdin) as wait:
            live_view(self.console, lambda: self._bars_view(symbol), wait, BARS_REFRESH_SECONDS)

    def _bars_view(self, symbol: str) -> RenderableType:
        with self._lock:
            bars = list(self._bars.get(symbol, ()))
        hint = Text(f"5-second bars of {symbol}, the last {BARS_SHOWN}; {STOP_HINT}", style="dim")
        return Group(views.bars_table(bars, limit=BARS_SHOWN) if bars else f"No bars for {symbol} yet", hint)

    # --- orders -----------------------------------------------------------------------------------------
    def do_place_order(self, arg: str) -> None:
        """place_order SYMBOL BUY|SELL QTY MKT|LMT|STP|STP_LMT [LIMIT] [STOP] [tif=DAY|GTC|IOC]  -- send an order.

        STP takes one price (the stop); STP_LMT takes the limit then the stop.
        Example: place_order AAPL BUY 100 LMT 150.00
        """
        a = parsing.order(parsing.split(arg))
        order_id = self.pa.orders.place_order(parsing.instrument(a.symbol), a.action, _quantity(a.quantity),
                                              a.order_type, **a.kwargs())
        self.say(f"Order placed: ID {order_id}")

    def do_bracket(self, arg: str) -> None:
        """bracket SYMBOL BUY|SELL QTY ENTRY TAKE_PROFIT STOP_LOSS [tif=DAY|GTC]  -- an entry limit with its exits.

        The take profit (a limit) and the stop loss (a stop) wait until the entry fills; the first
        of them to fill cancels the other. Example: bracket AAPL BUY 100 189 195 185
        """
        a = parsing.bracket(parsing.split(arg))
        b = self.pa.orders.place_bracket_order(parsing.instrument(a.symbol), a.action, _quantity(a.quantity),
                                               a.limit_price, a.take_profit_price, a.stop_loss_price, **a.extra)
        self.say(f"Bracket placed: entry ID {b.parent}, take profit ID {b.take_profit}, stop loss ID {b.stop_loss}")

    def do_preview(self, arg: str) -> None:
        """preview SYMBOL BUY|SELL QTY MKT|LMT|STP|STP_LMT [LIMIT] [STOP] [tif=...]  -- IB's margin and commission.

        Nothing is placed. Example: preview AAPL BUY 100 MKT
        """
        a = parsing.order(parsing.split(arg))
        preview = self.pa.orders.preview_order(parsing.instrument(a.symbol), a.action, _quantity(a.quantity),
                                               a.order_type, **a.kwargs())
        self.say(views.preview_text(preview))

    def do_cancel(self, arg: str) -> None:
        """cancel ID  -- cancel an open order."""
        args = parsing.split(arg)
        if len(args) != 1:
            raise CommandError("usage: cancel ID")
        order_id = parsing.integer(args[0], "order id")
        if self.pa.orders.cancel_order(order_id) is False:
            raise CommandError(f"order {order_id} was not cancelled")
        self.say(f"Cancel requested for order {order_id}")

    def do_modify(self, arg: str) -> None:
        """modify ID key=value...  -- change qty, limit, stop or tif of an open order, e.g. modify 1 limit=151."""
        order_id, changes = parsing.modify(parsing.split(arg))
        if "quantity" in changes:
            changes["quantity"] = _quantity(changes["quantity"])
        if self.pa.orders.modify_order(order_id, **changes) is False:
            raise CommandError(f"order {order_id} was not modified")
        text = ", ".join(f"{k}={v}" for k, v in changes.items())
        if self._modify_confirmed(order_id, changes):
            self.say(f"Order {order_id} modified: {text}")
        else:
            self.say(f"Modify sent for order {order_id}: {text}; IB has not confirmed it yet (see 'orders')")

    def _modify_confirmed(self, order_id: int, changes: dict[str, Any]) -> bool:
        """Wait (briefly) until the cached order shows the change: the adapter updates it only
        once IB confirms the modification."""
        deadline = time.monotonic() + MODIFY_CONFIRM_SECONDS
        while True:
            request = self.pa.orders.get_order(order_id).request
            if all(getattr(request, k, None) == v for k, v in changes.items()):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def do_orders(self, arg: str) -> None:
        """orders [all]  -- open orders (or every order of this session with 'all')."""
        args = parsing.split(arg)
        if args not in ([], ["all"]):
            raise CommandError("usage: orders [all]")
        if args:
            orders = self.pa.state.get_cached_orders()
            self.say(views.orders_table(orders, empty="No orders"))
        else:
            self.say(views.orders_table(self.pa.orders.get_open_orders()))

    # --- account ----------------------------------------------------------------------------------------
    def do_get_positions(self, arg: str) -> None:
        """get_positions  -- positions with quantity and average cost."""
        self._no_args(arg, "get_positions")
        self.say(views.positions_text(self.pa.account.get_positions()))

    do_positions = do_get_positions

    def do_account(self, arg: str) -> None:
        """account  -- account summary (net liquidation, cash, buying power, margins)."""
        self._no_args(arg, "account")
        self.say(views.account_text(self.pa.account.get_account_summary()))

    def do_pnl(self, arg: str) -> None:
        """pnl  -- daily, unrealized and realized PnL of the account."""
        self._no_args(arg, "pnl")
        self.say(views.pnl_text(self.pa.account.get_pnl()))

    def do_metrics(self, arg: str) -> None:
        """metrics  -- the monitoring metrics (connection, market data, orders, performance)."""
        self._no_args(arg, "metrics")
        self.say(views.metrics_text(self.pa.metrics()))

    # --- help and leaving -------------------------------------------------------------------------------
    def do_help(self, arg: str) -> None:
        """help [COMMAND]  -- list the commands or show one command's usage."""
        if arg.strip():
            fn = getattr(self, f"do_{arg.strip()}", None)
            if fn is None or not fn.__doc__:
                raise CommandError(f"no such command {arg.strip()!r}; type 'help' for the list")
            self.say(fn.__doc__.strip())
            return
        self.say(self.doc_header)
        for name in self.commands():
            doc = (getattr(self, f"do_{name}").__doc__ or "").strip().splitlines()[0]
            self.say(f"  {doc}")

    def commands(self) -> list[str]:
        hidden = {"EOF", "positions", "exit"}
        return [n[3:] for n in self.get_names() if n.startswith("do_") and n[3:] not in hidden]

    def do_quit(self, arg: str) -> bool:
        """quit  -- disconnect and leave the shell (also: exit, Ctrl-D)."""
        if self.pa.is_connected():
            self.pa.disconnect()
            self.say("Disconnected")
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:  # noqa: N802 - cmd's name for end of input
        self.say("")
        return self.do_quit(arg)

    # --- completion ---------------------------------------------------------------------------------------
    def _symbols(self) -> list[str]:
        with self._lock:
            known = list(self._subscribed) + list(self._bars)
        known += [p.symbol for p in self.pa.state.get_cached_positions()]
        return sorted(set(known) | set(COMMON_SYMBOLS))

    def _complete_from(self, options: Iterable[str], text: str) -> list[str]:
        t = text.upper()
        return [o for o in options if o.upper().startswith(t)]

    def complete_subscribe(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        return self._complete_from(self._symbols(), text)

    def complete_unsubscribe(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        with self._lock:
            return self._complete_from(list(self._subscribed), text)

    def complete_history(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        position = len(line[:begidx].split())
        options = {1: self._symbols(), 2: ["1D", "2D", "1W", "1M", "1Y"],
                   3: ["1min", "5min", "15min", "1h", "1d"]}.get(position, ["--csv"])
        return self._complete_from(options, text)

    complete_bars = complete_subscribe

    def complete_place_order(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        position = len(line[:begidx].split())
        options = {1: self._symbols(), 2: list(parsing.ACTIONS), 4: ["MKT", "LMT", "STP", "STP_LMT"]}
        return self._complete_from(options.get(position, ["tif=DAY", "tif=GTC", "tif=IOC"]), text)

    def _order_ids(self) -> list[str]:
        return [str(o.order_id) for o in self.pa.state.get_cached_orders() if not o.status.is_terminal]

    complete_preview = complete_place_order

    def complete_bracket(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        position = len(line[:begidx].split())
        options = {1: self._symbols(), 2: list(parsing.ACTIONS)}
        return self._complete_from(options.get(position, ["tif=DAY", "tif=GTC"] if position > 6 else []), text)

    def complete_cancel(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        return self._complete_from(self._order_ids(), text)

    def complete_modify(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        if len(line[:begidx].split()) == 1:
            return self._complete_from(self._order_ids(), text)
        return self._complete_from(["qty=", "limit=", "stop=", "tif="], text)

    def completenames(self, text: str, *ignored: Any) -> list[str]:
        return [n for n in self.commands() if n.startswith(text)]

    # --- helpers --------------------------------------------------------------------------------------------
    def _live(self) -> bool:
        return self.interactive and sys.stdin.isatty()

    @staticmethod
    def _no_args(arg: str, name: str) -> None:
        if arg.strip():
            raise CommandError(f"{name} takes no arguments")
