"""The criterion_decisions table: a reviewer's level for a criterion of a report, appended."""

from __future__ import annotations

from sqlite_utils import Database

from analyzer.db.connection import inserted_id, now


def insert_criterion_decision(db: Database, row: dict) -> int:
    """Append a criterion decision stamped with the time; returns its id."""
    with db.atomic():
        return inserted_id(db.table("criterion_decisions").insert({**row, "created_at": now()}))


def get_criterion_decision(db: Database, decision_id: int) -> dict | None:
    """A criterion decision by id, or None."""
    rows = list(db.table("criterion_decisions").rows_where("id = ?", [decision_id]))
    return rows[0] if rows else None


def criterion_decisions(db: Database, doc_ids: list[int] | None = None) -> list[dict]:
    """The criterion decisions on the given documents (all when None), oldest first."""
    if doc_ids is None:
        return list(db.table("criterion_decisions").rows_where(order_by="id"))
    if not doc_ids:
        return []
    marks = ",".join("?" * len(doc_ids))
    return list(
        db.table("criterion_decisions").rows_where(
            f"document_id in ({marks})", doc_ids, order_by="id"
        )
    )
