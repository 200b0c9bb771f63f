"""Pre-scores: a draft level for every criterion of a report, from what its best evidence says.

The evidence model (``analyzer.scoring.evidence``) reads each criterion together with its
pool, the best distinct passages by the zero-shot hybrid score, and the judge
(``analyzer.scoring.judge``) turns the strongest reading into the report's level. Both ship
in one folder, ``models/evidence-VERSION-TIME/`` (int8 ONNX network, tokenizer, judge and
card).

One story per criterion is decided here, once (``suggested_levels``): the draft level, the
passages it rests on and each candidate's suggested level agree. Text that points at
evidence elsewhere (contents, headings, reporting-index rows) is never read as evidence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from analyzer.criteria.sets import CriteriaSet
from analyzer.scoring.evidence import CARD_FILE, EvidenceModel, criterion_text
from analyzer.scoring.judge import POOL, Judge, features, pool, read_pools

JUDGE_FILE = "judge.joblib"
EVIDENCE_AT = 0.5  # P(evidence) from which the model reads a passage as evidence


@dataclass
class PreScore:
    """What the pre-score says about one report: per criterion, its pool (passage indices,
    strongest evidence first) with P(evidence) and the model's three probabilities for each,
    and the report's level and probabilities."""

    passages: list[np.ndarray]
    relevance: list[np.ndarray]  # P(evidence) per pool passage
    level: np.ndarray
    p_evidence: np.ndarray  # P(level >= 1) of the report
    p_full: np.ndarray  # P(level >= 2)
    readings: list[np.ndarray] | None = None  # (k, 3) per criterion, aligned with passages


def suggested_levels(readings: np.ndarray, draft: int) -> np.ndarray:
    """Each candidate's suggested level, for one criterion's candidates in display order
    ((k, 3) probabilities; a passage the model did not read is [1, 0, 0]). The one rule that
    keeps a criterion's story whole: 0 everywhere under a draft 0; otherwise the model's
    level where it reads evidence, never above the draft, and the first candidate carries
    the draft level."""
    readings = np.asarray(readings, np.float32).reshape(-1, 3)
    if draft <= 0 or len(readings) == 0:
        return np.zeros(len(readings), int)
    evidence = 1.0 - readings[:, 0]
    levels = np.where(readings[:, 2] > readings[:, 1], 2, 1)
    levels = np.where(evidence >= EVIDENCE_AT, np.minimum(levels, draft), 0)
    levels[0] = draft
    return levels.astype(int)


def distinct_scores(
    score: Callable[[list[str], np.ndarray], np.ndarray],
    texts: list[str],
    vectors: np.ndarray,
    hashes: list[str],
) -> np.ndarray:
    """A report's (passages x criteria) scores with each distinct text scored once, so a
    text printed twice (a report read twice, a repeated page) changes neither the word
    statistics nor the pools: repeats get their first copy's scores."""
    first: dict[str, int] = {}
    for i, h in enumerate(hashes):
        first.setdefault(h, i)
    if len(first) == len(hashes):
        return score(texts, vectors)
    keep = sorted(first.values())
    sub = score([texts[i] for i in keep], vectors[keep])
    row_of = {i: r for r, i in enumerate(keep)}
    return sub[[row_of[first[h]] for h in hashes]]


def load_judge(folder: str | Path) -> Judge:
    import joblib

    judge = joblib.load(Path(folder) / JUDGE_FILE)
    if not isinstance(judge, Judge):
        raise ValueError(f"{folder}: {JUDGE_FILE} is not a judge")
    return judge


class PreScorer:
    """A shipped evidence model and judge, for the pipeline."""

    def __init__(self, path: str | Path, criteria: CriteriaSet) -> None:
        self.path = Path(path)
        self.model = EvidenceModel(self.path)
        self.judge_model = load_judge(self.path)
        self.criteria = criteria
        self.texts = [criterion_text(c) for c in criteria.criteria]
        check_is_fitted(self.judge_model, ["any_", "base_any_"])
        if len(self.judge_model.base_any_) != len(self.texts):
            raise ValueError(f"{self.path}: judge fitted for another criteria set")

    def load(self) -> PreScorer:
        """Open the network now (the pipeline does it while the first PDF is read)."""
        self.model.load()
        return self

    @property
    def card(self) -> dict:
        return json.loads((self.path / CARD_FILE).read_text("utf-8"))

    def judge(self, texts: list[str], hashes: list[str], hybrid: np.ndarray) -> PreScore:
        """Read every criterion's pool and judge the report."""
        n_criteria = len(self.texts)
        pools = [
            pool(hybrid[:, j], hashes, POOL) if len(texts) else np.zeros(0, int)
            for j in range(n_criteria)
        ]
        probs = read_pools(self.model, self.texts, texts, pools)
        judge = self.judge_model
        rows = []
        for j, p in enumerate(probs):
            best = int(pools[j][int(np.argmax(1 - p[:, 0]))]) if len(p) else None
            rows.append(
                features(
                    p,
                    texts[best] if best is not None else "",
                    float(judge.base_any_[j]),
                    float(judge.base_full_[j]),
                )
            )
        level, p_any, p_full = judge.predict(np.asarray(rows, np.float32))
        passages, relevance, readings = [], [], []
        for j, p in enumerate(probs):
            order = np.argsort(-(1.0 - p[:, 0]), kind="stable")
            passages.append(pools[j][order])
            relevance.append((1.0 - p[:, 0])[order])
            readings.append(p[order])
        return PreScore(passages, relevance, level, p_any, p_full, readings)
