"""RequestRegistry: request ids, waiting, failing, timeouts; the EndWaiter of list requests."""

from __future__ import annotations

import threading

import pytest

from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.errors import NotConnected, PlatformAdapterError, RequestTimeout


def test_registry_lifecycle() -> None:
    reg = RequestRegistry(first_id=100)
    p = reg.start("contract_details")
    assert p.req_id == 100 and len(reg) == 1
    assert reg.append(100, "a") and reg.append(100, "b")
    assert not reg.append(999, "x")
    assert reg.finish(100)
    assert p.wait(0.1) == ["a", "b"]
    assert not reg.finish(100)
    assert reg.pending_kinds() == []


def test_registry_fail_timeout_duplicate_and_fail_all() -> None:
    reg = RequestRegistry(first_id=1)
    p = reg.start("x")
    reg.fail(p.req_id, ValueError("boom"))
    with pytest.raises(ValueError):
        p.wait(0.1)
    q = reg.start("slow")
    with pytest.raises(RequestTimeout, match="slow"):
        q.wait(0.01)
    with pytest.raises(PlatformAdapterError, match="already pending"):
        reg.start("dup", req_id=q.req_id)
    others = [reg.start("k") for _ in range(3)]
    assert reg.fail_all(NotConnected("gone")) == 4
    for o in others:
        with pytest.raises(NotConnected):
            o.wait(0.1)
    assert not reg.fail(q.req_id, ValueError())
    reg.discard(12345)


def test_registry_ids_unique_across_threads() -> None:
    reg = RequestRegistry()
    ids: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(500):
            i = reg.next_id()
            with lock:
                ids.append(i)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 2000


def test_end_waiter_finishes_times_out_and_fails_fast_on_link_loss() -> None:
    from platform_adapter.core.request_registry import EndWaiter

    reg = RequestRegistry()
    waiter = EndWaiter(reg, "openOrderEnd")
    waiter.begin()
    waiter.done()
    waiter.wait(1)
    assert len(reg) == 0
    waiter.begin()
    with pytest.raises(RequestTimeout, match="no openOrderEnd within 0.01s"):
        waiter.wait(0.01)
    assert len(reg) == 0
    waiter.begin()
    threading.Timer(0.05, reg.fail_all, args=(NotConnected("link lost"),)).start()
    with pytest.raises(NotConnected):
        waiter.wait(30)  # not the 30 s timeout: the dropped link ends it
    with pytest.raises(PlatformAdapterError, match="without begin"):
        waiter.wait(1)
    waiter.done()  # a late End is ignored


def test_a_request_whose_send_failed_on_a_closing_socket_is_not_connected() -> None:
    """ibapi reports a send that failed (the link dropped as the request went out) as its own
    "<request> Sending Error" code, e.g. 527 for historical data: the request fails with
    NotConnected, as when the drop is seen first, not with an IBError the caller must decode."""
    reg = RequestRegistry()
    pending = reg.start("historical")
    assert reg.fail_from_ib(pending.req_id, 527, "Request Historical Data Sending Error - [Errno 32] Broken pipe")
    with pytest.raises(NotConnected, match="527"):
        pending.wait(1)
    other = reg.start("contract_details")
    assert reg.fail_from_ib(other.req_id, 200, "No security definition has been found for the request")
    with pytest.raises(PlatformAdapterError) as info:
        other.wait(1)
    assert not isinstance(info.value, NotConnected)
