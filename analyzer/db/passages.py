"""The passages table: a document's passages with their page parts (provenance)."""

from __future__ import annotations

import json

from sqlite_utils import Database

from analyzer.db.fts import index_document, unindex_document
from analyzer.types import PagePart, Passage


def replace_passages(db: Database, doc_id: int, passages: list[Passage]) -> None:
    """Store the document's passages, replacing earlier ones (and candidates made from them)."""
    db.table("candidates").delete_where("document_id = ?", [doc_id])
    unindex_document(db, doc_id)  # keyword index: same transaction as the passages
    db.table("passages").delete_where("document_id = ?", [doc_id])
    db.table("passages").insert_all(
        {
            "document_id": doc_id,
            "seq": p.seq,
            "text": p.text,
            "content_hash": p.content_hash,
            "first_page": p.pdf_pages[0],
            "last_page": p.pdf_pages[-1],
            "page_labels": json.dumps(p.page_labels),
            "parts": json.dumps([part.__dict__ for part in p.parts]),
        }
        for p in passages
    )
    index_document(db, doc_id)


def load_passages(db: Database, doc_id: int) -> list[tuple[int, Passage]]:
    """(passage id, Passage) pairs of a document, in reading order."""
    out = []
    for row in db.table("passages").rows_where("document_id = ?", [doc_id], order_by="seq"):
        parts = [PagePart(**part) for part in json.loads(row["parts"])]
        out.append((row["id"], Passage(row["seq"], row["text"], parts)))
    return out


def get_passage(db: Database, passage_id: int) -> dict | None:
    """A passage row by id, or None."""
    rows = list(db.table("passages").rows_where("id = ?", [passage_id]))
    return rows[0] if rows else None


def passage_rows(
    db: Database, doc_id: int, columns: str = "*", order_by: str | None = "seq"
) -> list[dict]:
    """A document's passage rows (the given columns), in reading order unless told otherwise
    (order_by=None: the table's own order)."""
    return list(
        db.table("passages").rows_where(
            "document_id = ?", [doc_id], select=columns, order_by=order_by
        )
    )


def texts_by_hash(db: Database, hashes: set[str]) -> dict[str, str]:
    """Passage text per content hash, for the hashes stored here (any document)."""
    if not hashes or "passages" not in db.table_names():
        return {}
    marks = ",".join("?" * len(hashes))
    sql = f"select content_hash, text from passages where content_hash in ({marks})"
    return dict(db.execute(sql, list(hashes)).fetchall())


def passages_of_sha(db: Database, sha256: str) -> list[tuple[str, str]]:
    """(content hash, text) of every passage of the document with this file hash, in order."""
    if "passages" not in db.table_names():
        return []
    return db.execute(
        "select p.content_hash, p.text from passages p join documents d "
        "on d.id = p.document_id where d.sha256 = ? order by p.id",
        [sha256],
    ).fetchall()


def passage_pages_of_sha(db: Database, sha256: str) -> list[dict]:
    """Content hash, text, first and last PDF page of every passage of the document with
    this file hash, in reading order."""
    return list(
        db.query(
            "select p.content_hash, p.text, p.first_page, p.last_page from passages p "
            "join documents d on d.id = p.document_id where d.sha256 = ? order by p.seq",
            [sha256],
        )
    )
