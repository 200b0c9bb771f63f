"""Top-k candidates per criterion: the passages, their best quotes with full provenance,
and the suggested level, as rows ready for the candidates table."""

from __future__ import annotations

import json

import numpy as np

from analyzer.candidates.quotes import best_quote, line_boxes_of
from analyzer.criteria.sets import CriteriaSet
from analyzer.levels import suggest_level
from analyzer.scoring.judge import NOT_READ
from analyzer.scoring.prescore import PreScore, suggested_levels
from analyzer.scoring.scorers import Assessment
from analyzer.scoring.verdict import is_evidence
from analyzer.textkinds import is_navigation, is_non_evidence
from analyzer.types import Passage, Quote

POOL_EXTRA = 10  # passages looked at beyond top-k, so non-evidence can be moved down


def select_candidates(
    criteria: CriteriaSet,
    terms: dict[str, set[str]],
    passages: list[Passage],
    passage_ids: list[int],
    assessment: Assessment,
    top_k: int,
    page_lines: dict[int, list[list[float]]],
    prescore: PreScore | None = None,
) -> list[dict]:
    """The top-k passages per criterion, each with its best quote, page, boxes and level.

    `page_lines` maps a PDF page to its stored lines ([start, end, x0, top, x1, bottom]),
    from which the quote's boxes are taken once, here, and stored with the candidate.
    With a pre-score the passages are its reranking (relevance first) and a candidate's
    probability is its relevance; the verdict is then the report's draft, not a threshold.
    """
    scores = assessment.scores
    rows: list[dict] = []
    if not passages:
        return rows
    k = min(top_k, len(passages))
    for j, criterion in enumerate(criteria.criteria):
        by_hybrid = [int(i) for i in np.argsort(-scores[:, j], kind="stable")[: k + POOL_EXTRA]]
        if prescore is not None:
            read = [int(i) for i in prescore.passages[j]]
            relevance_of = dict(zip(read, map(float, prescore.relevance[j]), strict=True))
            readings = (
                prescore.readings[j]
                if prescore.readings is not None
                else [np.array([1.0 - r, r, 0.0]) for r in prescore.relevance[j]]
            )
            reading_of = dict(zip(read, readings, strict=True))
            pool = read + [i for i in by_hybrid if i not in relevance_of]
        else:
            pool = by_hybrid
        quotes, pool = _evidence_first(pool, k, passages, terms[criterion.id])
        if prescore is not None:
            draft = int(prescore.level[j])
            levels = suggested_levels(
                np.asarray([reading_of.get(i, NOT_READ) for i in pool[:k]]), draft
            )
        for rank, i in enumerate(pool[:k], start=1):
            quote = quotes[i]
            level = suggest_level(quote.text)
            if prescore is not None:
                probability, threshold = relevance_of.get(i, float("nan")), float("nan")
                level.level = int(levels[rank - 1])
                level.reason = _model_reason(level.level, draft, probability)
            else:
                probability = float(assessment.probability[i, j])
                threshold = float(assessment.threshold[j])
                if is_evidence(probability, threshold) is False:
                    level.level = 0
                    level.reason = (
                        f"probability {probability:.2f} is below the evidence threshold "
                        f"{threshold:.2f}"
                    )
            boxes = line_boxes_of(
                page_lines.get(quote.pdf_page, []), quote.page_start or 0, quote.page_end or 0
            )
            rows.append(
                {
                    "criteria_version": criteria.version,
                    "criterion_id": criterion.id,
                    "passage_id": passage_ids[i],
                    "rank": rank,
                    "score": round(float(scores[i, j]), 4),
                    "scorer": assessment.scorer[j],
                    "quote": quote.text,
                    "pdf_page": quote.pdf_page,
                    "page_label": quote.page_label,
                    "quote_start": quote.start,
                    "quote_end": quote.end,
                    "quote_page_start": quote.page_start,
                    "quote_page_end": quote.page_end,
                    "quote_boxes": json.dumps(boxes),
                    "probability": None if np.isnan(probability) else round(probability, 4),
                    "threshold": None if np.isnan(threshold) else round(threshold, 4),
                    "level": level.level,
                    "level_reason": level.reason,
                    "cues": json.dumps(level.cues),
                }
            )
    return rows


def _model_reason(level: int, draft: int, probability: float) -> str:
    """Why a candidate has its suggested level, in the evidence model's words."""
    read = (
        "not read by the evidence model"
        if np.isnan(probability)
        else (f"P(evidence) {probability:.2f}")
    )
    if draft == 0:
        return f"the draft reads no evidence for this criterion ({read})"
    if level == 0:
        return f"read as not evidence for this criterion ({read})"
    kind = "full" if level == 2 else "partial"
    return f"read as {kind} evidence ({read}; draft level {draft})"


def _evidence_first(
    pool: list[int], k: int, passages: list[Passage], wanted: set[str]
) -> tuple[dict[int, Quote], list[int]]:
    """The pool's best k in order, except that navigation (contents, headings,
    cross-references), table fragments and bare labels come after every passage whose best
    quote could itself be evidence. Quotes are picked only as far down as needed."""
    quotes: dict[int, Quote] = {}
    good: list[int] = []
    poor: list[int] = []
    for i in pool:
        quotes[i] = best_quote(passages[i], wanted)
        bad = is_navigation(passages[i].text) or is_non_evidence(quotes[i].text)
        (poor if bad else good).append(i)
        if len(good) >= k:
            break
    return quotes, (good + poor)[:k]
