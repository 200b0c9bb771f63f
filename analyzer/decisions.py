"""Reviewer decisions: accept, reject or correct a candidate, kept with who and when.

Every decision is appended, never overwritten, so the history of a candidate can be
read back and the latest word wins. Decisions become labels for the next training
round: an accepted candidate is evidence, a rejected one a hard negative.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlite_utils import Database

from analyzer import store

ACTIONS = ("accept", "reject", "correct")


class DecisionError(Exception):
    """A decision that cannot be recorded; the message says why."""


def record_decision(
    db: Database,
    candidate_id: int,
    action: str,
    reviewer: str,
    level: int | None = None,
    criterion: str | None = None,
    quote: str | None = None,
    comment: str | None = None,
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
    rows = list(db["candidates"].rows_where("id = ?", [candidate_id]))
    if not rows:
        raise DecisionError(f"no candidate {candidate_id}")
    cand = rows[0]
    passage = db["passages"].get(cand["passage_id"])
    if quote is not None and " ".join(quote.split()) not in " ".join(passage["text"].split()):
        raise DecisionError("the edited quote must be taken from the passage text")
    if criterion is not None:
        known = {c["id"].lower(): c["id"] for c in _criteria(db, cand["criteria_version"])}
        if criterion.lower() not in known:
            raise DecisionError(f"no criterion {criterion!r} in the candidate's criteria set")
        criterion = known[criterion.lower()]
    moved = criterion is not None and criterion != cand["criterion_id"]
    if action == "reject" and level is None:
        level = 0
    with db.atomic():
        return (
            db["decisions"]
            .insert(
                {
                    "candidate_id": candidate_id,
                    "document_id": cand["document_id"],
                    "passage_id": cand["passage_id"],
                    "passage_hash": passage["content_hash"],
                    "passage_text": passage["text"],
                    "pdf_page": cand["pdf_page"],
                    "page_label": cand["page_label"],
                    "criterion_id": criterion if moved else cand["criterion_id"],
                    "criteria_version": cand["criteria_version"],
                    "action": action,
                    "level": level,
                    "original_criterion_id": cand["criterion_id"] if moved else None,
                    "quote": quote if quote is not None else cand["quote"],
                    "comment": comment,
                    "reviewer": reviewer.strip(),
                    "created_at": store.now(),
                }
            )
            .last_pk
        )


def _criteria(db: Database, version: str) -> list[dict]:
    rows = list(db["criteria_sets"].rows_where("version = ?", [version]))
    return json.loads(rows[0]["content"]) if rows else []


def history(db: Database, candidate_id: int) -> list[dict]:
    """Every decision on a candidate, oldest first."""
    return list(db["decisions"].rows_where("candidate_id = ?", [candidate_id], order_by="id"))


def export_labels(db: Database, path: str | Path) -> int:
    """Write the latest decision per (passage, criterion) as JSON-lines labels; returns count.

    accept/correct with level > 0 -> evidence; reject (or level 0) -> not_evidence, a hard
    negative. A candidate moved to another criterion also yields a negative for the old one.
    """
    latest: dict[tuple[str, str], dict] = {}
    for row in db["decisions"].rows_where(order_by="id"):
        latest[(row["passage_hash"], row["criterion_id"])] = row
        if row["original_criterion_id"]:
            negative = {**row, "criterion_id": row["original_criterion_id"], "level": 0}
            negative["action"] = "reject"
            latest[(row["passage_hash"], row["original_criterion_id"])] = negative
    docs = {d["id"]: d for d in db["documents"].rows}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in latest.values():
            evidence = row["action"] != "reject" and (row["level"] is None or row["level"] > 0)
            doc = docs.get(row["document_id"], {})
            record = {
                "criterion": row["criterion_id"],
                "label": "evidence" if evidence else "not_evidence",
                "level": row["level"] if row["level"] is not None else None,
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
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(latest)
