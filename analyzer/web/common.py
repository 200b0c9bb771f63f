"""What every page of the web app shares: the request's database, the user's rights, and
errors answered as a page or as JSON. The blueprints and ``app`` import this, never each other."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from flask import Request, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlite_utils import Database
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from analyzer import accounts
from analyzer.db.connection import connect

# SQLite stores integers in 64 bits: a larger id must be "not found", not an OverflowError.
MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in routes: an id beyond SQLite's range matches no route (404)."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _sqlite_int(value: str) -> int:
    number = int(value)
    if abs(number) > MAX_ID:
        raise ValueError(f"{value!r} is outside SQLite's integer range")
    return number


def _finite_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


_CHECKED = {int: _sqlite_int, float: _finite_float}


class CheckedParams(ImmutableMultiDict):
    """Query and form fields whose ``get(..., type=int)`` refuses numbers SQLite cannot
    hold (and ``type=float`` infinities and NaN), answering the default instead, so no view
    has to range-check its ids to avoid a 500."""

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        return super().get(key, default, _CHECKED.get(type, type))

    def getlist(self, key, type=None):  # noqa: A002
        return super().getlist(key, _CHECKED.get(type, type))


class CheckedRequest(Request):
    """The app's request: query and form fields parsed into ``CheckedParams``."""

    parameter_storage_class = CheckedParams


def client_address() -> str:
    """The client's address (the proxy's view of it when ``--proxy-hops`` is set)."""
    return request.remote_addr or "unknown"


def get_db() -> Database:
    """The request's database connection, opened on first use."""
    if "db" not in g:
        g.db = connect(current_app.config["DB_PATH"])
    return g.db


def close_db(_exc) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def wants_json() -> bool:
    """JSON endpoints answer errors in JSON, pages with a page."""
    return request.path.startswith("/api/")


def can(permission: str) -> bool:
    user = g.get("user")
    return bool(user) and accounts.can(user["role"], permission)


def requires(permission: str) -> Callable[[Callable], Callable]:
    """Allow the view only to users whose role grants the permission."""

    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            if not can(permission):
                return error(403, f"your role ({g.user['role']}) may not do this")
            return view(*args, **kwargs)

        return inner

    return wrap


def error(code: int, message: str) -> ResponseReturnValue:
    """An error the user can act on: a page, or JSON under /api/."""
    if wants_json():
        return jsonify(error=message), code
    return render_template("error.html", code=code, message=message), code
