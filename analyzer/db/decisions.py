"""The decisions table: every reviewer decision, appended and never changed."""

from __future__ import annotations

from sqlite_utils import Database

from analyzer.db.connection import inserted_id, now


def insert_decision(db: Database, row: dict) -> int:
    """Append a decision stamped with the time; returns its id (the caller holds the
    transaction)."""
    return inserted_id(db.table("decisions").insert({**row, "created_at": now()}))


def get_decision(db: Database, decision_id: int) -> dict | None:
    """A decision by id, or None."""
    rows = list(db.table("decisions").rows_where("id = ?", [decision_id]))
    return rows[0] if rows else None


def is_undone(db: Database, decision_id: int) -> bool:
    """Has an undo row reverted this decision?"""
    return bool(
        db.table("decisions").count_where("reverts_id = ? and action = 'undo'", [decision_id])
    )


def item_decisions(db: Database, doc_id: int, passage_hash: str, criterion: str) -> list[dict]:
    """The decisions on one review item (document, passage content, the candidate's original
    criterion), oldest first."""
    return list(
        db.table("decisions").rows_where(
            "document_id = ? and passage_hash = ? "
            "and coalesce(original_criterion_id, criterion_id) = ?",
            [doc_id, passage_hash, criterion],
            order_by="id",
        )
    )


def candidate_decisions(db: Database, candidate_id: int) -> list[dict]:
    """The decisions that name a candidate id, oldest first."""
    return list(db.table("decisions").rows_where("candidate_id = ?", [candidate_id], order_by="id"))


def all_decisions(db: Database) -> list[dict]:
    """Every decision, oldest first."""
    return list(db.table("decisions").rows_where(order_by="id"))


def document_decisions(db: Database, doc_ids: list[int]) -> list[dict]:
    """The decisions on the given documents, oldest first."""
    marks = ",".join("?" * len(doc_ids))
    return list(
        db.table("decisions").rows_where(f"document_id in ({marks})", doc_ids, order_by="id")
    )


def decisions_with_candidate(db: Database, doc_ids: list[int]) -> list[dict]:
    """The decisions on the given documents, oldest first, each with its candidate's quote
    and stored level (candidate_quote, candidate_level; null when the candidate is gone)."""
    marks = ",".join("?" * len(doc_ids))
    sql = f"""select d.*, c.quote as candidate_quote, c.level as candidate_level
        from decisions d left join candidates c on c.id = d.candidate_id
        where d.document_id in ({marks}) order by d.id"""
    return [dict(row) for row in db.query(sql, doc_ids)]
