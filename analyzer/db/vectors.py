"""The passages' vectors for search, as a memory-mapped .npy file beside the database.

Reading a million 384-float blobs out of SQLite for every search would take seconds and
gigabytes; a float32 matrix in a file is mapped once and searched exactly (the pages stay
in the OS cache, not in the process's own memory). The file is a cache of the database:
it records the passages' change counter (``db/fts.py``) and the newest embedding row it
saw, and is rebuilt from the database when either moved. A database in memory gets the
same matrix in memory.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from analyzer.db.fts import passages_generation

_BATCH = 50_000
_cache: dict[tuple[str, str], VectorIndex] = {}
_lock = threading.Lock()


@dataclass
class VectorIndex:
    """Passage ids (ascending), their documents and their unit vectors, row for row."""

    ids: np.ndarray  # int64
    docs: np.ndarray  # int64: each row's document id, so a scope needs no SQL per passage
    matrix: np.ndarray  # float32, possibly a read-only memmap
    stamp: list[int]

    def rows_in_documents(self, doc_ids: list[int]) -> np.ndarray:
        """Matrix rows of the passages of the given documents."""
        return np.flatnonzero(np.isin(self.docs, np.asarray(doc_ids, dtype=np.int64)))

    def rows_of(self, passage_ids: list[int]) -> np.ndarray:
        """Matrix rows of the given passages (those without a vector are left out)."""
        wanted = np.asarray(sorted(set(passage_ids)), dtype=np.int64)
        pos = np.searchsorted(self.ids, wanted)
        pos = pos[pos < len(self.ids)]
        return pos[np.isin(self.ids[pos], wanted)]


def database_file(db: Database) -> Path | None:
    """The file of the main database (None for one in memory)."""
    for _, name, file in db.execute("pragma database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    return None


def vector_folder(db_file: Path) -> Path:
    """Where the vector files of a database live: ``<db>.vectors/`` beside it."""
    return db_file.with_name(db_file.name + ".vectors")


def _stamp(db: Database, model: str) -> list[int]:
    """What the file must match: passages' change counter, newest embedding row."""
    newest = db.execute("select max(rowid) from embeddings").fetchone()[0] or 0
    return [passages_generation(db), int(newest)]


def passage_vector_index(db: Database, model: str) -> VectorIndex:
    """The vectors of every stored passage embedded with `model`, current with the database
    (rebuilt from it when passages or embeddings changed since the file was written)."""
    stamp = _stamp(db, model)
    db_file = database_file(db)
    key = (str(db_file), model)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached.stamp == stamp and db_file is not None:
            return cached
        if db_file is None:
            ids, docs, matrix = _read_vectors(db, model)
            return VectorIndex(ids, docs, matrix, stamp)
        index = _open_file(db_file, model, stamp) or _build_file(db, db_file, model, stamp)
        _cache[key] = index
        return index


def _paths(db_file: Path, model: str) -> tuple[Path, Path, Path]:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model)[-80:]
    folder = vector_folder(db_file)
    return folder / f"{slug}.f32.npy", folder / f"{slug}.rows.npy", folder / f"{slug}.json"


def _open_file(db_file: Path, model: str, stamp: list[int]) -> VectorIndex | None:
    matrix_path, ids_path, meta_path = _paths(db_file, model)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("stamp") != stamp or meta.get("model") != model:
            return None
        rows = np.load(ids_path)  # [passage id, document id] per row
        matrix = np.load(matrix_path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if rows.ndim != 2 or len(rows) != len(matrix):
        return None
    return VectorIndex(rows[:, 0].copy(), rows[:, 1].copy(), matrix, stamp)


def _build_file(db: Database, db_file: Path, model: str, stamp: list[int]) -> VectorIndex:
    """Write the vectors to new files and move them into place (readers never see half)."""
    matrix_path, ids_path, meta_path = _paths(db_file, model)
    matrix_path.parent.mkdir(parents=True, exist_ok=True)
    count, dim = db.execute(
        "select count(*), max(e.dimension) from passages p join embeddings e "
        "on e.content_hash = p.content_hash and e.model = ?",
        [model],
    ).fetchone()
    tag = f".{os.getpid()}.{threading.get_ident()}.tmp"
    tmp_matrix = matrix_path.with_name(matrix_path.name + tag + ".npy")
    matrix = np.lib.format.open_memmap(
        tmp_matrix, mode="w+", dtype=np.float32, shape=(count, dim or 0)
    )
    ids = np.empty((count, 2), dtype=np.int64)
    filled = 0
    cursor = db.execute(
        "select p.id, p.document_id, e.vector from passages p join embeddings e "
        "on e.content_hash = p.content_hash and e.model = ? order by p.id",
        [model],
    )
    while filled < count:
        rows = cursor.fetchmany(_BATCH)
        if not rows:
            break
        n = len(rows)
        ids[filled : filled + n] = np.array([r[:2] for r in rows], dtype=np.int64)
        vectors = np.frombuffer(b"".join(r[2] for r in rows), np.float32)
        matrix[filled : filled + n] = vectors.reshape(n, dim)
        filled += n
    matrix.flush()
    del matrix
    tmp_ids = ids_path.with_name(ids_path.name + tag + ".npy")
    np.save(tmp_ids, ids[:filled])
    os.replace(tmp_matrix, matrix_path)
    os.replace(tmp_ids, ids_path)
    meta_path.write_text(json.dumps({"model": model, "stamp": stamp, "rows": filled}))
    matrix = np.load(matrix_path, mmap_mode="r")[:filled]
    return VectorIndex(ids[:filled, 0].copy(), ids[:filled, 1].copy(), matrix, stamp)


def _read_vectors(db: Database, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = db.execute(
        "select p.id, p.document_id, e.vector from passages p join embeddings e "
        "on e.content_hash = p.content_hash and e.model = ? order by p.id",
        [model],
    ).fetchall()
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, 0), np.float32)
    ids = np.array([r[:2] for r in rows], dtype=np.int64)
    return (
        ids[:, 0].copy(),
        ids[:, 1].copy(),
        np.vstack([np.frombuffer(r[2], np.float32) for r in rows]),
    )
