"""The drafts table: the pre-score's level per criterion of a document's newest analysis."""

from __future__ import annotations

from sqlite_utils import Database

from analyzer.db.connection import now


def replace_drafts(db: Database, doc_id: int, criteria_version: str, rows: list[dict]) -> None:
    """Store a document's drafts for a criteria version (inside the caller's transaction)."""
    db.table("drafts").delete_where(
        "document_id = ? and criteria_version = ?", [doc_id, criteria_version]
    )
    stamp = now()
    db.table("drafts").insert_all(
        {**row, "document_id": doc_id, "criteria_version": criteria_version, "created_at": stamp}
        for row in rows
    )


def document_drafts(db: Database, doc_id: int, criteria_version: str) -> dict[str, dict]:
    """criterion id -> draft row (empty when the report was analysed without a pre-score)."""
    rows = db.table("drafts").rows_where(
        "document_id = ? and criteria_version = ?", [doc_id, criteria_version]
    )
    return {r["criterion_id"]: r for r in rows}
