"""The SQL the user guide (section 9, "The order journal") gives for reading the journal runs
against the tables ``OrderJournal`` creates: every ``select`` there names real tables and columns."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from platform_adapter.adapters.orders.journal import OrderJournal
from tests.docs.markdown import read, section

HEADING = "## 9. The order journal"


def queries() -> list[str]:
    text = section(read("docs/user_guide.md"), HEADING).replace("\n", " ")
    found = re.findall(r"[\"`'](select [^\"`']+)[\"`']", text)
    assert len(found) >= 3, f"{HEADING}: expected its select statements, found {found}"
    return found


def test_the_guides_queries_run_on_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    OrderJournal(path).close()
    with sqlite3.connect(path) as db:
        for query in queries():
            db.execute(query).fetchall()  # sqlite3.OperationalError names a missing table or column
        columns = {row[1] for row in db.execute("pragma table_info(fills)")}
        assert "notified" in columns
        db.execute("select key, value from meta").fetchall()  # order_id_high_water lives there
