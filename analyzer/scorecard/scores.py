"""Draft and confirmed scores per company and season, side by side, with their evidence.

Draft: from the candidates before review, judged by the one verdict rule
(``analyzer.scoring.verdict``): the candidates that pass are those whose probability reaches
their criterion's threshold. A criterion without a verdict (no classifier trusted with one)
is "not assessed": its draft level is None, shown as such, never a silent level. The draft
level is the highest suggested level (at least 1) among passing candidates of the season's
eligible documents; its confidence is that candidate's probability.

Confirmed: from standing reviewer decisions only (accept, correct, add with a level above 0,
on eligible documents); the highest level wins. A zero in either comes with a record of
what was searched and why the best candidates fell short.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlite_utils import Database

from analyzer.candidates.quotes import citation
from analyzer.candidates.views import ocr_pages
from analyzer.criteria.sets import CriteriaSet, Criterion
from analyzer.criteria.stored import criteria_for_documents
from analyzer.db.criteria import criteria_sets
from analyzer.db.passages import get_passage
from analyzer.review.criteria import criterion_levels
from analyzer.review.status import CONFIRMED, REJECTED
from analyzer.scorecard import data
from analyzer.scorecard.carryover import carry_over_suggestions
from analyzer.scorecard.eligibility import Eligibility, check
from analyzer.scorecard.rules import Breakdown, aggregate
from analyzer.scorecard.seasons import (
    companies,
    documents_in_season,
    get_season,
    normalise_season,
    previous_season,
)
from analyzer.scoring.verdict import (
    EVIDENCE_FOUND,
    NOT_ASSESSED,
    combine,
    draft,
    is_evidence,
)

# Review states that are neither evidence nor rejection yet (four eyes), and what they mean.
PENDING = {
    "awaiting second review": "four eyes: accepted once, counts after a second reviewer agrees",
    "disputed": "four eyes: reviewers disagree; counts after adjudication",
}
BEST_SHOWN = 3  # candidates listed for a zero


@dataclass
class Evidence:
    """One quote shown under a criterion: a reviewer's decision or the machine's pick."""

    doc_id: int
    file_name: str
    quote: str
    pdf_page: int
    page_label: str | None
    status: str  # accepted, rejected, draft, not counted
    level: int
    counts: bool
    reason: str | None = None
    candidate_id: int | None = None
    decision_id: int | None = None
    reviewer: str | None = None
    decided_at: str | None = None
    probability: float | None = None
    rank: int | None = None
    draft_pick: bool = False
    passage_hash: str | None = None
    ocr: bool = False  # the quote was read from a scanned page by Tesseract
    # the quote's line boxes on pdf_page ([x0, top, x1, bottom] in PDF points), drawn on the
    # page image an evidence pack carries; not exported
    boxes: list = field(default_factory=list)

    @property
    def citation(self) -> str:
        return citation(self.pdf_page, self.page_label)

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k not in ("passage_hash", "boxes")}
        out["citation"] = self.citation
        return out


@dataclass
class CriterionScore:
    criterion: Criterion
    draft_level: int | None = 0  # None: not assessed (no classifier trusted with a verdict)
    draft_confidence: float | None = None
    draft_basis: str = "no candidate passed"
    draft_verdict: str = NOT_ASSESSED
    confirmed_level: int = 0
    evidence: list[Evidence] = field(default_factory=list)
    searched: dict | None = None
    previous: dict | None = None  # {"season", "draft_level", "confirmed_level"}
    suggestions: list[dict] = field(default_factory=list)
    # Review has settled the confirmed level: a criterion-level decision confirmed, accepted
    # evidence, or every candidate decided. Unsettled criteria score 0 only provisionally.
    settled: bool = False
    criterion_review: dict | None = None  # {"status", "level", "reviewers", "reason"}

    @property
    def reviewed(self) -> bool:
        return any(e.decision_id for e in self.evidence)

    @property
    def differs(self) -> bool:
        """Review changed the machine's answer."""
        return self.draft_level != self.confirmed_level

    def change(self, which: str) -> int | None:
        if not self.previous:
            return None
        now, before = getattr(self, f"{which}_level"), self.previous[f"{which}_level"]
        return None if now is None or before is None else now - before


@dataclass
class Scorecard:
    company: str
    season: str
    criteria_set: CriteriaSet
    season_row: dict | None
    documents: list[dict]
    criteria: list[CriterionScore]
    draft: Breakdown
    confirmed: Breakdown
    previous: Scorecard | None = None
    rules_date: str | None = None  # when this criteria set (and its scoring rules) was stored
    # document id -> its PDF, for the page images of an evidence pack; never exported
    pdf_paths: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def reviewed_count(self) -> int:
        """Criteria whose confirmed level review has settled."""
        return sum(c.settled for c in self.criteria)

    @property
    def review_summary(self) -> str:
        """ "12 of 40 criteria reviewed": said wherever a confirmed score is shown."""
        return f"{self.reviewed_count} of {len(self.criteria)} criteria reviewed"

    @property
    def review_finished(self) -> bool:
        return self.reviewed_count == len(self.criteria)

    def subsection_reviewed(self, key: tuple[str, str]) -> tuple[int, int]:
        """(settled, all) criteria of a subsection."""
        own = [c for c in self.criteria if (c.criterion.section, c.criterion.subsection) == key]
        return sum(c.settled for c in own), len(own)


def _doc_info(doc: dict, elig: Eligibility) -> dict:
    return {
        "doc_id": doc["id"],
        "file_name": doc["file_name"],
        "pages": doc["page_count"],
        "flags": data.flags_summary(doc["flags"]),
        "fiscal_year": doc["fiscal_year"],
        "publication_date": doc.get("publication_date"),
        "subsidiary_only": bool(doc.get("subsidiary_only")),
        "counts": elig.counts,
        "reason": elig.reason,
    }


def shortfall(row: dict, elig: Eligibility, decision: dict | None) -> list[str]:
    """Why a candidate did not earn points, in the words an analyst would use."""
    why = []
    if not elig.counts:
        why.append(f"document not counted: {elig.reason}")
    if decision is not None:
        who = f"{decision['reviewer']} ({(decision.get('created_at') or '')[:10]})"
        if decision["review_status"] in PENDING:
            why.append(PENDING[decision["review_status"]])
        elif decision["action"] == "reject":
            why.append(f"rejected by reviewer {who}")
        elif (
            decision.get("original_criterion_id") == row["criterion_id"] != decision["criterion_id"]
        ):
            why.append(f"moved to {decision['criterion_id']} by reviewer {who}")
        elif data.decision_level(decision) == 0:
            why.append(f"set to level 0 by reviewer {who}")
    else:
        why.append("not reviewed")
    p, t = row["probability"], row["threshold"]
    judged = is_evidence(p, t)
    below = judged is False
    if row.get("draft_level") is not None:
        if row["draft_level"] == 0:
            why.append("the pre-score found no evidence for this criterion in the report")
    elif judged is None:
        why.append("not assessed: no classifier trusted with a verdict for this criterion")
    elif below:
        why.append(f"probability {p:.2f} below threshold {t:.2f}")
    if row.get("unreadable"):
        flags = ", ".join(row["unreadable"])
        why.append(f"page flagged {flags}: the level rules cannot read it")
    if row["level"] == 0 and not below:  # below threshold already says why it is level 0
        why.append(f"suggested level 0 ({row.get('level_reason') or 'no cue words'})")
    return why


def _boxes(stored: str | list | None) -> list:
    """Stored quote boxes (JSON text or a list) as a list; none when absent or unreadable."""
    if isinstance(stored, list):
        return stored
    try:
        boxes = json.loads(stored or "[]")
    except ValueError:
        return []
    return boxes if isinstance(boxes, list) else []


def _passage_boxes(db: Database, e: dict, cands: list[dict]) -> list:
    """Boxes of a criterion decision's evidence on its page: the candidate's quote lines when
    the passage is a candidate for the criterion, else the passage's lines on that page."""
    for row in cands:
        if row["passage_id"] == e.get("passage_id") and row["pdf_page"] == e["pdf_page"]:
            return _boxes(row.get("quote_boxes"))
    passage = get_passage(db, e["passage_id"]) if e.get("passage_id") else None
    if passage is None:
        return []
    parts = json.loads(passage["parts"])
    return [b for p in parts if p["pdf_page"] == e["pdf_page"] for b in p.get("boxes", [])]


def _evidence_from_candidate(row: Mapping, doc: dict, elig: Eligibility, status: str) -> Evidence:
    return Evidence(
        doc_id=doc["id"],
        file_name=doc["file_name"],
        quote=row["quote"],
        pdf_page=row["pdf_page"],
        page_label=row["page_label"],
        status=status if elig.counts else "not counted",
        level=row["level"],
        counts=elig.counts and status != "rejected",
        reason=None if elig.counts else elig.reason,
        candidate_id=row["id"],
        probability=row["probability"],
        rank=row["rank"],
        passage_hash=row["passage_hash"],
        ocr=row["pdf_page"] in ocr_pages(doc),
        boxes=_boxes(row.get("quote_boxes")),
    )


def _evidence_from_decision(d: dict, doc: dict, elig: Eligibility, criterion_id: str) -> Evidence:
    level = data.decision_level(d)
    moved_away = d["criterion_id"] != criterion_id
    is_evidence = data.is_confirmed_evidence(d) and not moved_away
    status = "accepted" if is_evidence else "rejected"
    reason = d.get("comment")
    if moved_away:
        reason, level = f"moved to {d['criterion_id']}", 0
    elif d["review_status"] in PENDING:
        status, reason = d["review_status"], PENDING[d["review_status"]]
    if is_evidence and not elig.counts:
        status, reason = "not counted", elig.reason
    return Evidence(
        doc_id=doc["id"],
        file_name=doc["file_name"],
        quote=d.get("quote") or "",
        pdf_page=d["pdf_page"],
        page_label=d.get("page_label"),
        status=status,
        level=level,
        counts=is_evidence and elig.counts,
        reason=reason,
        candidate_id=d.get("candidate_id"),
        decision_id=d["id"],
        reviewer=d.get("reviewer"),
        decided_at=d.get("created_at"),
        passage_hash=d.get("passage_hash"),
        ocr=d["pdf_page"] in ocr_pages(doc),
        boxes=_boxes(d.get("quote_boxes")),
    )


def build_scorecard(
    db: Database,
    season: str,
    company: str,
    cset: CriteriaSet | None = None,
    with_previous: bool = True,
) -> Scorecard:
    """The company's scorecard for a season (and its previous season's, for the change)."""
    season = normalise_season(season) or str(season)
    season_row = get_season(db, season)
    docs = documents_in_season(db, season, company)
    cset = cset or criteria_for_documents(db, [d["id"] for d in docs])
    eligibility = {d["id"]: check(d, season_row) for d in docs}
    by_id = {d["id"]: d for d in docs}
    cands = {d["id"]: data.candidates(db, d["id"]) for d in docs}
    decisions = data.effective_decisions(db, list(by_id))
    decided = {}
    for d in decisions:
        proposed = d.get("original_criterion_id") or d["criterion_id"]
        decided[(d["document_id"], d.get("passage_hash"), proposed)] = d
    doc_infos = [_doc_info(d, eligibility[d["id"]]) for d in docs]
    by_criterion = criterion_levels(db, list(by_id))

    scores = []
    for criterion in cset.criteria:
        cs = CriterionScore(criterion)
        per_doc: dict[int, int] = {}
        for d in decisions:
            about = {d["criterion_id"], d.get("original_criterion_id")}
            if criterion.id not in about:
                continue
            ev = _evidence_from_decision(d, by_id[d["document_id"]], eligibility[d["document_id"]],
                                         criterion.id)  # fmt: skip
            cs.evidence.append(ev)
            if ev.counts:
                per_doc[ev.doc_id] = max(per_doc.get(ev.doc_id, 0), ev.level)
        for doc in docs:  # a criterion-level decision is the report's level for the criterion
            st = by_criterion.get((doc["id"], criterion.id))
            if st is not None:
                shown = cands[doc["id"]].get(criterion.id, [])

                def boxes_of(e: dict, shown: list[dict] = shown) -> list:
                    return _passage_boxes(db, e, shown)

                _criterion_decision(cs, st, doc, eligibility[doc["id"]], per_doc, boxes_of)
        cs.confirmed_level = max(per_doc.values(), default=0)
        cs.settled = (
            cs.settled
            or cs.confirmed_level > 0
            or _all_decided(criterion.id, docs, cands, eligibility, decided)
        )
        best = None
        doc_verdicts = []
        for doc in docs:
            rows = cands[doc["id"]].get(criterion.id, [])
            elig = eligibility[doc["id"]]
            verdict, level, row, basis = draft(rows)
            if elig.counts:
                doc_verdicts.append(verdict)
            if row is None:
                continue
            match = next(
                (e for e in cs.evidence
                 if e.doc_id == doc["id"] and e.passage_hash == row["passage_hash"]),
                None,
            )  # fmt: skip
            if match is not None:
                match.draft_pick = True
            else:
                ev = _evidence_from_candidate(row, doc, elig, "draft")
                ev.draft_pick = True
                cs.evidence.append(ev)
            if elig.counts:
                confidence = row.get("draft_probability") or row["probability"]
                rank_key = (level, confidence or 0, row["score"] or 0)
                if best is None or rank_key > best[0]:
                    best = (rank_key, level, confidence, basis)
        cs.draft_verdict = combine(doc_verdicts)
        if best is not None and cs.draft_verdict == EVIDENCE_FOUND:
            _, cs.draft_level, cs.draft_confidence, cs.draft_basis = best
        elif cs.draft_verdict == NOT_ASSESSED:
            cs.draft_level = None
            cs.draft_basis = "not assessed: no classifier trusted with a verdict"
        if not cs.draft_level or not cs.confirmed_level:  # a zero in either says why
            cs.searched = _searched(
                criterion, docs, doc_infos, cands, eligibility, decided, cset.scoring
            )
        scores.append(cs)

    card = Scorecard(
        company=company,
        season=season,
        criteria_set=cset,
        season_row=season_row,
        documents=doc_infos,
        criteria=scores,
        draft=aggregate(cset, {c.criterion.id: c.draft_level or 0 for c in scores}),
        confirmed=aggregate(cset, {c.criterion.id: c.confirmed_level for c in scores}),
        rules_date=_rules_date(db, cset.version),
        pdf_paths={d["id"]: d["path"] for d in docs if d.get("path")},
    )
    if with_previous:
        _attach_previous(db, card)
    return card


def _rules_date(db: Database, version: str) -> str | None:
    row = next((r for r in criteria_sets(db) if r["version"] == version), None)
    return (row.get("created_at") or "")[:10] or None if row else None


def _criterion_decision(
    cs: CriterionScore,
    st: dict,
    doc: dict,
    elig: Eligibility,
    per_doc: dict[int, int],
    boxes_of: Callable[[dict], list] = lambda e: [],
) -> None:
    """A reviewer's level for the criterion in one document: its passages as evidence, and
    once confirmed (four eyes) the document's level for the criterion, whatever the
    candidate decisions said."""
    last = st["decision"]
    confirmed = st["status"] == CONFIRMED
    who = ", ".join(sorted(st["reviewers"]))
    reason = last["comment"] or f"criterion reviewed at level {st['level']}"
    cs.criterion_review = {
        "status": st["status"],
        "level": st["level"],
        "reviewers": who,
        "reason": reason,
        "file_name": doc["file_name"],
    }
    for e in st["evidence"]:
        status = ("accepted" if elig.counts else "not counted") if confirmed else st["status"]
        cs.evidence.append(
            Evidence(
                doc_id=doc["id"],
                file_name=doc["file_name"],
                quote=e["quote"],
                pdf_page=e["pdf_page"],
                page_label=e["page_label"],
                status=status,
                level=st["level"],
                counts=confirmed and elig.counts,
                reason=reason if confirmed else PENDING.get(st["status"], reason),
                decision_id=last["id"],
                reviewer=who,
                decided_at=last["created_at"],
                passage_hash=e.get("passage_hash"),
                boxes=boxes_of(e),
            )
        )
    if confirmed and elig.counts:
        per_doc[doc["id"]] = st["level"]
        cs.settled = True


def _all_decided(criterion_id, docs, cands, eligibility, decided) -> bool:
    """Every candidate of the criterion in the counted documents has a final verdict."""
    rows = [
        (doc["id"], row["passage_hash"])
        for doc in docs
        if eligibility[doc["id"]].counts
        for row in cands[doc["id"]].get(criterion_id, [])
    ]
    finals = (CONFIRMED, REJECTED)
    return bool(rows) and all(
        (d := decided.get((doc_id, h, criterion_id))) is not None and d["review_status"] in finals
        for doc_id, h in rows
    )


def _searched(criterion, docs, doc_infos, cands, eligibility, decided, scoring) -> dict:
    """What was searched for a criterion that scores 0, and why the best fell short."""
    rows = []
    for doc in docs:
        for row in cands[doc["id"]].get(criterion.id, []):
            rows.append((row, doc))
    rows.sort(key=lambda x: -(x[0]["score"] or 0))
    best = []
    for row, doc in rows[:BEST_SHOWN]:
        elig = eligibility[doc["id"]]
        decision = decided.get((doc["id"], row["passage_hash"], criterion.id))
        ev = _evidence_from_candidate(row, doc, elig, "candidate").to_dict()
        ev["why"] = shortfall(row, elig, decision)
        best.append(ev)
    pages = sum(d["pages"] for d in doc_infos if d["counts"])
    counted = sum(1 for d in doc_infos if d["counts"])
    if not docs:
        summary = "no documents of this company in this season"
    elif not rows:
        summary = f"searched {counted} document(s), {pages} pages: no passage to rank"
    else:
        summary = (
            f"searched {counted} eligible document(s), {pages} pages, for "
            f"{len(criterion.queries)} queries; {len(rows)} candidate(s) ranked"
        )
    return {
        "summary": summary,
        "queries": list(criterion.queries),
        "documents": doc_infos,
        "best": best,
    }


def _attach_previous(db: Database, card: Scorecard) -> None:
    prev = previous_season(db, card.company, card.season)
    if prev is None:
        return
    card.previous = build_scorecard(db, prev, card.company, card.criteria_set, False)
    by_id = {c.criterion.id: c for c in card.previous.criteria}
    for cs in card.criteria:
        old = by_id[cs.criterion.id]
        cs.previous = {
            "season": prev,
            "draft_level": old.draft_level,
            "confirmed_level": old.confirmed_level,
        }
    suggestions = carry_over_suggestions(db, card.company, card.season, prev)
    for cs in card.criteria:
        cs.suggestions = [s for s in suggestions if s["criterion"] == cs.criterion.id]


def build_scorecards(
    db: Database, season: str, company: str | None = None, cset: CriteriaSet | None = None
) -> list[Scorecard]:
    """Scorecards of every company with documents in the season (or just one)."""
    names = [company] if company else companies(db, season)
    if cset is None:  # one criteria set for all companies: the season's documents' own
        docs = [d for name in names for d in documents_in_season(db, season, name)]
        cset = criteria_for_documents(db, [d["id"] for d in docs])
    return [build_scorecard(db, season, name, cset) for name in names]
