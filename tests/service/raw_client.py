"""A bare ZeroMQ client of the service for the tests: speaks the wire protocol directly (as a
module in another language would), so that the tests can send bad frames, and hold an events
socket without reading it."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import zmq

from platform_adapter.service.schema import pack, unpack, unpack_stream


class RawClient:
    def __init__(self, commands: str) -> None:
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.cmd = self.ctx.socket(zmq.DEALER)
        self.cmd.setsockopt(zmq.LINGER, 0)
        self.cmd.connect(commands)
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.session: str | None = None
        self.events: zmq.Socket[Any] | None = None
        self._beating = threading.Event()

    def send_raw(self, *frames: bytes, timeout: float = 10.0) -> dict[str, Any]:
        with self.lock:
            self.cmd.send_multipart(list(frames))
            if not self.cmd.poll(timeout * 1000):
                raise AssertionError(f"no reply within {timeout}s")
            reply: dict[str, Any] = unpack(self.cmd.recv())
            return reply

    def call(self, cmd: str, args: dict[str, Any] | None = None, **envelope: Any) -> dict[str, Any]:
        msg = {"v": 1, "id": next(self.ids), "cmd": cmd, "args": args or {}, **envelope}
        if self.session is not None:
            msg.setdefault("session", self.session)
        return self.send_raw(pack(msg))

    def hello(self, name: str) -> dict[str, Any]:
        reply = self.call("hello", {"name": name})
        assert reply["ok"], reply
        self.session = reply["result"]["session"]
        return dict(reply["result"])

    def attach(self, endpoint: str, rcvhwm: int = 1000) -> list[dict[str, Any]]:
        self.events = self.ctx.socket(zmq.DEALER)
        self.events.setsockopt(zmq.LINGER, 0)
        self.events.setsockopt(zmq.RCVHWM, rcvhwm)
        self.events.setsockopt(zmq.RCVBUF, 4096)
        self.events.connect(endpoint)
        self.events.send(pack({"v": 1, "attach": self.session}))
        return self.read_events(until=lambda evs: any(e.get("ev") == "attached" for e in evs))

    def read_events(self, seconds: float = 5.0, until: Any = None) -> list[dict[str, Any]]:
        assert self.events is not None
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.events.poll(20):
                out.extend(unpack_stream(self.events.recv()))
                if until is not None and until(out):
                    return out
        return out

    def keep_alive(self, interval: float = 0.2) -> None:
        """Heartbeat on a thread of its own socket (the session stays while events are not read)."""
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.cmd.getsockopt_string(zmq.LAST_ENDPOINT))

        def beat() -> None:
            while not self._beating.wait(interval):
                sock.send(pack({"v": 1, "id": 0, "cmd": "heartbeat", "session": self.session, "args": {}}))
                if sock.poll(1000):
                    sock.recv()
            sock.close(linger=0)

        threading.Thread(target=beat, daemon=True).start()

    def close(self) -> None:
        self._beating.set()
        time.sleep(0.05)
        self.ctx.destroy(linger=0)
