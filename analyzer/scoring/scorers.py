"""Scorers give every passage a score per criterion.

This module holds the zero-shot scorer: cosine similarity between a passage and the
criterion's own words (definition, search queries, examples that count), minus a penalty
when the passage is closer to one of the criterion's look-alikes than to any of those.
Trained classifiers sit behind the same interface (``TrainedScorer``): their calibrated
probabilities are blended into the ranking as labels grow, and reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from analyzer.criteria.sets import CriteriaSet, Criterion
from analyzer.scoring.model import blend_weight


class Scorer(Protocol):
    name: str

    def score(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """Scores of shape (passages, criteria) for one report; higher means likelier evidence."""
        ...


@dataclass
class Assessment:
    """What a scorer says about one report's passages, criterion by criterion."""

    scores: np.ndarray  # (passages, criteria): the ranking score
    probability: np.ndarray  # (passages, criteria): calibrated probability, NaN if none
    threshold: np.ndarray  # (criteria,): the evidence threshold, NaN if none
    scorer: list[str]  # (criteria,): which scorer produced the ranking score
    hybrid: np.ndarray | None = None  # (passages, criteria): the zero-shot+TF-IDF score alone


def assess(scorer: Scorer, texts: list[str], vectors: np.ndarray) -> Assessment:
    """Ask any scorer; one without probabilities gets NaN for them."""
    if hasattr(scorer, "assess"):
        return scorer.assess(texts, vectors)
    scores = scorer.score(texts, vectors)
    n, c = scores.shape
    hybrid = scores if isinstance(scorer, HybridScorer) else None
    return Assessment(
        scores, np.full((n, c), np.nan), np.full(c, np.nan), [scorer.name] * c, hybrid
    )


def prototype_texts(criterion: Criterion) -> tuple[list[str], list[str]]:
    """The texts a passage is compared with: (what counts, what only looks like it)."""
    positives = [criterion.definition, *criterion.queries, *criterion.examples]
    return positives, list(criterion.lookalikes)


class ZeroShotScorer:
    """Similarity to what counts, minus how much closer a look-alike is."""

    name = "zero-shot"

    def __init__(self, criteria: CriteriaSet, embed, lookalike_weight: float = 1.0):
        """`embed` maps a list of texts to normalised vectors (cached by the caller)."""
        self.criteria = criteria
        self.lookalike_weight = lookalike_weight
        texts: list[str] = []
        self._slices: list[tuple[slice, slice]] = []
        for criterion in criteria.criteria:
            pos, neg = prototype_texts(criterion)
            a = len(texts)
            texts += pos
            b = len(texts)
            texts += neg
            self._slices.append((slice(a, b), slice(b, len(texts))))
        self._prototypes = embed(texts)

    def score(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        n = vectors.shape[0]
        out = np.zeros((n, len(self._slices)), dtype=np.float32)
        if n == 0:
            return out
        sims = vectors @ self._prototypes.T
        for j, (pos, neg) in enumerate(self._slices):
            pos_sims = np.sort(sims[:, pos], axis=1)
            # Mean of the two best matches: one lucky query match counts less than two.
            best = pos_sims[:, -2:].mean(axis=1) if pos_sims.shape[1] > 1 else pos_sims[:, -1]
            score = best
            if neg.stop > neg.start:
                closest_lookalike = sims[:, neg].max(axis=1)
                score = best - self.lookalike_weight * np.maximum(0.0, closest_lookalike - best)
            out[:, j] = score
        return out


class HybridScorer:
    """Zero-shot similarity blended with TF-IDF word overlap, each z-scored within the report.

    Meaning and exact wording fail differently: the embedding finds paraphrases, TF-IDF
    finds the rare terms a criterion hinges on (RMAP, FPIC, offtake). On the seed labels
    the blend ranks labelled evidence higher than either alone
    (the zero-shot column of benchmarks/results/ltc-evaluation.md).
    """

    name = "zero-shot+tfidf"

    def __init__(self, criteria: CriteriaSet, embed):
        self.zero_shot = ZeroShotScorer(criteria, embed)
        self.criterion_texts = [
            " ".join([c.name, c.definition, *c.queries, *c.examples]) for c in criteria.criteria
        ]

    def score(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        semantic = self.zero_shot.score(texts, vectors)
        if len(texts) < 2:
            return semantic
        tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english")
        try:
            passages = tfidf.fit_transform(texts)
        except ValueError:  # no usable words at all (e.g. only numbers)
            return semantic
        lexical = (passages @ tfidf.transform(self.criterion_texts).T).toarray()
        return _zscore(semantic) + _zscore(lexical.astype(np.float32))


def _zscore(x: np.ndarray) -> np.ndarray:
    """Standardise each criterion's column over the report's passages."""
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)


# Blend weight from which a criterion's classifier may say "evidence" or "no evidence"
# (0.5 = as many labelled positives as BLEND_HALF in analyzer.criteria_model).
TRUSTED_WEIGHT = 0.5


class TrainedScorer:
    """A trained criteria model blended with the hybrid zero-shot scorer, criterion by criterion.

    Where a criterion has no labelled positives the hybrid score stands alone; otherwise the
    classifier's standardised log-odds are mixed in with weight n / (n + 5) for n labelled
    positives, so the ranking leans on what reviewers taught it as their labels grow. The
    calibrated probability and the criterion's threshold are reported beside the ranking.
    """

    def __init__(self, criteria: CriteriaSet, embed, model, hybrid: HybridScorer | None = None):
        """`model` is a CriteriaModel; pass `hybrid` to share one whose prototypes are embedded."""
        self.hybrid = hybrid or HybridScorer(criteria, embed)
        self.model = model
        self.criterion_ids = [c.id for c in criteria.criteria]
        trained = set(model.trained_criteria)
        self.weights = np.array(
            [
                blend_weight(model.positives(cid)) if cid in trained else 0.0
                for cid in self.criterion_ids
            ]
        )
        self.name = "trained+zero-shot+tfidf"

    def scorer_names(self) -> list[str]:
        names = []
        for w in self.weights:
            if w == 0:
                names.append(self.hybrid.name)
            elif w < TRUSTED_WEIGHT:
                names.append(f"{self.name} (w={w:.2f}; too few labels for a verdict)")
            else:
                names.append(f"{self.name} (w={w:.2f})")
        return names

    def assess(self, texts: list[str], vectors: np.ndarray) -> Assessment:
        base = self.hybrid.score(texts, vectors)
        probability, threshold = self.model.predict_proba(texts, vectors, self.criterion_ids)
        scores = base.copy()
        if len(texts) > 1:
            p = np.clip(np.nan_to_num(probability, nan=0.5), 1e-6, 1 - 1e-6)
            logit = _zscore(np.log(p / (1 - p)).astype(np.float32))
            # The hybrid score is a sum of two z-scores; put the classifier on its scale.
            w = self.weights.astype(np.float32)
            scores = (1 - w) * base + w * 2 * logit
        # A verdict of "evidence" or "no evidence" needs a classifier that has seen enough
        # positives; below that its probability is shown, but no threshold is applied.
        threshold = np.where(self.weights >= TRUSTED_WEIGHT, threshold, np.nan)
        return Assessment(scores, probability, threshold, self.scorer_names(), base)

    def score(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        return self.assess(texts, vectors).scores
