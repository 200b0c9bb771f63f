"""Review order: which candidates a reviewer should see first.

"Highest score first" shows the likeliest evidence. "Most informative first" is active
learning by uncertainty sampling: a candidate whose calibrated probability sits near its
criterion's threshold, or that belongs to a criterion with little confirmed evidence,
teaches the next model the most when a reviewer decides it. The CLI (``candidates
--order``) and the web queue both sort with ``order_key``, counting confirmed evidence.
"""

from __future__ import annotations

from collections.abc import Mapping

ORDERS = ("score", "informative")


def informativeness(candidate: Mapping, positives: int) -> float:
    """Higher for uncertain candidates and for criteria with little confirmed evidence (0-2).

    Uncertainty is the probability's distance from the criterion's threshold; a criterion
    without one (too few labels for a verdict) is measured from 0.5, the calibrated midpoint.
    """
    p, t = candidate.get("probability"), candidate.get("threshold")
    if p is None:
        uncertainty = 0.5
    else:
        t = 0.5 if t is None else t
        span = t if p < t else 1 - t
        uncertainty = 1 - min(1.0, abs(p - t) / span) if span > 0 else 0.0
    return uncertainty + 1 / (1 + positives)


def order_key(candidate: Mapping, order: str, positives: Mapping[str, int]) -> tuple:
    """The sort key of a candidate for review, for the CLI and the web queue alike.

    "score": highest score first. "informative": candidates with a probability by
    informativeness, then those without one (nothing to be uncertain about) by score.
    """
    criterion = candidate.get("criterion") or candidate.get("criterion_id")
    by_score = (-(candidate.get("score") or 0.0), candidate.get("rank") or 0, criterion)
    if order == "score":
        return by_score
    if order != "informative":
        raise ValueError(f"unknown order {order!r}; choose {' or '.join(ORDERS)}")
    if candidate.get("probability") is None:
        return (1, 0.0, *by_score)
    confirmed = 0 if criterion is None else positives.get(criterion, 0)
    return (0, -informativeness(candidate, confirmed), *by_score)


def review_order(
    candidates: list[dict], order: str, positives: Mapping[str, int] | None = None
) -> list[dict]:
    """The candidates sorted for review (positives: confirmed evidence per criterion)."""
    counts = positives or {}
    return sorted(candidates, key=lambda c: order_key(c, order, counts))
