"""analyzer: reads corporate sustainability reports and finds cited evidence for
supply-chain scoring criteria."""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec
from types import FrameType


class _NoPandasForSqliteUtils:
    """sqlite-utils imports pandas when it is installed (the Ray extra brings it) only to map
    pandas.Timestamp columns, which this project never stores: a third of a second of every
    command that opens a database. Its import of pandas is refused; any other goes through."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name == "pandas":
            frame: FrameType | None = sys._getframe(1)
            while frame is not None:
                if frame.f_globals.get("__name__") == "sqlite_utils.db":
                    raise ImportError("pandas is not imported for sqlite-utils")
                frame = frame.f_back
        return None


if not any(isinstance(f, type) and f.__name__ == "_NoPandasForSqliteUtils" for f in sys.meta_path):
    sys.meta_path.insert(0, _NoPandasForSqliteUtils)
