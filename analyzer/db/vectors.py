"""The passages' vectors for search, as a memory-mapped .npy file beside the database.

Reading a million 384-float blobs out of SQLite for every search would take seconds and
gigabytes; a float32 matrix in a file is mapped once and searched exactly (the pages stay
in the OS cache, not in the process's own memory). The file is a cache of the database:
it records the passages' change counter (``db/fts.py``) and the newest embedding row it
saw, and is rebuilt from the database when either moved. A database in memory gets the
same matrix in memory.

At a million passages one exact scan of the float32 matrix reads 1.5 GB. A wide scope is
therefore answered first by a compact copy, 8 bits a dimension (faiss's scalar quantizer,
a quarter of the bytes, memory-mapped like the matrix), whose best ``SHORTLIST`` rows are
then scored again exactly from the float32 matrix: the order of the top hits is the exact
one whenever the exact top hits are in the shortlist (recall is measured against exact
search in benchmarks/search.py). Narrow scopes (a document, a company) are scanned exactly.
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
COMPACT_FROM = 100_000  # rows in scope from which the compact copy answers first
SHORTLIST = 400  # rows the compact copy passes on to be scored exactly
_cache: dict[tuple[str, str], VectorIndex] = {}
_lock = threading.Lock()


@dataclass
class VectorIndex:
    """Passage ids (ascending), their documents and their unit vectors, row for row."""

    ids: np.ndarray  # int64
    docs: np.ndarray  # int64: each row's document id, so a scope needs no SQL per passage
    matrix: np.ndarray  # float32, possibly a read-only memmap
    stamp: list[int]
    compact_path: Path | None = None  # where the 8-bit copy is (None: in memory only)
    _compact: object | None = None

    def nearest(
        self, vector: np.ndarray, rows: np.ndarray | None, depth: int
    ) -> list[tuple[int, float]]:
        """(passage id, cosine) of the `depth` nearest rows in scope (None: every row),
        best first; scores are always the exact float32 ones."""
        if not self.ids.size or (rows is not None and not rows.size):
            return []
        wide = len(self.ids) if rows is None else len(rows)
        shortlist = None
        if wide >= COMPACT_FROM and wide > SHORTLIST:
            shortlist = self._shortlist(vector, rows, max(SHORTLIST, depth))
        if shortlist is not None:
            rows = np.sort(shortlist)
            scores = self.matrix[rows] @ vector
        elif rows is None:
            scores = self.matrix @ vector
        elif len(rows) * 8 > len(self.ids):  # a wide scope: one scan beats gathering rows
            scores = (self.matrix @ vector)[rows]
        else:
            scores = self.matrix[rows] @ vector
        ids = self.ids if rows is None else self.ids[rows]
        top = np.arange(len(scores))
        if len(scores) > depth:
            top = np.argpartition(-scores, depth)[:depth]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(ids[i]), float(scores[i])) for i in top]

    def _shortlist(self, vector: np.ndarray, rows: np.ndarray | None, k: int) -> np.ndarray | None:
        """The compact copy's best k rows in scope, or None when faiss is not installed."""
        compact = self.compact()
        if compact is None:
            return None
        import faiss

        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        params = None
        if rows is not None:
            params = faiss.SearchParameters()
            params.sel = faiss.IDSelectorBatch(np.ascontiguousarray(rows, dtype=np.int64))
        _, found = compact.search(query, k, params=params)  # type: ignore[attr-defined]
        found = found[0]
        return found[found >= 0].astype(np.int64)

    def compact(self) -> object | None:
        """The 8-bit copy of the matrix (built, or mapped from its file, on first use)."""
        if self._compact is not None:
            return self._compact
        try:
            import faiss
        except ImportError:
            return None
        faiss.omp_set_num_threads(1)  # the other core runs the keyword search meanwhile
        path = self.compact_path
        if path is not None and path.is_file():
            try:
                meta = json.loads(path.with_suffix(".json").read_text("utf-8"))
                if meta.get("stamp") == self.stamp and meta.get("rows") == len(self.ids):
                    self._compact = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
                    return self._compact
            except (OSError, ValueError, RuntimeError):
                pass
        dim = self.matrix.shape[1]
        index = faiss.IndexScalarQuantizer(
            dim, faiss.ScalarQuantizer.QT_8bit_uniform, faiss.METRIC_INNER_PRODUCT
        )
        sample = np.asarray(self.matrix[:: max(1, len(self.matrix) // 20_000)], np.float32)
        index.train(sample)
        for start in range(0, len(self.matrix), _BATCH):
            index.add(np.ascontiguousarray(self.matrix[start : start + _BATCH], np.float32))
        if path is not None:
            tmp = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
            faiss.write_index(index, str(tmp))
            os.replace(tmp, path)
            path.with_suffix(".json").write_text(
                json.dumps({"stamp": self.stamp, "rows": len(self.ids)})
            )
        self._compact = index
        return index

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


def _compact_path(db_file: Path, model: str) -> Path:
    return _paths(db_file, model)[0].with_name(_paths(db_file, model)[0].name[:-8] + ".sq8.faiss")


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
    return VectorIndex(
        rows[:, 0].copy(), rows[:, 1].copy(), matrix, stamp, _compact_path(db_file, model)
    )


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
    return VectorIndex(
        ids[:filled, 0].copy(), ids[:filled, 1].copy(), matrix, stamp, _compact_path(db_file, model)
    )


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
