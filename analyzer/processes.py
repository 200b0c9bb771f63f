"""No process of ours outlives its parent, however the parent dies (kill -9 included).

A batch or a server starts helpers: the forkserver and its parse children
(``reading/sandbox.py``), the season's compute workers, the page renderer. When the parent
is killed without a chance to clean up, each helper must notice and end by itself, or it
stays under PID 1 holding hundreds of MB for as long as the machine runs. Two ways:

- ``PR_SET_PDEATHSIG`` (Linux, through ctypes): the kernel sends SIGKILL the moment the
  parent *thread* that forked us ends. Exact and immediate, so it is used where the parent
  is a forkserver, whose one thread forks every child.
- A daemon thread watching ``getppid()``: a parent that forks from a short-lived thread
  (a read-ahead thread, a web request) must not kill its child when that thread ends, so
  there the child polls four times a second and exits when it has been orphaned.

``exit_with_parent`` does both as asked; ``analyzer/forkserver_guard.py`` runs it in every
forkserver, which then takes its children with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.25


def _set_death_signal(signum: int) -> bool:
    """Ask the kernel for ``signum`` when the forking thread ends; False off Linux."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    return False


def exit_with_parent(parent_is_one_thread: bool = False) -> None:
    """Make this process end when its parent does (call it first thing in a child).

    ``parent_is_one_thread``: the parent forks from a thread that lives as long as it does
    (a forkserver); then the kernel kills us at once. The watching thread runs in every
    case: it also covers a parent that died before this call."""
    parent = os.getppid()
    if parent_is_one_thread:
        _set_death_signal(signal.SIGKILL)
    if parent == 1:  # orphaned already, before we could ask
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
