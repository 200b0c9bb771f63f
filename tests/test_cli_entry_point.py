"""A few runs end to end through the installed `analyzer` entry point, as a user types them.

Everything else about the CLI is tested in-process (test_cli.py, test_cli_options.py).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import run_installed as run_cli

SAMPLE = "corpus/northwind-motors-2025-sustainability-report.pdf"


@pytest.mark.slow
def test_the_readme_sample_command(tmp_path):
    """`analyzer sample corpus && analyzer analyze ... && analyzer candidates ... --top 1`."""
    db = tmp_path / "analyzer.db"
    proc = run_cli("sample", "corpus", cwd=tmp_path, db=db)
    assert proc.returncode == 0 and f"wrote {SAMPLE}" in proc.stdout, proc.stderr
    proc = run_cli(
        "analyze", SAMPLE, "--company", "Northwind Motors", "--year", "2025",
        "--type", "sustainability", cwd=tmp_path, db=db,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Analysed 1 report(s)" in proc.stdout and proc.stderr.startswith("scoring: ")
    proc = run_cli("candidates", SAMPLE, "--top", "1", cwd=tmp_path, db=db)
    assert proc.returncode == 0, proc.stderr
    assert "FF-ST-01" in proc.stdout and "(PDF p." in proc.stdout
    assert "#1" in proc.stdout and "#2" not in proc.stdout


def test_bad_input_is_one_line_and_a_nonzero_exit(tmp_path):
    missing = tmp_path / "nowhere.pdf"
    proc = run_cli("analyze", str(missing), db=tmp_path / "x.db")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == f"error: {missing}: no such file or folder\n"
    proc = run_cli("--db", str(tmp_path / "none.db"), "documents")
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {tmp_path / 'none.db'}: no such database")
    assert proc.stderr.count("\n") == 1
    proc = run_cli("documents", "--format", "xml", db=tmp_path / "x.db")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_help_and_module_entry_point():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "analyze" in proc.stdout and "<bool>" not in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "analyzer", "criteria", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and '"name": "ltc"' in proc.stdout, proc.stderr
