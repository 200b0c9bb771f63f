"""The users and settings tables: review-app accounts and key-value settings."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from analyzer.db.connection import inserted_id, now


def user_by_name(db: Database, username: str) -> dict | None:
    """A user row by name, case-insensitively, or None."""
    rows = list(db.table("users").rows_where("lower(username) = lower(?)", [username]))
    return rows[0] if rows else None


def user_by_id(db: Database, user_id: int) -> dict | None:
    """A user row by id, or None."""
    rows = list(db.table("users").rows_where("id = ?", [user_id]))
    return rows[0] if rows else None


def all_users(db: Database) -> list[dict]:
    """Every user row (password hash included), by user name."""
    return list(db.table("users").rows_where(order_by="username"))


def insert_user(db: Database, row: dict) -> int:
    """Insert a user row; returns its id (the caller holds the transaction)."""
    return inserted_id(db.table("users").insert(row))


def update_user(db: Database, user_id: int, values: dict[str, Any]) -> None:
    """Change columns of one user (role, disabled, password hash)."""
    db.table("users").update(user_id, values)


def other_active_admins(db: Database, leaving_id: int) -> int:
    """How many enabled admins there are besides the given user."""
    return db.table("users").count_where(
        "role = 'admin' and not disabled and id != ?", [leaving_id]
    )


def get_setting(db: Database, key: str) -> str | None:
    """A value from the settings table, or None."""
    rows = list(db.table("settings").rows_where("key = ?", [key]))
    return rows[0]["value"] if rows else None


def set_setting(db: Database, key: str, value: str) -> None:
    """Store a value in the settings table."""
    db.table("settings").upsert({"key": key, "value": value, "updated_at": now()}, pk="key")


def add_setting(db: Database, key: str, value: str) -> None:
    """Store a value unless the key has one already (the caller holds the transaction)."""
    db.table("settings").insert({"key": key, "value": value, "updated_at": now()}, ignore=True)


def inherited_four_eyes(db: Database, criteria_version: str) -> str | None:
    """The four-eyes setting of the newest other version of the same-named criteria set
    that has one (None when no predecessor has it set)."""
    rows = db.execute(
        "select s.value from criteria_sets c join criteria_sets o on o.name = c.name "
        "join settings s on s.key = 'four_eyes:' || o.version "
        "where c.version = ? and o.version != ? order by o.created_at desc limit 1",
        [criteria_version, criteria_version],
    ).fetchall()
    return rows[0][0] if rows else None
