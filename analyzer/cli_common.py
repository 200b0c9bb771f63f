"""What every CLI module shares: the consoles, one-line failures and the --db option."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from sqlite_utils import Database

from analyzer.store import StoreError, default_db_path, open_db

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


def open_database(path: Path | None, must_exist: bool = False) -> Database:
    """The database at path (or the default), its schema brought up to date.

    Commands that only read (or decide on what is stored) pass ``must_exist``: a mistyped
    --db then fails instead of quietly creating an empty database.
    """
    target = Path(path or default_db_path())
    if must_exist and not target.is_file():
        fail(f"{target}: no such database (analyze reports first, or check --db / ANALYZER_DB)")
    try:
        return open_db(target)
    except StoreError as exc:
        fail(str(exc))
