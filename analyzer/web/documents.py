"""Documents: the home page, uploads with progress, page images and the page view with
boxes, search, exports, and the admin's season and document settings."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

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
from analyzer.db.criteria import criteria_content, newest_criteria_version
from analyzer.db.documents import all_documents, document_by_id
from analyzer.embeddings.model import EmbeddingError
from analyzer.review import decisions
from analyzer.review import export as evidence
from analyzer.review import status as review
from analyzer.review.names import CompanyError
from analyzer.scorecard.metadata import set_document
from analyzer.scorecard.seasons import SeasonError, add_season, list_seasons
from analyzer.search import rank_passages, scope_choices
from analyzer.web.common import error, get_db, requires
from analyzer.web.jobs import UploadError, display_name, save_upload, uploads
from analyzer.web.render import RenderError

bp = Blueprint("documents", __name__)


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


@bp.get("/search")
@requires("review")
def search() -> ResponseReturnValue:
    db = get_db()
    args = request.args
    query = args.get("q", "").strip()
    scope = {
        "doc_id": args.get("doc", type=int),
        "company": args.get("company", "").strip() or None,
        "season": args.get("season", "").strip() or None,
        "criterion": args.get("criterion", "").strip() or None,
    }
    results = []
    if query:
        embedder = current_app.extensions["embedder"]
        try:
            results = rank_passages(
                db, embedder, query[:2000], scope["doc_id"], 20,
                company=scope["company"], season=scope["season"], criterion=scope["criterion"],
            )  # fmt: skip
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
    return redirect(url_for("documents.search", **{k: v for k, v in back.items() if v}))


@bp.get("/documents/<int:doc_id>/pages/<int:pdf_page>")
def page_view(doc_id: int, pdf_page: int) -> ResponseReturnValue:
    """A PDF page with the boxes of a passage (?passage=ID) or a candidate's quote."""
    db = get_db()
    doc = document_by_id(db, doc_id)
    if doc is None:
        return error(404, f"no document {doc_id}")
    if not 1 <= pdf_page <= doc["page_count"]:
        return error(404, f"document {doc_id} has {doc['page_count']} pages, not {pdf_page}")
    passage_id = request.args.get("passage", type=int)
    candidate_id = request.args.get("candidate", type=int)
    try:
        view = review.page_view(db, doc_id, pdf_page, passage_id, candidate_id)
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
