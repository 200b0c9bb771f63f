"""Search all stored passages by meaning: a reviewer's question, or a passage the model missed.

The ranking is cosine similarity between the query's embedding and each passage's stored
embedding (by content hash, for the given model), optionally within one document.
"""

from __future__ import annotations

import json

import numpy as np
from sqlite_utils import Database

from analyzer.candidates.views import passage_record
from analyzer.db.connection import StoreError
from analyzer.db.documents import find_document
from analyzer.db.embeddings import from_blob, passage_vectors
from analyzer.embeddings.model import Embedder, get_embedder


def search(
    db: Database,
    query: str,
    ref: str | None = None,
    limit: int = 10,
    model: str | None = None,
    backend: str | None = None,
) -> list[dict]:
    """Passages ranked by cosine similarity to the query, across stored documents."""
    embedder = get_embedder(model, backend)
    doc_id = find_document(db, ref)["id"] if ref else None
    results = rank_passages(db, embedder, query, doc_id, limit)
    if not results:
        raise StoreError(
            f"no passages embedded with {embedder.name} yet (run analyzer analyze with this model)"
        )
    return results


def rank_passages(
    db: Database, embedder: Embedder, query: str, doc_id: int | None = None, limit: int = 10
) -> list[dict]:
    """Passages ranked by cosine similarity to the query, with an already-loaded model."""
    rows = passage_vectors(db, embedder.name, doc_id)
    if not rows:
        return []
    matrix = np.vstack([from_blob(r[5]) for r in rows])
    scores = matrix @ embedder.encode([query])[0]
    results = []
    for i in np.argsort(-scores)[:limit]:
        pid, doc, text, parts, file_name, _ = rows[i]
        record = passage_record(doc, pid, text, json.loads(parts))
        record.update({"score": round(float(scores[i]), 4), "file_name": file_name})
        record["citation"] = record["first_citation"]
        results.append(record)
    return results
