"""Faults a season of real use brings: bad input files, kill -9 during analysis and during
review, and many reviewers at once. Every acknowledged write must survive, and nothing
stored before must change.

The load test here is the short version of ``benchmarks/load.py`` (20 clients for 60 s,
recorded in benchmarks/results/load.md).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analyzer.db.connection import open_db
from analyzer.pipeline import Analyzer
from tests.conftest import invoke
from tests.pdf_factory import empty_pdf, folio_pdf, not_a_pdf, truncated_pdf
from tests.review_support import copy_db, template_db
from tests.test_hostile import (
    flipped_copy,
    huge_page_pdf,
    repeated_page_pdf,
    whitespace_bomb,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import load  # noqa: E402  (benchmarks/load.py)


def snapshot(db_path: Path, doc_id: int) -> tuple:
    """What must not change: the document row, its passages and candidates."""
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        return (
            conn.execute(
                "select sha256, page_count from documents where id=?", [doc_id]
            ).fetchall(),
            conn.execute(
                "select id, content_hash from passages where document_id=? order by id", [doc_id]
            ).fetchall(),
            conn.execute(
                "select id, quote from candidates where document_id=? order by id", [doc_id]
            ).fetchall(),
        )
    finally:
        conn.close()


def running_runs(db_path: Path) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("select count(*) from runs where status = 'running'").fetchone()[0]
    finally:
        conn.close()


def test_bad_inputs_fail_one_by_one_and_leave_stored_data_intact(tmp_path, sample_pdf, embedder):
    db_path = tmp_path / "r.db"
    first = Analyzer(open_db(db_path), embedder=embedder).analyze(sample_pdf)
    before = snapshot(db_path, first.doc_id)
    bad = tmp_path / "bad"
    bad.mkdir()
    whitespace_bomb(bad / "bomb.pdf", 48)
    repeated_page_pdf(bad / "tree.pdf")
    huge_page_pdf(bad / "huge.pdf")
    flipped_copy(sample_pdf, bad / "flipped.pdf", flips=400, seed=3)
    truncated_pdf(bad / "truncated.pdf")
    empty_pdf(bad / "empty.pdf")
    not_a_pdf(bad / "fake.pdf")
    os.mkfifo(tmp_path / "pipe.pdf")
    result = invoke(
        "analyze",
        str(bad),
        str(tmp_path / "pipe.pdf"),
        "--max-decompressed-mb",
        "16",
        "--max-pages",
        "1000",
        db=db_path,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for name in ("bomb.pdf", "tree.pdf", "truncated.pdf", "empty.pdf", "fake.pdf", "pipe.pdf"):
        assert f"{name}: " in result.stderr, name
    assert snapshot(db_path, first.doc_id) == before
    assert running_runs(db_path) == 0


@pytest.mark.parametrize("delay", [1.5, 3.0, 4.5])
def test_kill_9_during_analysis_keeps_the_database_whole(tmp_path, sample_pdf, embedder, delay):
    db_path = tmp_path / "k.db"
    first = Analyzer(open_db(db_path), embedder=embedder).analyze(sample_pdf)
    before = snapshot(db_path, first.doc_id)
    other = tmp_path / "other.pdf"
    folio_pdf(other, n_pages=8, first_folio=3)
    env = {**os.environ, "ANALYZER_DB": str(db_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "analyze", str(other), "--company", "Other"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert snapshot(db_path, first.doc_id) == before
    assert running_runs(db_path) == 0  # the runs row lives and dies with the document
    conn = sqlite3.connect(db_path)
    docs = conn.execute("select id from documents").fetchall()
    orphans = conn.execute(
        "select count(*) from candidates where document_id not in (select id from documents)"
    ).fetchone()[0]
    conn.close()
    assert len(docs) in (1, 2) and orphans == 0


@pytest.fixture
def review_db(tmp_path_factory, tmp_path, embedder) -> tuple[Path, list[str]]:
    db_path = copy_db(template_db(tmp_path_factory, embedder), tmp_path)
    return db_path, load.add_reviewers(db_path, 20)


def test_kill_9_of_the_server_during_review_loses_no_acknowledged_write(review_db):
    db_path, names = review_db
    port = load.free_port()
    server = load.start_server(db_path, port)
    try:
        tally, _ = load.run_load(
            f"http://127.0.0.1:{port}", names[:6], 5.0, kill=server, kill_after=2.5
        )
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(30)
    assert tally.acked, "some decisions were acknowledged before the kill"
    assert load.lost_writes(db_path, tally.acked) == 0
    again = load.start_server(db_path, port)  # and the server starts again on the same file
    try:
        client = load.Client(f"http://127.0.0.1:{port}", names[0])
        client.login()
        assert "card" in client.call("/api/next")
    finally:
        again.terminate()
        again.wait(30)


def test_twenty_clients_for_a_few_seconds_lose_no_write(review_db):
    db_path, names = review_db
    port = load.free_port()
    server = load.start_server(db_path, port)
    try:
        tally, elapsed = load.run_load(f"http://127.0.0.1:{port}", names, 6.0)
    finally:
        server.terminate()
        server.wait(30)
    figures = load.summary(tally, elapsed)
    assert figures["errors"] == {}, figures
    assert figures["acked_writes"] > 20
    assert load.lost_writes(db_path, tally.acked) == 0
    assert figures["p95_ms"] < 5000, figures
