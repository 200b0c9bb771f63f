"""The one rule for what the machine says about a criterion in a report.

A candidate is evidence when its calibrated probability reaches its criterion's threshold.
A criterion whose classifier was not trusted with a verdict (no threshold stored: too few
labelled positives, or no trained model at all) is "not assessed", never silently scored.
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
    """The verdict of one criterion from its candidates (each with probability, threshold)."""
    judged = [is_evidence(c.get("probability"), c.get("threshold")) for c in candidates]
    if any(j is True for j in judged):
        return EVIDENCE_FOUND
    if judged and all(j is False for j in judged):
        return NO_EVIDENCE
    return NOT_ASSESSED


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
