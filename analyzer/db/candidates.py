"""The candidates table: the top passages per criterion of a document's newest analysis."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from analyzer.db.connection import now
from analyzer.db.criteria import document_criteria_version


def replace_candidates(db: Database, doc_id: int, criteria_version: str, rows: list[dict]) -> None:
    db["candidates"].delete_where(
        "document_id = ? and criteria_version = ?", [doc_id, criteria_version]
    )
    stamp = now()
    db["candidates"].insert_all({**row, "created_at": stamp} for row in rows)


def candidate_rows(
    db: Database, doc_id: int, criterion: str | None = None, criteria_version: str | None = None
) -> list[dict]:
    """Stored candidates of a document (newest criteria version unless one is given)."""
    if criteria_version is None:
        criteria_version = document_criteria_version(db, doc_id)
        if criteria_version is None:
            return []
    where = "c.document_id = ? and c.criteria_version = ?"
    params: list[Any] = [doc_id, criteria_version]
    if criterion:
        where += " and lower(c.criterion_id) = lower(?)"
        params.append(criterion)
    sql = f"""
        select c.*, p.text as passage_text, p.parts as passage_parts, p.seq as passage_seq
        from candidates c join passages p on p.id = c.passage_id
        where {where} order by c.criterion_id, c.rank
    """
    return [dict(r) for r in db.query(sql, params)]


def count_candidates(db: Database, doc_id: int) -> int:
    return db["candidates"].count_where("document_id = ?", [doc_id])
