"""The CLI's shape: help for every command, --db on either side of the command, start-up time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.main import get_command

from analyzer.cli.main import app
from tests.test_cli import invoke

PASSWORD = "correct horse battery"


def command_paths(group=None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group of the app as argument paths, the app itself first."""
    group = group or get_command(app)
    paths = [prefix]
    for name, command in sorted(getattr(group, "commands", {}).items()):
        paths += (
            command_paths(command, (*prefix, name))
            if hasattr(command, "commands")
            else [(*prefix, name)]
        )
    return paths


def test_every_command_is_covered():
    names = {" ".join(p) for p in command_paths()}
    assert {"", "analyze", "documents", "candidates", "train", "users", "users add"} <= names
    assert {"season add", "document set", "report", "serve", "export-evidence"} <= names
    assert len(names) >= 25


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "analyzer")
def test_help_shows_no_bool_type(path):
    proc = invoke(*path, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage: " in proc.stdout and "--help" in proc.stdout
    assert "<bool>" not in proc.stdout, proc.stdout


def test_flags_keep_their_forms_in_help():
    assert "--classifier-auto" in invoke("analyze", "--help").stdout
    assert "--no-classifier" in invoke("analyze", "--help").stdout
    assert "--subsidiary" in invoke("document", "set", "--help").stdout
    assert "--password-stdin" in invoke("users", "add", "--help").stdout


def test_db_before_or_after_the_command_and_which_wins(tmp_path):
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"

    def users(*args, env=None):
        proc = invoke(*args, db=env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    # Before the command, also for a command of a group (users add, season add).
    proc = invoke("--db", str(a), "users", "add", "ana", "--password-stdin", input=PASSWORD)
    assert proc.returncode == 0, proc.stderr
    assert a.is_file() and not b.exists()
    assert invoke("--db", str(b), "season", "add", "2025", "--cutoff", "2025-07-01").returncode == 0
    assert b.is_file()
    # After the command, as always.
    assert "ana" in users("users", "list", "--db", str(a))
    assert "ana" in users("--db", str(a), "users", "list")
    assert "ana" not in users("--db", str(b), "users", "list")
    # The command's own --db wins over the one before it.
    assert "ana" in users("--db", str(b), "users", "list", "--db", str(a))
    assert "ana" not in users("--db", str(a), "users", "list", "--db", str(b))
    # ANALYZER_DB applies when no --db is given, and either --db beats it.
    assert "ana" in users("users", "list", env=a)
    assert "ana" not in users("--db", str(b), "users", "list", env=a)
    assert "ana" not in users("users", "list", "--db", str(b), env=a)
    # A read-only command refuses a missing database named either way, and creates none.
    for args in (("--db", str(c), "documents"), ("documents", "--db", str(c))):
        proc = invoke(*args, db=a)
        assert proc.returncode == 1 and f"{c}: no such database" in proc.stderr
    assert not c.exists()
    proc = invoke("--db", str(a), "documents", "-f", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout) == []


def test_usage_errors_exit_2_without_a_traceback():
    for args in (("documents", "-f", "xml"), ("no-such-command",), ("candidates",)):
        proc = invoke(*args)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stdout + proc.stderr


HEAVY = (
    "torch",
    "sentence_transformers",
    "transformers",
    "sklearn",
    "scipy",
    "numpy",
    "onnxruntime",
    "pypdfium2",
    "pdfplumber",
    "langchain_text_splitters",
    "flask",
    "waitress",
    "argon2",
    "openpyxl",
    "jinja2",
    "sqlite_utils",
    "yaml",
)

IMPORT_PROBE = """
import sys, time
start = time.perf_counter()
import analyzer.cli.main
took = time.perf_counter() - start
print(took, ",".join(m for m in sys.argv[1:] if m in sys.modules))
"""


def test_importing_the_cli_is_fast_and_loads_no_heavy_library(capsys):
    """`analyzer --help` pays only for typer and rich; each command imports what it needs."""
    runs = []
    for _ in range(3):  # the best of three, against a busy machine's noise
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE, *HEAVY],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        seconds, loaded = done.stdout.split(" ")
        runs.append(float(seconds))
        assert not loaded.strip(), f"importing analyzer.cli.main loads {loaded.strip()}"
    with capsys.disabled():
        print(f"\nimport analyzer.cli.main: {', '.join(f'{s:.3f}' for s in runs)} s")
    assert min(runs) < 0.6, f"importing analyzer.cli.main took {min(runs):.2f} s"


LIGHT_COMMANDS_PROBE = """
import json, sys
from typer.testing import CliRunner
from analyzer.cli.main import app
db, out = sys.argv[1], sys.argv[2]
codes = {}
for args in (["documents"], ["candidates", "1"], ["passages", "1"], ["criteria"],
             ["decide", "1", "accept", "--by", "ana"], ["export-labels", out]):
    codes[args[0]] = CliRunner().invoke(app, ["--db", db, *args]).exit_code
print(json.dumps({"codes": codes, "loaded": sorted(m for m in sys.argv[3:] if m in sys.modules)}))
"""


def test_light_commands_load_no_model_pdf_or_web_library(tmp_path):
    """documents, candidates, passages, criteria, decide and export-labels stay light.

    numpy, yaml and sqlite-utils are allowed: sqlite-utils imports numpy when it is there.
    """
    from analyzer.db.connection import open_db

    db = tmp_path / "empty.db"
    open_db(db)
    heavy = [m for m in HEAVY if m not in ("numpy", "sqlite_utils", "yaml")]
    done = subprocess.run(
        [sys.executable, "-c", LIGHT_COMMANDS_PROBE, str(db), str(tmp_path / "l.jsonl"), *heavy],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(done.stdout)
    assert result["codes"]["documents"] == 0 and result["codes"]["criteria"] == 0
    assert result["codes"]["export-labels"] == 0
    assert result["loaded"] == []
