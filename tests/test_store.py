"""The database layer: two connections writing at once wait for each other, never fail."""

from __future__ import annotations

import threading
import time

from analyzer.db.connection import connect, open_db


def test_a_reading_transaction_then_writing_waits_instead_of_failing(tmp_path):
    path = tmp_path / "a.db"
    open_db(path).execute("PRAGMA journal_mode = WAL")  # as the web app runs it
    first = connect(path)
    first["notes"].insert({"id": 0, "by": "setup"}, pk="id")
    errors: list[Exception] = []

    def other_writer() -> None:
        second = connect(path)  # SQLite connections belong to the thread that made them
        try:
            with second.atomic():
                second["notes"].insert({"id": 2, "by": "second"})
        except Exception as exc:  # pragma: no cover - the failure this test guards against
            errors.append(exc)

    with first.atomic():
        assert first["notes"].count == 1  # a read first ...
        thread = threading.Thread(target=other_writer)
        thread.start()
        time.sleep(0.3)  # ... while another connection tries to write ...
        first["notes"].insert({"id": 1, "by": "first"})  # ... then a write: no "locked"
    thread.join(15)
    assert not errors
    assert sorted(r["by"] for r in first["notes"].rows) == ["first", "second", "setup"]
