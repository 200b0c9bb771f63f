"""Documents: the home page, uploads with progress, page images and the page view with
boxes, search, exports, and the admin's season and document settings."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from analyzer.candidates.quotes import terms
from analyzer.db.criteria import (
    criteria_content,
    criteria_sets,
    criterion_names,
    newest_criteria_version,
)
from analyzer.db.decisions import get_decision
from analyzer.db.documents import all_documents, document_by_id
from analyzer.db.passages import get_passage
from analyzer.embeddings.model import EmbeddingError
from analyzer.review import decisions
from analyzer.review import export as evidence
from analyzer.review import status as review
from analyzer.review.names import CompanyError
from analyzer.scorecard.metadata import set_document
from analyzer.scorecard.seasons import SeasonError, add_season, list_seasons
from analyzer.search import MODES, rank_passages, scope_choices
from analyzer.web.common import MAX_ID, error, get_db, requires
from analyzer.web.jobs import UploadError, display_name, save_upload, uploads
from analyzer.web.render import RenderError

bp = Blueprint("documents", __name__)

MAX_PAGE_PASSAGES = 200  # boxes on one page view: more than any page holds passages
MAX_QUERY = 2000  # characters of a search query
MAX_API_LIMIT = 100  # pages one API search returns


@bp.get("/")
def home() -> ResponseReturnValue:
    db = get_db()
    docs = all_documents(db, newest_first=True)
    counts = review.progress(db)["documents"]
    companies = sorted({d["company"] for d in docs if d["company"]})
    return render_template(
        "home.html",
        documents=docs,
        counts=counts,
        companies=companies,
        uploads=uploads(db),
        limit_mb=current_app.config["UPLOAD_LIMIT"] // 2**20,
    )


@bp.post("/upload")
@requires("upload")
def upload() -> ResponseReturnValue:
    db = get_db()
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        flash("choose one or more PDF files to upload", "error")
        return redirect(url_for("documents.home"))
    meta = {
        "company": request.form.get("company", "")[:200],
        "fiscal_year": request.form.get("fiscal_year", "")[:20],
        "report_type": request.form.get("report_type", "")[:50],
    }
    if meta["fiscal_year"].strip() and not re.fullmatch(r"\d{4}(/\d{2,4})?", meta["fiscal_year"]):
        flash("the fiscal year looks like 2024 or 2024/25", "error")
        return redirect(url_for("documents.home"))
    worker = current_app.extensions["worker"]
    for storage in files:
        try:
            row, analyse = save_upload(
                db,
                storage.stream,
                storage.filename,
                current_app.config["UPLOADS_DIR"],
                current_app.config["UPLOAD_LIMIT"],
                meta,
                g.user["username"],
            )
        except UploadError as exc:
            flash(str(exc), "error")
            continue
        except sqlite3.OperationalError as exc:  # e.g. the database stayed busy for 10 s
            flash(f"{display_name(storage.filename)}: not stored ({exc}); try again", "error")
            continue
        if analyse:
            worker.submit(row["id"])
            flash(f"{row['file_name']}: uploaded, analysis queued")
        elif row["status"] == "done":
            flash(f"{row['file_name']}: already analysed as document {row['document_id']}")
        else:
            flash(f"{row['file_name']}: the same file is being analysed already")
    return redirect(url_for("documents.home"))


@bp.get("/api/uploads")
def uploads_json() -> ResponseReturnValue:
    return jsonify(uploads=uploads(get_db()))


@bp.get("/documents/<int:doc_id>/pages/<int:pdf_page>.png")
def page_image(doc_id: int, pdf_page: int) -> ResponseReturnValue:
    db = get_db()
    doc = document_by_id(db, doc_id)
    if doc is None:
        return error(404, f"no document {doc_id}")
    path = doc["path"]
    if not path or not Path(path).is_file():
        return error(404, "the PDF of this document is no longer where it was analysed")
    scale = request.args.get("scale", 1.5, type=float) or 1.5
    try:
        data = current_app.extensions["renderer"].render(path, pdf_page, scale)
    except RenderError as exc:
        return error(404, str(exc))
    response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/export")
def export() -> ResponseReturnValue:
    db = get_db()
    doc_id = request.args.get("doc", type=int)
    company = request.args.get("company") or None
    fmt = request.args.get("format", "csv")
    if doc_id is None and not company:
        return error(400, "choose a document (doc=ID) or a company (company=NAME)")
    if fmt not in ("csv", "json"):
        return error(400, "format must be csv or json")
    try:
        rows = evidence.confirmed(db, doc_id, company)
    except CompanyError as exc:
        return error(404, str(exc))
    stem = f"evidence-document-{doc_id}" if doc_id is not None else "evidence-company"
    body = evidence.to_csv(rows) if fmt == "csv" else evidence.to_json(rows)
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    response = Response(body, content_type=f"{mimetype}; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


def _search_scope() -> dict:
    """The search filters of the request's query string, as ``rank_passages`` takes them."""
    args = request.args
    return {
        "doc_id": args.get("doc", type=int),
        "company": args.get("company", "").strip() or None,
        "season": args.get("season", "").strip() or None,
        "criterion": args.get("criterion", "").strip() or None,
    }


def _pages_for(query: str, scope: dict, limit: int, mode: str = "hybrid") -> list[dict]:
    """Pages ranked for the query, each with the URL of its image and of the page view with
    every matching passage boxed (may raise EmbeddingError)."""
    results = rank_passages(
        get_db(), current_app.extensions["embedder"], query, scope["doc_id"], limit,
        company=scope["company"], season=scope["season"], criterion=scope["criterion"],
        mode=mode,
    )  # fmt: skip
    for r in results:
        r["page_url"] = url_for(
            "documents.page_view", doc_id=r["doc_id"], pdf_page=r["page"],
            passage=r["page_passage_ids"],
        )  # fmt: skip
        r["image_url"] = url_for("documents.page_image", doc_id=r["doc_id"], pdf_page=r["page"])
    return results


@bp.get("/search")
@requires("review")
def search() -> ResponseReturnValue:
    db = get_db()
    args = request.args
    query = args.get("q", "").strip()
    scope = _search_scope()
    results = []
    if query:
        try:
            results = _pages_for(query[:MAX_QUERY], scope, 20)
        except EmbeddingError as exc:
            return error(503, f"the search model is not available: {exc}")
    version = newest_criteria_version(db)
    criteria = criteria_content(db, version) if version else []
    words = terms(query)  # content words only: "for" and "the" stay unmarked
    return render_template(
        "search.html",
        query=query,
        doc_id=scope["doc_id"],
        scope=scope,
        add_for=args.get("for", "") or scope["criterion"] or "",
        like=args.get("like", type=int),
        choices=scope_choices(db),
        results=results,
        criteria=criteria,
        words=words,
        documents=all_documents(db),
    )


@bp.post("/evidence/add")
@requires("review")
def add_evidence() -> ResponseReturnValue:
    form = request.form
    level = form.get("level", type=int)
    try:
        if level not in (1, 2):  # the reviewer says how strong it is; nothing is assumed
            raise decisions.DecisionError("choose the level (1 or 2) of the evidence you add")
        decision_id = decisions.add_evidence(
            get_db(),
            form.get("passage_id", type=int) or 0,
            form.get("criterion", ""),
            g.user["username"],
            level,
            form.get("quote") or None,
            form.get("comment") or None,
        )
    except decisions.DecisionError as exc:
        flash(str(exc), "error")
    else:
        flash(f"added as evidence for {form.get('criterion')} (decision {decision_id})")
    back = {
        "q": form.get("q") or None,
        "doc": form.get("doc", type=int),
        "criterion": form.get("criterion_scope") or None,  # "criterion" is the one added for
        **{k: form.get(k) or None for k in ("company", "season", "for", "like")},
    }
    # Any: url_for's own keywords (_external, _anchor, ...) are typed; these are query values
    query: dict[str, Any] = {k: v for k, v in back.items() if v}
    return redirect(url_for("documents.search", **query))


# --- the same as JSON, for scripts and the review benchmark ----------------------------------


class _BadRequest(ValueError):
    """A JSON request that cannot be answered as asked: (status code, message)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _int_arg(name: str, low: int, high: int) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{1,18}", raw) or not low <= int(raw) <= high:
        raise _BadRequest(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _api_search_request() -> tuple[str, dict, int, str]:
    """query, scope, limit and mode of GET /api/search, or _BadRequest saying what is wrong."""
    query = request.args.get("q", "").strip()
    if not query:
        raise _BadRequest(400, "say what to look for (q)")
    if len(query) > MAX_QUERY:
        raise _BadRequest(400, f"the query is longer than {MAX_QUERY} characters")
    limit = _int_arg("limit", 1, MAX_API_LIMIT) or 10
    mode = request.args.get("mode", "hybrid").strip() or "hybrid"
    if mode not in MODES:
        raise _BadRequest(400, f"mode must be one of {', '.join(MODES)}")
    scope = {**_search_scope(), "doc_id": _int_arg("doc", 1, MAX_ID)}
    db = get_db()
    if scope["doc_id"] is not None and document_by_id(db, scope["doc_id"]) is None:
        raise _BadRequest(404, f"no document {scope['doc_id']}")
    if scope["criterion"] and scope["criterion"].upper() not in _criterion_ids(db):
        raise _BadRequest(400, f"no criterion {scope['criterion']!r} in any stored criteria set")
    return query, scope, limit, mode


def _criterion_ids(db) -> set[str]:
    return {cid.upper() for s in criteria_sets(db) for cid in criterion_names(db, s["version"])}


@bp.get("/api/search")
@requires("review")
def api_search() -> ResponseReturnValue:
    """Pages ranked for ?q= within doc/company/season/criterion: each page once, with its best
    passage, ``more_on_page``, every matching passage id and box on it, and its URLs."""
    try:
        query, scope, limit, mode = _api_search_request()
        results = _pages_for(query, scope, limit, mode)
    except _BadRequest as exc:
        return error(exc.code, str(exc))
    except EmbeddingError as exc:
        return error(503, f"the search model is not available: {exc}")
    return jsonify(query=query, scope=scope, mode=mode, limit=limit, results=results)


@bp.post("/api/evidence")
@requires("review")
def api_add_evidence() -> ResponseReturnValue:
    """Add a passage as evidence for a criterion, as the search page's form does: JSON with
    passage_id, criterion, level (1 or 2) and optionally quote and comment."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error(400, "send a JSON object: passage_id, criterion, level, quote, comment")
    passage_id, criterion, level = data.get("passage_id"), data.get("criterion"), data.get("level")
    quote, comment = data.get("quote"), data.get("comment")
    if not isinstance(passage_id, int) or isinstance(passage_id, bool) or passage_id < 1:
        return error(400, "passage_id must be a passage id (a whole number)")
    if not isinstance(criterion, str) or not criterion.strip():
        return error(400, "say which criterion (criterion, e.g. HR-MIN-01) the evidence is for")
    if isinstance(level, str) and level.strip() in ("1", "2"):  # as the card API takes it
        level = int(level)
    if level not in (1, 2) or isinstance(level, bool):  # asked for, never assumed
        return error(400, "level must be 1 or 2 (the strength of the evidence you add)")
    if any(v is not None and not isinstance(v, str) for v in (quote, comment)):
        return error(400, "quote and comment must be text")
    db = get_db()
    if passage_id > MAX_ID or get_passage(db, passage_id) is None:
        return error(404, f"no passage {passage_id}")
    try:
        decision_id = decisions.add_evidence(
            db, passage_id, criterion.strip(), g.user["username"], level, quote or None,
            comment or None,
        )  # fmt: skip
    except decisions.DecisionError as exc:
        return error(400, str(exc))
    row = get_decision(db, decision_id) or {}
    return jsonify(
        decision_id=decision_id,
        action=row.get("action"),
        candidate_id=row.get("candidate_id"),
        passage_id=passage_id,
        document_id=row.get("document_id"),
        criterion=row.get("criterion_id"),
        level=row.get("level"),
        quote=row.get("quote"),
    )


@bp.get("/documents/<int:doc_id>/pages/<int:pdf_page>")
def page_view(doc_id: int, pdf_page: int) -> ResponseReturnValue:
    """A PDF page with the boxes of passages (?passage=ID, repeated for a search's matches
    on the page) or a candidate's quote."""
    db = get_db()
    doc = document_by_id(db, doc_id)
    if doc is None:
        return error(404, f"no document {doc_id}")
    if not 1 <= pdf_page <= doc["page_count"]:
        return error(404, f"document {doc_id} has {doc['page_count']} pages, not {pdf_page}")
    passage_ids = request.args.getlist("passage", type=int)
    if len(passage_ids) > MAX_PAGE_PASSAGES:
        return error(400, f"at most {MAX_PAGE_PASSAGES} passages are boxed on one page")
    candidate_id = request.args.get("candidate", type=int)
    try:
        view = review.page_view(db, doc_id, pdf_page, passage_ids, candidate_id)
    except LookupError as exc:
        return error(404, str(exc).strip("'\""))
    return render_template("page.html", doc=doc, view=view)


@bp.route("/settings", methods=["GET", "POST"])
@requires("admin")
def settings() -> ResponseReturnValue:
    """Seasons (cut-off, window start) and documents (company, year, season, publication
    date, subsidiary only), editable by an admin as from the CLI."""
    db = get_db()
    if request.method == "POST":
        form = request.form
        try:
            if form.get("what") == "season":
                row = add_season(
                    db,
                    form.get("season", ""),
                    form.get("cutoff", ""),
                    form.get("window_start") or None,
                    form.get("note") or None,
                )
                flash(f"season {row['season']}: cut-off {row['cutoff']} saved")
            elif form.get("what") == "document":
                doc_id = form.get("doc_id", type=int)
                if doc_id is None or document_by_id(db, doc_id) is None:
                    return error(404, "no such document")
                set_document(
                    db,
                    doc_id,
                    company=form.get("company", "")[:200],
                    fiscal_year=form.get("fiscal_year", "")[:20],
                    season=form.get("season", "")[:20],
                    published=form.get("published") or None,
                    subsidiary_only=form.get("subsidiary_only") == "1",
                )
                flash(f"document {doc_id} saved")
            else:
                return error(400, "say what to save: season or document")
        except SeasonError as exc:
            flash(str(exc), "error")
        return redirect(url_for("documents.settings"))
    return render_template("settings.html", seasons=list_seasons(db), documents=all_documents(db))
