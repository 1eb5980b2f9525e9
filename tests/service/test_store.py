"""The service store: numbered events per client, acknowledged ones forgotten, a fill numbered
once per client however often it is reported, and everything still there after a reopen."""

from __future__ import annotations

from pathlib import Path

from platform_adapter.service.store import ServiceStore


def test_events_are_numbered_per_client_and_kept_until_acknowledged(tmp_path: Path) -> None:
    store = ServiceStore(tmp_path / "s.db")
    assert [store.append("a", "order_status", b"1", False) for _ in range(3)] == [1, 2, 3]
    assert store.append("b", "order_status", b"x", True) == 1
    assert [e.seq for e in store.after("a", 1)] == [2, 3]
    store.ack("a", 2)
    assert store.acked("a") == 2 and [e.seq for e in store.after("a", 0)] == [3]
    store.ack("a", 1)  # never backwards
    store.ack("a", 9)  # never past what was numbered
    assert store.acked("a") == 2
    assert store.append("a", "fill", b"f", True) == 4
    store.close()
    again = ServiceStore(tmp_path / "s.db")
    assert again.last_seq("a") == 4 and again.acked("a") == 2
    assert [(e.seq, e.kind, e.body, e.sent) for e in again.after("a", 2)] == [
        (3, "order_status", b"1", False), (4, "fill", b"f", True)]


def test_a_fill_is_numbered_once_per_client(tmp_path: Path) -> None:
    store = ServiceStore(tmp_path / "s.db")
    assert store.append("a", "fill", b"f", True, exec_id="E1") == 1
    assert store.append("a", "fill", b"f", True, exec_id="E1") is None
    store.ack("a", 1)  # forgotten events still block the duplicate
    assert store.append("a", "fill", b"f", True, exec_id="E1") is None
    assert store.append("b", "fill", b"f", True, exec_id="E1") == 1


def test_owners_survive_a_reopen(tmp_path: Path) -> None:
    store = ServiceStore(tmp_path / "s.db")
    store.set_owner(5, "a")
    store.set_owner(6, "b")
    store.close()
    assert ServiceStore(tmp_path / "s.db").owners() == {5: "a", 6: "b"}
    assert ServiceStore(":memory:").owners() == {}
