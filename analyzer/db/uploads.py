"""The uploads table: files reviewers uploaded through the web app and their analysis state."""

from __future__ import annotations

from sqlite_utils import Database

from analyzer.db.connection import inserted_id, now

UNFINISHED = "status in ('queued', 'running')"


def unfinished_upload(db: Database, sha256: str) -> dict | None:
    """An upload of the same file that is still queued or running."""
    rows = list(db.table("uploads").rows_where(f"sha256 = ? and {UNFINISHED}", [sha256], limit=1))
    return rows[0] if rows else None


def insert_upload(db: Database, row: dict) -> int:
    with db.atomic():
        return inserted_id(db.table("uploads").insert(row))


def get_upload(db: Database, upload_id: int) -> dict:
    return db.table("uploads").get(upload_id)


def recent_uploads(db: Database, limit: int = 50) -> list[dict]:
    return list(db.table("uploads").rows_where(order_by="id desc", limit=limit))


def requeue_unfinished(db: Database) -> list[int]:
    """Mark what a stopped server left queued or running as waiting again; their ids."""
    ids = [r["id"] for r in db.table("uploads").rows_where(UNFINISHED, order_by="id")]
    with db.atomic():
        for upload_id in ids:
            db.table("uploads").update(upload_id, {"status": "queued", "stage": "waiting"})
    return ids


def update_upload(db: Database, upload_id: int, **fields) -> None:
    with db.atomic():
        db.table("uploads").update(upload_id, {**fields, "updated_at": now()})
