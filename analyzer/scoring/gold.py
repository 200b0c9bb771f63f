"""The report-level gold and the figures a pre-score is judged by.

The gold (``labels/gold/gold.jsonl``) gives, for each gold report and criterion, the level
the report earns and the quotes that earn it. ``analyzer.scoring.judge_training`` trains and
cross-validates the evidence model and judge on it; the figures are computed here, once, for
the evaluation, the benchmark and the comparison with stored drafts.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score
from sqlite_utils import Database

from analyzer.criteria.sets import REPO_ROOT
from analyzer.db.candidates import candidate_rows
from analyzer.db.criteria import document_criteria_version
from analyzer.db.documents import document_by_sha
from analyzer.db.drafts import document_drafts
from analyzer.levels import candidate_level
from analyzer.scoring.verdict import draft, with_drafts

GOLD_FILE = REPO_ROOT / "labels" / "gold" / "gold.jsonl"


def load_gold(
    path: str | Path = GOLD_FILE, criterion_ids: set[str] | None = None
) -> dict[tuple[str, str], dict]:
    """(document sha256, criterion) -> {"level", "quotes", "document", "line"}.

    Raises ValueError naming the file and line for a malformed line, and for a criterion
    not in ``criterion_ids`` when given."""
    gold = {}
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            level = int(r["level"])
            if level not in (0, 1, 2):
                raise ValueError(f"level {level} is not 0, 1 or 2")
            gold[(r["document_sha256"], r["criterion"])] = {
                "level": level,
                "quotes": [(int(e["pdf_page"]), str(e["quote"])) for e in r["evidence"]],
                "document": r["document"],
                "line": n,
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a gold decision ({exc!r})") from None
        if criterion_ids is not None and r["criterion"] not in criterion_ids:
            raise ValueError(f"{path}:{n}: unknown criterion {r['criterion']!r}")
    return gold


def company_of(file_name: str) -> str:
    """The fold group: the company named at the start of a report's file name, up to its
    year ("tokyo-gas-2022-..." is "tokyo-gas", "volkswagen-2021-..." is "volkswagen")."""
    stem = Path(file_name).stem.lower()
    m = re.match(r"(.+?)-(?:19|20)\d\d(?:-|$)", stem)
    return m.group(1) if m else stem.split("-")[0]


def figures(gold: np.ndarray, draft: np.ndarray, assessed: np.ndarray | None = None) -> dict:
    """The pre-score figures of issue 10: level agreement, kappa, present/absent."""
    assessed = np.ones(len(gold), bool) if assessed is None else assessed
    draft0 = np.where(assessed, draft, 0)
    present, predicted = gold > 0, draft0 > 0
    both = len(set(present)) > 1
    return {
        "pairs": int(len(gold)),
        "exact": round(float((draft0 == gold).mean()), 3),
        "within_one": round(float((np.abs(draft0 - gold) <= 1).mean()), 3),
        "qwk": round(float(cohen_kappa_score(gold, draft0, weights="quadratic")), 3)
        if len(set(gold)) > 1 or len(set(draft0)) > 1
        else 0.0,
        "present_balanced_accuracy": round(float(balanced_accuracy_score(present, predicted)), 3)
        if both
        else None,
        "coverage": round(float(assessed.mean()), 3),
        "false_alarms": int((predicted & ~present).sum()),
        "misses": int((~predicted & present).sum()),
    }


def stored_drafts(db: Database, gold: dict) -> dict[tuple[str, str], int | None]:
    """(sha256, criterion) -> the draft level the stored analysis gives (None: not assessed),
    by the one verdict rule: what to compare a new model with ("today's drafts")."""
    out: dict[tuple[str, str], int | None] = {}
    for sha in {sha for sha, _ in gold}:
        doc = document_by_sha(db, sha)
        if doc is None:
            continue  # not analysed there: its pairs count as not assessed
        version = document_criteria_version(db, doc["id"])
        # no candidates stored: no criteria version, so no drafts either
        drafts = document_drafts(db, doc["id"], version) if version is not None else {}
        rows = with_drafts(candidate_rows(db, doc["id"]), drafts)
        by_criterion: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            row["level"] = candidate_level(row).level
            by_criterion[row["criterion_id"]].append(row)
        for s, cid in gold:
            if s == sha:
                _, level, _, _ = draft(by_criterion.get(cid, []))
                out[(sha, cid)] = level
    return out
