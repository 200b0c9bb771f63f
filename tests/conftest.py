"""Shared fixtures: a real database file, the real embedding model, the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

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


def run_cli(
    *args: str, db: Path | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the installed `analyzer` console script, as a user would."""
    exe = shutil.which("analyzer")
    assert exe, "the analyzer command is not installed (pip install -e .)"
    env = dict(os.environ)
    if db is not None:
        env["ANALYZER_DB"] = str(db)
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900
    )
