"""The login_throttle and login_addresses tables: failed-login counters per user name and
per client address (kept in the database so a restart does not clear them), and the
addresses each user has logged in from."""

from __future__ import annotations

from sqlite_utils import Database


def throttle_row(db: Database, key: str) -> dict | None:
    """The counter for "user:<name>" or "addr:<address>", or None."""
    rows = list(db.table("login_throttle").rows_where("key = ?", [key]))
    return rows[0] if rows else None


def save_throttle(db: Database, row: dict) -> None:
    """Store a counter (the caller holds the transaction)."""
    db.table("login_throttle").upsert(row, pk="key")


def clear_throttle(db: Database, key: str) -> None:
    """Forget a counter (after the right password)."""
    db.execute("delete from login_throttle where key = ?", [key])


def is_known_address(db: Database, user_id: int, address: str) -> bool:
    """Has this user logged in from this address before?"""
    return bool(
        db.table("login_addresses").count_where("user_id = ? and address = ?", [user_id, address])
    )


def remember_address(db: Database, user_id: int, address: str, when: float) -> None:
    """Note a successful login from this address."""
    db.table("login_addresses").upsert(
        {"user_id": user_id, "address": address, "last_login": when}, pk=("user_id", "address")
    )


def forget_before(db: Database, moment: float) -> None:
    """Drop counters whose last failure is older than this (they no longer count)."""
    db.execute("delete from login_throttle where last_failure < ?", [moment])
