"""The one rule for what the machine says about a criterion in a report.

Where the report was pre-scored (``analyzer.scoring.prescore``), its stored draft level
decides: "evidence found" exactly when the level is above 0, for every criterion. Otherwise
(a report analysed without a pre-score model) a candidate is evidence when its calibrated
probability reaches its criterion's threshold, and a criterion whose classifier was not
trusted with a verdict (no threshold stored) is "not assessed", never silently scored.
The CLI, the web app, the exports and the scorecards all ask these functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

EVIDENCE_FOUND = "evidence found"
NO_EVIDENCE = "no evidence found"
NOT_ASSESSED = "not assessed"
VERDICTS = (EVIDENCE_FOUND, NO_EVIDENCE, NOT_ASSESSED)


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def is_evidence(probability: float | None, threshold: float | None) -> bool | None:
    """True/False when the candidate was judged; None when there is nothing to judge by."""
    p, t = _number(probability), _number(threshold)
    if p is None or t is None:
        return None
    return p >= t


def criterion_verdict(candidates: Iterable[Mapping]) -> str:
    """The verdict of one criterion from its candidates (each with probability, threshold,
    and the report's ``draft_level`` where a pre-score judged it)."""
    candidates = list(candidates)
    draft = next((c["draft_level"] for c in candidates if c.get("draft_level") is not None), None)
    if draft is not None:
        return EVIDENCE_FOUND if draft > 0 else NO_EVIDENCE
    judged = [is_evidence(c.get("probability"), c.get("threshold")) for c in candidates]
    if any(j is True for j in judged):
        return EVIDENCE_FOUND
    if judged and all(j is False for j in judged):
        return NO_EVIDENCE
    return NOT_ASSESSED


def draft(candidates: Iterable[Mapping]) -> tuple[str, int | None, Mapping | None, str]:
    """(verdict, draft level, the candidate that carries it, why) of one criterion.

    The level is above 0 exactly when the verdict is "evidence found" and None when the
    criterion is not assessed. A pre-scored report's level is its stored draft level, carried
    by its best-ranked candidate; otherwise the highest suggested level (at least 1) among
    the candidates judged evidence.
    """
    candidates = list(candidates)
    verdict = criterion_verdict(candidates)
    if verdict == NOT_ASSESSED:
        return verdict, None, None, "not assessed: no classifier trusted with a verdict"
    stored = [c for c in candidates if c.get("draft_level") is not None]
    if stored:
        top = min(stored, key=lambda c: c.get("rank") or 0)
        level = int(top["draft_level"])
        p = top.get("draft_probability")
        why = top.get("draft_reason") or (
            "pre-score" + (f": P(evidence) {p:.2f}" if p is not None else "")
        )
        return verdict, level, top if level > 0 else None, why
    passing = [c for c in candidates if is_evidence(c.get("probability"), c.get("threshold"))]
    if not passing:
        return verdict, 0, None, "no candidate reaches its threshold"
    pick = max(passing, key=lambda c: (c["level"], c["probability"] or 0, -(c.get("rank") or 0)))
    why = f"probability {pick['probability']:.2f} reaches threshold {pick['threshold']:.2f}"
    return verdict, max(1, int(pick["level"])), pick, why


def verdicts(candidates: Iterable[Mapping]) -> dict[str, str]:
    """criterion id -> verdict, for candidates of one report (each with a ``criterion`` key)."""
    groups: dict[str, list[Mapping]] = {}
    for c in candidates:
        groups.setdefault(c.get("criterion") or c["criterion_id"], []).append(c)
    return {cid: criterion_verdict(rows) for cid, rows in groups.items()}


def combine(per_document: Iterable[str]) -> str:
    """A company's verdict over several reports: evidence anywhere wins, then not assessed."""
    found = list(per_document)
    if EVIDENCE_FOUND in found:
        return EVIDENCE_FOUND
    if not found or NOT_ASSESSED in found:
        return NOT_ASSESSED
    return NO_EVIDENCE


def with_drafts(rows: Iterable[dict], drafts: Mapping[str, Mapping]) -> list[dict]:
    """Candidate rows with their criterion's stored draft (level, probability) attached,
    the form every reader hands to ``criterion_verdict`` and ``draft``."""
    out = []
    for row in rows:
        criterion = row.get("criterion") or row.get("criterion_id")
        d = None if criterion is None else drafts.get(criterion)
        row["draft_level"] = None if d is None else d["level"]
        row["draft_probability"] = None if d is None else d["p_evidence"]
        row["draft_reason"] = None if d is None else d.get("reason")
        out.append(row)
    return out
