"""Parse an untrusted PDF in a child process with limits on memory, CPU and wall time.

PDFium runs native code on bytes from the internet: a bomb can make it allocate gigabytes
or loop for minutes, and a crash would take the whole process with it. So the parse runs
in a forked child whose address space and CPU time are capped with ``setrlimit``; when
the child dies or runs out of time, that one file fails with a clear message and the
caller (a batch, the web server's worker) carries on. Children fork from a forkserver
that has already imported the parser, so a file costs milliseconds of start-up, and a
server with threads never forks itself.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
import signal
import sys
import threading
import types
from multiprocessing import popen_forkserver
from multiprocessing.connection import Connection
from pathlib import Path

from analyzer.processes import exit_with_parent
from analyzer.reading.limits import MB, Limits
from analyzer.reading.parsing import ParseError, parse_checked
from analyzer.types import ParsedDocument

_CONTEXT = multiprocessing.get_context("forkserver")
# The guard makes the forkserver end with the process that started it (kill -9 included).
_CONTEXT.set_forkserver_preload(["analyzer.forkserver_guard", "analyzer.reading.sandbox"])
_LAUNCH = threading.Lock()


class _LeanPopen(popen_forkserver.Popen):
    """Start a parse child without importing the parent's ``__main__`` in it.

    multiprocessing re-imports the main script in every child it starts, before the target
    runs. The target here needs only this module, and a main script that imports the whole
    pipeline (a benchmark, a notebook, a user's own script) cost every parse about 1.4 s.
    While the child's start-up data are written, ``__main__`` is a bare module, so nothing
    is re-imported; the lock keeps two starts from swapping it at once.
    """

    def _launch(self, process_obj) -> None:
        with _LAUNCH:
            main = sys.modules["__main__"]
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                # typeshed's Popen stubs leave out the private _launch that this overrides
                super()._launch(process_obj)  # type: ignore[misc]
            finally:
                sys.modules["__main__"] = main


class _ParseProcess(multiprocessing.context.ForkServerProcess):  # the class of _CONTEXT.Process
    @staticmethod
    def _Popen(process_obj):
        return _LeanPopen(process_obj)


def _child(conn: Connection, path: Path, limits: Limits) -> None:
    """Runs in the child: cap resources, parse, send ("ok", doc, problems) or ("error", why)."""
    exit_with_parent(parent_is_one_thread=True)  # the forkserver: its death ends the parse
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    memory = limits.memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = max(1, int(limits.seconds) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    try:
        parsed, problems = parse_checked(path, limits)
        conn.send(("ok", parsed, problems))
    except ParseError as exc:
        conn.send(("error", str(exc)))
    except MemoryError:
        conn.send(("error", _memory_message(limits)))
    except Exception as exc:  # PDFium failing in an unforeseen way is still one bad file
        conn.send(("error", f"cannot parse it: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _memory_message(limits: Limits) -> str:
    return (
        f"refused: reading it needs more than the memory limit of {limits.memory_mb} MB "
        "(a decompression bomb or a hostile PDF?)"
    )


def parse_isolated(path: Path, limits: Limits | None = None) -> tuple[ParsedDocument, list[str]]:
    """Parse path in a limited child process; raises ParseError with a one-line reason."""
    limits = limits or Limits()
    receive, send = _CONTEXT.Pipe(duplex=False)
    child = _ParseProcess(target=_child, args=(send, path, limits), name="analyzer-parse")
    child.start()
    send.close()
    try:
        if not receive.poll(limits.seconds):
            raise ParseError(f"refused: parsing took longer than the limit of {limits.seconds:g} s")
        try:
            message = receive.recv()
        except (EOFError, OSError):
            child.join(5)
            raise ParseError(_death_message(child.exitcode, limits)) from None
        except MemoryError:  # the parent itself cannot hold the parsed text
            raise ParseError(_memory_message(limits)) from None
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join(5)
        with contextlib.suppress(ValueError):
            child.close()
    if message[0] == "error":
        raise ParseError(message[1])
    return message[1], message[2]


def _death_message(exitcode: int | None, limits: Limits) -> str:
    """Why the child ended without an answer, in words a user can act on."""
    if exitcode == -signal.SIGXCPU:
        return f"refused: parsing used more than the limit of {limits.seconds:g} s of CPU time"
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        return (
            f"the PDF reader crashed ({name}), within the memory limit of {limits.memory_mb} MB: "
            "a hostile or badly damaged PDF"
        )
    return f"the PDF reader ended without an answer (exit code {exitcode})"
