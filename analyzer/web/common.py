"""What every page of the web app shares: the request's database, the user's rights, and
errors answered as a page or as JSON. The blueprints and ``app`` import this, never each other."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlite_utils import Database

from analyzer import accounts
from analyzer.db.connection import connect


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
