"""The scorecard's reads from the database: candidates with their passage hash, and the
standing review verdicts (read through analyzer.decisions and analyzer.review, the one
definition of undo, four eyes and adjudication the CLI and the web app share).
"""

from __future__ import annotations

import json
from collections import defaultdict

from sqlite_utils import Database

from analyzer.db import documents as store_documents
from analyzer.db.candidates import candidates_with_pages
from analyzer.db.criteria import document_criteria_version
from analyzer.db.decisions import decisions_with_candidate
from analyzer.db.drafts import document_drafts
from analyzer.levels import candidate_level, effective_level
from analyzer.review.decisions import effective, key_of
from analyzer.review.status import CONFIRMED, Item, four_eyes, status
from analyzer.scoring.verdict import with_drafts

EVIDENCE_ACTIONS = ("accept", "correct", "add")
# Page flags under which the decision rules (English cue words) cannot judge a quote.
UNREADABLE = frozenset({"non_latin", "garbled", "no_text"})


def candidates(db: Database, doc_id: int) -> dict[str, list[dict]]:
    """criterion id -> the document's candidates in rank order, each with level and reason.

    The stored suggested level is used where the pipeline wrote one; otherwise it is worked
    out from the quote with the same decision rules the candidates view uses.
    """
    version = document_criteria_version(db, doc_id)
    if version is None:
        return {}
    out: dict[str, list[dict]] = defaultdict(list)
    rows = with_drafts(
        candidates_with_pages(db, doc_id, version), document_drafts(db, doc_id, version)
    )
    for row in rows:
        suggestion = candidate_level(row)
        row["level"], row["level_reason"] = suggestion.level, suggestion.reason
        row["unreadable"] = sorted(set(json.loads(row["page_flags"] or "[]")) & UNREADABLE)
        row["probability"] = row.get("probability")
        row["threshold"] = row.get("threshold")
        out[row["criterion_id"]].append(row)
    return dict(out)


def effective_decisions(db: Database, doc_ids: list[int]) -> list[dict]:
    """One row per reviewed item (document, passage, proposed criterion) that has a standing
    verdict: the latest live decision, carrying the item's state after review (criterion,
    level, quote, page) and its review status from analyzer.review, so "confirmed" means here
    what it means in the web app (with four eyes on, an accept waits for a second reviewer).
    Undo records, the decisions they revert and comments are not verdicts."""
    if not doc_ids:
        return []
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in decisions_with_candidate(db, doc_ids):
        groups[key_of(row)].append(row)
    four: dict[str, bool] = {}
    out = []
    for key, rows in groups.items():
        live = effective(rows)
        if not live:
            continue
        version = live[-1]["criteria_version"]
        if version not in four:
            four[version] = four_eyes(db, version)
        st = status(Item(key, version, None, rows), four[version])
        state = st["state"]
        out.append(
            {
                **live[-1],
                "review_status": st["status"],
                "criterion_id": state["criterion"],
                "original_criterion_id": key[2] if state["criterion"] != key[2] else None,
                "level": state["level"],
                "quote": state["quote"],
                "pdf_page": state["pdf_page"],
                "page_label": state["page_label"],
                "reviewers": sorted(st["reviewers"]),
            }
        )
    return out


def is_confirmed_evidence(row: dict) -> bool:
    """A standing verdict that counts: confirmed by review, evidence, level above 0."""
    return row["review_status"] == CONFIRMED and decision_level(row) > 0


def decision_level(row: dict) -> int:
    """The level a standing verdict gives: the reviewer's, else the quote's suggestion
    (at least 1 for an acceptance, since the reviewer called it evidence); 0 for a reject."""
    candidate = None
    if row.get("candidate_quote") is not None:
        candidate = {"quote": row["candidate_quote"], "level": row["candidate_level"]}
    return effective_level(row["action"], row.get("level"), row.get("quote"), candidate)


def page_texts(db: Database, doc_id: int) -> dict[int, str]:
    """PDF page -> its text ('' where the page has none)."""
    return store_documents.page_texts(db, doc_id)


def flags_summary(flags_json: str | None) -> str:
    """'no_text on 5 pages' style summary of a document's page flags."""
    flags = json.loads(flags_json or "{}")
    return "; ".join(f"{name} on {len(pages)} page(s)" for name, pages in flags.items())
