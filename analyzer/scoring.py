"""Scorers give every passage a score per criterion.

This module holds the zero-shot scorer: cosine similarity between a passage and the
criterion's own words (definition, search queries, examples that count), minus a penalty
when the passage is closer to one of the criterion's look-alikes than to any of those.
Trained classifiers will sit behind the same ``score`` interface.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from analyzer.criteria import CriteriaSet, Criterion


class Scorer(Protocol):
    name: str

    def score(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """Scores of shape (passages, criteria) for one report; higher means likelier evidence."""
        ...


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
    (benchmarks/results/ltc-retrieval.md).
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
