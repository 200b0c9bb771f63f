"""Uploads are analysed in a worker process, not in the review server's process.

A real `analyzer serve` (waitress, loopback) analyses a real upload while its requests are
timed; the worker is then killed with SIGKILL in the middle of a report, and the upload must
be failed with the reason while the server answers on and a fresh worker analyses the same
file again; SIGTERM of the server leaves no worker behind (checked in /proc). The time and
memory limits are checked on the app in this process, with a real worker process.
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

from analyzer import accounts
from analyzer.db.connection import open_db
from analyzer.reading.limits import Limits
from analyzer.web.app import make_app
from analyzer.web.upload_worker import MODULE
from tests.conftest import REPO
from tests.pdf_factory import folio_pdf
from tests.processes_support import CASE, Proc, descendants, env_with_case, tagged
from tests.review_support import PASSWORD
from tests.test_processes import kill_and_check, wait_until_up
from tests.test_web_api import login

pytestmark = pytest.mark.slow

sys.path.insert(0, str(REPO / "benchmarks"))
import load  # noqa: E402  (benchmarks/load.py: free ports, logging in over HTTP)

FINISHED = ("done", "failed")


def new_db(folder: Path, password: str = PASSWORD) -> Path:
    """An empty database with one analyst, ann."""
    path = folder / "analyzer.db"
    db = open_db(path)
    accounts.add_user(db, "ann", password, "analyst")
    db.close()
    return path


def worker_of(case: str, server_pid: int, other_than: int | None = None) -> Proc:
    """The server's upload worker: a child of the server running the worker module."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for proc in tagged(case, CASE):
            if proc.ppid == server_pid and MODULE in proc.cmdline and proc.pid != other_than:
                return proc
        time.sleep(0.1)
    raise AssertionError(f"no upload worker under {server_pid}: {tagged(case, CASE)}")


def upload(client: load.Client, pdf: Path) -> str:
    """Post one PDF through the upload form, as a browser does; the page it lands on."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{client.token}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{pdf.name}"\r\nContent-Type: application/pdf\r\n\r\n'.encode(),
            pdf.read_bytes(),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    request = urllib.request.Request(f"{client.base}/upload", data=body)
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    with client.opener.open(request, timeout=60) as response:
        return response.read().decode()


def latest(client: load.Client) -> dict:
    return client.call("/api/uploads")["uploads"][0]


def timed_get(client: load.Client, path: str) -> float:
    clock = time.perf_counter()
    with client.opener.open(f"{client.base}{path}", timeout=30) as response:
        assert response.status == 200
        response.read()
    return time.perf_counter() - clock


def test_serve_analyses_uploads_in_a_worker_that_can_die_alone(tmp_path, sample_pdf):
    db_path = new_db(tmp_path, load.PASSWORD)
    case, port = uuid.uuid4().hex, load.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "serve", "--port", str(port), "--db", str(db_path)],
        env=env_with_case(case), cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115 (the child holds it)
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, server)
        worker = worker_of(case, server.pid)  # started with the server: the model loads now
        client = load.Client(base, "ann")
        client.login()

        # 1. An upload is analysed in the worker while the server answers within moments.
        assert "analysis queued" in upload(client, sample_pdf)
        during = []
        while (state := latest(client))["status"] not in FINISHED:
            if state["status"] == "running":
                during += [timed_get(client, "/api/uploads"), timed_get(client, "/")]
            time.sleep(0.05)
        assert state["status"] == "done", state
        assert state["pages"] > 0 and state["candidates"] > 0 and state["document_id"]
        assert len(during) >= 4, f"too few requests during the analysis: {during}"
        assert max(during) < 2.0, f"the server was slow during the analysis: {during}"
        procs = tagged(case, CASE)
        parsers = {p.pid for p in procs if "forkserver" in p.cmdline}
        assert parsers, "the PDF was parsed in a forkserver's child"
        assert parsers <= descendants(worker.pid, procs), "parsed under the worker, not serve"

        # 2. The worker killed mid-report: that upload fails with the reason, nothing of it
        # is stored, the server answers on and a fresh worker analyses the file again.
        long_pdf = tmp_path / "long-report.pdf"
        folio_pdf(long_pdf, n_pages=80)
        upload(client, long_pdf)
        while latest(client)["status"] != "running":
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (state := latest(client))["status"] not in FINISHED:
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert state["status"] == "failed" and state["stage"] == "failed", state
        assert "worker was killed (SIGKILL)" in state["error"], state
        assert timed_get(client, "/") < 2.0
        db = open_db(db_path)
        assert not list(db["documents"].rows_where("file_name = ?", [long_pdf.name]))
        db.close()
        fresh = worker_of(case, server.pid, other_than=worker.pid)
        assert "analysis queued" in upload(client, long_pdf)
        deadline = time.monotonic() + 120
        while (state := latest(client))["status"] not in FINISHED:
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert state["status"] == "done" and state["pages"] == 80, state
        assert worker_of(case, server.pid).pid == fresh.pid
    except BaseException:
        server.kill()
        server.wait(30)
        raise
    # 3. Stopped as a service manager stops it: the worker and its parse helpers end too.
    kill_and_check(server, case, signal.SIGTERM)
    # No traceback from the server or its worker (a parse child whose reader was killed may
    # still print its broken pipe there: reading/sandbox.py).
    assert "analyzer/web/" not in (tmp_path / "serve.log").read_text(errors="replace")


def analyse_in_process(tmp_path: Path, embedder, limits: Limits, pause: bool) -> dict:
    """Upload a report to an app in this process with ``limits``; ``pause``: stop the
    worker (SIGSTOP) as soon as it runs. The upload's final row, the worker stopped."""
    pdf = tmp_path / "report.pdf"
    folio_pdf(pdf, n_pages=40)
    app = make_app(new_db(tmp_path), embedder=embedder, limits=limits)
    worker = app.extensions["worker"]
    try:
        client = login(app, "ann")
        form = {"files": (pdf.open("rb"), pdf.name), "csrf_token": client.token}
        assert client.post("/upload", data=form).status_code == 302
        deadline = time.monotonic() + 120
        while (state := client.get("/api/uploads").json["uploads"][0])["status"] not in FINISHED:
            assert time.monotonic() < deadline, state
            if pause and state["status"] == "running" and worker.pid:
                os.kill(worker.pid, signal.SIGSTOP)
                pause = False
            time.sleep(0.02)
        assert client.get("/").status_code == 200  # the app answers on
        return state
    finally:
        worker.stop()
        app.extensions["renderer"].close()
        assert worker.pid is None, "the worker ended with the app"


def test_a_worker_past_the_time_limit_is_killed_and_the_upload_failed(tmp_path, embedder):
    clock = time.monotonic()
    state = analyse_in_process(tmp_path, embedder, Limits(seconds=3), pause=True)
    assert state["status"] == "failed", state
    assert state["error"] == "refused: analysing it took longer than the limit of 3 s"
    assert time.monotonic() - clock < 60


def test_a_worker_past_the_memory_limit_fails_the_upload_with_the_reason(tmp_path, embedder):
    state = analyse_in_process(tmp_path, embedder, Limits(memory_mb=700), pause=False)
    assert state["status"] == "failed", state
    assert "memory limit of 700 MB" in state["error"], state
