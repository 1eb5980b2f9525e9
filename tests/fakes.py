"""Test doubles for unit tests: a fake EClient that records what would be sent, and a feeder
that drives the Wrapper as the gateway's decoder would."""

from __future__ import annotations

import time
from typing import Any

from platform_adapter.core.wrapper import Wrapper


class FakeClient:
    """Records every EClient call as ``(method, args)``; optionally answers through ``on_call``.
    With a wrapper it answers ``reqCurrentTime`` as the gateway does (after everything before it)."""

    def __init__(self, wrapper: Wrapper | None = None) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.wrapper = wrapper
        self.on_call: dict[str, Any] = {}
        if wrapper is not None:
            self.on_call["reqCurrentTime"] = lambda: wrapper.currentTime(int(time.time()))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            self.calls.append((name, args))
            answer = self.on_call.get(name)
            if answer is not None:
                answer(*args)

        return record

    def isConnected(self) -> bool:  # noqa: N802
        return True

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]
