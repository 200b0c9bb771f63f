"""Top-k candidates per criterion: the passages, their best quotes with full provenance,
and the suggested level, as rows ready for the candidates table."""

from __future__ import annotations

import json

import numpy as np

from analyzer.candidates.quotes import best_quote, line_boxes_of
from analyzer.criteria.sets import CriteriaSet
from analyzer.levels import suggest_level
from analyzer.scoring.prescore import PreScore, is_navigation
from analyzer.scoring.scorers import Assessment
from analyzer.scoring.verdict import is_evidence
from analyzer.types import Passage


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
        if prescore is not None:
            # The pre-score's order, with navigation text (contents, headings,
            # cross-references) after every passage that could itself be evidence.
            ranked = list(zip(prescore.passages[j], prescore.relevance[j], strict=True))
            ranked.sort(key=lambda pair: is_navigation(passages[int(pair[0])].text))
            order = [int(i) for i, _ in ranked[:k]]
            relevance = [float(r) for _, r in ranked[:k]]
        else:
            order = np.argsort(-scores[:, j], kind="stable")[:k]
        for rank, i in enumerate(order, start=1):
            quote = best_quote(passages[i], terms[criterion.id])
            if prescore is not None:
                probability, threshold = float(relevance[rank - 1]), float("nan")
            else:
                probability = float(assessment.probability[i, j])
                threshold = float(assessment.threshold[j])
            level = suggest_level(quote.text)
            if is_evidence(probability, threshold) is False:
                level.level = 0
                level.reason = (
                    f"probability {probability:.2f} is below the evidence threshold {threshold:.2f}"
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
