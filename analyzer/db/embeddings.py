"""The embeddings table: vectors by passage content hash and model (a cache)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlite_utils import Database

from analyzer.db.connection import now


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def cached_vectors(db: Database, hashes: Iterable[str], model: str) -> dict[str, np.ndarray]:
    wanted = list(dict.fromkeys(hashes))
    found: dict[str, np.ndarray] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        sql = (
            "select content_hash, vector from embeddings "
            f"where model = ? and content_hash in ({marks})"
        )
        for content_hash, blob in db.execute(sql, [model, *chunk]).fetchall():
            found[content_hash] = from_blob(blob)
    return found


def save_vectors(db: Database, model: str, vectors: dict[str, np.ndarray]) -> None:
    stamp = now()
    db.table("embeddings").insert_all(
        (
            {
                "content_hash": h,
                "model": model,
                "dimension": int(v.shape[0]),
                "vector": to_blob(v),
                "created_at": stamp,
            }
            for h, v in vectors.items()
        ),
        replace=True,
    )


def passage_vectors(db: Database, model: str, doc_id: int | None = None) -> list[tuple]:
    """(passage id, document id, text, parts JSON, file name, vector blob) of every stored
    passage embedded with `model`, optionally of one document."""
    where = ""
    params: list[str | int] = [model]
    if doc_id is not None:
        where, params = "and p.document_id = ?", [model, doc_id]
    sql = f"""
        select p.id, p.document_id, p.text, p.parts, d.file_name, e.vector
        from passages p join embeddings e on e.content_hash = p.content_hash and e.model = ?
        join documents d on d.id = p.document_id
        where 1 {where}
    """
    return db.execute(sql, params).fetchall()


def report_vectors(db: Database, sha256: str, model: str) -> list[tuple]:
    """(text, content hash, vector blob) of every embedded passage of the document with
    this file hash, in passage order."""
    return db.execute(
        "select p.text, p.content_hash, e.vector from passages p "
        "join documents d on d.id = p.document_id "
        "join embeddings e on e.content_hash = p.content_hash and e.model = ? "
        "where d.sha256 = ? order by p.id",
        [model, sha256],
    ).fetchall()
