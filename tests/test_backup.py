"""`analyzer backup` while reviewers write, and `analyzer restore`, as an operator runs them.

Four reviewers decide through a running `analyzer serve` (real waitress, real HTTP); a
backup is taken by the installed command in the middle. The copy must open, pass
``PRAGMA integrity_check`` and hold every decision acknowledged before the backup started;
the server must keep answering. Then the backup is restored as a new database.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import pytest

from tests.conftest import REPO, run_cli
from tests.processes_support import env_with_case
from tests.review_support import copy_db, template_db
from tests.test_processes import wait_until_up

pytestmark = pytest.mark.slow

sys.path.insert(0, str(REPO / "benchmarks"))
import load  # noqa: E402  (benchmarks/load.py: reviewers deciding over HTTP)


def decision_ids(path) -> set[int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # the server may be writing it
    try:
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
        return {row[0] for row in con.execute("select id from decisions")}
    finally:
        con.close()


def test_a_backup_during_writes_holds_every_acknowledged_decision(
    tmp_path_factory, tmp_path, embedder
):
    db_path = copy_db(template_db(tmp_path_factory, embedder), tmp_path)
    names = load.add_reviewers(db_path, 4)
    port = load.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "serve", "--port", str(port), "--db", str(db_path)],
        env=env_with_case(uuid.uuid4().hex), cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115 (the child holds it)
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, server)
        outcome = {}
        writers = threading.Thread(
            target=lambda: outcome.update(tally=load.run_load(base, names, 8.0)[0])
        )
        writers.start()
        time.sleep(4.0)
        tally_ref = decision_ids(db_path)  # committed, so acknowledged, before the backup
        backup = tmp_path / "backup.db"
        made = subprocess.run(
            [sys.executable, "-m", "analyzer", "backup", str(backup), "--db", str(db_path)],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        writers.join(120)
        assert made.returncode == 0, made.stderr
        assert "integrity check ok" in made.stdout
        tally = outcome["tally"]
        assert tally.acked and not [e for e in tally.errors if e.startswith("HTTP 5")]
        copied = decision_ids(backup)
        assert tally_ref <= copied, "every decision committed before the backup is in it"
        assert tally_ref, "decisions were written before the backup"
        assert load.lost_writes(db_path, tally.acked) == 0, "the server lost nothing"
        assert backup.stat().st_mode & 0o077 == 0, "as private as the database"
    finally:
        server.terminate()
        server.wait(30)

    # Restore: refused over an existing database without --replace, one line, exit 1.
    again = run_cli("backup", str(backup), db=db_path)
    assert again.returncode == 1 and "exists already" in again.stderr
    refused = run_cli("restore", str(backup), db=db_path)
    assert refused.returncode == 1 and "--replace" in refused.stderr
    fresh = tmp_path / "restored.db"
    restored = run_cli("restore", str(backup), db=fresh)
    assert restored.returncode == 0, restored.stderr
    assert decision_ids(fresh) == copied
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"hello")
    broken = run_cli("restore", str(bad), db=tmp_path / "x.db")
    assert broken.returncode == 1 and "not a usable SQLite database" in broken.stderr
