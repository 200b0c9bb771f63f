"""Uploads and their background analysis.

An upload is checked by content (a PDF header, a size limit) and stored under its SHA-256,
never under the client's file name. A single worker thread analyses uploads one after the
other with its own database connection (SQLite connections belong to one thread) and
writes progress to the ``uploads`` table, which the page polls. The PDF itself is parsed
in a child process with memory, page, decompressed-size and time limits
(``reading/sandbox.py``), so a hostile upload fails alone and the server keeps running.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import tempfile
import threading
from pathlib import Path
from typing import IO

from sqlite_utils import Database

from analyzer.db.candidates import count_candidates
from analyzer.db.connection import now, open_db
from analyzer.db.documents import document_by_sha, get_document, update_document
from analyzer.db.uploads import (
    get_upload,
    insert_upload,
    recent_uploads,
    requeue_unfinished,
    unfinished_upload,
    update_upload,
)
from analyzer.embeddings.model import Embedder
from analyzer.pipeline import Analyzer, Settings
from analyzer.reading.limits import Limits

MAGIC = b"%PDF-"
CHUNK = 1 << 20
ACTIVE = ("queued", "running")


class UploadError(Exception):
    """An upload is refused; the message says why, naming the file."""


def display_name(client_name: str | None) -> str:
    """The client's file name reduced to something safe to show (it is never used as a path)."""
    name = re.split(r"[\\/]", client_name or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "upload.pdf"


def save_upload(
    db: Database,
    stream: IO[bytes],
    client_name: str | None,
    folder: Path,
    limit: int,
    meta: dict,
    user: str,
) -> tuple[dict, bool]:
    """Store one uploaded file; returns (upload row, whether it must be analysed)."""
    name = display_name(client_name)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # private, as make_app makes it
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            head = b""
            while chunk := stream.read(CHUNK):
                if len(head) < 1024:
                    head += chunk[: 1024 - len(head)]
                size += len(chunk)
                if size > limit:
                    raise UploadError(f"{name}: larger than the limit of {limit // 2**20} MB")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadError(f"{name}: the file is empty")
        if MAGIC not in head:
            raise UploadError(f"{name}: not a PDF (its content does not start like one)")
        sha = digest.hexdigest()
        target = folder / f"{sha}.pdf"
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    stamp = now()
    row = {
        "sha256": sha,
        "file_name": name,
        "stored_path": str(target.resolve()),
        "size": size,
        "company": (meta.get("company") or "").strip() or None,
        "fiscal_year": (meta.get("fiscal_year") or "").strip() or None,
        "report_type": (meta.get("report_type") or "").strip() or None,
        "uploaded_by": user,
        "created_at": stamp,
        "updated_at": stamp,
    }
    active = unfinished_upload(db, sha)
    if active:
        return active, False
    existing = document_by_sha(db, sha)
    if existing:
        row.update(
            status="done",
            stage="already analysed",
            document_id=existing["id"],
            pages=existing["page_count"],
        )
        row["candidates"] = count_candidates(db, existing["id"])
        _fill_missing_meta(db, existing, row)
        if not Path(existing["path"] or "").is_file():  # analysed elsewhere: page images need it
            update_document(db, existing["id"], {"path": row["stored_path"]})
        row["id"] = insert_upload(db, row)
        return row, False
    row.update(status="queued", stage="waiting", done=0, total=0)
    row["id"] = insert_upload(db, row)
    return row, True


def _fill_missing_meta(db: Database, doc: dict, row: dict) -> None:
    update = {k: row[k] for k in ("company", "fiscal_year", "report_type") if row[k] and not doc[k]}
    update_document(db, doc["id"], update)


def uploads(db: Database, limit: int = 50) -> list[dict]:
    """Recent uploads, newest first, without the server-side path."""
    return [{k: v for k, v in r.items() if k != "stored_path"} for r in recent_uploads(db, limit)]


class Worker:
    """One background thread that analyses queued uploads in order."""

    def __init__(
        self, db_path: Path, embedder: Embedder | None = None, limits: Limits | None = None
    ) -> None:
        self.db_path = db_path
        self.embedder = embedder
        self.limits = limits or Limits()  # what reading one upload may cost
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread (it loads the model first) unless it runs already."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="analysis", daemon=True)
                self._thread.start()

    def submit(self, upload_id: int) -> None:
        """Queue an upload for analysis."""
        self.start()
        self._queue.put(upload_id)

    def resume(self, db: Database) -> None:
        """Queue again what a stopped server left queued or running."""
        for upload_id in requeue_unfinished(db):
            self.submit(upload_id)

    def stop(self, timeout: float = 5) -> None:
        """Let the thread finish its current upload and end."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        db = open_db(self.db_path)
        analyzer, problem = None, None
        try:  # load the model and embed the criteria before the first upload arrives
            settings = Settings(limits=self.limits)
            analyzer = Analyzer(db, settings, embedder=self.embedder).prepare()
        except Exception as exc:
            problem = f"cannot prepare the analysis: {type(exc).__name__}: {exc}"
        while (upload_id := self._queue.get()) is not None:
            try:
                if analyzer is None:
                    raise RuntimeError(problem)
                self._analyse(db, analyzer, upload_id)
            except Exception as exc:  # the worker must outlive one bad upload
                # Even a failed status write must not end the worker.
                with contextlib.suppress(Exception):
                    update_upload(
                        db, upload_id, status="failed", stage="failed", error=str(exc) or repr(exc)
                    )

    def _analyse(self, db: Database, analyzer, upload_id: int) -> None:
        row = get_upload(db, upload_id)
        update_upload(db, upload_id, status="running", stage="parsing")

        def progress(stage: str, done: int, total: int) -> None:
            fields = {"stage": stage, "done": done, "total": total}
            if stage == "parsed":
                fields["pages"] = total
            if stage == "embed":
                fields["embedded"] = done
            update_upload(db, upload_id, **fields)

        meta = {k: row[k] for k in ("company", "fiscal_year", "report_type")}
        result = analyzer.analyze(row["stored_path"], meta, progress)
        if result.error:
            update_upload(db, upload_id, status="failed", stage="failed", error=result.error)
            return
        stage = "done"
        if result.damaged:  # said on the page: the file was repaired to be read
            stage = f"done, damaged PDF: text may be missing ({'; '.join(result.damaged)})"
        doc = get_document(db, result.doc_id)
        if doc["file_name"] == Path(row["stored_path"]).name:
            update_document(db, result.doc_id, {"file_name": row["file_name"]})
        update_upload(
            db,
            upload_id,
            status="done",
            stage=stage,
            document_id=result.doc_id,
            pages=result.pages,
            passages=result.passages,
            embedded=result.embedded,
            candidates=result.candidates,
        )
