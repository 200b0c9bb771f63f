"""Uploads and their background analysis.

An upload is checked by content (a PDF header, a size limit) and stored under its SHA-256,
never under the client's file name. Uploads are analysed one after the other in a worker
process (``upload_worker.py``) with the same memory and time limits as a parse child, so a
pathological upload cannot take the server down and requests are answered meanwhile. The
worker writes progress to the ``uploads`` table, which the page polls; one thread here
hands it uploads and watches it: a worker that dies or runs past the time limit
mid-report leaves that upload failed with the reason, and a fresh worker takes the next.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from sqlite_utils import Database

from analyzer.db.candidates import count_candidates
from analyzer.db.connection import now, open_db
from analyzer.db.documents import document_by_sha, update_document
from analyzer.db.uploads import (
    get_upload,
    insert_upload,
    recent_uploads,
    requeue_unfinished,
    unfinished_upload,
    update_upload,
)
from analyzer.reading.limits import Limits
from analyzer.web.upload_worker import WorkerProcess, death_reason, time_message

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


POLL = 0.25  # how often the watching thread looks at the worker and at a stop request


class Worker:
    """Hands queued uploads, one at a time, to a worker process and watches it (one thread).

    The process is started with the thread, so the model loads before the first upload;
    it is started again after it died or ran out of time, and when ``limits`` asks for
    another memory limit."""

    def __init__(self, db_path: Path, limits: Limits | None = None) -> None:
        self.db_path = Path(db_path)
        self.limits = limits or Limits()  # what analysing one upload may cost
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop_at: float | None = None  # when a stop ends the worker, finished or not
        self._process: WorkerProcess | None = None

    @property
    def pid(self) -> int | None:
        """The worker process's id while it runs."""
        process = self._process
        return process.pid if process is not None and process.alive() else None

    def start(self) -> None:
        """Start the thread and the worker process unless they run (or were stopped)."""
        with self._lock:
            if self._thread is None and self._stop_at is None:
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
        """Let the worker finish its current upload within ``timeout`` s, then end it. An
        upload it did not finish stays unfinished, and the next start analyses it again."""
        with self._lock:
            self._stop_at = time.monotonic() + timeout
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout + 5)

    def _run(self) -> None:
        db = open_db(self.db_path)  # records what the worker could not (it died, ran late)
        try:
            with contextlib.suppress(OSError):  # cannot start: said on the first upload
                self._worker()
            while self._stop_at is None and (upload_id := self._queue.get()) is not None:
                try:
                    self._analyse(db, upload_id)
                except Exception as exc:  # the thread must outlive one bad upload
                    self._fail(db, upload_id, f"{type(exc).__name__}: {exc}")
        finally:
            if self._process is not None:
                stop_at = self._stop_at or time.monotonic()
                self._process.close(grace=max(0.0, stop_at - time.monotonic()))
            db.close()

    def _worker(self) -> WorkerProcess:
        """The running worker process, started anew when it ended or has other limits."""
        process = self._process
        if process is not None and (
            not process.alive() or process.memory_mb != self.limits.memory_mb
        ):
            process.close()
            process = self._process = None
        if process is None:
            process = self._process = WorkerProcess(self.db_path, self.limits.memory_mb)
        return process

    def _analyse(self, db: Database, upload_id: int) -> None:
        """One upload through the worker; its death or lateness fails this upload only."""
        limits = self.limits
        process = self._worker()
        if not process.send(upload_id, limits):  # it ended while idle: once more, fresh
            process.close()
            self._process = None
            process = self._worker()
            process.send(upload_id, limits)
        # Until "started" the worker may still be loading the model; then the clock runs.
        outcome = self._wait(process, ("started", upload_id), limits.seconds)
        if isinstance(outcome, tuple):
            outcome = self._wait(process, ("finished", upload_id), limits.seconds)
        if isinstance(outcome, tuple):  # finished: its failure, if the worker could not write it
            if outcome[2]:
                self._fail(db, upload_id, outcome[2])
            return
        if outcome == "stopping":  # left unfinished: the next start analyses it again
            return
        if outcome == "timeout":
            process.close()
            reason = time_message(limits)
        else:
            code = process.returncode()
            process.close()
            reason = death_reason(code, limits)
        self._process = None
        self._fail(db, upload_id, reason)
        with contextlib.suppress(OSError):  # a fresh worker loads the model for the next one
            self._worker()

    def _wait(self, process: WorkerProcess, expected: tuple, seconds: float) -> tuple | str:
        """Wait for the message starting with ``expected`` and return it; or "timeout",
        "ended" (the worker died) or "stopping"."""
        deadline = time.monotonic() + seconds
        while True:
            if self._stop_at is not None and time.monotonic() >= self._stop_at:
                return "stopping"
            if time.monotonic() >= deadline:
                return "timeout"
            try:
                message = process.receive(POLL)
            except (EOFError, OSError):
                return "ended"
            if message is not None and tuple(message[:2]) == expected:
                return tuple(message)

    @staticmethod
    def _fail(db: Database, upload_id: int, reason: str) -> None:
        """Mark an upload failed with the reason, unless the worker finished it already."""
        with contextlib.suppress(Exception):  # a failed status write must not end the thread
            if get_upload(db, upload_id)["status"] in ACTIVE:
                update_upload(db, upload_id, status="failed", stage="failed", error=reason)
