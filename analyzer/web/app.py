"""The review web app: Flask over the same SQLite file and library functions as the CLI.

``make_app`` wires the pieces: a database connection per request (SQLite connections
belong to one thread), login required on every page but the login page (a server-side
session named by the signed cookie), CSRF on every POST, ids range-checked, a worker
process for analyses (``jobs.py``) and a child process for page images. The database file is made
private (0600), ``uploads/`` too (0700), and the signing key lives in a 0600 file beside
the database.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, current_app, g, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup, escape
from werkzeug.middleware.proxy_fix import ProxyFix

from analyzer import accounts
from analyzer.candidates.quotes import citation
from analyzer.db.connection import make_private, open_db, use_wal
from analyzer.embeddings.model import Embedder
from analyzer.reading.limits import Limits
from analyzer.review.status import segments
from analyzer.web import auth, documents, reports, review_pages
from analyzer.web.common import (
    CheckedRequest,
    IdConverter,
    can,
    close_db,
    error,
    get_db,
    wants_json,
)
from analyzer.web.jobs import Worker
from analyzer.web.model import SharedEmbedder
from analyzer.web.render import PageRenderer

DEFAULT_UPLOAD_LIMIT = 100 * 2**20
PUBLIC_ENDPOINTS = {"auth.login", "static"}
HSTS = "max-age=31536000"


def make_app(
    db_path: str | Path,
    embedder: Embedder | None = None,
    upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    uploads_dir: str | Path | None = None,
    secure_cookies: bool = False,
    proxy_hops: int = 0,
    limits: Limits | None = None,
) -> Flask:
    """The app for one database file; uploads go to ``uploads/`` beside it by default.

    ``secure_cookies`` is for a deployment behind HTTPS: the session cookie is sent only
    over HTTPS (as ``__Host-session``) and browsers are told to use HTTPS (HSTS).
    ``proxy_hops`` trusts that many reverse proxies' X-Forwarded-For/-Proto/-Host headers,
    so throttling sees the client's address and the app knows the request came by HTTPS.
    ``limits``: what analysing one upload may cost (memory and time of the worker process,
    and of the parse child it starts).
    """
    db_path = Path(db_path).resolve()
    db = open_db(db_path)  # creates the file and brings the schema up to date
    use_wal(db)  # readers are not blocked by the analysis
    make_private(db_path)  # it holds password hashes and sessions
    uploads = Path(uploads_dir) if uploads_dir else db_path.parent / "uploads"
    _private_folder(uploads)
    app = Flask(__name__)
    app.request_class = CheckedRequest
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.update(
        SECRET_KEY=accounts.session_key(db_path.with_name(db_path.name + ".key")),
        DB_PATH=db_path,
        UPLOADS_DIR=uploads,
        UPLOAD_LIMIT=upload_limit,
        SECURE_COOKIES=secure_cookies,
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="__Host-session" if secure_cookies else "session",
        # The whole request may hold several files plus the form fields.
        MAX_CONTENT_LENGTH=upload_limit * 10 + 2**20,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    shared = SharedEmbedder(embedder)
    app.extensions["embedder"] = shared
    app.extensions["worker"] = Worker(db_path, limits)
    app.extensions["renderer"] = PageRenderer()
    app.extensions["worker"].resume(db)
    db.close()
    CSRFProtect(app)
    if proxy_hops:
        # Flask's documented way to add WSGI middleware; its stub types wsgi_app as a method
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops, x_host=proxy_hops
        )

    app.register_blueprint(auth.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(review_pages.bp)
    app.register_blueprint(reports.bp)
    app.before_request(_load_user)
    app.teardown_appcontext(close_db)
    app.after_request(_security_headers)
    app.context_processor(lambda: {"can": can, "user": g.get("user")})
    app.add_template_filter(highlight)
    app.add_template_global(citation)
    _error_handlers(app)
    return app


def _private_folder(folder: Path) -> None:
    """Uploaded reports are readable by the server's user only."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        os.chmod(folder, 0o700)


def highlight(text: str, words: set[str]) -> Markup:
    """Report text with matched words in <mark>: every piece is escaped before wrapping."""
    out = []
    for chunk, _in_quote, matched in segments(text or "", words):
        out.append(Markup("<mark>%s</mark>") % chunk if matched else escape(chunk))
    return Markup("").join(out)


# Scripts and styles come from our own files only, so injected markup could not run even if
# escaping ever failed; pages may not be framed by other sites.
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["SECURE_COOKIES"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _load_user() -> ResponseReturnValue | None:
    g.user = None
    token = session.get("sid")
    if token is not None:
        # The cookie only names a session; the database says whether it is still open.
        g.user = accounts.session_user(get_db(), token)
        if g.user is None:
            session.clear()
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if wants_json():
            return jsonify(error="log in first"), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


def _error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        return error(400, f"the form's security token is missing or stale ({exc.description})")

    @app.errorhandler(413)
    def too_large(_exc):
        limit = app.config["UPLOAD_LIMIT"] // 2**20
        return error(413, f"the upload is larger than the limit of {limit} MB per file")

    @app.errorhandler(404)
    def not_found(_exc):
        return error(404, "no such page")

    @app.errorhandler(405)
    def not_allowed(_exc):
        return error(405, "this address does not take that method")

    @app.errorhandler(500)
    def failed(_exc):
        return error(500, "something went wrong on the server; the error is in its log")
