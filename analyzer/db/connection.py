"""Opening the database: one SQLite file, its schema brought up to date by the migrations,
with transactions that take the write lock when they begin."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.db import Table

from analyzer.db.migrations import migrations

DEFAULT_DB = "analyzer.db"


class StoreError(Exception):
    """The database cannot be opened or a document cannot be found."""


class AnalyzerDatabase(Database):
    """A sqlite-utils Database whose transactions take the write lock when they begin.

    With a plain BEGIN, a transaction that reads and then writes fails at once with
    "database is locked" if another connection (the web app's analysis worker, a second
    CLI) committed in between; BEGIN IMMEDIATE waits for the lock instead (busy_timeout).
    """

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        if self.conn.in_transaction:  # nested: a savepoint, as sqlite-utils does
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        else:
            self.conn.execute("COMMIT")


def connect(path: str | Path) -> AnalyzerDatabase:
    """A connection with foreign keys on that waits up to 10 s for another writer."""
    db = AnalyzerDatabase(path)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def default_db_path() -> str:
    return os.environ.get("ANALYZER_DB") or DEFAULT_DB


def inserted_id(table: Table) -> int:
    """The primary key of the row the table's last insert wrote. sqlite-utils leaves
    ``last_pk`` None when no row was written; that is an error here, not an id."""
    if table.last_pk is None:
        raise StoreError(f"the insert into {table.name} wrote no row")
    return table.last_pk


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def open_db(path: str | Path | None = None) -> Database:
    """Open (creating if needed) the database and bring its schema up to date."""
    path = Path(path or default_db_path())
    if path.is_dir():
        raise StoreError(f"{path}: is a folder, not a database file")
    # The file is never opened here other than through SQLite: closing any other descriptor
    # on it would drop the POSIX locks this process's SQLite connections hold (the server's
    # upload worker opens the database beside the request connections), after which another
    # process may checkpoint and remove the WAL under them ("disk I/O error").
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
        db = connect(path)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open database ({exc})") from None
    try:
        db.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        db.close()
        if "not a database" in str(exc):
            raise StoreError(f"{path}: not an SQLite database") from None
        raise StoreError(f"{path}: cannot open database ({exc})") from None
    try:
        migrations.apply(db)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open database ({exc})") from None
    return db


def open_memory_db() -> Database:
    """A database in memory with the full schema: a worker's scratch store (its embedding
    cache, the criteria vectors), which leaves no file or folder behind when it ends."""
    db = connect(":memory:")
    migrations.apply(db)
    return db


def _create_private(path: Path) -> None:
    """Create a new database file readable by its owner only (it holds password hashes and
    sessions); SQLite gives its -wal and -shm files the same mode. An existing file is left
    as it is (see ``make_private``)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_private(path: str | Path) -> None:
    """Take group and other access away from a database file and its -wal, -shm and
    -journal files (the web app does this when it starts: older files were 0644)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        target = Path(f"{path}{suffix}")
        with contextlib.suppress(FileNotFoundError):
            if target.stat().st_mode & 0o077:
                os.chmod(target, 0o600)


def use_wal(db: Database) -> None:
    """Write-ahead logging: readers are not blocked by a writer (kept in the file)."""
    db.execute("PRAGMA journal_mode = WAL")
