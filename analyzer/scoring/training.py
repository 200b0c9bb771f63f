"""Training and evaluation runs: the data they use, the model card's figures, the CSV route.

``training_data`` gathers what a run on the criteria set needs (the set, the label files,
their labels with the database's reviewer decisions laid over them, and an embedder that
caches vectors in that database); ``cross_validate`` and ``train`` run on it. The CSV route
(``train_csv``, ``evaluate_csv_model``) trains or evaluates on any labelled sentence set.
Every function returns data and raises ``TrainingError`` (or the error of the library it
calls) with a message fit for a user: the CLI only parses input and prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from analyzer.criteria.sets import REPO_ROOT, CriteriaSet, load_criteria
from analyzer.db.connection import default_db_path, open_db
from analyzer.embeddings.model import EmbeddingError, get_embedder
from analyzer.pipeline import Analyzer, Settings
from analyzer.scoring.evaluation import evaluate_criteria_model
from analyzer.scoring.labels import label_files, load_training_labels
from analyzer.scoring.model import CriteriaModel, default_model_dir, train_criteria_model
from analyzer.scoring.sentence_sets import evaluate_csv, train_from_csv
from analyzer.types import Label

# What of the cross-validation figures goes on a model card (the rest is per-fold detail).
CARD_METRICS = ("folds", "grouped_by", "overall", "per_criterion", "labels", "reports_with_labels")


class TrainingError(Exception):
    """Training or evaluation cannot run on what was given; the message says why."""


@dataclass
class TrainingData:
    """Everything a training or evaluation run on a criteria set's labels needs."""

    criteria: CriteriaSet
    labels: list[Label]
    label_files: list[Path]
    db_path: Path
    # None when there is no database file: the run uses the label quotes alone.
    db: Database | None
    analyzer: Analyzer  # embeds texts, reusing vectors cached in the database

    @property
    def embedding_model(self) -> str:
        return self.analyzer.embedder.name

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.analyzer.embed_texts(texts)


def training_data(
    labels: Sequence[str | Path] | None = None,
    criteria: str | None = None,
    db_path: str | Path | None = None,
    model: str | None = None,
    backend: str | None = None,
) -> TrainingData:
    """The criteria set, its labels (files plus the database's decisions) and an embedder.

    ``labels`` defaults to labels/<set>/*.jsonl. The database is optional: when the file
    exists it adds reviewer decisions, passage texts, background passages and cached
    vectors; when it does not, nothing is created. Raises CriteriaError, LabelError,
    StoreError or TrainingError.
    """
    criteria_set = load_criteria(criteria)
    files = [Path(f) for f in labels] if labels else label_files(criteria_set.name)
    if not files:
        raise TrainingError(f"no label files in labels/{criteria_set.name}/; pass --labels FILE")
    path = Path(db_path or default_db_path())
    database = open_db(path) if path.is_file() else None
    label_list = load_training_labels(files, database)
    analyzer = Analyzer(
        database if database is not None else open_db(":memory:"),
        Settings(model=model, backend=backend, criteria=criteria, use_classifier=False),
    )
    return TrainingData(criteria_set, label_list, files, path, database, analyzer)


def cross_validate(data: TrainingData) -> dict:
    """Grouped cross-validation by report, beside a TF-IDF baseline and the zero-shot scorer."""
    return evaluate_criteria_model(
        data.criteria, data.labels, data.embed, data.embedding_model, data.db
    )


def train(data: TrainingData, metrics: dict | None = None) -> CriteriaModel:
    """Fit on all labels; ``metrics`` (from ``cross_validate``) goes on the card."""
    return train_criteria_model(
        data.criteria,
        data.labels,
        data.embed,
        data.embedding_model,
        data.db,
        [relative_to_repo(f) for f in data.label_files],
        metrics=card_metrics(metrics),
    )


def save(trained: CriteriaModel, criteria: CriteriaSet, out_dir: str | Path | None = None) -> Path:
    """Save the model (default: models/SET-VERSION-TIME) and return its folder."""
    target = Path(out_dir) if out_dir else default_model_dir(criteria, trained.card["created"])
    trained.save(target)
    return target


def relative_to_repo(path: str | Path) -> str:
    """A path relative to the repository when it is inside it (cards travel with the repo)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def card_metrics(metrics: dict | None) -> dict | None:
    """The part of the cross-validation figures a model card keeps."""
    if not metrics:
        return None
    return {k: metrics[k] for k in CARD_METRICS if k in metrics}


def train_csv(
    csv_file: str | Path,
    text_column: str,
    group_column: str,
    label_columns: Sequence[str] | None,
    out_dir: str | Path,
    model: str | None = None,
    backend: str | None = None,
) -> dict:
    """Train on a CSV of texts with 0/1 label columns, save to out_dir, return the card."""
    csv_file = Path(csv_file)
    if not csv_file.is_file():
        raise TrainingError(f"{csv_file}: no such file")
    try:
        embedder = get_embedder(model, backend)
        return train_from_csv(csv_file, text_column, group_column, label_columns, out_dir, embedder)
    except (ValueError, EmbeddingError) as exc:
        raise TrainingError(_about(csv_file, exc)) from exc


def evaluate_csv_model(
    csv_file: str | Path, model_dir: str | Path, backend: str | None = None
) -> dict:
    """A CSV-trained model's precision, recall and F1 on a held-out CSV."""
    csv_file, model_dir = Path(csv_file), Path(model_dir)
    if not csv_file.is_file():
        raise TrainingError(f"{csv_file}: no such file")
    if not (model_dir / "card.json").is_file():
        raise TrainingError(f"{model_dir}: not a model folder (no card.json)")
    try:
        return evaluate_csv(csv_file, model_dir, get_embedder(None, backend))
    except (ValueError, EmbeddingError) as exc:
        raise TrainingError(_about(csv_file, exc)) from exc


def _about(csv_file: Path, exc: Exception) -> str:
    """The error's message, naming the CSV unless it does already."""
    return str(exc) if str(csv_file) in str(exc) else f"{csv_file}: {exc}"
