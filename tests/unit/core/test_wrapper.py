"""The Wrapper routes ibapi callbacks to their handlers and isolates a handler's errors."""

from __future__ import annotations

import pytest

from platform_adapter.core.handlers import Handlers
from platform_adapter.core.wrapper import Wrapper
from tests.handlers import Recording


def test_wrapper_routes_and_isolates_handler_errors() -> None:
    rec = Recording(normalise=lambda a: a)
    w = rec.wrapper

    def bad(*_: object) -> None:
        raise RuntimeError("handler bug")

    rec.market_data.tick_string = bad  # type: ignore[method-assign]
    w.debug = True
    w.tickString(1, 45, "x")
    w.tickGeneric(1, 49, 0.5)
    assert rec.calls == [("tick_generic", (1, 49, 0.5))]
    assert w.callback_errors == 1
    w.error(5, 0, 200, "No security definition")
    assert rec.calls[-1] == ("lifecycle.error", (5, 200, "No security definition", ""))
    with pytest.raises(RuntimeError, match="bound once"):
        w.bind(Handlers())
    unbound = Wrapper()
    unbound.tickPrice(1, 1, 1.0, None)  # null handlers until bound
    unbound.bind(Handlers())
