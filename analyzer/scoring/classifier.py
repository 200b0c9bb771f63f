"""Per-criterion evidence classifiers over sentence embeddings and TF-IDF features.

One binary logistic regression per label, all sharing one feature matrix: the sentence's
embedding vector next to its TF-IDF words and bigrams. Each label's scores are calibrated
(Platt scaling) on out-of-fold scores from an inner cross-validation over the training
data, grouped by document when groups are given, and the same out-of-fold scores choose the
label's decision threshold, the one that maximises F1. Labels too rare to cross-validate
fall back to the uncalibrated probability and a 0.5 threshold.

A fitted model is saved as ``model.joblib`` (the sklearn parts) next to ``card.json`` (what
it was trained on and how well it did in grouped cross-validation).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold

FEATURES = ("combined", "embedding", "tfidf")
MODEL_FILE = "model.joblib"
CARD_FILE = "card.json"


def _as_label_matrix(Y) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    if Y.size and not np.isin(Y, (0, 1)).all():
        raise ValueError("label values must be 0 or 1")
    return Y.astype(np.int8)


def best_threshold(y_true: np.ndarray, scores: np.ndarray) -> float:
    """The score cut-off (predict positive when score >= cut-off) with the highest F1.

    Ties go to the highest cut-off; the result is the midpoint between the chosen score
    and the next lower one, so it does not sit exactly on a training example.
    """
    y_true = np.asarray(y_true).astype(bool)
    n_pos = int(y_true.sum())
    if n_pos == 0 or n_pos == len(y_true):
        return 0.5
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], y_true[order]
    tp = np.cumsum(y)
    predicted = np.arange(1, len(s) + 1)
    # Only cut where the next score differs, so tied scores fall on the same side.
    last_of_run = np.r_[s[1:] != s[:-1], True]
    f1 = np.where(last_of_run, 2 * tp / (predicted + n_pos), -1.0)
    i = int(np.argmax(f1))
    return float((s[i] + s[i + 1]) / 2) if i + 1 < len(s) else float(s[i])


class EvidenceClassifier(BaseEstimator, ClassifierMixin):
    """Multi-label sentence classifier: one calibrated logistic regression per label.

    Parameters
    ----------
    labels: names of the label columns, in order (default ``label_0``, ``label_1``, ...).
    features: ``"combined"`` (embedding next to TF-IDF), ``"embedding"`` or ``"tfidf"``.
    threshold: ``"tuned"`` (per label, maximising F1 on inner out-of-fold predictions) or
        a fixed probability cut-off such as 0.5.
    calibrate: Platt-scale each label's scores on inner out-of-fold scores.
    C, class_weight: passed to every LogisticRegression.
    embedding_weight: factor on the (unit-length) embedding vector relative to the
        (unit-length) TF-IDF row.
    inner_splits: folds of the inner cross-validation (grouped when ``groups`` is given).
    """

    def __init__(
        self,
        labels: Sequence[str] | None = None,
        features: str = "combined",
        threshold: str | float = "tuned",
        calibrate: bool = True,
        C: float = 1.0,
        class_weight: str | None = "balanced",
        embedding_weight: float = 1.0,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        inner_splits: int = 3,
        random_state: int = 0,
    ):
        self.labels = labels
        self.features = features
        self.threshold = threshold
        self.calibrate = calibrate
        self.C = C
        self.class_weight = class_weight
        self.embedding_weight = embedding_weight
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.inner_splits = inner_splits
        self.random_state = random_state

    # -- features ---------------------------------------------------------------------

    def _uses_tfidf(self) -> bool:
        return self.features in ("combined", "tfidf")

    def _uses_embedding(self) -> bool:
        return self.features in ("combined", "embedding")

    def _new_vectorizer(self, n_texts: int) -> TfidfVectorizer:
        return TfidfVectorizer(
            ngram_range=tuple(self.ngram_range),
            sublinear_tf=True,
            min_df=min(self.min_df, max(n_texts, 1)),
            strip_accents="unicode",
        )

    def _check_vectors(self, texts: Sequence[str], vectors) -> np.ndarray | None:
        if not self._uses_embedding():
            return None
        if vectors is None:
            raise ValueError(f"features={self.features!r} needs the texts' embedding vectors")
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(
                f"vectors must be a 2-D array with one row per text; got shape "
                f"{vectors.shape} for {len(texts)} texts"
            )
        return vectors

    def _matrix(self, vectorizer: TfidfVectorizer | None, texts, vectors) -> sparse.csr_matrix:
        blocks = []
        if vectors is not None:
            blocks.append(sparse.csr_matrix(vectors * self.embedding_weight))
        if vectorizer is not None:
            blocks.append(vectorizer.transform(texts))
        return sparse.hstack(blocks, format="csr")

    def _featurize_fit(self, texts, vectors):
        vectorizer = self._new_vectorizer(len(texts)) if self._uses_tfidf() else None
        if vectorizer is not None:
            vectorizer.fit(texts)
        return vectorizer, self._matrix(vectorizer, texts, vectors)

    def _new_lr(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)

    # -- fitting ----------------------------------------------------------------------

    def _fit_labels(self, X, Y) -> list[LogisticRegression | float]:
        """One LR per label; a label with a single class in Y becomes that constant."""
        models: list[LogisticRegression | float] = []
        for j in range(Y.shape[1]):
            y = Y[:, j]
            if y.min() == y.max():
                models.append(float(y[0]))
            else:
                models.append(self._new_lr().fit(X, y))
        return models

    @staticmethod
    def _scores(models, X) -> np.ndarray:
        out = np.empty((X.shape[0], len(models)), dtype=np.float64)
        for j, m in enumerate(models):
            out[:, j] = m.decision_function(X) if hasattr(m, "decision_function") else np.nan
        return out

    def _inner_scores(self, texts, Y, vectors, groups) -> np.ndarray | None:
        """Out-of-fold decision scores over the training data (NaN where unavailable)."""
        n = len(texts)
        if groups is not None and len(set(groups)) >= self.inner_splits:
            splits = list(GroupKFold(self.inner_splits).split(np.zeros(n), groups=groups))
        elif groups is None and n >= 2 * self.inner_splits:
            # Stratify on the rarest label's column so each fold sees some positives.
            rare = int(np.argmin(np.where(Y.sum(0) > 0, Y.sum(0), n + 1)))
            if Y[:, rare].sum() < self.inner_splits:
                return None
            skf = StratifiedKFold(self.inner_splits, shuffle=True, random_state=self.random_state)
            splits = list(skf.split(np.zeros(n), Y[:, rare]))
        else:
            return None
        oof = np.full(Y.shape, np.nan)
        texts = np.asarray(texts, dtype=object)
        for train, test in splits:
            vec, X_train = self._featurize_fit(
                list(texts[train]), None if vectors is None else vectors[train]
            )
            X_test = self._matrix(
                vec, list(texts[test]), None if vectors is None else vectors[test]
            )
            oof[test] = self._scores(self._fit_labels(X_train, Y[train]), X_test)
        return oof

    def fit(self, texts: Sequence[str], Y, vectors=None, groups=None) -> EvidenceClassifier:
        """Fit on texts, a (n, labels) 0/1 matrix, their embeddings, and document ids."""
        if self.features not in FEATURES:
            raise ValueError(f"features must be one of {', '.join(FEATURES)}")
        texts = [str(t) for t in texts]
        Y = _as_label_matrix(Y)
        if len(Y) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(Y)} label rows")
        vectors = self._check_vectors(texts, vectors)
        labels = list(self.labels) if self.labels is not None else None
        if labels is None:
            labels = [f"label_{j}" for j in range(Y.shape[1])]
        if len(labels) != Y.shape[1]:
            raise ValueError(f"{len(labels)} label names for {Y.shape[1]} label columns")
        self.labels_ = labels
        self.classes_ = np.array(labels)
        self.vectorizer_, X = self._featurize_fit(texts, vectors)
        self.models_ = self._fit_labels(X, Y)

        tuned = self.threshold == "tuned"
        need_inner = self.calibrate or tuned
        oof = self._inner_scores(texts, Y, vectors, groups) if need_inner else None
        self.calibrators_: list[tuple[float, float] | None] = []
        self.thresholds_ = np.full(Y.shape[1], 0.5 if tuned else float(self.threshold))
        for j in range(Y.shape[1]):
            calibrator = None
            if oof is not None and isinstance(self.models_[j], LogisticRegression):
                s, y = oof[:, j], Y[:, j]
                ok = ~np.isnan(s)
                if ok.sum() and 0 < y[ok].sum() < ok.sum():
                    if self.calibrate:
                        platt = LogisticRegression(C=1e4).fit(s[ok, None], y[ok])
                        calibrator = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
                        p = self._apply_calibrator(calibrator, s[ok])
                    else:
                        p = 1 / (1 + np.exp(-s[ok]))
                    if tuned:
                        self.thresholds_[j] = best_threshold(y[ok], p)
            self.calibrators_.append(calibrator)
        self.n_features_ = X.shape[1]
        return self

    # -- prediction -------------------------------------------------------------------

    @staticmethod
    def _apply_calibrator(calibrator: tuple[float, float], scores: np.ndarray) -> np.ndarray:
        a, b = calibrator
        return 1 / (1 + np.exp(-(a * scores + b)))

    def predict_proba(self, texts: Sequence[str], vectors=None) -> np.ndarray:
        """Probability that each text is evidence for each label: shape (n, labels)."""
        texts = [str(t) for t in texts]
        X = self._matrix(self.vectorizer_, texts, self._check_vectors(texts, vectors))
        out = np.empty((len(texts), len(self.models_)))
        for j, m in enumerate(self.models_):
            calibrator = self.calibrators_[j]
            if not isinstance(m, LogisticRegression):
                out[:, j] = m
            elif calibrator is not None:
                out[:, j] = self._apply_calibrator(calibrator, m.decision_function(X))
            else:
                out[:, j] = m.predict_proba(X)[:, 1]
        return out

    def predict(self, texts: Sequence[str], vectors=None) -> np.ndarray:
        """0/1 matrix (n, labels) using each label's decision threshold."""
        return (self.predict_proba(texts, vectors) >= self.thresholds_).astype(np.int8)

    # -- persistence ------------------------------------------------------------------

    def save(self, model_dir: str | Path, card: dict | None = None) -> Path:
        """Write model.joblib and, when given, card.json into model_dir.

        Coefficients are kept as float32 and the file compressed: a model for 31 criteria
        stays near 1.5 MB, small enough to ship in the repository.
        """
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        for model in getattr(self, "models_", []):
            if isinstance(model, LogisticRegression):
                model.coef_ = model.coef_.astype(np.float32)
        joblib.dump(self, model_dir / MODEL_FILE, compress=3)
        if card is not None:
            (model_dir / CARD_FILE).write_text(
                json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        self.card_ = card
        return model_dir

    @classmethod
    def load(cls, model_dir: str | Path) -> EvidenceClassifier:
        """Read a model saved by save(); its card (if any) is on ``.card_``."""
        model_dir = Path(model_dir)
        path = model_dir / MODEL_FILE
        if not path.exists():
            raise FileNotFoundError(f"{model_dir}: no {MODEL_FILE}; not a saved model folder")
        model = joblib.load(path)
        if not isinstance(model, cls):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        card_path = model_dir / CARD_FILE
        model.card_ = json.loads(card_path.read_text("utf-8")) if card_path.exists() else None
        return model
