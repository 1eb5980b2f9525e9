"""The order id allocator: never an id twice, the gateway's nextValidId taken into account, the
mark persisted first."""

from __future__ import annotations

import threading

import pytest

from platform_adapter.adapters.orders.ids import OrderIdAllocator


def test_allocator_is_thread_safe() -> None:
    ids = OrderIdAllocator(high_water=10)
    got: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            value = ids.allocate()
            with lock:
                got.append(value)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(11, 11 + 1600))


def test_a_lower_next_valid_id_never_brings_an_id_back() -> None:
    persisted: list[int] = []
    ids = OrderIdAllocator(high_water=10, persist=persisted.append)
    ids.sync(5)  # a restarted gateway
    assert ids.allocate() == 11 and persisted == [11]
    ids.sync(100)
    ids.sync(None)
    assert ids.allocate() == 100 and ids.high_water == 100


def test_load_never_lowers_the_mark_and_takes_the_persister() -> None:
    ids = OrderIdAllocator(high_water=50)
    persisted: list[int] = []
    ids.load(20, persisted.append)
    assert ids.allocate() == 51 and persisted == [51]
    ids.load(70, None)
    assert ids.allocate() == 71 and persisted == [51]


def test_a_failing_persister_hands_out_no_id() -> None:
    def fail(order_id: int) -> None:
        raise OSError("disk full")

    ids = OrderIdAllocator(high_water=3, persist=fail)
    with pytest.raises(OSError):
        ids.allocate()
    assert ids.high_water == 3
