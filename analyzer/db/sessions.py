"""The sessions table: one row per login, so a session can be ended on the server."""

from __future__ import annotations

from sqlite_utils import Database


def insert_session(db: Database, row: dict) -> None:
    """Store a new session (its id is the hash of the cookie's token)."""
    db.table("sessions").insert(row)


def live_session(db: Database, session_id: str, now: float) -> dict | None:
    """The session with this id if it has not expired, or None."""
    rows = list(db.table("sessions").rows_where("id = ? and expires_at > ?", [session_id, now]))
    return rows[0] if rows else None


def delete_session(db: Database, session_id: str) -> None:
    """End one session (logout)."""
    db.execute("delete from sessions where id = ?", [session_id])


def delete_user_sessions(db: Database, user_id: int) -> int:
    """End every session of a user; returns how many there were."""
    return db.execute("delete from sessions where user_id = ?", [user_id]).rowcount


def delete_expired(db: Database, now: float) -> None:
    """Forget sessions past their end (kept small; run at each login)."""
    db.execute("delete from sessions where expires_at <= ?", [now])


def count_by_user(db: Database, now: float) -> dict[int, int]:
    """Live sessions per user id (for the users page)."""
    rows = db.execute(
        "select user_id, count(*) from sessions where expires_at > ? group by user_id", [now]
    ).fetchall()
    return dict(rows)
