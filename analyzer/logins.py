"""Login throttling per user name and per client address, kept in the database.

Guessing passwords gets exponentially slower instead of locking an account: after a few
free failures, each further one doubles the wait (to a cap) before that name, or that
address, may try again. A throttled attempt is answered at once, without checking the
password, so failed logins cost almost nothing. The throttle on a *name* does not apply
from an address the user has logged in from before, so someone guessing from elsewhere
cannot lock the rightful user out; the throttle on an *address* always applies, so one
client cannot spray guesses across many names. Counters survive a restart and are
forgotten a day after their last failure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlite_utils import Database

from analyzer.db import accounts as users
from analyzer.db import logins as store


@dataclass(frozen=True)
class Policy:
    """How many failures are free, the first wait after them, its cap, and when to forget."""

    free_per_name: int = 5
    free_per_address: int = 20
    first_wait: float = 30.0
    max_wait_name: float = 15 * 60.0
    max_wait_address: float = 60 * 60.0
    forget_after: float = 24 * 3600.0


POLICY = Policy()


def _name_key(name: str) -> str:
    return "user:" + (name or "").strip().lower()[:100]


def _address_key(address: str) -> str:
    return "addr:" + (address or "unknown")[:100]


def _blocked(db: Database, key: str, moment: float) -> float:
    row = store.throttle_row(db, key)
    return max(0.0, (row["blocked_until"] or 0.0) - moment) if row else 0.0


def wait_seconds(
    db: Database, name: str, address: str, policy: Policy = POLICY, moment: float | None = None
) -> float:
    """Seconds before this name may try a password from this address (0: now)."""
    moment = time.time() if moment is None else moment
    wait = _blocked(db, _address_key(address), moment)
    by_name = _blocked(db, _name_key(name), moment)
    if by_name:
        user = users.user_by_name(db, (name or "").strip())
        if not (user and store.is_known_address(db, user["id"], address)):
            wait = max(wait, by_name)
    return wait


def _count(db: Database, key: str, free: int, cap: float, policy: Policy, moment: float) -> None:
    row = store.throttle_row(db, key)
    failures = 1
    if row and moment - row["last_failure"] < policy.forget_after:
        failures = row["failures"] + 1
    blocked = 0.0
    if failures >= free:
        blocked = moment + min(cap, policy.first_wait * 2 ** min(failures - free, 30))
    row = {"key": key, "failures": failures, "last_failure": moment, "blocked_until": blocked}
    store.save_throttle(db, row)


def record_failure(
    db: Database, name: str, address: str, policy: Policy = POLICY, moment: float | None = None
) -> None:
    """Count a wrong password against the name and the address."""
    moment = time.time() if moment is None else moment
    with db.atomic():
        _count(db, _name_key(name), policy.free_per_name, policy.max_wait_name, policy, moment)
        _count(
            db,
            _address_key(address),
            policy.free_per_address,
            policy.max_wait_address,
            policy,
            moment,
        )
        store.forget_before(db, moment - policy.forget_after)


def record_success(db: Database, user_id: int, name: str, address: str) -> None:
    """The right password: clear the name's counter and remember the address for this user.

    The address's counter is kept, so logging in to one's own account between guesses at
    others does not reset it."""
    with db.atomic():
        store.clear_throttle(db, _name_key(name))
        store.remember_address(db, user_id, address, time.time())
