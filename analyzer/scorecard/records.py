"""Scorecards as plain records: the one shape every export (JSON, CSV, XLSX, HTML) reads."""

from __future__ import annotations

from analyzer.criteria.sets import CriteriaSet
from analyzer.scorecard.rules import Breakdown
from analyzer.scorecard.scores import CriterionScore, Scorecard

LEVEL_WORDS = {0: "none", 1: "partial", 2: "full", None: "not assessed"}


def structure(cset: CriteriaSet) -> list[tuple[str, list[str]]]:
    """Sections and their subsections in the order the criteria file gives them."""
    out: dict[str, list[str]] = {}
    for c in cset.criteria:
        subs = out.setdefault(c.section, [])
        if c.subsection not in subs:
            subs.append(c.subsection)
    return list(out.items())


def criterion_record(card: Scorecard, cs: CriterionScore) -> dict:
    c = cs.criterion
    draft = card.draft.criteria[c.id]
    confirmed = card.confirmed.criteria[c.id]
    return {
        "company": card.company,
        "season": card.season,
        "criterion": c.id,
        "criterion_name": c.name,
        "section": c.section,
        "subsection": c.subsection,
        "draft_level": cs.draft_level,
        "draft_confidence": None if cs.draft_confidence is None else round(cs.draft_confidence, 3),
        "draft_verdict": cs.draft_verdict,
        "draft_basis": cs.draft_basis,
        "confirmed_level": cs.confirmed_level,
        "reviewed": cs.reviewed,
        "review_changed_level": cs.reviewed and cs.differs,
        "points_possible": round(draft.possible, 4),
        "draft_points": round(draft.achieved, 4),
        "confirmed_points": round(confirmed.achieved, 4),
        "previous_season": cs.previous["season"] if cs.previous else None,
        "previous_draft_level": cs.previous["draft_level"] if cs.previous else None,
        "previous_confirmed_level": cs.previous["confirmed_level"] if cs.previous else None,
        "change_draft": cs.change("draft"),
        "change_confirmed": cs.change("confirmed"),
        "evidence": [e.to_dict() for e in cs.evidence],
        "searched_not_found": cs.searched,
        "suggestions": cs.suggestions,
    }


def breakdown_rows(cset: CriteriaSet, b: Breakdown) -> list[dict]:
    """Total, then each section and its subsections, as labelled rows."""
    rows = [{"level": "total", "key": "total", "name": "Total", **b.total.to_dict()}]
    for section, subs in structure(cset):
        name = cset.scoring.section_names.get(section, section)
        rows.append(
            {"level": "section", "key": section, "name": f"{section}. {name}",
             **b.sections[section].to_dict()}
        )  # fmt: skip
        for sub in subs:
            rows.append(
                {"level": "subsection", "key": f"{section}/{sub}", "name": sub,
                 **b.subsections[(section, sub)].to_dict()}
            )  # fmt: skip
    return rows


def summary_record(card: Scorecard) -> dict:
    prev = card.previous
    return {
        "company": card.company,
        "season": card.season,
        "cutoff": card.season_row["cutoff"] if card.season_row else None,
        "window_start": card.season_row["window_start"] if card.season_row else None,
        "criteria_version": card.criteria_set.version,
        "scoring_version": card.criteria_set.scoring.version,
        "documents": card.documents,
        "draft": card.draft.to_dict(),
        "confirmed": card.confirmed.to_dict(),
        "previous_season": prev.season if prev else None,
        "previous_draft": prev.draft.to_dict() if prev else None,
        "previous_confirmed": prev.confirmed.to_dict() if prev else None,
    }
