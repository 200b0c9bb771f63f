"""The analyzer database: one SQLite file, reached through sqlite-utils.

Every read and write of the pipeline, the CLI and (later) the web app goes through the
functions here, so the faces stay thin and the SQL lives in one place.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlite_utils import Database

from analyzer.criteria import CriteriaSet
from analyzer.embeddings import from_blob, to_blob
from analyzer.migrations import migrations
from analyzer.parsing import ParsedDocument, file_sha256
from analyzer.passages import PagePart, Passage

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


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def open_db(path: str | Path | None = None) -> Database:
    """Open (creating if needed) the database and bring its schema up to date."""
    path = Path(path or default_db_path())
    if path.is_dir():
        raise StoreError(f"{path}: is a folder, not a database file")
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise StoreError(f"{path}: not an SQLite database")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = connect(path)
        migrations.apply(db)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open database ({exc})") from None
    return db


# --- documents -------------------------------------------------------------------------


def document_by_sha(db: Database, sha256: str) -> dict | None:
    rows = list(db["documents"].rows_where("sha256 = ?", [sha256]))
    return rows[0] if rows else None


def find_document(db: Database, ref: str) -> dict:
    """A document by id, or by the path of a file that was analysed (matched by content)."""
    if ref.isdigit():
        rows = list(db["documents"].rows_where("id = ?", [int(ref)]))
        if rows:
            return rows[0]
    path = Path(ref)
    if path.is_file():
        row = document_by_sha(db, file_sha256(path))
        if row:
            return row
        raise StoreError(
            f"{ref}: this file has not been analysed yet (run: analyzer analyze {ref})"
        )
    rows = list(db["documents"].rows_where("file_name = ?", [path.name], order_by="id desc"))
    if rows:
        return rows[0]
    raise StoreError(
        f"{ref}: no such document (give a document id or the path of an analysed file)"
    )


def save_document(
    db: Database, parsed: ParsedDocument, meta: dict[str, Any], passage_settings: tuple[int, int]
) -> int:
    """Insert or update the document row and its pages; returns the document id."""
    existing = document_by_sha(db, parsed.sha256)
    row = {
        "sha256": parsed.sha256,
        "file_name": parsed.path.name,
        "path": str(parsed.path.resolve()),
        "page_count": len(parsed.pages),
        "flags": json.dumps(parsed.flags),
        "parser_version": meta["parser_version"],
        "passage_size": passage_settings[0],
        "passage_overlap": passage_settings[1],
        "updated_at": now(),
    }
    for key in ("company", "fiscal_year", "report_type"):
        if meta.get(key):
            row[key] = str(meta[key])
    if existing:
        doc_id = existing["id"]
        db["documents"].update(doc_id, row)
    else:
        previous = list(
            db["documents"].rows_where(
                "file_name = ? and sha256 != ?",
                [row["file_name"], row["sha256"]],
                order_by="id desc",
            )
        )
        row["previous_version_id"] = previous[0]["id"] if previous else None
        if previous:  # a new version of a known report keeps what was said about it
            for key in ("company", "fiscal_year", "report_type"):
                if not row.get(key) and previous[0].get(key):
                    row[key] = previous[0][key]
        row["created_at"] = row["updated_at"]
        doc_id = db["documents"].insert(row).last_pk
    db["pages"].delete_where("document_id = ?", [doc_id])
    db["pages"].insert_all(
        {
            "document_id": doc_id,
            "pdf_page": page.number,
            "label": page.label,
            "width": round(page.width, 2),
            "height": round(page.height, 2),
            "text": page.text,
            "lines": json.dumps(
                [[ln.start, ln.end, *(round(v, 1) for v in ln.box)] for ln in page.lines]
            ),
            "flags": json.dumps(page.flags),
            "label_regions": json.dumps([[r.label, r.x0, r.x1] for r in page.label_regions]),
        }
        for page in parsed.pages
    )
    return doc_id


def replace_passages(db: Database, doc_id: int, passages: list[Passage]) -> None:
    """Store the document's passages, replacing earlier ones (and candidates made from them)."""
    db["candidates"].delete_where("document_id = ?", [doc_id])
    db["passages"].delete_where("document_id = ?", [doc_id])
    db["passages"].insert_all(
        {
            "document_id": doc_id,
            "seq": p.seq,
            "text": p.text,
            "content_hash": p.content_hash,
            "first_page": p.pdf_pages[0],
            "last_page": p.pdf_pages[-1],
            "page_labels": json.dumps(p.page_labels),
            "parts": json.dumps([part.__dict__ for part in p.parts]),
        }
        for p in passages
    )


def load_passages(db: Database, doc_id: int) -> list[tuple[int, Passage]]:
    """(passage id, Passage) pairs of a document, in reading order."""
    out = []
    for row in db["passages"].rows_where("document_id = ?", [doc_id], order_by="seq"):
        parts = [PagePart(**part) for part in json.loads(row["parts"])]
        out.append((row["id"], Passage(row["seq"], row["text"], parts)))
    return out


# --- embeddings ------------------------------------------------------------------------


def cached_vectors(db: Database, hashes: Iterable[str], model: str) -> dict[str, np.ndarray]:
    wanted = list(dict.fromkeys(hashes))
    found: dict[str, np.ndarray] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        sql = (
            "select content_hash, vector from embeddings "
            f"where model = ? and content_hash in ({marks})"
        )
        for content_hash, blob in db.execute(sql, [model, *chunk]).fetchall():
            found[content_hash] = from_blob(blob)
    return found


def save_vectors(db: Database, model: str, vectors: dict[str, np.ndarray]) -> None:
    stamp = now()
    db["embeddings"].insert_all(
        (
            {
                "content_hash": h,
                "model": model,
                "dimension": int(v.shape[0]),
                "vector": to_blob(v),
                "created_at": stamp,
            }
            for h, v in vectors.items()
        ),
        replace=True,
    )


# --- criteria, runs, candidates --------------------------------------------------------


def save_criteria_set(db: Database, cset: CriteriaSet) -> None:
    if db["criteria_sets"].count_where("version = ?", [cset.version]):
        return
    content = [c.__dict__ for c in cset.criteria]
    db["criteria_sets"].insert(
        {
            "version": cset.version,
            "name": cset.name,
            "title": cset.title,
            "source": cset.source,
            "content": json.dumps(content, ensure_ascii=False),
            "created_at": now(),
        }
    )


def start_run(db: Database, file: str, command: str, settings: dict) -> int:
    return (
        db["runs"]
        .insert(
            {
                "file": file,
                "command": command,
                "status": "running",
                "settings": json.dumps(settings),
                "started_at": now(),
            }
        )
        .last_pk
    )


def finish_run(
    db: Database,
    run_id: int,
    status: str,
    doc_id: int | None,
    stats: dict,
    error: str | None = None,
) -> None:
    db["runs"].update(
        run_id,
        {
            "status": status,
            "document_id": doc_id,
            "stats": json.dumps(stats),
            "error": error,
            "finished_at": now(),
        },
    )


def replace_candidates(db: Database, doc_id: int, criteria_version: str, rows: list[dict]) -> None:
    db["candidates"].delete_where(
        "document_id = ? and criteria_version = ?", [doc_id, criteria_version]
    )
    stamp = now()
    db["candidates"].insert_all({**row, "created_at": stamp} for row in rows)


def latest_criteria_version(db: Database, doc_id: int) -> str | None:
    """The criteria version of the document's newest candidates (None before any)."""
    row = db.execute(
        "select criteria_version from candidates where document_id = ? "
        "order by created_at desc, id desc limit 1",
        [doc_id],
    ).fetchone()
    return row[0] if row else None


def candidate_rows(
    db: Database, doc_id: int, criterion: str | None = None, criteria_version: str | None = None
) -> list[dict]:
    """Stored candidates of a document (newest criteria version unless one is given)."""
    if criteria_version is None:
        criteria_version = latest_criteria_version(db, doc_id)
        if criteria_version is None:
            return []
    where = "c.document_id = ? and c.criteria_version = ?"
    params: list[Any] = [doc_id, criteria_version]
    if criterion:
        where += " and lower(c.criterion_id) = lower(?)"
        params.append(criterion)
    sql = f"""
        select c.*, p.text as passage_text, p.parts as passage_parts, p.seq as passage_seq
        from candidates c join passages p on p.id = c.passage_id
        where {where} order by c.criterion_id, c.rank
    """
    return [dict(r) for r in db.query(sql, params)]
