"""Reviewer decisions: accept, reject, correct, comment, undo, add; kept with who and when.

Every decision is appended, never overwritten or deleted, so the history of a candidate can
be read back and the latest word wins. Undo is itself a decision that points at the one it
reverts. Decisions are keyed by document, passage content and the candidate's criterion, not
by candidate id, because candidates are rebuilt when a report is re-analysed. Decisions
become labels for the next training round: accepted evidence is a positive, a rejected
candidate a hard negative.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlite_utils import Database

from analyzer.candidates.quotes import line_boxes_of, locate_quote
from analyzer.db.candidates import get_candidate, passage_candidate
from analyzer.db.criteria import (
    criteria_content,
    document_criteria_version,
    newest_criteria_version,
)
from analyzer.db.decisions import (
    all_decisions,
    candidate_decisions,
    get_decision,
    insert_decision,
    is_undone,
    item_decisions,
)
from analyzer.db.documents import all_documents, page_lines
from analyzer.db.passages import get_passage

ACTIONS = ("accept", "reject", "correct", "comment")
VERDICTS = ("accept", "reject", "correct", "add")  # the actions that say what a passage is


class DecisionError(Exception):
    """A decision that cannot be recorded; the message says why."""


Key = tuple[int, str, str]  # (document id, passage content hash, the candidate's criterion)


def key_of(row: dict) -> Key:
    """The review item a decision row belongs to (a moved candidate stays with its origin)."""
    return (
        row["document_id"],
        row["passage_hash"],
        row["original_criterion_id"] or row["criterion_id"],
    )


def is_positive(row: dict) -> bool:
    """Does this verdict say the passage is evidence (for its criterion after any move)?"""
    return row["action"] != "reject" and (row["level"] is None or row["level"] > 0)


def _candidate(db: Database, candidate_id: int) -> dict:
    row = get_candidate(db, candidate_id)
    if row is None:
        raise DecisionError(f"no candidate {candidate_id}")
    return row


def _passage(db: Database, passage_id: int) -> dict:
    row = get_passage(db, passage_id)
    if row is None:
        raise DecisionError(f"no passage {passage_id}")
    return row


def _criterion_id(db: Database, version: str, criterion: str) -> str:
    known = {c["id"].lower(): c["id"] for c in criteria_content(db, version)}
    if criterion.lower() not in known:
        raise DecisionError(f"no criterion {criterion!r} in the candidate's criteria set")
    return known[criterion.lower()]


def _norm(text: str) -> str:
    return " ".join(text.split())


PROVENANCE = ("quote_start", "quote_end", "quote_page_start", "quote_page_end", "quote_boxes")


def quote_provenance(db: Database, passage: dict, quote: str) -> dict:
    """Page, label, spans and line boxes of a quote taken from the passage, worked out once
    when the decision is written (the review card reads them back)."""
    parts = json.loads(passage["parts"])
    found = locate_quote(passage["text"], parts, quote)
    if found is None:  # cannot happen for a checked quote; cite the passage's first page
        return {"pdf_page": parts[0]["pdf_page"], "page_label": parts[0]["label"]}
    lines = page_lines(db, passage["document_id"]).get(found.pdf_page, [])
    if found.page_start is None or found.page_end is None:  # locate_quote always gives one
        raise ValueError(f"locate_quote gave no page span for passage {passage['id']}")
    boxes = line_boxes_of(lines, found.page_start, found.page_end)
    return {
        "pdf_page": found.pdf_page,
        "page_label": found.page_label,
        "quote_start": found.start,
        "quote_end": found.end,
        "quote_page_start": found.page_start,
        "quote_page_end": found.page_end,
        "quote_boxes": json.dumps(boxes),
    }


def _check_quote(passage: dict, quote: str) -> str:
    quote = quote.strip()
    if not quote or _norm(quote) not in _norm(passage["text"]):
        raise DecisionError("the edited quote must be taken from the passage text")
    return quote


def _rows_for(db: Database, key: Key) -> list[dict]:
    doc_id, passage_hash, criterion = key
    return item_decisions(db, doc_id, passage_hash, criterion)


def effective(rows: list[dict]) -> list[dict]:
    """The verdict rows that still count: undo rows and the rows they revert are dropped."""
    undone = {r["reverts_id"] for r in rows if r["action"] == "undo"}
    return [r for r in rows if r["action"] in VERDICTS and r["id"] not in undone]


def state(rows: list[dict], default: dict) -> dict:
    """Criterion, level, quote and verdict after the given decision rows (latest word wins)."""
    live = effective(rows)
    if not live:
        return {**default, "verdict": None}
    last = live[-1]
    return {
        "criterion": last["criterion_id"],
        "level": last["level"],
        "quote": last["quote"],
        "pdf_page": last["pdf_page"],
        "page_label": last["page_label"],
        **{k: last.get(k) for k in PROVENANCE},
        "verdict": "evidence" if is_positive(last) else "not evidence",
    }


def _default_state(cand: dict) -> dict:
    return {
        "criterion": cand["criterion_id"],
        "level": None,
        "quote": cand["quote"],
        "pdf_page": cand["pdf_page"],
        "page_label": cand["page_label"],
        **{k: cand.get(k) for k in PROVENANCE},
    }


def candidate_key(db: Database, cand: dict) -> Key:
    """The review item key of a stored candidate."""
    passage = _passage(db, cand["passage_id"])
    return (cand["document_id"], passage["content_hash"], cand["criterion_id"])


def record_decision(
    db: Database,
    candidate_id: int,
    action: str,
    reviewer: str,
    level: int | None = None,
    criterion: str | None = None,
    quote: str | None = None,
    comment: str | None = None,
    adjudication: bool = False,
) -> int:
    """Record a reviewer's decision on a stored candidate; returns the decision id."""
    if action not in ACTIONS:
        raise DecisionError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
    if not reviewer or not reviewer.strip():
        raise DecisionError("a decision needs the reviewer's name")
    if level is not None and level not in (0, 1, 2):
        raise DecisionError("level must be 0, 1 or 2")
    if action == "correct" and level is None and criterion is None and quote is None:
        raise DecisionError("a correction needs a new level, criterion or quote")
    if action == "comment" and not (comment or "").strip():
        raise DecisionError("a comment needs some text")
    cand = _candidate(db, candidate_id)
    passage = _passage(db, cand["passage_id"])
    key = (cand["document_id"], passage["content_hash"], cand["criterion_id"])
    before = state(_rows_for(db, key), _default_state(cand))
    if quote is not None:
        quote = _check_quote(passage, quote)
    if criterion is not None:
        criterion = _criterion_id(db, cand["criteria_version"], criterion)
    if action == "correct" and level is None and before["verdict"] is None:
        # Editing the quote or moving an unreviewed candidate must not confirm it at a level
        # nobody chose (the suggestion was read from another sentence or criterion).
        raise DecisionError(
            "say the level (0, 1 or 2): correcting an unreviewed candidate decides it"
        )
    # A follow-up decision starts from the current state: a moved candidate stays moved.
    new_criterion = criterion or before["criterion"]
    new_quote = quote if quote is not None else before["quote"]
    if action == "reject" and level is None:
        level = 0
    if action == "correct" and level is None:
        level = before["level"]
    if action == "accept" and level is None and before["verdict"] == "evidence":
        level = before["level"]  # a plain accept agrees with the evidence as it stands
    if action == "comment":
        level = before["level"]
    if new_quote != cand["quote"]:
        where = quote_provenance(db, passage, new_quote)
    else:
        where = {k: cand[k] for k in ("pdf_page", "page_label", *PROVENANCE)}
    row = {
        "candidate_id": candidate_id,
        "document_id": cand["document_id"],
        "passage_id": cand["passage_id"],
        "passage_hash": passage["content_hash"],
        "passage_text": passage["text"],
        **where,
        "criterion_id": new_criterion,
        "criteria_version": cand["criteria_version"],
        "action": action,
        "level": level,
        "original_criterion_id": cand["criterion_id"]
        if new_criterion != cand["criterion_id"]
        else None,
        "quote": new_quote,
        "comment": comment.strip() if comment and comment.strip() else None,
        "reviewer": reviewer.strip(),
        "previous_state": json.dumps(before),
        "adjudication": int(adjudication),
    }
    return _insert(db, row)


def _insert(db: Database, row: dict) -> int:
    with db.atomic():
        return insert_decision(db, row)


def undo_decision(
    db: Database, decision_id: int, reviewer: str, others_allowed: bool = False
) -> int:
    """Revert a decision with a new 'undo' row; returns its id. Nothing is deleted."""
    if not reviewer or not reviewer.strip():
        raise DecisionError("an undo needs the reviewer's name")
    target = get_decision(db, decision_id)
    if target is None:
        raise DecisionError(f"no decision {decision_id}")
    if target["action"] == "undo":
        raise DecisionError("an undo cannot be undone; record the decision again instead")
    if is_undone(db, decision_id):
        raise DecisionError(f"decision {decision_id} is already undone")
    if target["reviewer"] != reviewer.strip() and not others_allowed:
        raise DecisionError(f"decision {decision_id} is {target['reviewer']}'s to undo")
    key = key_of(target)
    cand_default = {
        "criterion": key[2],
        "level": None,
        "quote": target["quote"],
        "pdf_page": target["pdf_page"],
        "page_label": target["page_label"],
    }
    before = state(_rows_for(db, key), cand_default)
    keep = [
        "candidate_id", "document_id", "passage_id", "passage_hash", "passage_text",
        "pdf_page", "page_label", "criterion_id", "criteria_version", "level",
        "original_criterion_id", "quote", *PROVENANCE,
    ]  # fmt: skip
    row = {k: target[k] for k in keep}
    row.update(
        {
            "action": "undo",
            "reverts_id": decision_id,
            "comment": None,
            "reviewer": reviewer.strip(),
            "previous_state": json.dumps(before),
            "adjudication": 0,
        }
    )
    return _insert(db, row)


def add_evidence(
    db: Database,
    passage_id: int,
    criterion: str,
    reviewer: str,
    level: int | None = None,
    quote: str | None = None,
    comment: str | None = None,
) -> int:
    """Add a passage the model missed as evidence for a criterion; returns the decision id.

    When the passage already is a candidate for that criterion this is an accept of it.
    """
    if not reviewer or not reviewer.strip():
        raise DecisionError("a decision needs the reviewer's name")
    if level is not None and level not in (0, 1, 2):
        raise DecisionError("level must be 0, 1 or 2")
    passage = _passage(db, passage_id)
    version = document_criteria_version(db, passage["document_id"]) or newest_criteria_version(db)
    if version is None:
        raise DecisionError("no criteria set is stored yet (analyse a report first)")
    criterion = _criterion_id(db, version, criterion)
    existing = passage_candidate(db, passage_id, criterion, version)
    if existing:
        return record_decision(db, existing["id"], "accept", reviewer, level, None, quote, comment)
    quote = _check_quote(passage, quote) if quote else passage["text"].strip()
    where = quote_provenance(db, passage, quote)
    key = (passage["document_id"], passage["content_hash"], criterion)
    default = {"criterion": criterion, "level": None, "quote": quote, **where}
    row = {
        "candidate_id": None,
        "document_id": passage["document_id"],
        "passage_id": passage_id,
        "passage_hash": passage["content_hash"],
        "passage_text": passage["text"],
        **where,
        "criterion_id": criterion,
        "criteria_version": version,
        "action": "add",
        "level": level,
        "original_criterion_id": None,
        "quote": quote,
        "comment": comment.strip() if comment and comment.strip() else None,
        "reviewer": reviewer.strip(),
        "previous_state": json.dumps(state(_rows_for(db, key), default)),
        "adjudication": 0,
    }
    return _insert(db, row)


def history(db: Database, candidate_id: int) -> list[dict]:
    """Every decision on a candidate (undo and comments included), oldest first."""
    cand = get_candidate(db, candidate_id)
    if cand is None:
        return candidate_decisions(db, candidate_id)
    return _rows_for(db, candidate_key(db, cand))


def label_records(db: Database) -> list[dict]:
    """The latest decision per (passage, criterion) as label records (labels/ltc format).

    accept/correct/add with level > 0 -> evidence; reject (or level 0) -> not_evidence, a
    hard negative. A candidate moved to another criterion also yields a negative for the
    old one. An undone decision yields nothing.
    """
    latest: dict[tuple[str, str], dict] = {}
    for row in effective(all_decisions(db)):
        latest[(row["passage_hash"], row["criterion_id"])] = row
        if row["original_criterion_id"]:
            negative = {**row, "criterion_id": row["original_criterion_id"], "level": 0}
            negative["action"] = "reject"
            latest[(row["passage_hash"], row["original_criterion_id"])] = negative
    docs = {d["id"]: d for d in all_documents(db)}
    records = []
    for row in latest.values():
        doc = docs.get(row["document_id"], {})
        records.append(
            {
                "criterion": row["criterion_id"],
                "label": "evidence" if is_positive(row) else "not_evidence",
                "level": row["level"],
                "text": row["quote"],
                "source": {
                    "document_sha256": doc.get("sha256"),
                    "file_name": doc.get("file_name"),
                    "pdf_page": row["pdf_page"],
                    "passage_content_hash": row["passage_hash"],
                },
                "labelled_by": f"reviewer:{row['reviewer']}",
                "criteria_version": row["criteria_version"],
                "decided_at": row["created_at"],
                "note": row["comment"],
            }
        )
    return records


def export_labels(db: Database, path: str | Path) -> int:
    """Write the decisions as JSON-lines labels (see label_records); returns the count."""
    records = label_records(db)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)
