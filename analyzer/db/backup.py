"""Backups of the database with SQLite's online backup API, safe while the server writes.

Copying the file (``cp analyzer.db``) while the review server commits can catch a page
half-written or miss what sits in the ``-wal`` file; the backup API copies one consistent
snapshot through SQLite itself, so every decision committed before the backup began is in
the copy and the copy opens and passes ``PRAGMA integrity_check``. The copy is written
beside its final name, checked, and only then renamed, so a failed backup leaves no file
that looks like a good one. Backups hold password hashes and sessions: they are created
readable by their owner only, as the database is.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path


class BackupError(Exception):
    """A backup or restore cannot be made; the message says why."""


def _open(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=30)
    con.execute("PRAGMA busy_timeout = 30000")
    return con


def _open_source(path: Path) -> sqlite3.Connection:
    """The database to copy, read-only when SQLite allows it: a read-only connection never
    checkpoints or removes the -wal/-shm files the running server is using."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        con.execute("select count(*) from sqlite_master").fetchone()
        return con
    except sqlite3.Error:
        return _open(path)


def _check(con: sqlite3.Connection, path: Path) -> None:
    try:
        result = con.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a usable SQLite database ({exc})") from None
    if result != "ok":
        raise BackupError(f"{path}: integrity check failed ({result})")


def _copy(source: Path, target: Path) -> None:
    """One consistent snapshot of ``source`` into a new private file, checked, renamed."""
    part = target.with_name(target.name + ".part")
    with contextlib.suppress(FileNotFoundError):
        part.unlink()
    os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        src, dst = _open_source(source), sqlite3.connect(part)
        try:
            src.backup(dst)  # all pages in one step: one snapshot, writers carry on (WAL)
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
            _check(dst, part)
        finally:
            dst.close()
            src.close()
        os.replace(part, target)
    except sqlite3.Error as exc:
        raise BackupError(f"{source}: cannot copy ({exc})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


def backup_database(source: str | Path, dest: str | Path) -> Path:
    """Copy the database at ``source`` to ``dest`` (a new file, or a folder to put a
    time-stamped file in); returns the backup's path."""
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise BackupError(f"{source}: no database there")
    if dest.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        dest = dest / f"{source.stem}-{stamp}.db"
    if dest.exists():
        raise BackupError(f"{dest}: exists already; give a new file name or a folder")
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent}: no such folder")
    _copy(source, dest)
    return dest


def restore_database(backup: str | Path, target: str | Path, replace: bool = False) -> Path:
    """Bring a backup back as the database at ``target`` (stop the server first). An
    existing database is replaced only when asked; it is kept beside as ``*.before-restore``."""
    backup, target = Path(backup), Path(target)
    if not backup.is_file():
        raise BackupError(f"{backup}: no backup there")
    con = _open(backup)
    try:
        _check(con, backup)
    finally:
        con.close()
    if target.exists():
        if not replace:
            raise BackupError(f"{target}: a database is there; add --replace to replace it")
        keep = target.with_name(target.name + ".before-restore")
        _copy(target, keep if not keep.exists() else keep.with_name(keep.name + "-1"))
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{target}{suffix}").unlink()
        target.unlink()
    _copy(backup, target)
    return target
