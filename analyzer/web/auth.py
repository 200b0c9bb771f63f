"""Log in (throttled) and out, and the admin pages: users and the four-eyes setting per
criteria set."""

from __future__ import annotations

from urllib.parse import urlsplit

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
from werkzeug.exceptions import HTTPException

from analyzer import accounts, logins
from analyzer.db.criteria import criteria_sets
from analyzer.review import status as review
from analyzer.web.common import client_address, get_db, requires

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a page of this app, else home.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
    ``/<tab>/evil.example`` would leave the site; anything with a control character, a
    backslash, a scheme or a host is refused, and the path must be one of the app's pages.
    """
    home = url_for("documents.home")
    if not target or not target.startswith("/") or target.startswith("//"):
        return home
    if "\\" in target or any(not ch.isprintable() for ch in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    try:
        current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except HTTPException:  # not one of our pages (or a redirect to one)
        return home
    return target


def _duration(seconds: float) -> str:
    seconds = int(seconds) + 1
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60 + 1} min"


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "POST":
        db = get_db()
        name = request.form.get("username", "").strip()
        address = client_address()
        # A throttled attempt is answered before the password is checked: it costs no argon2.
        wait = logins.wait_seconds(db, name, address)
        if wait:
            message = f"too many failed logins; try again in {_duration(wait)}"
            page = render_template("login.html", error=message)
            return page, 429, {"Retry-After": str(int(wait) + 1)}
        try:
            user = accounts.authenticate(db, name, request.form.get("password", ""))
        except accounts.WrongPassword as exc:
            logins.record_failure(db, name, address)
            return render_template("login.html", error=str(exc)), 401
        except accounts.AccountError as exc:
            return render_template("login.html", error=str(exc)), 401
        logins.record_success(db, user["id"], name, address)
        _start_session(user["id"])
        return redirect(safe_next(request.args.get("next")))
    if g.user:
        return redirect(url_for("documents.home"))
    return render_template("login.html", error=None)


def _start_session(user_id: int) -> None:
    """A fresh session id at every login (an old cookie never becomes a logged-in one)."""
    accounts.end_session(get_db(), session.get("sid"))
    session.clear()
    session.permanent = True
    session["sid"] = accounts.start_session(get_db(), user_id, client_address())


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    accounts.end_session(get_db(), session.get("sid"))
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
                if name.lower() == g.user["username"].lower():
                    _start_session(g.user["id"])  # the others end; this browser stays in
                flash(f"password of {name} changed; their sessions were ended")
            elif form.get("op") == "signout":
                ended = accounts.end_sessions(db, name)
                flash(f"{name} logged out everywhere ({ended} sessions ended)")
            else:
                flash("unknown operation", "error")
        except accounts.AccountError as exc:
            flash(str(exc), "error")
        return redirect(url_for("auth.users"))
    return render_template(
        "users.html",
        users=accounts.list_users(db),
        roles=accounts.ROLES,
        sessions=accounts.live_sessions(db),
        min_password=accounts.MIN_PASSWORD,
        min_admin_password=accounts.MIN_ADMIN_PASSWORD,
    )


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
