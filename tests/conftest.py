"""Shared fixtures: a real database file, the real embedding model, the real CLI."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.cli.main import app
from tests import processes_support

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Every process the suite starts inherits this tag, so one left behind is found (below).
SESSION_TAG = f"session-{os.getpid()}-{uuid.uuid4().hex[:8]}"
os.environ[processes_support.TAG] = SESSION_TAG

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def embedder():
    """The default embedding model, loaded once for the whole test session."""
    from analyzer.embeddings.model import get_embedder

    return get_embedder()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "analyzer.db"


@pytest.fixture
def db(db_path: Path):
    from analyzer.db.connection import open_db

    return open_db(db_path)


@pytest.fixture(scope="session")
def sample_pdf(tmp_path_factory) -> Path:
    from analyzer.sample import SAMPLE_FILE_NAME, build_sample_report

    return build_sample_report(tmp_path_factory.mktemp("sample") / SAMPLE_FILE_NAME)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium for the browser tests (Playwright cannot download its own here)."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests skipped: {CHROMIUM} is absent (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir() or not any(CORPUS.glob("*.pdf")):
        pytest.skip(f"real-report tier skipped: {CORPUS} is absent (it sits beside the repository)")
    return CORPUS


def run_installed(
    *args: str, db: Path | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the installed `analyzer` console script, as a user would (entry-point tests)."""
    exe = shutil.which("analyzer")
    assert exe, "the analyzer command is not installed (pip install -e .)"
    env = dict(os.environ)
    if db is not None:
        env["ANALYZER_DB"] = str(db)
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900
    )


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def invoke(
    *args: str, db: Path | None = None, cwd: Path | None = None, input: str | None = None
) -> Outcome:
    """Run `analyzer ARGS` in this process; ``db`` is passed as ANALYZER_DB, like run_cli."""
    env = {"ANALYZER_DB": str(db) if db is not None else None}
    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        result = CliRunner().invoke(app, list(args), env=env, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(
            f"analyzer {' '.join(args)} raised (a user sees a traceback): {result.exception!r}"
        ) from result.exception
    # The consoles pick colours when imported; under `pytest -s` that is a terminal.
    return Outcome(result.exit_code, _ANSI.sub("", result.stdout), _ANSI.sub("", result.stderr))


run_cli = invoke  # the other test modules' name for it: in-process, same fields as a process


# What may still run under pytest itself when the session ends: its own helpers
# (multiprocessing's forkserver and resource tracker, a page renderer of an in-process app),
# which end with it. A command a test started, or anything orphaned, may not.
_OWN_HELPERS = ("multiprocessing", "concurrent.futures")


def pytest_sessionfinish(session, exitstatus) -> None:
    """Fail the suite when a test left a process behind (checked in /proc by tag)."""
    me = os.getpid()

    def left() -> list[processes_support.Proc]:
        procs = processes_support.tagged(SESSION_TAG)
        under_me = processes_support.descendants(me, procs)
        return [
            p
            for p in procs
            if p.pid != me
            and (p.pid not in under_me or not any(h in p.cmdline for h in _OWN_HELPERS))
        ]

    import time

    deadline = time.monotonic() + 10
    survivors = left()
    while survivors and time.monotonic() < deadline:
        time.sleep(0.25)
        survivors = left()
    if survivors:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"  pid {p.pid} (parent {p.ppid}): {p.cmdline}" for p in survivors]
        text = "processes left behind by the tests:\n" + "\n".join(lines)
        if reporter is not None:
            reporter.write_line(text, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
