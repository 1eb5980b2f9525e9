"""Fixtures for the simulated gateway tests: in-process gateway and a raw TWS client."""

from __future__ import annotations

import queue
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.protocol import FrameReader, frame


class RawClient:
    """Minimal TWS-protocol client; received frames are queued by a reader thread."""

    def __init__(self, port: int, client_id: int = 1, versions: str = "v100..176",
                 start: bool = True) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.settimeout(None)
        self.msgs: queue.Queue[list[str] | None] = queue.Queue()
        self.seen: list[list[str]] = []
        self.closed = threading.Event()
        self.sock.sendall(b"API\0" + struct.pack(">I", len(versions)) + versions.encode())
        reader = FrameReader(self.sock)
        self.hello = reader.read_fields()
        self.sv = int(self.hello[0])
        self._reader = reader
        threading.Thread(target=self._run, daemon=True).start()
        if start:
            self.send(71, 2, client_id, "")

    def _run(self) -> None:
        try:
            while True:
                self.msgs.put(self._reader.read_fields())
        except (ConnectionError, OSError):
            self.closed.set()
            self.msgs.put(None)

    def send(self, *fields: object) -> None:
        self.sock.sendall(frame(fields))  # type: ignore[arg-type]

    def send_frame(self, data: bytes) -> None:
        """Send pre-encoded frames (e.g. captured from ibapi's EClient)."""
        self.sock.sendall(data)

    def wait_for(self, pred: Callable[[list[str]], bool], timeout: float = 5.0) -> list[str]:
        """Next message matching pred (earlier non-matching ones are kept in .seen)."""
        for m in self.seen:
            if pred(m):
                self.seen.remove(m)
                return m
        while True:
            try:
                m = self.msgs.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("timed out waiting for message") from None
            if m is None:
                self.msgs.put(None)
                raise AssertionError("connection closed while waiting")
            if pred(m):
                return m
            self.seen.append(m)

    def wait_error(self, code: int, timeout: float = 5.0) -> list[str]:
        return self.wait_for(lambda m: m[0] == "4" and m[3] == str(code), timeout)

    def wait_closed(self, timeout: float = 5.0) -> bool:
        return self.closed.wait(timeout)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def gateway() -> Iterator[SimulatedGateway]:
    with SimulatedGateway(tick_interval=0.05, rt_bar_interval=0.2) as gw:
        yield gw


@pytest.fixture
def raw(gateway: SimulatedGateway) -> Iterator[Callable[..., RawClient]]:
    clients: list[RawClient] = []

    def make(client_id: int = 1, **kw: object) -> RawClient:
        c = RawClient(gateway.port, client_id, **kw)  # type: ignore[arg-type]
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


AAPL = [0, "AAPL", "STK", "", "", "", "", "SMART", "", "USD", "", ""]
