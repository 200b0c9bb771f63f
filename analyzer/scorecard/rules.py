"""Scoring arithmetic: levels to points, points to subsection, section and total percentages.

Kept apart from the database so the arithmetic can be checked by hand: a score is
sum(weight x points achieved) / sum(weight x points possible), at every level of the tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from analyzer.criteria.sets import CriteriaSet, Criterion


@dataclass
class Tally:
    """Weighted points achieved and possible; ``percent`` is None when nothing is possible."""

    achieved: float = 0.0
    possible: float = 0.0

    def add(self, achieved: float, possible: float) -> None:
        self.achieved += achieved
        self.possible += possible

    @property
    def percent(self) -> float | None:
        return 100.0 * self.achieved / self.possible if self.possible else None

    def to_dict(self) -> dict:
        pct = self.percent
        return {
            "achieved": round(self.achieved, 4),
            "possible": round(self.possible, 4),
            "percent": None if pct is None else round(pct, 1),
        }


@dataclass
class Breakdown:
    """One company's scores: per criterion points, per subsection, per section, and total."""

    criteria: dict[str, Tally] = field(default_factory=dict)
    subsections: dict[tuple[str, str], Tally] = field(default_factory=dict)
    sections: dict[str, Tally] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)

    def to_dict(self) -> dict:
        return {
            "total": self.total.to_dict(),
            "sections": {k: v.to_dict() for k, v in self.sections.items()},
            "subsections": {f"{s}/{sub}": v.to_dict() for (s, sub), v in self.subsections.items()},
        }


def points_for(criterion: Criterion, level: int | None) -> float:
    """Unweighted points a level earns on a criterion (no level counts as level 0)."""
    return criterion.points.get(level or 0, 0.0)


def max_points(criterion: Criterion) -> float:
    return max(criterion.points.values())


def aggregate(cset: CriteriaSet, levels: Mapping[str, int | None]) -> Breakdown:
    """Score every criterion of the set; a criterion absent from ``levels`` scores level 0."""
    out = Breakdown()
    for criterion in cset.criteria:
        weight = cset.scoring.weight_of(criterion)
        achieved = weight * points_for(criterion, levels.get(criterion.id))
        possible = weight * max_points(criterion)
        out.criteria[criterion.id] = Tally(achieved, possible)
        key = (criterion.section, criterion.subsection)
        out.subsections.setdefault(key, Tally()).add(achieved, possible)
        out.sections.setdefault(criterion.section, Tally()).add(achieved, possible)
        out.total.add(achieved, possible)
    return out
