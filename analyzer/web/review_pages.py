"""The review queue (one card at a time, JSON for the keyboard flow), progress, adjudication."""

from __future__ import annotations

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from analyzer.accounts import can
from analyzer.db.criteria import (
    criteria_content,
    criteria_sets,
    criterion_names,
    newest_criteria_version,
)
from analyzer.db.decisions import get_decision
from analyzer.db.documents import all_documents, document_by_id, get_document
from analyzer.review import criteria as criterion_review
from analyzer.review import decisions
from analyzer.review import status as review
from analyzer.web.common import error, get_db, requires

bp = Blueprint("review", __name__)


def _scope() -> dict:
    args = request.args
    return {
        "doc_id": args.get("doc", type=int),
        "criterion": args.get("criterion") or None,
        "order": args.get("order") or "score",
    }


def _scope_problem(db, scope: dict) -> ResponseReturnValue | None:
    """A clear 400/404 for a review scope that names nothing real."""
    if scope["order"] not in review.ORDERS:
        return error(400, f"unknown order {scope['order']!r}; choose {', '.join(review.ORDERS)}")
    if scope["doc_id"] is not None and document_by_id(db, scope["doc_id"]) is None:
        return error(404, f"no document {scope['doc_id']}")
    return None


@bp.get("/review")
@requires("review")
def page() -> ResponseReturnValue:
    db = get_db()
    scope = _scope()
    if problem := _scope_problem(db, scope):
        return problem
    version = newest_criteria_version(db)
    criteria = criteria_content(db, version) if version else []
    return render_template(
        "review.html",
        scope=scope,
        documents=all_documents(db),
        criteria=criteria,
        orders=review.ORDERS,
        candidate=request.args.get("candidate", type=int),
    )


def _counts(db, card: dict) -> dict:
    stats = review.progress(db, card["document"]["id"])
    return {
        "document": stats["total"],
        "criterion": stats["criteria"].get(card["criterion"]["id"]),
    }


def _card_json(db, candidate_id: int) -> ResponseReturnValue:
    card = review.card(db, candidate_id, g.user["username"], undo_any=_may("admin"))
    if card is None:
        return error(404, f"no candidate {candidate_id}")
    # A disputed card opened by someone who may adjudicate and took no side: their word settles it.
    card["settles"] = (
        card["status"] == review.DISPUTED
        and _may("adjudicate")
        and g.user["username"] not in card["reviewers"]
    )
    card["progress"] = _counts(db, card)
    # The criterion's draft beside the candidate: the level the machine gives the report
    # for this criterion, why, and whether this passage is one it rests on.
    card["draft"] = criterion_review.card_draft(
        db, card["document"]["id"], card["criterion"]["id"], card["passage_id"]
    )
    return jsonify(card=card)


@bp.get("/api/next")
@requires("review")
def next_card() -> ResponseReturnValue:
    db = get_db()
    scope = _scope()
    if problem := _scope_problem(db, scope):
        return problem
    skip = {int(x) for x in request.args.get("skip", "").split(",") if x.strip().isdigit()}
    ids = review.queue(db, g.user["username"], skip=skip, **scope)
    if not ids:
        stats = review.progress(db, scope["doc_id"])
        return jsonify(card=None, progress={"document": stats["total"]}, skipped=len(skip))
    return _card_json(db, ids[0])


@bp.get("/api/cards/<int:candidate_id>")
@requires("review")
def show_card(candidate_id: int) -> ResponseReturnValue:
    return _card_json(get_db(), candidate_id)


def _body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _level(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise decisions.DecisionError("level must be 0, 1 or 2") from None


def _text(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise decisions.DecisionError(f"{key} must be text")


@bp.post("/api/cards/<int:candidate_id>/decide")
@requires("review")
def decide(candidate_id: int) -> ResponseReturnValue:
    data = _body()
    adjudication = bool(data.get("adjudication"))
    if adjudication and not _may("adjudicate"):
        return error(403, "only reviewers and admins adjudicate")
    try:
        decision_id = decisions.record_decision(
            get_db(),
            candidate_id,
            _text(data, "action") or "",
            g.user["username"],
            level=_level(data.get("level")),
            criterion=_text(data, "criterion") or None,
            quote=_text(data, "quote"),
            comment=_text(data, "comment"),
            adjudication=adjudication,
        )
    except decisions.DecisionError as exc:
        return error(400, str(exc))
    return jsonify(decision_id=decision_id, candidate_id=candidate_id)


@bp.post("/api/criteria/done")
@requires("review")
def criterion_done() -> ResponseReturnValue:
    """Criterion done: the rest of this criterion's candidates in the document, rejected."""
    data = _body()
    doc_id, criterion = data.get("doc"), _text(data, "criterion") if "criterion" in data else None
    if not isinstance(doc_id, int) or not 0 < doc_id < 2**63 or not criterion:
        return error(400, "say which document (doc, a number) and criterion")
    db = get_db()
    if document_by_id(db, doc_id) is None:
        return error(404, f"no document {doc_id}")
    rejected = review.finish_criterion(db, g.user["username"], doc_id, criterion)
    return jsonify(rejected=len(rejected), decision_ids=rejected)


def _may(permission: str) -> bool:
    return can(g.user["role"], permission)


@bp.post("/api/decisions/<int:decision_id>/undo")
@requires("review")
def undo(decision_id: int) -> ResponseReturnValue:
    try:
        undo_id = decisions.undo_decision(
            get_db(), decision_id, g.user["username"], others_allowed=_may("admin")
        )
    except decisions.DecisionError as exc:
        return error(400, str(exc))
    row = get_decision(get_db(), decision_id)
    if row is None:  # undo_decision refuses a decision that does not exist
        return error(404, f"no decision {decision_id}")
    return jsonify(decision_id=undo_id, candidate_id=row["candidate_id"])


@bp.get("/progress")
def progress() -> ResponseReturnValue:
    db = get_db()
    doc_id = request.args.get("doc", type=int)
    stats = review.progress(db, doc_id)
    docs = {d["id"]: d for d in all_documents(db)}
    names: dict[str, str] = {}
    for s in criteria_sets(db):
        names.update(criterion_names(db, s["version"]))
    return render_template("progress.html", stats=stats, docs=docs, names=names, doc_id=doc_id)


@bp.route("/adjudicate", methods=["GET", "POST"])
@requires("adjudicate")
def adjudicate() -> ResponseReturnValue:
    db = get_db()
    if request.method == "POST":
        form = request.form
        action = form.get("action", "")
        try:
            decisions.record_decision(
                db,
                form.get("candidate_id", type=int) or 0,
                action if action in ("accept", "reject") else "",
                g.user["username"],
                level=_level(form.get("level")) if action == "accept" else None,
                comment=form.get("comment") or None,
                adjudication=True,
            )
            flash("dispute settled")
        except decisions.DecisionError as exc:
            flash(str(exc), "error")
        return redirect(url_for("review.adjudicate"))
    disputes = [
        {
            "item": item,
            "status": st,
            "criterion": review.criterion_info(db, item.criteria_version, item.key[2]),
            "document": get_document(db, item.key[0]),
        }
        for item, st in review.disputed(db)
        if item.candidate is not None
    ]
    return render_template("adjudicate.html", disputes=disputes)


# --- criterion review: the level of a criterion for a report --------------------------------


@bp.get("/review/criteria")
@requires("review")
def criteria_page() -> ResponseReturnValue:
    db = get_db()
    doc_id = request.args.get("doc", type=int)
    docs = all_documents(db)
    if doc_id is None and docs:
        doc_id = docs[0]["id"]
    if doc_id is not None and document_by_id(db, doc_id) is None:
        return error(404, f"no document {doc_id}")
    return render_template(
        "criterion_review.html",
        documents=docs,
        doc_id=doc_id,
        criterion=request.args.get("criterion") or "",
    )


def _criterion_json(db, doc_id: int, criterion: str) -> ResponseReturnValue:
    try:
        view = criterion_review.criterion_view(
            db, doc_id, criterion, g.user["username"], undo_any=_may("admin")
        )
    except criterion_review.CriterionReviewError as exc:
        return error(404, str(exc))
    view["settles"] = (
        view["status"] == review.DISPUTED
        and _may("adjudicate")
        and g.user["username"] not in view["reviewers"]
    )
    return jsonify(view=view)


@bp.get("/api/criterion-review/next")
@requires("review")
def next_criterion() -> ResponseReturnValue:
    """The next criterion of a document this user has to review (drafts with evidence first)."""
    db = get_db()
    doc_id = request.args.get("doc", type=int)
    if doc_id is None:
        return error(400, "say which document (doc, a number)")
    skip = {x for x in request.args.get("skip", "").split(",") if x.strip()}
    try:
        todo = criterion_review.criterion_queue(db, g.user["username"], doc_id, skip)
        progress = criterion_review.criterion_progress(db, doc_id)
    except criterion_review.CriterionReviewError as exc:
        return error(404, str(exc))
    if not todo:
        return jsonify(view=None, progress=progress, skipped=len(skip))
    return _criterion_json(db, doc_id, todo[0])


@bp.get("/api/criterion-review/<int:doc_id>/<criterion>")
@requires("review")
def show_criterion(doc_id: int, criterion: str) -> ResponseReturnValue:
    return _criterion_json(get_db(), doc_id, criterion)


@bp.post("/api/criterion-review/<int:doc_id>/<criterion>/decide")
@requires("review")
def decide_criterion(doc_id: int, criterion: str) -> ResponseReturnValue:
    """Confirm or set the criterion's level, with the passages (ids) it rests on."""
    data = _body()
    adjudication = bool(data.get("adjudication"))
    if adjudication and not _may("adjudicate"):
        return error(403, "only reviewers and admins adjudicate")
    evidence = data.get("evidence", [])
    try:
        if not isinstance(evidence, list):
            raise decisions.DecisionError("evidence must be a list of passage ids")
        decision_id = criterion_review.decide_criterion(
            get_db(),
            doc_id,
            criterion,
            g.user["username"],
            _level(data.get("level")),
            evidence,
            comment=_text(data, "comment"),
            adjudication=adjudication,
        )
    except decisions.DecisionError as exc:
        return error(400, str(exc))
    return jsonify(decision_id=decision_id, doc=doc_id, criterion=criterion)


@bp.post("/api/criterion-decisions/<int:decision_id>/undo")
@requires("review")
def undo_criterion(decision_id: int) -> ResponseReturnValue:
    try:
        undo_id = criterion_review.undo_criterion_decision(
            get_db(), decision_id, g.user["username"], others_allowed=_may("admin")
        )
    except decisions.DecisionError as exc:
        return error(400, str(exc))
    return jsonify(decision_id=undo_id)
