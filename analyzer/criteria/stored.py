"""The criteria as stored with the candidates made from them: one source for every reader.

Candidates are made under one criteria version; a scorecard, a review card or an export
must describe them with that version's definitions, even after the YAML was edited. The
scoring rules (points, weights) are versioned apart and come from the current file.
"""

from __future__ import annotations

from sqlite_utils import Database

from analyzer.criteria.sets import CriteriaError, CriteriaSet, Criterion, load_criteria
from analyzer.db.criteria import criteria_content, criteria_set_row, document_criteria_version


def _criterion(data: dict) -> Criterion:
    return Criterion(
        id=data["id"],
        name=data["name"],
        section=data.get("section", ""),
        subsection=data.get("subsection", ""),
        definition=data.get("definition", ""),
        queries=tuple(data.get("queries") or ()),
        examples=tuple(data.get("examples") or ()),
        lookalikes=tuple(data.get("lookalikes") or ()),
        levels={int(k): v for k, v in (data.get("levels") or {}).items()},
        points={int(k): float(v) for k, v in (data.get("points") or {0: 0, 1: 1, 2: 2}).items()},
        weight=float(data.get("weight", 1.0)),
    )


def criteria_for_version(db: Database, version: str) -> CriteriaSet | None:
    """The stored criteria set of a version, with the current scoring rules of its name."""
    row = criteria_set_row(db, version)
    if row is None:
        return None
    try:
        scoring = load_criteria(row["name"]).scoring
    except CriteriaError:
        scoring = load_criteria().scoring
    return CriteriaSet(
        name=row["name"],
        title=row["title"],
        version=version,
        criteria=tuple(_criterion(c) for c in criteria_content(db, version)),
        source=row["source"],
        scoring=scoring,
    )


def criteria_for_documents(db: Database, doc_ids: list[int]) -> CriteriaSet:
    """The criteria the documents' newest candidates were made with (the newest version
    among them); the current file when none was analysed yet."""
    versions = [document_criteria_version(db, d) for d in doc_ids]
    found = [criteria_for_version(db, v) for v in versions if v]
    known = [k for k in found if k is not None]
    if not known:
        return load_criteria()
    current = load_criteria()
    same = [k for k in known if k.version == current.version]
    return same[0] if same else known[-1]
