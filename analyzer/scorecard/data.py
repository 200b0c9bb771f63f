"""The scorecard's reads from the database: candidates with their passage hash, decisions.

Decisions are read defensively: columns and actions added later (undo with ``reverts_id``,
``add`` without a candidate) are handled when present and unknown actions are skipped.
"""

from __future__ import annotations

import json
from collections import defaultdict

from sqlite_utils import Database

from analyzer.levels import suggest_level

EVIDENCE_ACTIONS = ("accept", "correct", "add")
KNOWN_ACTIONS = (*EVIDENCE_ACTIONS, "reject")
# Page flags under which the decision rules (English cue words) cannot judge a quote.
UNREADABLE = frozenset({"non_latin", "garbled", "no_text"})


def latest_criteria_version(db: Database, doc_id: int) -> str | None:
    row = db.execute(
        "select criteria_version from candidates where document_id = ? "
        "order by created_at desc, id desc limit 1",
        [doc_id],
    ).fetchone()
    return row[0] if row else None


def candidates(db: Database, doc_id: int) -> dict[str, list[dict]]:
    """criterion id -> the document's candidates in rank order, each with level and reason.

    The stored suggested level is used where the pipeline wrote one; otherwise it is worked
    out from the quote with the same decision rules the candidates view uses.
    """
    version = latest_criteria_version(db, doc_id)
    if version is None:
        return {}
    sql = """
        select c.*, p.content_hash as passage_hash, p.text as passage_text,
            pg.flags as page_flags
        from candidates c join passages p on p.id = c.passage_id
        left join pages pg on pg.document_id = c.document_id and pg.pdf_page = c.pdf_page
        where c.document_id = ? and c.criteria_version = ? order by c.criterion_id, c.rank
    """
    out: dict[str, list[dict]] = defaultdict(list)
    for row in db.query(sql, [doc_id, version]):
        row = dict(row)
        if row.get("level") is None:
            suggestion = suggest_level(row["quote"] or "")
            row["level"], row["level_reason"] = suggestion.level, suggestion.reason
        row["unreadable"] = sorted(set(json.loads(row["page_flags"] or "[]")) & UNREADABLE)
        row["probability"] = row.get("probability")
        row["threshold"] = row.get("threshold")
        out[row["criterion_id"]].append(row)
    return dict(out)


def effective_decisions(db: Database, doc_ids: list[int]) -> list[dict]:
    """The decisions that stand: the latest per (document, passage, proposed criterion),
    ignoring undo records and any decision an undo reverted."""
    if not doc_ids or "decisions" not in db.table_names():
        return []
    marks = ",".join("?" * len(doc_ids))
    rows = [
        dict(r)
        for r in db.query(
            f"select * from decisions where document_id in ({marks}) order by id", doc_ids
        )
    ]
    reverted = {r.get("reverts_id") for r in rows if r.get("reverts_id")}
    latest: dict[tuple, dict] = {}
    for row in rows:
        action = str(row.get("action") or "").lower()
        if row["id"] in reverted or row.get("reverts_id") or action not in KNOWN_ACTIONS:
            continue
        row["action"] = action
        proposed = row.get("original_criterion_id") or row["criterion_id"]
        key = (row["document_id"], row.get("passage_hash") or row.get("passage_id"), proposed)
        latest[key] = row
    return list(latest.values())


def decision_level(row: dict) -> int:
    """The level a standing decision gives: the reviewer's, else the quote's suggestion
    (at least 1 for an acceptance, since the reviewer called it evidence); 0 for a reject."""
    if row["action"] not in EVIDENCE_ACTIONS:
        return 0
    if row.get("level") is not None:
        return int(row["level"])
    return max(1, suggest_level(row.get("quote") or "").level)


def page_texts(db: Database, doc_id: int) -> dict[int, str]:
    return {
        r["pdf_page"]: r["text"] or ""
        for r in db["pages"].rows_where("document_id = ?", [doc_id], select="pdf_page, text")
    }


def flags_summary(flags_json: str | None) -> str:
    """'no_text on 5 pages' style summary of a document's page flags."""
    flags = json.loads(flags_json or "{}")
    return "; ".join(f"{name} on {len(pages)} page(s)" for name, pages in flags.items())
