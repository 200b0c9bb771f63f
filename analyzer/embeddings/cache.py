"""Criteria texts' vectors kept on disk between databases.

Passages are cached in the database (by content hash and model), but a fresh database
would embed a criteria set's ~370 definition, query, example and look-alike texts again on
every first run: about two seconds a user waits for each time. They are the same texts
every time, so their vectors are kept in one file per model under the user's cache folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.embeddings.model import CACHE_DIR


def _file(model: str) -> Path:
    slug = hashlib.sha256(model.encode("utf-8")).hexdigest()[:16]
    return CACHE_DIR / "criteria-vectors" / f"{slug}.npz"


def load(model: str, hashes: list[str]) -> dict[str, np.ndarray]:
    """The cached vectors among these content hashes (none when there is no cache)."""
    path = _file(model)
    try:
        with np.load(path) as data:
            return {h: data[h] for h in hashes if h in data.files}
    except (OSError, ValueError, KeyError):
        return {}


def save(model: str, vectors: dict[str, np.ndarray]) -> None:
    """Add vectors to the model's cache file (written whole, then renamed: never torn)."""
    if not vectors:
        return
    path = _file(model)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        known: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path) as data:
                known = {k: data[k] for k in data.files}
        known.update(vectors)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as fh:
            # Any values: mypy would match a **dict key to savez's keyword allow_pickle (a bool);
            # the keys here are content hashes, each an array's name
            arrays: dict[str, Any] = known
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass  # a cache that cannot be written only costs the next run its two seconds
