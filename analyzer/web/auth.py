"""Log in and out, and the admin pages: users and the four-eyes setting per criteria set."""

from __future__ import annotations

import threading
import time

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from analyzer import accounts
from analyzer.db.criteria import criteria_sets
from analyzer.review import status as review
from analyzer.web.common import get_db, requires

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only a path on this site, never another host ("//evil.example" or "https://...").
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("documents.home")


MAX_FAILURES = 5
LOCKOUT_SECONDS = 600


class _Failures:
    """Failed logins per user name in the last minutes: guessing passwords gets slow."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, list[float]] = {}

    def _recent(self, name: str, now: float) -> list[float]:
        times = [t for t in self._times.get(name, []) if now - t < LOCKOUT_SECONDS]
        self._times[name] = times
        return times

    def wait(self, name: str) -> int:
        """Seconds until this name may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(name, now)
            return int(LOCKOUT_SECONDS - (now - times[0])) + 1 if len(times) >= MAX_FAILURES else 0

    def add(self, name: str) -> None:
        with self._lock:
            self._recent(name, time.monotonic()).append(time.monotonic())

    def clear(self, name: str) -> None:
        with self._lock:
            self._times.pop(name, None)


def _failures() -> _Failures:
    return current_app.extensions.setdefault("login_failures", _Failures())


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "POST":
        name = request.form.get("username", "").strip().lower()
        wait = _failures().wait(name)
        if wait:
            message = f"too many failed logins for this user; try again in {wait // 60 + 1} min"
            return render_template("login.html", error=message), 429
        try:
            user = accounts.authenticate(get_db(), name, request.form.get("password", ""))
        except accounts.AccountError as exc:
            _failures().add(name)
            return render_template("login.html", error=str(exc)), 401
        _failures().clear(name)
        session.clear()
        session.permanent = True
        session["uid"] = user["id"]
        return redirect(_safe_next(request.args.get("next")))
    if g.user:
        return redirect(url_for("documents.home"))
    return render_template("login.html", error=None)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/admin/users", methods=["GET", "POST"])
@requires("admin")
def users() -> ResponseReturnValue:
    db = get_db()
    if request.method == "POST":
        form = request.form
        try:
            name = form.get("username", "")
            if form.get("op") == "add":
                accounts.add_user(db, name, form.get("password", ""), form.get("role", ""))
                flash(f"user {name} created")
            elif form.get("op") == "role":
                accounts.set_role(db, name, form.get("role", ""))
                flash(f"{name} is now {form.get('role')}")
            elif form.get("op") in ("disable", "enable"):
                accounts.set_disabled(db, name, form.get("op") == "disable")
                flash(f"{name} {form.get('op')}d")
            elif form.get("op") == "password":
                accounts.set_password(db, name, form.get("password", ""))
                flash(f"password of {name} changed")
            else:
                flash("unknown operation", "error")
        except accounts.AccountError as exc:
            flash(str(exc), "error")
        return redirect(url_for("auth.users"))
    return render_template("users.html", users=accounts.list_users(db), roles=accounts.ROLES)


@bp.route("/admin/criteria", methods=["GET", "POST"])
@requires("admin")
def criteria() -> ResponseReturnValue:
    db = get_db()
    sets = criteria_sets(db, newest_first=True)
    if request.method == "POST":
        version = request.form.get("version", "")
        if not any(s["version"] == version for s in sets):
            flash(f"no criteria set with version {version!r}", "error")
        else:
            on = request.form.get("four_eyes") == "1"
            review.set_four_eyes(db, version, on)
            flash(f"four eyes {'on' if on else 'off'} for criteria version {version}")
        return redirect(url_for("auth.criteria"))
    rows = [
        {
            "version": s["version"],
            "name": s["name"],
            "title": s["title"],
            "created_at": s["created_at"],
            "four_eyes": review.four_eyes(db, s["version"]),
        }
        for s in sets
    ]
    return render_template("criteria.html", sets=rows)
