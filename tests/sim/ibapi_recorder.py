"""A stock ibapi EWrapper that records the callbacks named to it; tests wait on them."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ibapi.client import EClient
from ibapi.wrapper import EWrapper


class IbapiRecorder(EWrapper):  # type: ignore[misc]
    """Records every call of the callbacks in ``names`` (arguments as given); ``wait`` blocks
    until a predicate on the calls holds."""

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__()
        self.recorded = frozenset(names)
        self.calls: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.cond = threading.Condition()

    def _rec(self, name: str, *args: Any) -> None:
        with self.cond:
            self.calls[name].append(args)
            self.cond.notify_all()

    def wait(self, pred: Callable[[dict[str, list[tuple[Any, ...]]]], Any], timeout: float = 5.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: pred(self.calls), timeout), dict(self.calls)

    def __getattribute__(self, name: str) -> Any:
        if name in object.__getattribute__(self, "__dict__").get("recorded", ()):
            return lambda *a: self._rec(name, *a)
        return super().__getattribute__(name)


def run_loop(c: EClient) -> None:
    """ibapi's run loop, for a thread: a disconnect from the test's thread can land between its
    connected check and its ``serverVersion() >= ...`` (None by then: ibapi's own race, a
    TypeError in its thread, not the test's failure); raised while still connected."""
    try:
        c.run()
    except TypeError:
        if c.isConnected():
            raise


@contextmanager
def stock_client(port: int, client_id: int, names: Iterable[str]) -> Iterator[tuple[EClient, IbapiRecorder]]:
    """Stock ibapi's EClient connected to the simulator on 127.0.0.1:``port`` (its run loop on a
    thread), recording ``names``; yielded once nextValidId and managedAccounts came; closed after."""
    w = IbapiRecorder(names)
    c = EClient(w)
    c.connect("127.0.0.1", port, client_id)
    t = threading.Thread(target=run_loop, args=(c,), daemon=True)
    t.start()
    try:
        w.wait(lambda k: k["nextValidId"] and k["managedAccounts"])
        yield c, w
    finally:
        c.disconnect()
        t.join(timeout=5)
