"""The process that analyses uploads, apart from the review server.

Embedding and scoring a hostile or huge upload in the server's own process could take the
server down with it (memory exhausted, a native crash, a report that never ends). So the
server starts this module as a child process (``python -m analyzer.web.upload_worker``)
that loads the model once and analyses one upload at a time, capped like a parse child
(``reading/sandbox.py``): its address space is limited to the memory limit, and the server
kills it when one report takes longer than the time limit. It writes progress and results
to the same SQLite file (WAL), each report in one transaction as the pipeline does, so a
worker killed mid-report leaves nothing half-written; the server then marks the upload
failed with the reason (``death_reason``) and starts a fresh worker for the next one.

The worker ends with the server, however the server ends (``processes.exit_with_parent``;
its own parse forkserver follows it, see ``forkserver_guard.py``), and when the server
closes the job pipe.

Messages on the pipes (``multiprocessing.connection``): the server sends
``(upload_id, limits)``; the worker answers ``("ready", problem)`` once the model is loaded
(problem is None, or why it cannot analyse), ``("started", upload_id, None)`` and
``("finished", upload_id, why it failed or None)``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from analyzer.db.documents import get_document, update_document
from analyzer.db.uploads import get_upload, update_upload
from analyzer.processes import exit_with_parent
from analyzer.reading.limits import MB, Limits

MODULE = "analyzer.web.upload_worker"


def memory_message(limits: Limits) -> str:
    """Why an upload failed when its analysis ran out of memory."""
    return (
        f"refused: analysing it needs more than the memory limit of {limits.memory_mb} MB "
        "(a decompression bomb or a hostile PDF?)"
    )


def time_message(limits: Limits) -> str:
    """Why an upload failed when its analysis ran past the time limit."""
    return f"refused: analysing it took longer than the limit of {limits.seconds:g} s"


def death_reason(returncode: int | None, limits: Limits) -> str:
    """Why the worker ended in the middle of an upload, in words an operator can act on."""
    if returncode == -signal.SIGKILL:
        return (
            "the analysis worker was killed (SIGKILL) in the middle of this report, by an "
            "operator or by the system running out of memory; nothing of it was stored"
        )
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        return (
            f"the analysis worker ended by {name} in the middle of this report (past the "
            f"memory limit of {limits.memory_mb} MB, or a hostile PDF); nothing of it was stored"
        )
    return (
        f"the analysis worker ended in the middle of this report (exit code {returncode}); "
        "nothing of it was stored"
    )


class WorkerProcess:
    """The server's handle on one worker process: its pipes and its exit."""

    def __init__(self, db_path: Path, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        jobs_read, jobs_write = os.pipe()  # not inherited by other children (PEP 446)
        replies_read, replies_write = os.pipe()
        env = dict(os.environ)
        # Few malloc arenas: each thread's arena reserves 64 MB of address space, which the
        # memory limit counts, and the embedder runs a thread per core.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        # This package wherever the server found it, whatever the working folder.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        args = [str(db_path), str(jobs_read), str(replies_write), str(memory_mb)]
        try:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", MODULE, *args],
                pass_fds=(jobs_read, replies_write),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except BaseException:
            for fd in (jobs_write, replies_read):
                os.close(fd)
            raise
        finally:
            os.close(jobs_read)
            os.close(replies_write)
        self.jobs = Connection(jobs_write, readable=False)
        self.replies = Connection(replies_read, writable=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def send(self, upload_id: int, limits: Limits) -> bool:
        """Hand the worker one upload; False when it has ended already."""
        try:
            self.jobs.send((upload_id, limits))
            return True
        except OSError:
            return False

    def receive(self, seconds: float) -> tuple | None:
        """The worker's next message within ``seconds`` (None if none came); EOFError
        when the worker has ended."""
        if not self.replies.poll(seconds):
            if not self.alive() and not self.replies.poll(0):
                raise EOFError
            return None
        return self.replies.recv()

    def returncode(self, wait: float = 5) -> int | None:
        """The exit status once it has ended (None if it still runs after ``wait`` s)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.popen.wait(wait)
        return None

    def close(self, grace: float = 0) -> None:
        """End it: no more jobs (it exits by itself when idle), then kill after ``grace``."""
        with contextlib.suppress(OSError):
            self.jobs.close()
        if self.returncode(grace) is None:
            self.popen.kill()
            self.popen.wait()
        with contextlib.suppress(OSError):
            self.replies.close()


# ---- in the worker process ------------------------------------------------------------


def main(argv: list[str]) -> int:
    """The worker's life: cap memory, load the model, analyse uploads until the pipe closes."""
    exit_with_parent()  # started from a server thread: watch the server, no death signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    db_path, jobs_fd, replies_fd, memory_mb = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    for fd in (jobs_fd, replies_fd):  # our parse children must not hold the pipes open
        os.set_inheritable(fd, False)
    memory = memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    jobs = Connection(jobs_fd, writable=False)
    replies = Connection(replies_fd, readable=False)
    analyzer, db, problem = None, None, None
    try:  # imported here, under the limit: one too low to load the model is one clear reason
        from analyzer.db.connection import open_db

        db = open_db(db_path)
        from analyzer.pipeline import Analyzer, Settings

        analyzer = Analyzer(db, Settings(limits=Limits(memory_mb=memory_mb))).prepare()
    except Exception as exc:
        problem = f"cannot prepare the analysis: {type(exc).__name__}: {exc}"
        if isinstance(exc, MemoryError) or _near_limit(memory_mb):
            problem = f"cannot prepare the analysis within the memory limit of {memory_mb} MB"
    replies.send(("ready", problem))
    while True:
        try:
            upload_id, limits = jobs.recv()
        except (EOFError, OSError):  # the server closed the pipe: stop
            return 0
        replies.send(("started", upload_id, None))
        reason, fatal = _analyse_safely(db, analyzer, problem, upload_id, limits)
        replies.send(("finished", upload_id, reason))  # the server records it if we could not
        if fatal:  # near the memory limit: a fresh process takes the next upload
            return 1


def _analyse_safely(
    db, analyzer, problem: str | None, upload_id: int, limits: Limits
) -> tuple[str | None, bool]:
    """Analyse one upload and record a failure on it: (why it failed, whether the worker
    must end). A failure with the process near its memory limit is said to be that."""
    try:
        if analyzer is None:
            raise RuntimeError(problem)
        analyzer.settings.limits = limits
        reason = analyse_upload(db, analyzer, upload_id)
    except Exception as exc:  # the worker must outlive one bad upload
        reason = str(exc) or repr(exc)
        if isinstance(exc, MemoryError):
            reason = "MemoryError"
    if reason is None:
        return None, False
    fatal = False
    if analyzer is not None and (reason.startswith("MemoryError") or _near_limit(limits.memory_mb)):
        reason, fatal = memory_message(limits), True
    with contextlib.suppress(Exception):  # even a failed status write must not end us
        update_upload(db, upload_id, status="failed", stage="failed", error=reason)
    return reason, fatal


def _near_limit(memory_mb: int) -> bool:
    """Has this process come within 10% of its address-space limit? Then a failure (a
    thread or a library that could not be loaded, an allocation refused in native code)
    is the memory limit's doing, whatever the exception says."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) * 1024 >= 0.9 * memory_mb * MB
    return False


def analyse_upload(db, analyzer, upload_id: int) -> str | None:
    """Analyse one stored upload and record its progress and result; returns why it failed
    (None when it is done)."""
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
        return result.error
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
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
