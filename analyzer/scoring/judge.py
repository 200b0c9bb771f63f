"""The judge: a criterion's draft level from what its best evidence says.

For each criterion the evidence model (``analyzer.scoring.evidence``) reads the criterion's
pool: its best distinct passages by the zero-shot hybrid score (passages with the same text
count once). The judge then looks only at the strongest reading in that pool:

- the highest P(evidence) of any pool passage, and that passage's P(level 2 | evidence);
- the highest P(level 2) of any pool passage;
- the criterion's base rates (how often training reports earned level >= 1 and 2);
- what the best passage says: binding, dated, quantified, supply-chain cue words.

Never a count, a sum or a mean over passages, and nothing about the report's length: a
report read twice, or with an unrelated report's chapters appended, gets the same levels
as long as its best passages stay in the pool. Two logistic models give P(level >= 1) and
P(level >= 2); the level is 2 when both reach 0.5, 1 when the first does, else 0.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from analyzer.levels import find_cues
from analyzer.textkinds import is_non_evidence

POOL = 4  # distinct passages per criterion the evidence model reads at run time
CUES = ("binding", "dated", "quantified", "supply chain", "hedged")
FEATURES = (
    "best_p_evidence",
    "best_p_full_given_evidence",
    "max_p_level2",
    "base_rate_any",
    "base_rate_full",
    *(f"best_{c.replace(' ', '_')}" for c in CUES),
)


def pool(hybrid_column: np.ndarray, hashes: list[str], k: int = POOL) -> np.ndarray:
    """The k best passages of one criterion by hybrid score, each text once (the first)."""
    order = np.argsort(-hybrid_column, kind="stable")
    seen: set[str] = set()
    out: list[int] = []
    for i in order:
        h = hashes[int(i)]
        if h in seen:
            continue
        seen.add(h)
        out.append(int(i))
        if len(out) == k:
            break
    return np.asarray(out, dtype=int)


NOT_READ = np.array([1.0, 0.0, 0.0], np.float32)  # a passage the evidence model did not read


def read_pools(
    model, criterion_texts: list[str], texts: list[str], pools: list[np.ndarray]
) -> list[np.ndarray]:
    """The evidence model's (k, 3) readings of each criterion's pool. Text that is never
    evidence (contents, headings, index rows) is not read at all: it is "not evidence"."""
    left, right, where = [], [], []
    readings = [np.tile(NOT_READ, (len(idx), 1)) for idx in pools]
    for j, idx in enumerate(pools):
        for row, i in enumerate(idx):
            if not is_non_evidence(texts[int(i)]):
                left.append(criterion_texts[j])
                right.append(texts[int(i)])
                where.append((j, row))
    if left:
        probs = model.predict_proba(left, right)
        for (j, row), p in zip(where, probs, strict=True):
            readings[j][row] = p
    return readings


def features(probs: np.ndarray, best_text: str, base_any: float, base_full: float) -> list[float]:
    """One criterion of one report: its pool's (k, 3) probabilities -> a judge row."""
    if len(probs) == 0:
        return [0.0, 0.0, 0.0, base_any, base_full] + [0.0] * len(CUES)
    evidence = 1.0 - probs[:, 0]
    best = int(np.argmax(evidence))
    full_given = float(probs[best, 2] / max(evidence[best], 1e-6))
    cues = find_cues(best_text)
    return [
        float(evidence[best]),
        full_given,
        float(probs[:, 2].max()),
        base_any,
        base_full,
        *(1.0 if c in cues else 0.0 for c in CUES),
    ]


def base_rates(levels: np.ndarray, prior_weight: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Per criterion (columns of a reports x criteria level matrix): the share of reports at
    level >= 1 and at 2, shrunk towards the all-criteria share (a few reports per criterion)."""
    levels = np.asarray(levels)
    if levels.size == 0:
        raise ValueError("base rates need at least one report")
    n = levels.shape[0]
    any_all, full_all = float((levels >= 1).mean()), float((levels >= 2).mean())
    any_c = ((levels >= 1).sum(axis=0) + prior_weight * any_all) / (n + prior_weight)
    full_c = ((levels >= 2).sum(axis=0) + prior_weight * full_all) / (n + prior_weight)
    return any_c, full_c


class Judge(BaseEstimator):
    """Two logistic models over FEATURES: P(level >= 1) and P(level >= 2), a scikit-learn
    estimator: hyperparameters in ``__init__`` (``get_params()`` goes on the model card),
    fitted attributes with a trailing underscore, ``check_is_fitted`` before use.

    ``fit(X, levels, base_rates=(any, full))`` also keeps the per-criterion base rates the
    rows were built with, so run-time rows are built the same way."""

    def __init__(self, C: float = 1.0, threshold: float = 0.5, pool: int = POOL) -> None:
        self.C = C
        self.threshold = threshold
        self.pool = pool

    def _logistic(self) -> Pipeline:
        return make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))

    def fit(
        self,
        X: np.ndarray,
        levels: np.ndarray,
        base_rates: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Judge:
        levels = np.asarray(levels)
        if len(set((levels >= 1).tolist())) < 2:
            raise ValueError("the judge needs reports both with and without evidence")
        if base_rates is None:
            raise ValueError("fit needs the per-criterion base_rates the rows were built with")
        self.base_any_, self.base_full_ = (np.asarray(b, np.float64) for b in base_rates)
        self.any_ = self._logistic().fit(X, (levels >= 1).astype(int))
        full = (levels >= 2).astype(int)
        self.full_ = self._logistic().fit(X, full) if len(set(full.tolist())) > 1 else None
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(level, P(level >= 1), P(level >= 2)) per row."""
        check_is_fitted(self, ["any_", "base_any_"])
        X = np.asarray(X, np.float32).reshape(-1, len(FEATURES))
        p_any = self.any_.predict_proba(X)[:, 1]
        p_full = np.zeros(len(X)) if self.full_ is None else self.full_.predict_proba(X)[:, 1]
        p_full = np.minimum(p_full, p_any)
        t = self.threshold
        level = np.where(p_any >= t, np.where(p_full >= t, 2, 1), 0)
        return level, p_any, p_full

    def coefficients(self) -> dict[str, dict[str, float]]:
        """The fitted weights by feature name, for the card."""
        check_is_fitted(self, ["any_"])
        out = {}
        for name, model in (("any", self.any_), ("full", self.full_)):
            if model is not None:
                coef = model[-1].coef_[0]
                out[name] = {f: round(float(w), 3) for f, w in zip(FEATURES, coef, strict=True)}
        return out


def reason(level: int, page: int | None, quote: str | None, best_text: str) -> str:
    """The draft's reason in words: the level, what the best passage says, where."""
    if level == 0 or page is None:
        return "level 0: no passage read as evidence for this criterion"
    cues = find_cues(best_text)
    said = [c for c in ("binding", "dated", "quantified", "implemented") if c in cues]
    kind = "full" if level == 2 else "partial"
    what = f"{', '.join(said)}" if said else ("commitment or policy" if level == 1 else "")
    head = f"level {level} ({kind}" + (f": {what}" if what else "") + ")"
    short = (quote or "").strip()
    if len(short) > 160:
        short = short[:157].rstrip() + "…"
    return f"{head}, p. {page}: “{short}”" if short else f"{head}, p. {page}"
