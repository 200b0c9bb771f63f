"""Season over season: offer last season's decision when a passage comes back.

When a new season's report repeats a passage that a reviewer accepted last season (the
same text, or near-same: difflib ratio >= 0.9), the earlier decision is offered as a
suggestion for the reviewer to confirm. It is never copied: it earns no points until
someone decides on the new passage.
"""

from __future__ import annotations

import json
from difflib import SequenceMatcher

from sqlite_utils import Database

from analyzer.candidates.quotes import citation
from analyzer.db.passages import passage_rows
from analyzer.scorecard import data
from analyzer.scorecard.seasons import documents_in_season, previous_season

NEAR_SAME = 0.9
WORD_OVERLAP = 0.5  # passages sharing fewer words than this are never near-same; skip difflib


def words(text: str) -> frozenset[str]:
    return frozenset(text.lower().split())


def word_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard overlap of two word sets: a cheap filter before the character comparison."""
    return len(a & b) / len(a | b) if a or b else 0.0


def similarity(a: str, b: str, floor: float = NEAR_SAME) -> float:
    """difflib ratio of two passages, 0 early when the cheap bounds already rule it out."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    return matcher.ratio()


def carry_over_suggestions(
    db: Database,
    company: str,
    season: str,
    previous: str | None = None,
    threshold: float = NEAR_SAME,
) -> list[dict]:
    """Suggestions for the season's passages that repeat a passage accepted last season."""
    previous = previous or previous_season(db, company, season)
    if previous is None:
        return []
    old_docs = {d["id"]: d for d in documents_in_season(db, previous, company)}
    accepted = [
        d for d in data.effective_decisions(db, list(old_docs)) if data.is_confirmed_evidence(d)
    ]
    if not accepted:
        return []
    new_docs = {d["id"]: d for d in documents_in_season(db, season, company)}
    already = {
        (d.get("passage_hash"), d["criterion_id"])
        for d in data.effective_decisions(db, list(new_docs))
    }
    out = []
    for doc_id, doc in new_docs.items():
        cands = data.candidates(db, doc_id)
        passages = passage_rows(db, doc_id, "id, content_hash, text, parts", order_by=None)
        vocab = [words(p["text"]) for p in passages]
        for old in accepted:
            old_text = old.get("passage_text") or ""
            old_words = words(old_text)
            for p, p_words in zip(passages, vocab, strict=True):
                if (p["content_hash"], old["criterion_id"]) in already:
                    continue
                if p["content_hash"] == old.get("passage_hash"):
                    score, match = 1.0, "same text"
                elif word_overlap(old_words, p_words) < WORD_OVERLAP:
                    continue
                else:
                    score = similarity(old_text, p["text"], threshold)
                    match = "near-same text"
                if score < threshold:
                    continue
                out.append(_suggestion(p, doc, old, old_docs, cands, score, match, previous))
    return out


def _suggestion(p, doc, old, old_docs, cands, score, match, previous) -> dict:
    cand = next((c for c in cands.get(old["criterion_id"], []) if c["passage_id"] == p["id"]), None)
    if cand is not None:
        pdf_page, label = cand["pdf_page"], cand["page_label"]
    else:
        first = json.loads(p["parts"])[0]
        pdf_page, label = first["pdf_page"], first["label"]
    old_doc = old_docs[old["document_id"]]
    return {
        "criterion": old["criterion_id"],
        "doc_id": doc["id"],
        "file_name": doc["file_name"],
        "passage_id": p["id"],
        "candidate_id": cand["id"] if cand else None,
        "pdf_page": pdf_page,
        "page_label": label,
        "citation": citation(pdf_page, label),
        "similarity": round(score, 3),
        "match": match,
        "previous_decision": {
            "decision_id": old["id"],
            "season": previous,
            "action": old["action"],
            "level": data.decision_level(old),
            "reviewer": old.get("reviewer"),
            "created_at": old.get("created_at"),
            "doc_id": old_doc["id"],
            "file_name": old_doc["file_name"],
            "quote": old.get("quote"),
            "pdf_page": old["pdf_page"],
            "page_label": old.get("page_label"),
            "citation": citation(old["pdf_page"], old.get("page_label")),
        },
    }
