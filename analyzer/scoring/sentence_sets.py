"""Training and evaluating evidence classifiers on labelled sentence CSVs.

Every cross-validation here is grouped by document (GroupKFold), so sentences of one
statement are never split between training and test, and every model is compared with a
plain TF-IDF + logistic regression baseline on exactly the same folds.
"""

from __future__ import annotations

import csv
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import GroupKFold

from analyzer.embeddings.model import get_embedder
from analyzer.hashes import file_sha256
from analyzer.scoring.classifier import EvidenceClassifier


@dataclass
class LabelledSet:
    texts: list[str]
    Y: np.ndarray  # (n, labels) int8
    groups: list[str]
    labels: list[str]
    sha256: str


def read_labelled_csv(
    csv_path: str | Path,
    text_column: str,
    label_columns: Sequence[str] | None = None,
    group_column: str | None = None,
) -> LabelledSet:
    """Read texts, 0/1 labels and (optionally) groups from a CSV with a header row.

    ``label_columns=None`` takes every column other than the text and group columns whose
    values are all 0 or 1. Raises ValueError naming a missing column or a bad label value.
    """
    csv_path = Path(csv_path)
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    if not header:
        raise ValueError(f"{csv_path}: empty file or no header row")
    wanted = [text_column] + ([group_column] if group_column else [])
    if label_columns is not None:
        wanted += list(label_columns)
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ValueError(
            f"{csv_path}: missing column(s) {', '.join(map(repr, missing))}; "
            f"columns are {', '.join(map(repr, header))}"
        )
    if not rows:
        raise ValueError(f"{csv_path}: no data rows")
    if label_columns is None:
        others = [c for c in header if c not in (text_column, group_column)]
        label_columns = [c for c in others if all(r[c].strip() in ("0", "1") for r in rows)]
        if not label_columns:
            raise ValueError(f"{csv_path}: no 0/1 label columns besides {', '.join(wanted)}")
    label_columns = list(label_columns)
    Y = np.zeros((len(rows), len(label_columns)), dtype=np.int8)
    for i, row in enumerate(rows):
        for j, col in enumerate(label_columns):
            value = (row[col] or "").strip()
            if value not in ("0", "1"):
                raise ValueError(
                    f"{csv_path}: row {i + 2}, column {col!r}: label values must be 0 or 1, "
                    f"got {value!r}"
                )
            Y[i, j] = int(value)
    texts = [row[text_column] or "" for row in rows]
    groups = [row[group_column] for row in rows] if group_column else []
    return LabelledSet(texts, Y, groups, label_columns, file_sha256(csv_path))


# -- metrics ------------------------------------------------------------------------------


def label_metrics(Y_true, Y_pred, labels: Sequence[str]) -> dict:
    """Per-label precision/recall/F1/support and their macro F1 (zero division counts 0)."""
    Y_true, Y_pred = np.asarray(Y_true), np.asarray(Y_pred)
    out: dict = {"labels": {}}
    for j, name in enumerate(labels):
        p, r, f, _ = precision_recall_fscore_support(
            Y_true[:, j], Y_pred[:, j], average="binary", zero_division=0
        )
        out["labels"][name] = {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(Y_true[:, j].sum()),
        }
    f1s = [m["f1"] for m in out["labels"].values()]
    out["macro_f1"] = round(float(np.mean(f1s)), 4) if f1s else 0.0
    return out


# -- cross-validation ---------------------------------------------------------------------


def baseline_model(labels: Sequence[str] | None = None) -> EvidenceClassifier:
    """Plain TF-IDF words+bigrams and one balanced LogisticRegression per label, cut at 0.5."""
    return EvidenceClassifier(labels=labels, features="tfidf", threshold=0.5, calibrate=False)


def default_model(labels: Sequence[str] | None = None) -> EvidenceClassifier:
    """The project's default: embedding + TF-IDF, calibrated, per-label tuned thresholds."""
    return EvidenceClassifier(labels=labels)


def grouped_folds(groups: Sequence, n_splits: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """GroupKFold (train, test) index pairs: no group ever appears on both sides."""
    n_groups = len(set(groups))
    if n_groups < n_splits:
        raise ValueError(f"{n_splits} folds need at least {n_splits} groups; got {n_groups}")
    return list(GroupKFold(n_splits).split(np.zeros(len(groups)), groups=list(groups)))


def _out_of_fold(make_model, texts, Y, groups, vectors, folds) -> np.ndarray:
    texts_arr = np.asarray(texts, dtype=object)
    groups_arr = np.asarray(groups, dtype=object)
    pred = np.zeros_like(Y)
    for train, test in folds:
        model = make_model()
        model.fit(
            list(texts_arr[train]),
            Y[train],
            None if vectors is None else vectors[train],
            groups=list(groups_arr[train]),
        )
        pred[test] = model.predict(
            list(texts_arr[test]), None if vectors is None else vectors[test]
        )
    return pred


def grouped_cv(
    texts: Sequence[str],
    Y,
    groups: Sequence,
    vectors,
    make_model: Callable[[], EvidenceClassifier],
    n_splits: int = 5,
    labels: Sequence[str] | None = None,
    with_baseline: bool = True,
) -> dict:
    """Grouped k-fold metrics on out-of-fold predictions, for the model and the baseline.

    ``make_model()`` returns an unfitted model with ``fit(texts, Y, vectors, groups=...)``
    and ``predict(texts, vectors)``. Returns ``{"model": metrics, "baseline": metrics,
    "n_splits": k, "n_groups": g}`` with metrics as from :func:`label_metrics`.
    """
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    labels = list(labels) if labels is not None else [f"label_{j}" for j in range(Y.shape[1])]
    vectors = None if vectors is None else np.asarray(vectors, dtype=np.float32)
    folds = grouped_folds(groups, n_splits)
    result = {
        "n_splits": n_splits,
        "n_groups": len(set(groups)),
        "model": label_metrics(
            Y, _out_of_fold(make_model, texts, Y, groups, vectors, folds), labels
        ),
    }
    if with_baseline:
        base = _out_of_fold(lambda: baseline_model(), texts, Y, groups, None, folds)
        result["baseline"] = label_metrics(Y, base, labels)
    return result


# -- CSV entry points ---------------------------------------------------------------------


def library_versions() -> dict:
    """Versions a saved model depends on, for its card (pickles need matching versions)."""
    import joblib
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }


def train_from_csv(
    csv_path: str | Path,
    text_column: str,
    group_column: str,
    label_columns: Sequence[str] | None,
    out_dir: str | Path,
    embedder,
    n_splits: int = 5,
    make_model: Callable[[list[str]], EvidenceClassifier] = default_model,
) -> dict:
    """Cross-validate (grouped), fit on the whole CSV, save to out_dir, return the card."""
    data = read_labelled_csv(csv_path, text_column, label_columns, group_column)
    vectors = embedder.encode(data.texts)
    n_groups = len(set(data.groups))
    cv = None
    if n_groups >= 2:
        k = min(n_splits, n_groups)
        cv = grouped_cv(
            data.texts,
            data.Y,
            data.groups,
            vectors,
            lambda: make_model(data.labels),
            n_splits=k,
            labels=data.labels,
        )
    model = make_model(data.labels).fit(data.texts, data.Y, vectors, groups=data.groups)
    card = {
        "labels": data.labels,
        "label_counts": {
            name: {"positive": int(data.Y[:, j].sum()), "total": len(data.texts)}
            for j, name in enumerate(data.labels)
        },
        "training_data": {
            "path": str(csv_path),
            "sha256": data.sha256,
            "rows": len(data.texts),
            "groups": n_groups,
            "text_column": text_column,
            "group_column": group_column,
        },
        "embedding_model": embedder.name,
        "model": {
            "class": type(model).__name__,
            "params": {k: _jsonable(v) for k, v in model.get_params().items() if k != "labels"},
            "thresholds": {
                n: round(float(t), 4) for n, t in zip(data.labels, model.thresholds_, strict=True)
            },
        },
        "cross_validation": (
            None
            if cv is None
            else {
                "method": f"GroupKFold({cv['n_splits']}) by {group_column!r}",
                "metrics": cv["model"],
                "baseline": "TF-IDF (1-2 grams) + LogisticRegression(class_weight='balanced')",
                "baseline_metrics": cv["baseline"],
            }
        ),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
    }
    model.save(out_dir, card)
    return card


def _jsonable(value):
    if isinstance(value, tuple):
        return list(value)
    return value


def evaluate_csv(csv_path: str | Path, model_dir: str | Path, embedder=None) -> dict:
    """Metrics of a saved model on a CSV taken as a held-out test set.

    The CSV needs the model's text column and every label column it was trained on.
    Returns ``{"labels": {name: {precision, recall, f1, support}}, "macro_f1": x}``.
    """
    model = EvidenceClassifier.load(model_dir)
    card = model.card_ or {}
    if card.get("kind") == "criteria-model":
        raise ValueError(
            f"{model_dir} is a criteria model trained on labelled passages; evaluate it with "
            "`analyzer evaluate` (no --csv), or train a CSV model with `analyzer train --csv`"
        )
    text_column = card.get("training_data", {}).get("text_column")
    if not text_column:
        raise ValueError(f"{model_dir}: card.json is missing or names no text column")
    if embedder is None and model._uses_embedding():
        embedder = get_embedder()
    expected = card.get("embedding_model")
    if model._uses_embedding() and expected and embedder.name != expected:
        raise ValueError(
            f"{model_dir} was trained on {expected} embeddings, but the embedder is {embedder.name}"
        )
    data = read_labelled_csv(csv_path, text_column, model.labels_)
    vectors = embedder.encode(data.texts) if model._uses_embedding() else None
    return label_metrics(data.Y, model.predict(data.texts, vectors), model.labels_)
