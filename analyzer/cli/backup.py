"""``analyzer backup`` and ``analyzer restore``: the database copied safely, and back.

The library (analyzer.db.backup) copies with SQLite's online backup API; this module only
parses the arguments and prints one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analyzer.cli.common import DbOption, db_path, fail, out


def backup(
    dest: Annotated[Path, typer.Argument(help="backup file to create, or a folder for one")],
    db: DbOption = None,
) -> None:
    """Copy the database while the server may be writing (SQLite's online backup)."""
    from analyzer.db.backup import BackupError, backup_database

    try:
        made = backup_database(db_path(db), dest)
    except BackupError as exc:
        fail(str(exc))
    out.print(f"backup written: {made} (integrity check ok)", highlight=False, markup=False)


def restore(
    backup_file: Annotated[Path, typer.Argument(help="a file made by analyzer backup")],
    replace: Annotated[
        bool, typer.Option("--replace", help="replace the existing database (kept beside it)")
    ] = False,
    db: DbOption = None,
) -> None:
    """Bring a backup back as the database (stop `analyzer serve` first)."""
    from analyzer.db.backup import BackupError, restore_database

    try:
        target = restore_database(backup_file, db_path(db), replace)
    except BackupError as exc:
        fail(str(exc))
    out.print(f"restored {backup_file} as {target}", highlight=False, markup=False)
