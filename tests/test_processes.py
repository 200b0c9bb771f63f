"""No process outlives its parent: `season run`, `analyze` and `serve` are killed with
SIGKILL (and `serve` stopped with SIGTERM, as a service manager does) while their helpers
run, and /proc is searched for anything they started that is still alive a few seconds
later. Each command runs as a user runs it (``python -m analyzer``), tagged through its
environment so that a helper reparented to PID 1 is still found.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from analyzer.db.connection import now, open_db
from analyzer.db.uploads import insert_upload
from tests.conftest import REPO
from tests.pdf_factory import folio_pdf
from tests.processes_support import env_with_case, wait_for, wait_until_gone
from tests.review_support import copy_db, template_db, template_pdf
from tests.test_season import season_folder

pytestmark = pytest.mark.slow

sys.path.insert(0, str(REPO / "benchmarks"))
import load  # noqa: E402  (benchmarks/load.py: start the server, log in)


def start(args: list[str], case: str, db: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "analyzer", *args],
        env=env_with_case(case, ANALYZER_DB=str(db)),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until_up(base: str, server: subprocess.Popen, seconds: float = 90) -> None:
    """Return once the server answers; fail if it ended or never answered."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server ended"
        try:
            urllib.request.urlopen(f"{base}/login", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not answer within {seconds:.0f} s")


def kill_and_check(proc: subprocess.Popen, case: str, signum: int = signal.SIGKILL) -> None:
    os.kill(proc.pid, signum)
    proc.wait(60)
    survivors = wait_until_gone(case, seconds=10)
    assert survivors == [], f"still running after {signal.Signals(signum).name}: {survivors}"


def test_kill_9_of_season_run_leaves_no_worker_or_forkserver(tmp_path, sample_pdf):
    folder, index = season_folder(tmp_path, sample_pdf)
    case = uuid.uuid4().hex
    run = start(["season", "run", str(folder), "--season", "2025", "--index", str(index)],
                case, tmp_path / "s.db")  # fmt: skip
    # The run, its resource tracker and forkserver, two workers and a parse child or two.
    helpers = wait_for(case, 5)
    assert any("forkserver" in p.cmdline for p in helpers)
    kill_and_check(run, case)


def test_kill_9_of_analyze_while_parsing_leaves_nothing(tmp_path):
    pdf = folio_pdf(tmp_path / "report.pdf", n_pages=40) and tmp_path / "report.pdf"
    case = uuid.uuid4().hex
    run = start(["analyze", str(pdf)], case, tmp_path / "a.db")
    wait_for(case, 3)  # the command, its forkserver, the parse child (or resource tracker)
    kill_and_check(run, case)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_stopping_serve_ends_its_renderer_and_analysis_helpers(
    tmp_path_factory, tmp_path, embedder, signum
):
    db_path = copy_db(template_db(tmp_path_factory, embedder), tmp_path)
    (name,) = load.add_reviewers(db_path, 1)
    # An upload waiting when the server starts: the server analyses it at once (forkserver).
    upload = tmp_path / "queued.pdf"
    folio_pdf(upload, n_pages=30)
    db = open_db(db_path)
    insert_upload(db, {"sha256": "0" * 64, "file_name": "queued.pdf",
                       "stored_path": str(upload), "size": upload.stat().st_size,
                       "status": "queued", "stage": "waiting", "uploaded_by": name,
                       "created_at": now(), "updated_at": now()})  # fmt: skip
    db.close()
    case = uuid.uuid4().hex
    port = load.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "serve", "--port", str(port), "--db", str(db_path)],
        env=env_with_case(case),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, server)
        client = load.Client(base, name)
        client.login()
        image = client.opener.open(f"{base}/documents/1/pages/1.png", timeout=60).read()
        assert image.startswith(b"\x89PNG"), "the page renderer runs"
        procs = wait_for(case, 3)
        assert any("spawn" in p.cmdline for p in procs), f"a renderer child: {procs}"
    except BaseException:
        server.kill()
        server.wait(30)
        raise
    kill_and_check(server, case, signum)
    assert template_pdf().exists()
