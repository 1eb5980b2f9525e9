"""The service store: numbered events per client, acknowledged ones forgotten, a fill (and an
order's final status) numbered once per client however often it is reported, and everything still
there after a reopen."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from platform_adapter.service.store import ServiceStore
from tests.conftest import FailsOnce, wait_for


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


_FINAL_KILLED = """
import os, signal, sys
from platform_adapter.service.store import ServiceStore
store = ServiceStore(sys.argv[1], commit_pause=3600, max_commit_delay=3600)
store.append("a", "order_status", b"c", True, final=(5, "Cancelled 0"))  # in the intent log only
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_final_status_is_numbered_once_per_order_and_client(tmp_path: Path) -> None:
    """An order's final status (state and filled quantity) is numbered once for a client, also
    after a reopen or a kill (a restarted service whose adapter reports it again); another final
    status of the order (more filled, another state) is numbered."""
    store = ServiceStore(tmp_path / "s.db")
    assert store.append("a", "order_status", b"c", True, final=(5, "Cancelled 0")) == 1
    assert store.append("a", "order_status", b"c", True, final=(5, "Cancelled 0")) is None
    assert store.append("b", "order_status", b"c", True, final=(5, "Cancelled 0")) == 1
    assert store.append("a", "order_status", b"c2", True, final=(5, "Cancelled 2")) == 2
    store.ack("a", 2)  # forgotten events still block the repeat
    store.close()
    again = ServiceStore(tmp_path / "s.db")
    assert again.append("a", "order_status", b"c2", True, final=(5, "Cancelled 2")) is None
    assert again.append("a", "order_status", b"i", True, final=(6, "Inactive 0")) == 3
    assert again.append("a", "order_status", b"c", True, final=(6, "Cancelled 0")) == 4
    again.close()

    killed = tmp_path / "k.db"
    child = subprocess.run([sys.executable, "-c", _FINAL_KILLED, str(killed)], capture_output=True, text=True,
                           timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert child.returncode == -signal.SIGKILL, child.stderr
    store = ServiceStore(killed)
    assert store.last_seq("a") == 1
    assert store.append("a", "order_status", b"c", True, final=(5, "Cancelled 0")) is None
    store.close()


def test_owners_survive_a_reopen(tmp_path: Path) -> None:
    store = ServiceStore(tmp_path / "s.db")
    store.set_owner(5, "a")
    store.set_owner(6, "b")
    store.close()
    assert ServiceStore(tmp_path / "s.db").owners() == {5: "a", 6: "b"}
    assert ServiceStore(":memory:").owners() == {}


def test_reads_see_queued_writes_and_sqlite_gets_them_in_a_pause(tmp_path: Path) -> None:
    store = ServiceStore(tmp_path / "s.db", commit_pause=3600, max_commit_delay=3600)
    assert store.append("a", "order_status", b"1", True) == 1
    store.set_owner(5, "a")
    assert _committed(tmp_path / "s.db") == ([], {})  # in the intent log only
    assert store.owners() == {5: "a"}  # a read commits first
    assert _committed(tmp_path / "s.db") == ([("a", 1)], {5: "a"})
    store.close()
    paused = ServiceStore(tmp_path / "s.db", commit_pause=0.01)
    paused.append("a", "order_status", b"2", True)
    assert wait_for(lambda: ("a", 2) in _committed(tmp_path / "s.db")[0])  # the writer, after a pause
    paused.close()


def test_an_unexpected_error_in_the_writer_does_not_end_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the writer's turn (its wait for a pause raises once) is logged and counted; the
    writer goes on and commits in the next pause."""
    store = ServiceStore(tmp_path / "s.db", commit_pause=0.01)
    monkeypatch.setattr(store, "_wait_for_pause", FailsOnce(store._wait_for_pause))
    try:
        store.append("a", "order_status", b"1", True)
        assert wait_for(lambda: ("a", 1) in _committed(tmp_path / "s.db")[0])  # by the writer, not a read
        assert store.background_failures == 1
    finally:
        store.close()


def test_a_write_that_cannot_be_made_is_left_out_not_every_commit_after_it() -> None:
    """A write whose commit fails with a bug's error (not the database's: ``sent`` None) is left
    out and logged; the writes after it are committed."""
    store = ServiceStore(":memory:")  # every write committed before it returns
    assert store.append("a", "order_status", b"1", None) == 1  # type: ignore[arg-type]
    assert store.append("a", "order_status", b"2", True) == 2
    store.set_owner(5, "a")
    assert [(e.seq, e.body) for e in store.after("a", 0)] == [(2, b"2")] and store.owners() == {5: "a"}
    store.close()


_KILLED = """
import os, signal, sys
from platform_adapter.service.store import ServiceStore
path, stage = sys.argv[1], sys.argv[2]
store = ServiceStore(path, commit_pause=3600, max_commit_delay=3600)
store.set_owner(7, "a")
for i in range(5):
    store.append("a", "order_status", b"s%d" % i, True)
store.append("a", "fill", b"f", True, exec_id="E1")
store.ack("a", 2)
store.flush()  # 1..6 and the ack in SQLite, the intent log empty again
store.set_owner(8, "b")
for i in range(5):
    store.append("a", "order_status", bytes(range(250, 256)) + b"%d" % i, False)
store.append("b", "fill", b"g", True, exec_id="E1")
store.ack("a", 4)
if stage == "committed":  # killed after the commit, before the intent log was emptied
    with open(path + ".intent", "rb") as f:
        log = f.read()
    store.flush()
    with open(path + ".intent", "r+b") as f:
        f.write(log)
print("recorded", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("stage", ["recorded", "committed"])
def test_a_store_killed_before_its_commit_loses_and_repeats_nothing(tmp_path: Path, stage: str) -> None:
    """The process is killed (SIGKILL) with writes durable in the intent log only (or committed
    while the log still holds them): the next open has every numbered event exactly once."""
    path = tmp_path / "s.db"
    child = subprocess.run([sys.executable, "-c", _KILLED, str(path), stage], capture_output=True, text=True,
                           timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert child.returncode == -signal.SIGKILL and child.stdout == "recorded\n", child.stderr
    events, owners = _committed(path)
    if stage == "recorded":
        assert events == [("a", 3), ("a", 4), ("a", 5), ("a", 6)] and owners == {7: "a"}  # 7.. never committed
    else:
        assert events == [("a", n) for n in range(5, 12)] + [("b", 1)] and owners == {7: "a", 8: "b"}
    for _ in range(2):  # and once more: what the first reopen restored is not restored twice
        store = ServiceStore(path)
        assert store.last_seq("a") == 11 and store.acked("a") == 4 and store.last_seq("b") == 1
        assert store.owners() == {7: "a", 8: "b"}
        got = [(e.seq, e.body, e.sent) for e in store.after("a", 0)]
        assert got == [(5, b"s4", True), (6, b"f", True)] + [
            (7 + i, bytes(range(250, 256)) + b"%d" % i, False) for i in range(5)]
        assert [(e.seq, e.kind, e.body) for e in store.after("b", 0)] == [(1, "fill", b"g")]
        assert store.append("a", "fill", b"f", True, exec_id="E1") is None  # numbered before the kill
        assert store.append("b", "fill", b"g", True, exec_id="E1") is None
        store.close()
    store = ServiceStore(path)
    assert store.append("a", "order_status", b"next", True) == 12  # numbering goes on, no gap
    store.close()


def _committed(path: Path) -> tuple[list[tuple[str, int]], dict[int, str]]:
    """What SQLite itself holds (another connection): the events' (client, seq), the owners."""
    db = sqlite3.connect(path)
    try:
        events = db.execute("SELECT client, seq FROM events ORDER BY client, seq").fetchall()
        return events, dict(db.execute("SELECT order_id, client FROM owners").fetchall())
    finally:
        db.close()
