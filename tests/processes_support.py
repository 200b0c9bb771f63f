"""Finding processes the tests started, through /proc, however far they have strayed.

Every process the suite starts inherits ``ANALYZER_TEST_TAG`` from the environment (set in
``tests/conftest.py``) and a test may add ``ANALYZER_TEST_CASE`` for the processes it
starts, so a forkserver reparented to PID 1 after its parent was killed is still found by
its tag.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TAG = "ANALYZER_TEST_TAG"  # the session's
CASE = "ANALYZER_TEST_CASE"  # one test's


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str
    cmdline: str


def tagged(value: str, name: str = TAG) -> list[Proc]:
    """Live (not zombie) processes whose environment holds ``name=value``."""
    wanted = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if wanted not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            found.append(Proc(int(entry.name), int(ppid), state, cmd.strip()[:200]))
    return found


def wait_until_gone(case: str, seconds: float = 10.0) -> list[Proc]:
    """A test's processes still alive after ``seconds``: the survivors."""
    deadline = time.monotonic() + seconds
    while True:
        alive = tagged(case, CASE)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def wait_for(case: str, count: int, seconds: float = 120.0) -> list[Proc]:
    """Wait until at least ``count`` of a test's processes run (a command and its helpers)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = tagged(case, CASE)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(
        f"fewer than {count} processes after {seconds:.0f} s: {tagged(case, CASE)}"
    )


def descendants(root: int, procs: list[Proc]) -> set[int]:
    """The pids among ``procs`` whose chain of parents reaches ``root``."""
    parent = {p.pid: p.ppid for p in procs}
    out = set()
    for pid in parent:
        seen, here = set(), pid
        while here in parent and here not in seen:
            seen.add(here)
            here = parent[here]
            if here == root:
                out.add(pid)
                break
    return out


def env_with_case(case: str, **extra: str) -> dict[str, str]:
    """The environment for a command a test starts: the session's tag and the test's."""
    return {**os.environ, CASE: case, **extra}
