"""File names as they can be shown and stored, whatever bytes the file system holds.

A name from the disk may be invalid UTF-8 (Python keeps those bytes as surrogates, which a
terminal or SQLite refuses), may hold escape codes that would drive the terminal, or
characters a console would read as markup. Every face prints names through ``shown`` and
the pipeline stores them through ``storable``.
"""

from __future__ import annotations

import os
from pathlib import Path


def storable(path: str | Path) -> str:
    """The path as valid UTF-8 text: undecodable bytes become ``\\xNN``."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def shown(path: str | Path) -> str:
    """The path safe to print: valid UTF-8, and control characters written as escapes."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in storable(path))
