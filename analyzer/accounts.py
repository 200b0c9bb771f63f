"""User accounts for the review app: argon2-hashed passwords, roles, server-side sessions
and the session-signing key.

Users are never deleted (decisions name them), only disabled. Roles decide what a user
may do: analysts upload and review, reviewers review, admins also manage users and the
criteria settings. A session is a row in the database that the signed cookie names by a
random token, so logging out, a new password, disabling an account or changing its role
ends it on the server, whatever copies of the cookie exist.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlite_utils import Database

from analyzer.db import accounts as store
from analyzer.db import sessions as session_store
from analyzer.db.connection import now

ROLES = ("analyst", "reviewer", "admin")
PERMISSIONS = {
    "analyst": {"upload", "review"},
    "reviewer": {"review", "adjudicate"},
    "admin": {"upload", "review", "adjudicate", "admin"},
}
MIN_PASSWORD = 8
MIN_ADMIN_PASSWORD = 10
# zxcvbn's score: 3 means "safely unguessable" (about 10^8 guesses), which rules out the
# 30,000 most common passwords it ships with and their usual variations (l33t, years,
# keyboard walks, repeats, capitalisation).
MIN_STRENGTH = 3
SESSION_HOURS = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown name like a known one.
_DUMMY_HASH = _hasher.hash("not a real password")
# At most this many argon2 checks run at once, so password guessing (or a crowd logging in)
# leaves cores for everyone else; throttled attempts never reach argon2 at all.
_VERIFY_SLOTS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) // 2))


class AccountError(Exception):
    """A user cannot be created, changed or logged in; the message says why."""


class WrongPassword(AccountError):
    """The user name or the password is wrong (what the login throttle counts)."""


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


def check_password(password: str, username: str = "", role: str = "reviewer") -> None:
    """Refuse short passwords (admins need more) and common or easily guessed ones.

    zxcvbn (offline, with its lists of common passwords, names and words) estimates how
    many guesses a password takes; its own warning tells the user why one is refused.
    """
    from zxcvbn import zxcvbn

    least = MIN_ADMIN_PASSWORD if role == "admin" else MIN_PASSWORD
    if len(password) < least:
        who = "an admin's password" if role == "admin" else "the password"
        raise AccountError(f"{who} must have at least {least} characters")
    words = [username, "analyzer", "admin", "reviewer", "analyst", "sustainability"]
    result = zxcvbn(password[:100], user_inputs=[w for w in words if w])
    if result["score"] < MIN_STRENGTH:
        warning = result["feedback"]["warning"] or "it is too easy to guess"
        tips = " ".join(result["feedback"]["suggestions"])
        raise AccountError(
            f"this password is too common or too easy to guess ({warning.rstrip('.')}); "
            f"choose a longer one, such as a few unrelated words{'. ' + tips if tips else ''}"
        )


def add_user(db: Database, username: str, password: str, role: str) -> int:
    """Create a user; returns its id."""
    username = (username or "").strip()
    if not _NAME.match(username):
        raise AccountError(
            "a user name has 1-64 letters, digits or . _ @ - and starts with a letter or digit"
        )
    _check_role(role)
    check_password(password, username, role)
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
        with _VERIFY_SLOTS:
            _hasher.verify(user["password_hash"] if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        raise WrongPassword("wrong user name or password") from None
    if user is None:
        raise WrongPassword("wrong user name or password")
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
    """Change a role (ending the user's sessions); the last active admin cannot give theirs up."""
    _check_role(role)
    user = _require(db, username)
    if user["role"] == "admin" and role != "admin":
        _keep_an_admin(db, user["id"])
    with db.atomic():
        store.update_user(db, user["id"], {"role": role})
        if role != user["role"]:
            session_store.delete_user_sessions(db, user["id"])


def set_disabled(db: Database, username: str, disabled: bool) -> None:
    """Lock (ending every session) or unlock an account; users are never deleted."""
    user = _require(db, username)
    if disabled and user["role"] == "admin":
        _keep_an_admin(db, user["id"])
    with db.atomic():
        store.update_user(db, user["id"], {"disabled": int(disabled)})
        if disabled:
            session_store.delete_user_sessions(db, user["id"])


def set_password(db: Database, username: str, password: str) -> None:
    """Replace a user's password (hashed with argon2) and end every session of theirs."""
    user = _require(db, username)
    check_password(password, user["username"], user["role"])
    with db.atomic():
        store.update_user(db, user["id"], {"password_hash": _hasher.hash(password)})
        session_store.delete_user_sessions(db, user["id"])


def end_sessions(db: Database, username: str) -> int:
    """Log a user out everywhere; returns how many sessions were ended."""
    user = _require(db, username)
    with db.atomic():
        return session_store.delete_user_sessions(db, user["id"])


def _keep_an_admin(db: Database, leaving_id: int) -> None:
    if not store.other_active_admins(db, leaving_id):
        raise AccountError("this is the last active admin; make another admin first")


def get_setting(db: Database, key: str) -> str | None:
    """A value from the settings table, or None."""
    return store.get_setting(db, key)


def set_setting(db: Database, key: str, value: str) -> None:
    """Store a value in the settings table."""
    store.set_setting(db, key, value)


def _session_id(token: str) -> str:
    # Only the hash is stored: reading the database does not give a usable cookie.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(db: Database, user_id: int, address: str, hours: float = SESSION_HOURS) -> str:
    """A new session for a user who just logged in; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    moment = time.time()
    with db.atomic():
        session_store.delete_expired(db, moment)
        session_store.insert_session(
            db,
            {
                "id": _session_id(token),
                "user_id": user_id,
                "created_at": now(),
                "expires_at": moment + hours * 3600,
                "address": address,
            },
        )
    return token


def session_user(db: Database, token: object) -> dict | None:
    """The enabled user of a live session, or None (ended, expired, unknown or disabled)."""
    if not isinstance(token, str) or not token:
        return None
    row = session_store.live_session(db, _session_id(token), time.time())
    if row is None:
        return None
    user = store.user_by_id(db, row["user_id"])
    return user if user and not user["disabled"] else None


def end_session(db: Database, token: object) -> None:
    """End one session (logout); a missing or unknown token is ignored."""
    if isinstance(token, str) and token:
        with db.atomic():
            session_store.delete_session(db, _session_id(token))


def live_sessions(db: Database) -> dict[int, int]:
    """Live sessions per user id."""
    return session_store.count_by_user(db, time.time())


def session_key(path: str | Path) -> str:
    """The session-signing key, kept in a file only its owner can read (mode 0600) beside
    the database, never in the database: a copied database file cannot sign cookies."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
        path.unlink()  # empty or cut short: start over (open sessions need a new login)
        return session_key(path)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()
