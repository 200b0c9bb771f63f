"""A season's index as users write it, mistakes included, and a run stopped with Ctrl-C.

The index names a file the folder lacks, lists a file twice, gives a year that is none, and
leaves out a file of the folder: each is one line before any work starts, and `--strict`
stops there. A corrected index is applied to reports already analysed without analysing
them again; `season status` names the reports without a company and `season list` shows
the season the run made. Ctrl-C (SIGINT to the run's process group, as a terminal sends
it) ends the run with what is done and pending and how to go on, exit 130, no traceback,
and no process left behind.
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests import pdf_factory
from tests.conftest import REPO, run_cli
from tests.processes_support import env_with_case, wait_until_gone

pytestmark = pytest.mark.slow


def write_index(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "company", "fiscal_year", "document"])
        w.writerows(rows)
    return path


def small_season(root: Path) -> Path:
    folder = root / "season"
    folder.mkdir()
    pdf_factory.folio_pdf(folder / "acme-2025.pdf")
    pdf_factory.two_column_pdf(folder / "beta-2025.pdf")
    return folder


def count(db: Path, sql: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_index_mistakes_are_listed_first_and_strict_stops(tmp_path):
    folder = small_season(tmp_path)
    index = write_index(
        tmp_path / "INDEX.csv",
        [
            ["acme-2025.pdf", "Acme", "FY2025", "Annual Report"],
            ["acme-2025.pdf", "Acme Corp", "2025", "Annual Report"],
            ["ghost-2025.pdf", "Ghost", "2025", "CSRD report"],
            ["gamma-2025.pdf", "Gamma", "next year", "CSRD report"],
        ],
    )
    db = tmp_path / "s.db"
    args = ["season", "run", str(folder), "--season", "2025", "--index", str(index)]
    strict = run_cli(*args, "--strict", db=db)
    assert strict.returncode == 1
    lines = [line for line in strict.stderr.splitlines() if line.startswith("index: ")]
    assert lines == [
        "index: INDEX.csv line 3: acme-2025.pdf is listed again (line 2 counts)",
        "index: INDEX.csv line 5: gamma-2025.pdf: fiscal year 'next year' is not a year",
        "index: beta-2025.pdf: no row in the index (stored without company, year or type)",
        "index: INDEX.csv line 4: ghost-2025.pdf is not in the folder",
        "index: INDEX.csv line 5: gamma-2025.pdf is not in the folder",
    ]
    assert "stopped before any work: 5 index problems (--strict)" in strict.stderr
    assert "Traceback" not in strict.stderr
    assert not db.exists(), "nothing was started, not even the database"

    # Without --strict the same lines come first, then the work.
    run = run_cli(*args, db=db)
    assert run.returncode == 0, run.stderr
    assert lines[0] in run.stderr
    assert "1 reports without a company (on no leaderboard): beta-2025.pdf" in run.stdout
    status = run_cli("season", "status", "--season", "2025", db=db)
    assert "without a company" in status.stdout and "beta-2025.pdf" in status.stdout
    listed = run_cli("season", "list", db=db)
    assert "2025" in listed.stdout and "not set" in listed.stdout

    # The index corrected: applied to the stored reports, nothing analysed again.
    runs = count(db, "select count(*) from runs")
    fixed = write_index(
        tmp_path / "INDEX.csv",
        [
            ["acme-2025.pdf", "Acme Corp", "2025", "Annual Report"],
            ["beta-2025.pdf", "Beta", "2025", "CSRD report"],
        ],
    )
    again = run_cli("season", "run", str(folder), "--season", "2025", "--index", str(fixed), db=db)
    assert again.returncode == 0, again.stderr
    assert "index: acme-2025.pdf: company, year or type updated" in again.stderr
    assert "index: beta-2025.pdf: company, year or type updated" in again.stderr
    assert count(db, "select count(*) from runs") == runs, "no report analysed again"
    con = sqlite3.connect(db)
    companies = dict(con.execute("select file_name, company from documents").fetchall())
    con.close()
    assert companies == {"acme-2025.pdf": "Acme Corp", "beta-2025.pdf": "Beta"}
    status = run_cli("season", "status", "--season", "2025", db=db)
    assert "without a company" not in status.stdout


def test_ctrl_c_says_what_is_done_and_pending_and_leaves_nothing(tmp_path):
    folder = tmp_path / "season"
    folder.mkdir()
    for n in range(8):  # eight distinct small reports: some are pending at the first stored
        pdf_factory.folio_pdf(folder / f"r{n}-2025.pdf", n_pages=6 + n, first_folio=3 + n)
    db = tmp_path / "c.db"
    case = uuid.uuid4().hex
    run = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "season", "run", str(folder), "--season", "2025"],
        env=env_with_case(case, ANALYZER_DB=str(db)),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a command
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and run.poll() is None:
        if db.exists() and _done(db) >= 1:
            break
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C reaches every process of the group
    out, err = run.communicate(timeout=120)
    assert run.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted: season 2025:" in err and "pending" in err
    assert "run the same command again to finish the rest" in err
    assert wait_until_gone(case) == []


def _done(path: Path) -> int:
    try:
        return count(path, "select count(*) from season_runs where status = 'done'")
    except sqlite3.Error:
        return 0
