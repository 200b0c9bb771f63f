"""The ``analyzer`` command: a thin face over the library.

This module only builds the app: the root options, and the commands registered from the
modules beside it (analysis, train, decisions, report, web). Those import the library
inside each command, so ``analyzer --help`` and light commands start quickly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from analyzer.cli import analysis, backup, decisions, report, season, train, web
from analyzer.cli.common import DB_HELP, App, err

for _name, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ("TRANSFORMERS_VERBOSITY", "error"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    os.environ.setdefault(_name, _value)

app = App(help="Find cited evidence for supply-chain criteria in sustainability reports.")


@app.callback()
def root(
    db: Annotated[
        Path | None, typer.Option("--db", help=f"{DB_HELP}; a command's own --db wins")
    ] = None,
) -> None:
    """Options for every command; each command reads --db through common.DbOption."""


app.command()(analysis.analyze)
app.command()(analysis.documents)
app.command()(analysis.candidates)
app.command()(analysis.passages)
app.command()(analysis.search)
app.command()(analysis.sample)
app.command()(train.train)
app.command()(train.evaluate)
app.command()(decisions.decide)
app.command("export-labels")(decisions.export_labels)
app.command("repoint-labels")(train.repoint_labels)
app.command("criteria")(analysis.list_criteria)
app.command("report")(report.report)
report.season_app.command("run")(season.season_run)
report.season_app.command("status")(season.season_status)
app.add_typer(report.season_app, name="season")
app.add_typer(report.document_app, name="document")
app.add_typer(web.users_app, name="users")
app.command("serve")(web.serve)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("export-evidence")(decisions.export_evidence)
app.command("export-gold")(decisions.export_gold)
app.command("undo")(decisions.undo)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
