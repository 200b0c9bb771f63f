"""A season at once: register, analyse, stop anywhere with kill -9, resume to the same end.

The season is a folder of small real PDFs made by the tests (the generated sample report
and two of the factory's reports) plus one file that is not a PDF, with an index naming
companies. The resume test kills `analyzer season run` (the installed command, as a user
runs it) after its first report is stored, runs it again, and compares the final database
with an uninterrupted run's, row by row.
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analyzer.db.connection import open_db
from analyzer.pipeline import Analyzer, Settings
from analyzer.season_run import SeasonError, plan_season, run_season, season_status
from tests import pdf_factory
from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow


def season_folder(root: Path, sample_pdf: Path) -> tuple[Path, Path]:
    folder = root / "season"
    folder.mkdir()
    (folder / "northwind-2025.pdf").write_bytes(sample_pdf.read_bytes())
    pdf_factory.folio_pdf(folder / "acme-2025.pdf")
    pdf_factory.two_column_pdf(folder / "beta-2025.pdf")
    pdf_factory.not_a_pdf(folder / "broken-2025.pdf")
    index = root / "INDEX.csv"
    with open(index, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "company", "fiscal_year", "document"])
        w.writerow(["northwind-2025.pdf", "Northwind Motors", "FY2025", "Sustainability Report"])
        w.writerow(["acme-2025.pdf", "Acme", "FY2025", "Annual Report"])
        w.writerow(["beta-2025.pdf", "Beta", "2025", "CSRD report"])
    return folder, index


def snapshot(db_path: Path) -> dict:
    """What a season run leaves, without ids and times (those differ between runs)."""
    con = sqlite3.connect(db_path)
    q = con.execute
    out = {
        "documents": sorted(
            q(
                "select sha256, file_name, company, fiscal_year, report_type, season, page_count "
                "from documents"
            ).fetchall()  # fmt: skip
        ),
        "passages": sorted(
            q(
                "select d.sha256, p.seq, p.content_hash from passages p "
                "join documents d on d.id = p.document_id"
            ).fetchall()  # fmt: skip
        ),
        "candidates": sorted(
            q(
                "select d.sha256, c.criterion_id, c.rank, p.content_hash, c.quote, c.pdf_page "
                "from candidates c join documents d on d.id = c.document_id "
                "join passages p on p.id = c.passage_id"
            ).fetchall()  # fmt: skip
        ),
        "drafts": sorted(
            q(
                "select d.sha256, x.criterion_id, x.level from drafts x "
                "join documents d on d.id = x.document_id"
            ).fetchall()  # fmt: skip
        ),
        "season": sorted(
            q("select file_name, status, pages, passages, company from season_runs").fetchall()
        ),
        "runs running": q("select count(*) from runs where status = 'running'").fetchone()[0],
    }
    con.close()
    return out


def test_a_season_runs_once_and_a_second_run_has_nothing_to_do(tmp_path, sample_pdf, embedder):
    folder, index = season_folder(tmp_path, sample_pdf)
    plan = plan_season(folder, "2025", index)
    assert [r["file_name"] for r in plan.reports] == sorted(
        ["acme-2025.pdf", "beta-2025.pdf", "broken-2025.pdf", "northwind-2025.pdf"]
    )
    db = open_db(tmp_path / "s.db")
    analyzer = Analyzer(db, Settings(), embedder)
    seen = []
    rows = run_season(db, plan, analyzer, lambda row, result: seen.append(row["file_name"]))
    status = {r["file_name"]: r for r in rows}
    assert {k: v["status"] for k, v in status.items()} == {
        "acme-2025.pdf": "done",
        "beta-2025.pdf": "done",
        "broken-2025.pdf": "failed",
        "northwind-2025.pdf": "done",
    }
    assert "not a PDF" in status["broken-2025.pdf"]["error"]
    assert status["northwind-2025.pdf"]["pages"] == 32 and status["northwind-2025.pdf"]["passages"]
    docs = {d["file_name"]: d for d in db["documents"].rows}
    assert docs["northwind-2025.pdf"]["company"] == "Northwind Motors"
    assert docs["northwind-2025.pdf"]["fiscal_year"] == "2025"
    assert {d["season"] for d in docs.values()} == {"2025"}
    assert season_status(db, "2025") == rows
    # Again: only the failed report is tried again; nothing done is analysed twice.
    seen.clear()
    run_season(db, plan, analyzer, lambda row, result: seen.append(row["file_name"]))
    assert seen == ["broken-2025.pdf"]
    with pytest.raises(SeasonError, match="named by its year"):
        plan_season(folder, "spring", index)


def test_killed_anywhere_and_resumed_it_ends_as_an_uninterrupted_run(tmp_path, sample_pdf):
    folder, index = season_folder(tmp_path, sample_pdf)
    whole = tmp_path / "whole.db"
    proc = run_cli("season", "run", str(folder), "--season", "2025", "--index", str(index),
                   db=whole)  # fmt: skip
    assert proc.returncode == 1, "one report failed: the exit status says so"
    assert "broken-2025.pdf" in proc.stdout and "not a PDF" in proc.stdout

    resumed = tmp_path / "resumed.db"
    env = {**os.environ, "ANALYZER_DB": str(resumed)}
    args = [sys.executable, "-m", "analyzer", "season", "run", str(folder), "--season", "2025",
            "--index", str(index)]  # fmt: skip
    for delay in (0.0, None):  # kill at once, then after the first stored report
        child = subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.time() + 120
        while time.time() < deadline and child.poll() is None:
            if delay == 0.0 and resumed.exists():
                break
            if delay is None and resumed.exists() and _done(resumed) >= 1:
                break
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    proc = run_cli("season", "run", str(folder), "--season", "2025", "--index", str(index),
                   db=resumed)  # fmt: skip
    assert proc.returncode == 1
    assert snapshot(resumed) == snapshot(whole)
    status = run_cli("season", "status", "--season", "2025", db=resumed)
    assert status.returncode == 0 and "northwind-2025.pdf" in status.stdout


def _done(path: Path) -> int:
    try:
        con = sqlite3.connect(path, timeout=1)
        n = con.execute("select count(*) from season_runs where status = 'done'").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0
