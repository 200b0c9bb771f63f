"""What every CLI module shares: the consoles, one-line failures and the --db option."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from sqlite_utils import Database

from analyzer.store import StoreError, open_db

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", envvar="ANALYZER_DB", help="SQLite database file (default: analyzer.db)"),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one red line on stderr and exit non-zero: users never see a traceback."""
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def open_database(path: Path | None) -> Database:
    """The database at path (or the default), its schema brought up to date."""
    try:
        return open_db(path)
    except StoreError as exc:
        fail(str(exc))
