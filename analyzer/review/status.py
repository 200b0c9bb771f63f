"""Review logic shared by the web app and the CLI: status, queue, progress, four eyes.

A review item is a candidate (or a passage a reviewer added) for one criterion of one
document. Its status comes from the decisions on it: open; confirmed or rejected; with four
eyes on, an accept waits for a second reviewer and reviewers who disagree send the item to
adjudication. A single rejection closes an item unless another reviewer accepted it: four
eyes guard what counts as evidence, not every discarded candidate.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlite_utils import Database

from analyzer.candidates.quotes import citation, terms
from analyzer.candidates.views import ocr_pages, passage_record
from analyzer.db.accounts import get_setting, inherited_four_eyes, set_setting
from analyzer.db.candidates import current_candidates, get_candidate
from analyzer.db.criteria import criteria_content
from analyzer.db.decisions import document_decisions
from analyzer.db.documents import (
    all_documents,
    company_documents,
    document_by_id,
    document_pages,
    get_document,
)
from analyzer.db.passages import get_passage
from analyzer.levels import candidate_level
from analyzer.review.decisions import (
    PROVENANCE,
    Key,
    effective,
    is_positive,
    key_of,
    record_decision,
    state,
)
from analyzer.review.names import match_company
from analyzer.review.order import order_key

OPEN, SECOND, CONFIRMED, REJECTED, DISPUTED = (
    "open",
    "awaiting second review",
    "confirmed",
    "rejected",
    "disputed",
)
DONE = (CONFIRMED, REJECTED)
ORDERS = {"score": "highest score first", "informative": "most informative first"}


def four_eyes(db: Database, criteria_version: str) -> bool:
    """Is four eyes on for this criteria version (a setting an admin changes)?

    A new version of a set (a query was edited) keeps the setting of its newest predecessor
    until an admin sets it for the new version.
    """
    value = get_setting(db, f"four_eyes:{criteria_version}")
    if value is None:
        value = inherited_four_eyes(db, criteria_version)
    return value == "1"


def set_four_eyes(db: Database, criteria_version: str, on: bool) -> None:
    """Turn four eyes on or off for one criteria version."""
    set_setting(db, f"four_eyes:{criteria_version}", "1" if on else "0")


@dataclass
class Item:
    key: Key
    criteria_version: str
    candidate: dict | None  # None for a passage a reviewer added
    rows: list[dict] = field(default_factory=list)  # every decision on it, oldest first

    @property
    def default(self) -> dict:
        src = self.candidate or self.rows[0]
        return {
            "criterion": self.key[2],
            "level": None,
            "quote": src["quote"],
            "pdf_page": src["pdf_page"],
            "page_label": src["page_label"],
            **{k: src.get(k) for k in PROVENANCE},
        }


def status(item: Item, four: bool) -> dict:
    """{'status', 'state', 'reviewers': {name: verdict row}} of an item."""
    live = effective(item.rows)
    current = state(item.rows, item.default)
    latest: dict[str, dict] = {}
    for row in live:
        latest[row["reviewer"]] = row
    result = {"state": current, "reviewers": latest}
    judged = [r for r in live if r["adjudication"]]
    if judged:
        return {**result, "status": CONFIRMED if is_positive(judged[-1]) else REJECTED}
    if not live:
        return {**result, "status": OPEN}
    if not four:
        return {**result, "status": CONFIRMED if is_positive(live[-1]) else REJECTED}
    opinions = {_opinion(r) for r in latest.values()}
    if len(opinions) > 1:
        return {**result, "status": DISPUTED}
    if not is_positive(live[-1]):
        return {**result, "status": REJECTED}
    return {**result, "status": CONFIRMED if len(latest) >= 2 else SECOND}


def _opinion(row: dict) -> tuple:
    return (is_positive(row), row["criterion_id"], row["level"]) if is_positive(row) else (False,)


def _documents(db: Database, doc_id: int | None, company: str | None) -> list[dict]:
    if doc_id is not None:
        doc = document_by_id(db, doc_id)
        return [doc] if doc else []
    if company:
        # As a person types it (any case, the start or a unique part of the name); a name
        # that fits none raises CompanyError with a "did you mean" instead of nothing.
        known = {d["company"] for d in all_documents(db) if d["company"]}
        return company_documents(db, match_company(known, company))
    return all_documents(db)


def items(db: Database, doc_id: int | None = None, company: str | None = None) -> list[Item]:
    """Every review item of the chosen documents (all when none is chosen); raises
    CompanyError when ``company`` names no stored company."""
    docs = _documents(db, doc_id, company)
    if not docs:
        return []
    ids = [d["id"] for d in docs]
    found: dict[Key, Item] = {}
    for cand in current_candidates(db, ids):
        key = (cand["document_id"], cand["passage_hash"], cand["criterion_id"])
        found.setdefault(key, Item(key, cand["criteria_version"], cand))
    for row in document_decisions(db, ids):
        key = key_of(row)
        if key not in found:
            if row["action"] != "add":
                continue  # about a candidate of an older analysis
            found[key] = Item(key, row["criteria_version"], None)
        found[key].rows.append(row)
    return list(found.values())


def statuses(db: Database, chosen: list[Item]) -> list[tuple[Item, dict]]:
    """(item, status) pairs, reading each criteria version's four-eyes setting once."""
    cache: dict[str, bool] = {}
    out = []
    for item in chosen:
        if item.criteria_version not in cache:
            cache[item.criteria_version] = four_eyes(db, item.criteria_version)
        out.append((item, status(item, cache[item.criteria_version])))
    return out


def needs(user: str, st: dict) -> bool:
    """Should this user see the item in their queue?"""
    if st["status"] == OPEN:
        return True
    return st["status"] == SECOND and user not in st["reviewers"]


def queue(
    db: Database,
    user: str,
    doc_id: int | None = None,
    criterion: str | None = None,
    order: str = "score",
    skip: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """Candidate ids this user still has to review, best first."""
    everything = statuses(db, items(db, doc_id))
    chosen = [
        item.candidate
        for item, st in everything
        if item.candidate is not None
        and item.candidate["id"] not in skip
        and (criterion is None or item.key[2].lower() == criterion.lower())
        and needs(user, st)
    ]

    positives = confirmed_counts(everything)

    def key(candidate: dict) -> tuple:
        return (*order_key(candidate, order, positives), candidate["id"])

    return [candidate["id"] for candidate in sorted(chosen, key=key)]


def confirmed_counts(pairs: list[tuple[Item, dict]]) -> Counter:
    """Confirmed evidence per criterion: a criterion with little gains most from a decision."""
    return Counter(item.key[2] for item, st in pairs if st["status"] == CONFIRMED)


def confirmed_evidence_counts(db: Database) -> Counter:
    """Confirmed evidence per criterion across the database (for the informative order)."""
    return confirmed_counts(statuses(db, items(db)))


def progress(db: Database, doc_id: int | None = None, company: str | None = None) -> dict:
    """Reviewed / remaining per criterion and per document, agreement, disputes."""
    per_criterion: dict[str, dict] = defaultdict(lambda: _counter())
    per_document: dict[int, dict] = defaultdict(lambda: _counter())
    total = _counter()
    for item, st in statuses(db, items(db, doc_id, company)):
        # A moved item counts under the criterion it was moved to, as in the scorecard.
        where = st["state"]["criterion"] or item.key[2]
        for counter in (per_criterion[where], per_document[item.key[0]], total):
            counter["items"] += 1
            counter[st["status"]] += 1
            counter["reviewed"] += st["status"] in DONE
            verdicts = list(st["reviewers"].values())
            if len(verdicts) >= 2:
                counter["double_reviewed"] += 1
                counter["agreed"] += len({_opinion(r) for r in verdicts}) == 1
    for counter in [*per_criterion.values(), *per_document.values(), total]:
        counter["remaining"] = counter["items"] - counter["reviewed"]
        n = counter["double_reviewed"]
        counter["agreement"] = round(counter["agreed"] / n, 3) if n else None
    return {
        "total": total,
        "criteria": dict(sorted(per_criterion.items())),
        "documents": dict(sorted(per_document.items())),
    }


def _counter() -> dict:
    keys = ("items", "reviewed", "double_reviewed", "agreed", OPEN, SECOND, CONFIRMED)
    return dict.fromkeys((*keys, REJECTED, DISPUTED), 0)


def disputed(db: Database) -> list[tuple[Item, dict]]:
    """The adjudication queue: items whose reviewers disagree."""
    return [(i, st) for i, st in statuses(db, items(db)) if st["status"] == DISPUTED]


# --- the card a reviewer sees ------------------------------------------------------------


def criterion_info(db: Database, version: str, criterion_id: str) -> dict:
    """One criterion of a stored set; a placeholder if the set no longer has it."""
    for c in criteria_content(db, version):
        if c["id"] == criterion_id:
            return c
    return {"id": criterion_id, "name": criterion_id, "definition": "", "levels": {}}


def criterion_words(criterion: dict) -> set[str]:
    """The criterion's own words (name, definition, queries): the ones worth highlighting."""
    parts = [criterion.get("name", ""), criterion.get("definition", "")]
    return terms(" ".join(parts + list(criterion.get("queries", ()))))


GENERIC_SHARE = 0.2  # a word in more than this share of a set's criteria marks nothing
GENERIC = {
    "group",
    "company",
    "companies",
    "report",
    "reports",
    "year",
    "risk",
    "risks",
    "including",
}


def distinctive_words(db: Database, version: str, criterion: dict) -> set[str]:
    """The criterion's words that few other criteria of its set share.

    Words such as "suppliers", "risk" or "Group" appear in most criteria and in nearly every
    passage, so marking them tells the reviewer nothing; only the words that set this
    criterion apart are highlighted."""
    sets = [criterion_words(c) for c in criteria_content(db, version)]
    counts = Counter(word for words in sets for word in words)
    limit = max(2.0, GENERIC_SHARE * len(sets))
    return {w for w in criterion_words(criterion) if counts[w] <= limit and w not in GENERIC}


def finish_criterion(db: Database, user: str, doc_id: int, criterion: str) -> list[int]:
    """ "Criterion done": reject every candidate of the criterion in the document that this
    user still has to review, in one transaction; returns the new decision ids."""
    pending = [
        item.candidate["id"]
        for item, st in statuses(db, items(db, doc_id))
        if item.candidate is not None
        and item.key[2].lower() == criterion.lower()
        and needs(user, st)
    ]
    with db.atomic():
        return [
            record_decision(
                db, cid, "reject", user, comment="criterion done: the rest rejected together"
            )
            for cid in pending
        ]


def segments(text: str, words: set[str], span: tuple[int, int] | None = None) -> list[list]:
    """[text, is_quote, is_matched_word] runs covering the text, for safe highlighting;
    `span` is the quote's stored character span in the text."""
    n = len(text)
    in_quote = [False] * n
    if span:
        in_quote[span[0] : span[1]] = [True] * (span[1] - span[0])
    matched = [False] * n
    for m in re.finditer(r"[A-Za-z][A-Za-z0-9\-]+|\d+", text):
        if m.group().lower() in words:
            matched[m.start() : m.end()] = [True] * (m.end() - m.start())
    runs: list[list] = []
    for i, ch in enumerate(text):
        flags = (in_quote[i], matched[i])
        if runs and (runs[-1][1], runs[-1][2]) == flags:
            runs[-1][0] += ch
        else:
            runs.append([ch, *flags])
    return runs


def page_view(
    db: Database,
    doc_id: int,
    pdf_page: int,
    passage_ids: list[int] | None = None,
    candidate_id: int | None = None,
) -> dict:
    """One page with the boxes to draw on it: passages' lines and a candidate's quote.

    Boxes are in PDF points of the page as displayed; the page gives its size in the same
    units, so the browser can place them on the image at whatever size it is shown. Several
    passages (a search's matches on the page) each get an outline around their lines on
    this page (``passages``), so the reader sees how many matched and where."""
    page = next(iter(document_pages(db, doc_id, [pdf_page])), None)
    if page is None:
        raise LookupError(f"document {doc_id} has no page {pdf_page}")
    wanted = list(dict.fromkeys(passage_ids or []))
    quote_boxes: list = []
    quote = None
    if candidate_id is not None:
        cand = get_candidate(db, candidate_id)
        if cand is None or cand["document_id"] != doc_id:
            raise LookupError(f"no candidate {candidate_id} in document {doc_id}")
        wanted = [cand["passage_id"], *[p for p in wanted if p != cand["passage_id"]]]
        if cand.get("pdf_page") == pdf_page:
            quote_boxes = json.loads(cand.get("quote_boxes") or "[]")
        quote = cand["quote"]
    boxes: list = []
    passages = []
    for passage_id in wanted:
        passage = get_passage(db, passage_id)
        if passage is None or passage["document_id"] != doc_id:
            raise LookupError(f"no passage {passage_id} in document {doc_id}")
        lines = [
            box
            for part in json.loads(passage["parts"])
            if part["pdf_page"] == pdf_page
            for box in part.get("boxes", [])
        ]
        boxes += lines
        if lines:
            passages.append({"passage_id": passage_id, "box": enclosing_box(lines)})
    return {
        "pdf_page": pdf_page,
        "citation": citation(pdf_page, page["label"]),
        "width": page["width"],
        "height": page["height"],
        "boxes": boxes,
        "passages": passages,
        "quote_boxes": quote_boxes,
        "quote": quote,
    }


def enclosing_box(boxes: list[list[float]]) -> list[float]:
    """The smallest [x0, top, x1, bottom] holding every given box (a passage's outline)."""
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]


def _history(rows: list[dict], user: str, undo_any: bool = False) -> list[dict]:
    undone = {r["reverts_id"]: r for r in rows if r["action"] == "undo"}
    out = []
    for row in rows:
        before = json.loads(row["previous_state"]) if row.get("previous_state") else {}
        changes = []
        if row["action"] in ("accept", "correct", "reject", "add"):
            if before.get("criterion") and before["criterion"] != row["criterion_id"]:
                changes.append(f"criterion {before['criterion']} → {row['criterion_id']}")
            if before.get("level") != row["level"]:
                old = "–" if before.get("level") is None else before["level"]
                changes.append(f"level {old} → {row['level']}")
            if before.get("quote") and before["quote"] != row["quote"]:
                changes.append("quote edited")
            if before.get("verdict") is not None or row["action"] != "correct":
                old = before.get("verdict") or "unreviewed"
                new = "evidence" if is_positive(row) else "not evidence"
                if old != new:
                    changes.append(f"{old} → {new}")
        if row["action"] == "undo":
            changes.append(f"reverted decision {row['reverts_id']}")
        out.append(
            {
                "id": row["id"],
                "reviewer": row["reviewer"],
                "at": row["created_at"],
                "action": row["action"],
                "adjudication": bool(row.get("adjudication")),
                "level": row["level"],
                "criterion": row["criterion_id"],
                "quote": row["quote"],
                "comment": row["comment"],
                "criteria_version": row["criteria_version"],
                "changes": changes,
                "undone_by": undone[row["id"]]["reviewer"] if row["id"] in undone else None,
                "can_undo": row["action"] != "undo"
                and row["id"] not in undone
                and (undo_any or row["reviewer"] == user),
            }
        )
    return out


def card(db: Database, candidate_id: int, user: str, undo_any: bool = False) -> dict | None:
    """Everything the review page shows for one candidate (text as data, never as HTML)."""
    cand = get_candidate(db, candidate_id)
    if cand is None:
        return None
    passage = get_passage(db, cand["passage_id"])
    if passage is None:  # its passage is gone (cannot happen while the database is whole)
        return None
    doc = get_document(db, cand["document_id"])
    key = (cand["document_id"], passage["content_hash"], cand["criterion_id"])
    item = next((i for i in items(db, cand["document_id"]) if i.key == key), None)
    item = item or Item(key, cand["criteria_version"], cand)
    st = status(item, four_eyes(db, cand["criteria_version"]))
    criterion = criterion_info(db, cand["criteria_version"], cand["criterion_id"])
    parts = json.loads(passage["parts"])
    record = passage_record(doc["id"], passage["id"], passage["text"], parts, ocr_pages(doc))
    pages = {
        r["pdf_page"]: r for r in document_pages(db, doc["id"], [p["pdf_page"] for p in parts])
    }
    suggestion = candidate_level(cand)
    level = {"level": suggestion.level, "reason": suggestion.reason, "cues": suggestion.cues}
    current = st["state"]
    span = (
        None
        if current.get("quote_start") is None
        else (current["quote_start"], current["quote_end"])
    )
    return {
        "candidate_id": cand["id"],
        "passage_id": cand["passage_id"],
        "document": {
            "id": doc["id"],
            "file_name": doc["file_name"],
            "company": doc["company"],
            "fiscal_year": doc["fiscal_year"],
            "page_count": doc["page_count"],
        },
        "criterion": {
            "id": criterion["id"],
            "name": criterion["name"],
            "definition": criterion.get("definition", ""),
            "levels": criterion.get("levels") or {},
        },
        "criteria": [
            {"id": c["id"], "name": c["name"]}
            for c in criteria_content(db, cand["criteria_version"])
        ],
        "criteria_version": cand["criteria_version"],
        "rank": cand["rank"],
        "score": cand["score"],
        "scorer": cand["scorer"],
        "probability": cand.get("probability"),
        "suggested": level,
        "quote": current["quote"],
        "citation": citation(current["pdf_page"], current["page_label"]),
        "passage_citation": record["citation"],
        "ocr": record["ocr"],  # the passage was read from a scanned page by Tesseract
        "segments": segments(
            passage["text"], distinctive_words(db, cand["criteria_version"], criterion), span
        ),
        "pages": [
            {
                "pdf_page": p["pdf_page"],
                "label": p["label"],
                "citation": citation(p["pdf_page"], p["label"]),
                "width": pages[p["pdf_page"]]["width"] if p["pdf_page"] in pages else 0,
                "height": pages[p["pdf_page"]]["height"] if p["pdf_page"] in pages else 0,
                "boxes": p["boxes"],
                "quote_boxes": json.loads(current.get("quote_boxes") or "[]")
                if p["pdf_page"] == current["pdf_page"]
                else [],
            }
            for p in parts
        ],
        "focus_page": current["pdf_page"],
        "status": st["status"],
        "state": current,
        "reviewers": sorted(st["reviewers"]),
        "history": _history(item.rows, user, undo_any),
    }
