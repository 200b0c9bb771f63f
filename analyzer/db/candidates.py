"""The candidates table: the top passages per criterion of a document's newest analysis."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from analyzer.db.connection import now
from analyzer.db.criteria import DOCUMENT_VERSION_SQL, document_criteria_version


def replace_candidates(db: Database, doc_id: int, criteria_version: str, rows: list[dict]) -> None:
    db.table("candidates").delete_where(
        "document_id = ? and criteria_version = ?", [doc_id, criteria_version]
    )
    stamp = now()
    db.table("candidates").insert_all({**row, "created_at": stamp} for row in rows)


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
    return db.table("candidates").count_where("document_id = ?", [doc_id])


def get_candidate(db: Database, candidate_id: int) -> dict | None:
    """A candidate row by id, or None."""
    rows = list(db.table("candidates").rows_where("id = ?", [candidate_id]))
    return rows[0] if rows else None


def passage_candidate(
    db: Database, passage_id: int, criterion_id: str, criteria_version: str
) -> dict | None:
    """The candidate a passage is for a criterion under a criteria version, or None."""
    rows = list(
        db.table("candidates").rows_where(
            "passage_id = ? and criterion_id = ? and criteria_version = ?",
            [passage_id, criterion_id, criteria_version],
        )
    )
    return rows[0] if rows else None


def current_candidates(db: Database, doc_ids: list[int]) -> list[dict]:
    """The candidates of each document's newest criteria version, with the passage's content
    hash (passage_hash), by document, criterion and rank."""
    marks = ",".join("?" * len(doc_ids))
    sql = f"""
        select c.*, p.content_hash as passage_hash from candidates c
        join passages p on p.id = c.passage_id
        where c.document_id in ({marks}) and c.criteria_version = {DOCUMENT_VERSION_SQL}
        order by c.document_id, c.criterion_id, c.rank
    """
    return [dict(r) for r in db.query(sql, doc_ids)]


def candidates_with_pages(db: Database, doc_id: int, criteria_version: str) -> list[dict]:
    """A document's candidates of one criteria version with the passage's content hash and
    text and the flags of the quote's page (passage_hash, passage_text, page_flags), by
    criterion and rank."""
    sql = """
        select c.*, p.content_hash as passage_hash, p.text as passage_text,
            pg.flags as page_flags
        from candidates c join passages p on p.id = c.passage_id
        left join pages pg on pg.document_id = c.document_id and pg.pdf_page = c.pdf_page
        where c.document_id = ? and c.criteria_version = ? order by c.criterion_id, c.rank
    """
    return [dict(row) for row in db.query(sql, [doc_id, criteria_version])]
