"""Criterion review: the analyst's unit of work is the level of a criterion for a report.

The machine drafts a level per criterion (the pre-score's stored draft, or the verdict rule
over per-criterion classifiers when no pre-score ran) and the passages it rests on. A
reviewer confirms that level with the passages they select, or sets another one; with four
eyes on, a level counts once a second reviewer agrees, and reviewers who disagree leave it
disputed until someone who took no side settles it. Decisions are appended like candidate
decisions (undo is a row too), and every confirmed level is a gold decision
(``gold_records``) in the format of ``labels/gold/gold.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from analyzer.candidates.quotes import citation
from analyzer.db.candidates import candidates_with_pages
from analyzer.db.criteria import criteria_content, document_criteria_version
from analyzer.db.criterion_decisions import (
    criterion_decisions,
    get_criterion_decision,
    insert_criterion_decision,
)
from analyzer.db.documents import all_documents, document_by_id, document_pages
from analyzer.db.drafts import document_drafts
from analyzer.db.passages import get_passage
from analyzer.levels import candidate_level
from analyzer.review.decisions import DecisionError, effective
from analyzer.review.status import (
    CONFIRMED,
    DISPUTED,
    OPEN,
    SECOND,
    _opinion,
    distinctive_words,
    four_eyes,
    items,
    segments,
    statuses,
)
from analyzer.scoring.verdict import draft, with_drafts


class CriterionReviewError(LookupError):
    """A document or criterion that is not there to review; the message says which."""


def _criterion(db: Database, version: str, criterion: str) -> dict:
    for c in criteria_content(db, version):
        if c["id"].lower() == (criterion or "").strip().lower():
            return c
    raise CriterionReviewError(f"no criterion {criterion!r} in the document's criteria set")


def _document(db: Database, doc_id: int) -> tuple[dict, str]:
    doc = document_by_id(db, doc_id)
    if doc is None:
        raise CriterionReviewError(f"no document {doc_id}")
    version = document_criteria_version(db, doc_id)
    if version is None:
        raise CriterionReviewError(f"document {doc_id} has no candidates yet (analyse it)")
    return doc, version


def candidate_rows(db: Database, doc_id: int, version: str) -> dict[str, list[dict]]:
    """criterion id -> the document's candidates by rank, each with its criterion's draft
    attached and its suggested level, the form ``verdict.draft`` reads."""
    rows = with_drafts(
        candidates_with_pages(db, doc_id, version), document_drafts(db, doc_id, version)
    )
    out: dict[str, list[dict]] = {}
    for row in rows:
        suggestion = candidate_level(row)
        row["level"], row["level_reason"] = suggestion.level, suggestion.reason
        out.setdefault(row["criterion_id"], []).append(row)
    return out


def criterion_draft(
    db: Database, doc_id: int, version: str, criterion_id: str, rows: list[dict]
) -> dict:
    """The machine's draft for one criterion: level (None when not assessed), its reason and
    the passage ids it rests on. Pre-scored reports keep these in the drafts table; without a
    pre-score the verdict rule's pick over the classifiers is the one passage."""
    verdict, level, pick, why = draft(rows)
    stored = document_drafts(db, doc_id, version).get(criterion_id)
    if stored is not None:
        evidence = [int(p) for p in json.loads(stored.get("evidence") or "[]")]
        if not evidence and stored["level"]:
            evidence = [r["passage_id"] for r in rows if r["level"] > 0]
        return {
            "level": stored["level"],
            "reason": stored.get("reason") or why,
            "p_evidence": stored.get("p_evidence"),
            "p_full": stored.get("p_full"),
            "evidence": evidence,
            "source": "pre-score",
            "verdict": verdict,
        }
    return {
        "level": level,
        "reason": why,
        "p_evidence": pick.get("probability") if pick else None,
        "p_full": None,
        "evidence": [pick["passage_id"]] if pick is not None and level else [],
        "source": "classifiers" if level is not None else "not assessed",
        "verdict": verdict,
    }


def criterion_status(rows: list[dict], four: bool) -> dict:
    """{'status', 'level', 'evidence', 'reviewers'} of one criterion of one report, by the
    same rules as a candidate: latest word wins, undo drops a row, four eyes, adjudication."""
    live = effective(rows)
    latest: dict[str, dict] = {}
    for row in live:
        latest[row["reviewer"]] = row
    out: dict[str, Any] = {"reviewers": latest, "level": None, "evidence": [], "decision": None}
    if live:
        last = live[-1]
        out.update(level=last["level"], evidence=json.loads(last["evidence"] or "[]"))
        out["decision"] = last
    if not live:
        return {**out, "status": OPEN}
    if any(r["adjudication"] for r in live) or not four:
        return {**out, "status": CONFIRMED}
    if len({_opinion(r) for r in latest.values()}) > 1:
        return {**out, "status": DISPUTED}
    return {**out, "status": CONFIRMED if len(latest) >= 2 else SECOND}


def criterion_levels(db: Database, doc_ids: list[int] | None = None) -> dict[tuple, dict]:
    """(document id, criterion id) -> criterion_status, for every criterion a reviewer
    decided on the given documents (all when None)."""
    groups: dict[tuple, list[dict]] = {}
    for row in criterion_decisions(db, doc_ids):
        groups.setdefault((row["document_id"], row["criterion_id"]), []).append(row)
    cache: dict[str, bool] = {}
    out = {}
    for key, rows in groups.items():
        version = rows[-1]["criteria_version"]
        if version not in cache:
            cache[version] = four_eyes(db, version)
        out[key] = criterion_status(rows, cache[version])
    return out


def card_draft(db: Database, doc_id: int, criterion_id: str, passage_id: int) -> dict:
    """The criterion's draft as the candidate card shows it: level, reason, and whether this
    card's passage is one the draft rests on."""
    _doc, version = _document(db, doc_id)
    rows = candidate_rows(db, doc_id, version).get(criterion_id, [])
    machine = criterion_draft(db, doc_id, version, criterion_id, rows)
    return {**machine, "this_passage": passage_id in machine["evidence"]}


def needs(user: str, st: dict) -> bool:
    """Should this user review the criterion (open, or waiting for a second reviewer)?"""
    return st["status"] == OPEN or (st["status"] == SECOND and user not in st["reviewers"])


def criterion_queue(
    db: Database, user: str, doc_id: int, skip: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """The document's criteria this user still has to review: the drafts that found
    evidence first (highest level first), then the rest in the criteria set's order."""
    _doc, version = _document(db, doc_id)
    rows = candidate_rows(db, doc_id, version)
    decided = criterion_levels(db, [doc_id])
    empty = {"status": OPEN, "reviewers": {}}
    todo = []
    for order, c in enumerate(criteria_content(db, version)):
        if c["id"] in skip or not needs(user, decided.get((doc_id, c["id"]), empty)):
            continue
        level = draft(rows.get(c["id"], []))[1]
        todo.append((-(level or 0), order, c["id"]))
    return [cid for *_, cid in sorted(todo)]


def criterion_progress(db: Database, doc_id: int) -> dict:
    """How far criterion review of a document is: confirmed of all criteria, and pending."""
    _doc, version = _document(db, doc_id)
    total = len(criteria_content(db, version))
    states = [st["status"] for st in criterion_levels(db, [doc_id]).values()]
    return {
        "criteria": total,
        "reviewed": states.count(CONFIRMED),
        "awaiting": states.count(SECOND),
        "disputed": states.count(DISPUTED),
        "remaining": total - states.count(CONFIRMED),
    }


def _pages(db: Database, doc_id: int, passage: dict, quote_page: int | None, boxes: str | None):
    parts = json.loads(passage["parts"])
    sizes = {r["pdf_page"]: r for r in document_pages(db, doc_id, [p["pdf_page"] for p in parts])}
    return [
        {
            "pdf_page": p["pdf_page"],
            "citation": citation(p["pdf_page"], p["label"]),
            "width": sizes[p["pdf_page"]]["width"] if p["pdf_page"] in sizes else 0,
            "height": sizes[p["pdf_page"]]["height"] if p["pdf_page"] in sizes else 0,
            "boxes": p.get("boxes", []),
            "quote_boxes": json.loads(boxes or "[]") if p["pdf_page"] == quote_page else [],
        }
        for p in parts
    ]


def _history(rows: list[dict], user: str, undo_any: bool) -> list[dict]:
    undone = {r["reverts_id"]: r["reviewer"] for r in rows if r["action"] == "undo"}
    return [
        {
            "id": r["id"],
            "reviewer": r["reviewer"],
            "at": r["created_at"],
            "action": r["action"],
            "level": r["level"],
            "draft_level": r["draft_level"],
            "comment": r["comment"],
            "adjudication": bool(r["adjudication"]),
            "passages": [e["passage_id"] for e in json.loads(r["evidence"] or "[]")],
            "undone_by": undone.get(r["id"]),
            "can_undo": r["action"] != "undo"
            and r["id"] not in undone
            and (undo_any or r["reviewer"] == user),
        }
        for r in rows
    ]


def criterion_view(
    db: Database, doc_id: int, criterion: str, user: str, undo_any: bool = False
) -> dict:
    """Everything the criterion view shows: the draft level, its reason and the passages it
    rests on (boxed on their pages), the other candidates below, the review status, history.
    Text is data, never HTML."""
    doc, version = _document(db, doc_id)
    crit = _criterion(db, version, criterion)
    rows = candidate_rows(db, doc_id, version).get(crit["id"], [])
    machine = criterion_draft(db, doc_id, version, crit["id"], rows)
    decided = [r for r in criterion_decisions(db, [doc_id]) if r["criterion_id"] == crit["id"]]
    st = criterion_status(decided, four_eyes(db, version))
    words = distinctive_words(db, version, crit)
    reviewed = {
        item.key[1]: s["status"]
        for item, s in statuses(db, items(db, doc_id))
        if item.key[2] == crit["id"]
    }
    chosen = {e["passage_id"] for e in st["evidence"]} if st["decision"] else None
    passages = []
    for row in rows:
        passage = get_passage(db, row["passage_id"])
        if passage is None:  # gone with a re-analysis; the added ones below are skipped alike
            continue
        span = None if row.get("quote_start") is None else (row["quote_start"], row["quote_end"])
        in_draft = row["passage_id"] in machine["evidence"]
        passages.append(
            {
                "passage_id": row["passage_id"],
                "candidate_id": row["id"],
                "rank": row["rank"],
                "quote": row["quote"],
                "citation": citation(row["pdf_page"], row["page_label"]),
                "pdf_page": row["pdf_page"],
                "suggested_level": row["level"],
                "level_reason": row["level_reason"],
                "probability": row.get("probability"),
                "in_draft": in_draft,
                "selected": in_draft if chosen is None else row["passage_id"] in chosen,
                "candidate_status": reviewed.get(row["passage_hash"], OPEN),
                "segments": segments(passage["text"], words, span),
                "pages": _pages(db, doc_id, passage, row["pdf_page"], row.get("quote_boxes")),
            }
        )
    known = {p["passage_id"] for p in passages}
    added = [  # passages added from search as candidate evidence for this criterion
        {"passage_id": i.rows[-1]["passage_id"], **s["state"]}
        for i, s in statuses(db, items(db, doc_id))
        if i.candidate is None
        and s["state"]["criterion"] == crit["id"]
        and s["state"]["verdict"] == "evidence"
    ]
    for e in [*st["evidence"], *added]:
        if e["passage_id"] in known or (passage := get_passage(db, e["passage_id"])) is None:
            continue
        known.add(e["passage_id"])
        passages.append(
            {
                "passage_id": e["passage_id"],
                "candidate_id": None,
                "rank": None,
                "quote": e["quote"],
                "citation": citation(e["pdf_page"], e["page_label"]),
                "pdf_page": e["pdf_page"],
                "suggested_level": None,
                "level_reason": "added by a reviewer",
                "probability": None,
                "in_draft": False,
                "selected": True,
                "candidate_status": None,
                "segments": segments(passage["text"], words),
                "pages": _pages(db, doc_id, passage, None, None),
            }
        )
    passages.sort(key=lambda p: (not p["in_draft"], p["rank"] is None, p["rank"] or 0))
    return {
        "document": {
            "id": doc["id"],
            "file_name": doc["file_name"],
            "company": doc["company"],
            "fiscal_year": doc["fiscal_year"],
            "page_count": doc["page_count"],
        },
        "criterion": {
            "id": crit["id"],
            "name": crit["name"],
            "definition": crit.get("definition", ""),
            "levels": crit.get("levels") or {},
        },
        "criteria_version": version,
        "draft": machine,
        "passages": passages,
        "status": st["status"],
        "level": st["level"] if st["decision"] else None,
        "reviewers": sorted(st["reviewers"]),
        "history": _history(decided, user, undo_any),
        "progress": criterion_progress(db, doc_id),
    }


def decide_criterion(
    db: Database,
    doc_id: int,
    criterion: str,
    reviewer: str,
    level: int | None,
    passage_ids: list[int],
    comment: str | None = None,
    adjudication: bool = False,
) -> int:
    """Record a reviewer's level for a criterion of a report with the passages it rests on;
    returns the decision id. A level above 0 needs at least one passage of the report."""
    if not reviewer or not reviewer.strip():
        raise DecisionError("a decision needs the reviewer's name")
    if level not in (0, 1, 2):
        raise DecisionError("say the level: 0, 1 or 2")
    try:
        doc, version = _document(db, doc_id)
        crit = _criterion(db, version, criterion)
    except CriterionReviewError as exc:
        raise DecisionError(str(exc)) from None
    rows = candidate_rows(db, doc_id, version).get(crit["id"], [])
    by_passage = {r["passage_id"]: r for r in rows}
    evidence = []
    for pid in dict.fromkeys(passage_ids if level else []):
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise DecisionError("evidence must be a list of passage ids")
        passage = get_passage(db, pid)
        if passage is None or passage["document_id"] != doc["id"]:
            raise DecisionError(f"no passage {pid} in document {doc['id']}")
        cand = by_passage.get(pid)
        first = json.loads(passage["parts"])[0]
        evidence.append(
            {
                "passage_id": pid,
                "passage_hash": passage["content_hash"],
                "quote": cand["quote"] if cand else passage["text"].strip(),
                "pdf_page": cand["pdf_page"] if cand else first["pdf_page"],
                "page_label": cand["page_label"] if cand else first["label"],
            }
        )
    if level and not evidence:
        raise DecisionError(f"level {level} needs the passages it rests on (select at least one)")
    machine = criterion_draft(db, doc_id, version, crit["id"], rows)
    return insert_criterion_decision(
        db,
        {
            "document_id": doc["id"],
            "criteria_version": version,
            "criterion_id": crit["id"],
            "action": "accept" if level else "reject",
            "level": level,
            "evidence": json.dumps(evidence, ensure_ascii=False),
            "draft_level": machine["level"],
            "comment": comment.strip() if comment and comment.strip() else None,
            "reviewer": reviewer.strip(),
            "adjudication": int(adjudication),
            "reverts_id": None,
        },
    )


def undo_criterion_decision(
    db: Database, decision_id: int, reviewer: str, others_allowed: bool = False
) -> int:
    """Revert a criterion decision with a new 'undo' row; returns its id."""
    if not reviewer or not reviewer.strip():
        raise DecisionError("an undo needs the reviewer's name")
    target = get_criterion_decision(db, decision_id)
    if target is None:
        raise DecisionError(f"no criterion decision {decision_id}")
    if target["action"] == "undo":
        raise DecisionError("an undo cannot be undone; decide the criterion again instead")
    rows = criterion_decisions(db, [target["document_id"]])
    if any(r["action"] == "undo" and r["reverts_id"] == decision_id for r in rows):
        raise DecisionError(f"criterion decision {decision_id} is already undone")
    if target["reviewer"] != reviewer.strip() and not others_allowed:
        raise DecisionError(f"criterion decision {decision_id} is {target['reviewer']}'s to undo")
    keep = ("document_id", "criteria_version", "criterion_id", "level", "evidence", "draft_level")
    return insert_criterion_decision(
        db,
        {
            **{k: target[k] for k in keep},
            "action": "undo",
            "comment": None,
            "reviewer": reviewer.strip(),
            "adjudication": 0,
            "reverts_id": decision_id,
        },
    )


def gold_records(db: Database) -> list[dict]:
    """Every confirmed criterion level as a gold decision (labels/gold/gold.jsonl format:
    document, document_sha256, criterion, level, evidence quotes with pages, why), plus who
    decided, so a season's review can train the next season's pre-score."""
    docs = {d["id"]: d for d in all_documents(db)}
    out = []
    for (doc_id, criterion), st in sorted(criterion_levels(db).items()):
        if st["status"] != CONFIRMED or doc_id not in docs:
            continue
        last = st["decision"]
        first_two = list(st["reviewers"].values())[:2]
        reason = last["comment"] or (
            f"confirmed the machine's draft level {last['draft_level']}"
            if last["draft_level"] == last["level"]
            else f"set to level {last['level']} (draft {last['draft_level']})"
        )
        out.append(
            {
                "document": docs[doc_id]["file_name"],
                "document_sha256": docs[doc_id]["sha256"],
                "criterion": criterion,
                "level": last["level"],
                "evidence": [
                    {"pdf_page": e["pdf_page"], "quote": e["quote"]} for e in st["evidence"]
                ],
                "why": reason,
                "pass_a_level": first_two[0]["level"] if first_two else None,
                "pass_b_level": first_two[1]["level"] if len(first_two) > 1 else None,
                "adjudicated": bool(last["adjudication"]),
                "labelled_by": [f"reviewer:{name}" for name in sorted(st["reviewers"])],
                "criteria_version": last["criteria_version"],
                "decided_at": last["created_at"],
            }
        )
    return out


def export_gold(db: Database, path: str | Path, with_gold: str | Path | None = None) -> dict:
    """Write the confirmed criterion levels as gold lines; with ``with_gold``, that gold file
    first and the review's decisions after it (a pair the gold already has keeps the gold's),
    so ``analyzer evaluate --prescore --gold PATH --save-model`` learns from both. Returns
    the counts."""
    lines: list[str] = []
    have: set[tuple[str, str]] = set()
    if with_gold is not None:
        for line in Path(with_gold).read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                have.add((record["document_sha256"], record["criterion"]))
                lines.append(line.strip())
    gold_lines = len(lines)
    reviewed = [r for r in gold_records(db) if (r["document_sha256"], r["criterion"]) not in have]
    lines += [json.dumps(r, ensure_ascii=False) for r in reviewed]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return {"gold": gold_lines, "reviewed": len(reviewed), "gold_pairs": len(have)}
