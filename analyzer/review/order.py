"""Review order: which candidates a reviewer should see first.

"Highest score first" shows the likeliest evidence. "Most informative first" is active
learning by uncertainty sampling: a candidate whose calibrated probability sits near its
criterion's threshold, or that belongs to a criterion with few labels, teaches the next
model the most when a reviewer decides it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from analyzer.scoring.verdict import verdicts  # noqa: F401  (the CLI's name for it)

ORDERS = ("score", "informative")


def label_positives(labels: Iterable) -> Counter:
    """Labelled positives per criterion id (labels as from analyzer.labels)."""
    return Counter(label.criterion for label in labels if label.evidence)


def informativeness(candidate: dict, positives: int) -> float:
    """Higher for uncertain candidates and for criteria with few labelled positives (0 to 2)."""
    p, t = candidate.get("probability"), candidate.get("threshold")
    if p is None or t is None:
        uncertainty = 0.5  # no trained model: as unsure as a candidate can honestly be said
    else:
        span = t if p < t else 1 - t
        uncertainty = 1 - min(1.0, abs(p - t) / span) if span > 0 else 0.0
    return uncertainty + 1 / (1 + positives)


def review_order(candidates: list[dict], order: str, positives: Counter | None = None) -> list:
    """The candidates sorted for review; ties keep criterion and rank order."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose {' or '.join(ORDERS)}")
    if order == "score":
        return sorted(candidates, key=lambda c: -c["score"])
    positives = positives or Counter()

    def key(c: dict) -> tuple:
        # Without a probability there is nothing to be uncertain about: those follow by score.
        if c.get("probability") is None:
            return (1, -c["score"])
        return (0, -informativeness(c, positives.get(c["criterion"], 0)))

    return sorted(candidates, key=key)
