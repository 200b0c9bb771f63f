"""User accounts for the review app: argon2-hashed passwords, roles and the session secret.

Users are never deleted (decisions name them), only disabled. Roles decide what a user
may do: analysts upload and review, reviewers review, admins also manage users and the
criteria settings.
"""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlite_utils import Database

from analyzer.db import accounts as store
from analyzer.db.connection import now

ROLES = ("analyst", "reviewer", "admin")
PERMISSIONS = {
    "analyst": {"upload", "review"},
    "reviewer": {"review", "adjudicate"},
    "admin": {"upload", "review", "adjudicate", "admin"},
}
MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown name like a known one.
_DUMMY_HASH = _hasher.hash("not a real password")


class AccountError(Exception):
    """A user cannot be created, changed or logged in; the message says why."""


def can(role: str | None, permission: str) -> bool:
    """Does this role grant the permission (upload, review, adjudicate, admin)?"""
    return permission in PERMISSIONS.get(role or "", set())


def get_user(db: Database, username: str) -> dict | None:
    """A user by name, case-insensitively, or None."""
    return store.user_by_name(db, username)


def user_by_id(db: Database, user_id: int) -> dict | None:
    """A user by id (as kept in the session), or None."""
    return store.user_by_id(db, user_id)


def list_users(db: Database) -> list[dict]:
    """All users without their password hashes."""
    return [{k: v for k, v in row.items() if k != "password_hash"} for row in store.all_users(db)]


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def add_user(db: Database, username: str, password: str, role: str) -> int:
    """Create a user; returns its id."""
    username = (username or "").strip()
    if not _NAME.match(username):
        raise AccountError(
            "a user name has 1-64 letters, digits or . _ @ - and starts with a letter or digit"
        )
    _check_role(role)
    _check_password(password)
    if get_user(db, username):
        raise AccountError(f"user {username!r} exists already")
    row = {
        "username": username,
        "password_hash": _hasher.hash(password),
        "role": role,
        "created_at": now(),
        "disabled": 0,
    }
    with db.atomic():
        return store.insert_user(db, row)


def authenticate(db: Database, username: str, password: str) -> dict:
    """The user for these credentials; AccountError with one message for any failure."""
    user = get_user(db, (username or "").strip())
    try:
        _hasher.verify(user["password_hash"] if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        raise AccountError("wrong user name or password") from None
    if user is None:
        raise AccountError("wrong user name or password")
    if user["disabled"]:
        raise AccountError("this account is disabled")
    if _hasher.check_needs_rehash(user["password_hash"]):
        store.update_user(db, user["id"], {"password_hash": _hasher.hash(password)})
    return user


def _require(db: Database, username: str) -> dict:
    user = get_user(db, username)
    if not user:
        raise AccountError(f"no user {username!r}")
    return user


def set_role(db: Database, username: str, role: str) -> None:
    """Change a role; the last active admin cannot give theirs up."""
    _check_role(role)
    user = _require(db, username)
    if user["role"] == "admin" and role != "admin":
        _keep_an_admin(db, user["id"])
    store.update_user(db, user["id"], {"role": role})


def set_disabled(db: Database, username: str, disabled: bool) -> None:
    """Lock or unlock an account (users are never deleted: decisions name them)."""
    user = _require(db, username)
    if disabled and user["role"] == "admin":
        _keep_an_admin(db, user["id"])
    store.update_user(db, user["id"], {"disabled": int(disabled)})


def set_password(db: Database, username: str, password: str) -> None:
    """Replace a user's password (hashed with argon2)."""
    _check_password(password)
    user = _require(db, username)
    store.update_user(db, user["id"], {"password_hash": _hasher.hash(password)})


def _keep_an_admin(db: Database, leaving_id: int) -> None:
    if not store.other_active_admins(db, leaving_id):
        raise AccountError("this is the last active admin; make another admin first")


def get_setting(db: Database, key: str) -> str | None:
    """A value from the settings table, or None."""
    return store.get_setting(db, key)


def set_setting(db: Database, key: str, value: str) -> None:
    """Store a value in the settings table."""
    store.set_setting(db, key, value)


def secret_key(db: Database) -> str:
    """The session-signing secret, made once and kept in the database so restarts keep logins."""
    key = get_setting(db, "secret_key")
    if key is None:
        with db.atomic():
            store.add_setting(db, "secret_key", secrets.token_hex(32))
        key = get_setting(db, "secret_key")
    return key
