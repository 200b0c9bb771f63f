"""The review web app: Flask over the same SQLite file and library functions as the CLI.

``make_app`` wires the pieces: a database connection per request (SQLite connections
belong to one thread), login required on every page but the login page, CSRF on every
POST, one background worker for analyses and a child process for page images.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, g, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup, escape

from analyzer import accounts
from analyzer.candidates.quotes import citation
from analyzer.db.connection import open_db, use_wal
from analyzer.embeddings.model import Embedder
from analyzer.review.status import segments
from analyzer.web import auth, documents, reports, review_pages
from analyzer.web.common import can, close_db, error, get_db, wants_json
from analyzer.web.jobs import Worker
from analyzer.web.model import SharedEmbedder
from analyzer.web.render import PageRenderer

DEFAULT_UPLOAD_LIMIT = 100 * 2**20
PUBLIC_ENDPOINTS = {"auth.login", "static"}


def make_app(
    db_path: str | Path,
    embedder: Embedder | None = None,
    upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    uploads_dir: str | Path | None = None,
) -> Flask:
    """The app for one database file; uploads go to ``uploads/`` beside it by default."""
    db_path = Path(db_path).resolve()
    db = open_db(db_path)  # creates the file and brings the schema up to date
    use_wal(db)  # readers are not blocked by the analysis
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=accounts.secret_key(db),
        DB_PATH=db_path,
        UPLOADS_DIR=Path(uploads_dir) if uploads_dir else db_path.parent / "uploads",
        UPLOAD_LIMIT=upload_limit,
        # The whole request may hold several files plus the form fields.
        MAX_CONTENT_LENGTH=upload_limit * 10 + 2**20,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    shared = SharedEmbedder(embedder)
    app.extensions["embedder"] = shared
    app.extensions["worker"] = Worker(db_path, shared)
    app.extensions["renderer"] = PageRenderer()
    app.extensions["worker"].resume(db)
    db.close()
    CSRFProtect(app)

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
    return response


def _load_user() -> ResponseReturnValue | None:
    g.user = None
    uid = session.get("uid")
    if uid is not None:
        user = accounts.user_by_id(get_db(), uid)
        if user and not user["disabled"]:
            g.user = user
        else:
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
