"""A trained model for a criteria set: per-criterion classifiers built from labelled passages.

Training rows come from three places:

- labels (labels/<set>/*.jsonl and reviewer decisions): the labelled passage's full text
  when the database holds it, otherwise the quote; a passage labelled for one criterion
  counts as a negative for every criterion it is not labelled evidence for;
- the criteria file: definition, queries and examples are positives of their criterion,
  look-alikes negatives, so a criterion with one label still has a sense of its topic;
- background: a seeded sample of unlabelled passages of the labelled reports, negatives
  for every criterion, so probabilities mean something on the ordinary text of a report.

Only criteria with at least one labelled positive get a classifier; the rest are left to
the zero-shot scorer. The classifier is :class:`analyzer.classifier.EvidenceClassifier`
(embedding next to TF-IDF words and bigrams, Platt-calibrated on grouped out-of-fold
scores, one tuned threshold per criterion).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from analyzer.criteria.sets import REPO_ROOT, CriteriaSet
from analyzer.db.passages import passages_of_sha, texts_by_hash
from analyzer.scoring.classifier import CARD_FILE, EvidenceClassifier
from analyzer.scoring.sentence_sets import library_versions
from analyzer.types import Label

MODELS_DIR = REPO_ROOT / "models"
MODEL_KIND = "criteria-model"
BACKGROUND_PER_DOCUMENT = 40
# A criterion's classifier weighs as much as the zero-shot scorer at this many positives.
BLEND_HALF = 5
# "Evidence found" needs a passage more likely evidence than not, whatever the F1-tuned
# cut-off: that cut-off is tuned on training rows where evidence is far commoner than in a
# whole report, and would call evidence in most reports.
EVIDENCE_FLOOR = 0.5


def models_dir() -> Path:
    return Path(os.environ.get("ANALYZER_MODELS", MODELS_DIR))


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


@dataclass
class TrainingSet:
    texts: list[str]
    Y: np.ndarray  # (rows, criteria with positives) 0/1
    groups: list[str]
    criteria: list[str]  # the columns of Y
    kinds: list[str]  # "label", "criteria-file" or "background" per row
    label_counts: dict[str, dict[str, int]]
    sources: dict = field(default_factory=dict)
    # (row, criterion, is evidence) for every label: what evaluation checks predictions on.
    entries: list[tuple[int, str, bool]] = field(default_factory=list)
    passage_hashes: list[str | None] = field(default_factory=list)  # per row, where known

    def digest(self) -> str:
        """Hash of exactly what was trained on: texts, labels and groups, in order."""
        h = hashlib.sha256()
        for text, y, group in zip(self.texts, self.Y.tolist(), self.groups, strict=True):
            h.update(json.dumps([text, y, group]).encode("utf-8"))
        return h.hexdigest()


def _passage_texts(db: Database | None, hashes: set[str]) -> dict[str, str]:
    return {} if db is None else texts_by_hash(db, hashes)


def background_passages(
    db: Database | None,
    document_shas: set[str],
    exclude_hashes: set[str],
    exclude_quotes: list[str],
    per_document: int = BACKGROUND_PER_DOCUMENT,
    seed: int = 0,
) -> list[tuple[str, str]]:
    """A seeded sample of (text, document sha) per labelled report, no labelled passage in it."""
    if db is None or per_document <= 0 or "passages" not in db.table_names():
        return []
    quotes = [q for q in (_norm(q) for q in exclude_quotes) if len(q) > 20]
    out: list[tuple[str, str]] = []
    rng = random.Random(seed)
    for sha in sorted(document_shas):
        rows = passages_of_sha(db, sha)
        pool = []
        for h, t in rows:
            text = _norm(t)
            if h not in exclude_hashes and not any(q in text for q in quotes):
                pool.append((h, t))
        for _, text in rng.sample(pool, min(per_document, len(pool))):
            out.append((text, sha))
    return out


def build_training_set(
    criteria: CriteriaSet,
    labels: list[Label],
    db: Database | None = None,
    background_per_document: int = BACKGROUND_PER_DOCUMENT,
    seed: int = 0,
) -> TrainingSet:
    """Rows, label matrix and document groups for training (see the module docstring)."""
    known = {c.id for c in criteria.criteria}
    labels = [label for label in labels if label.criterion in known]
    counts: dict[str, Counter] = defaultdict(Counter)
    for label in labels:
        counts[label.criterion]["positive" if label.evidence else "negative"] += 1
        if label.evidence and label.level == 2:
            counts[label.criterion]["level_2"] += 1
    columns = [c.id for c in criteria.criteria if counts[c.id]["positive"] > 0]
    col = {cid: j for j, cid in enumerate(columns)}

    passages = _passage_texts(db, {x.passage_hash for x in labels if x.passage_hash})
    # One row per passage (or quote): its positives across criteria.
    rows: dict[str, dict] = {}
    entries: list[tuple[int, str, bool]] = []
    for label in labels:
        if label.passage_hash is not None and label.passage_hash in passages:
            key, text = label.passage_hash, passages[label.passage_hash]
        else:
            key, text = "q:" + _norm(label.text), label.text
        row = rows.setdefault(
            key,
            {
                "index": len(rows),
                "text": text,
                "group": label.group,
                "positives": set(),
                "hash": label.passage_hash,
            },
        )
        entries.append((row["index"], label.criterion, label.evidence))
        if label.evidence:
            row["positives"].add(label.criterion)
    texts, groups, kinds, targets, hashes = [], [], [], [], []
    for row in rows.values():
        texts.append(row["text"])
        groups.append(row["group"])
        kinds.append("label")
        targets.append(row["positives"])
        hashes.append(row["hash"])
    for c in criteria.criteria:
        if c.id not in col:
            continue
        for text in (c.definition, *c.queries, *c.examples):
            texts.append(text)
            groups.append(f"criteria:{c.id}")
            kinds.append("criteria-file")
            targets.append({c.id})
        for text in c.lookalikes:
            texts.append(text)
            groups.append(f"criteria:{c.id}")
            kinds.append("criteria-file")
            targets.append(set())
    background = background_passages(
        db,
        {x.document_sha256 for x in labels if x.document_sha256},
        {x.passage_hash for x in labels if x.passage_hash},
        [x.text for x in labels],
        background_per_document,
        seed,
    )
    for text, sha in background:
        texts.append(text)
        groups.append(sha)
        kinds.append("background")
        targets.append(set())
    Y = np.zeros((len(texts), len(columns)), dtype=np.int8)
    for i, positives in enumerate(targets):
        for cid in positives:
            if cid in col:
                Y[i, col[cid]] = 1
    label_counts = {
        c.id: {k: int(counts[c.id][k]) for k in ("positive", "negative", "level_2")}
        for c in criteria.criteria
    }
    sources = {
        "labels": len(labels),
        "labelled_by": dict(Counter(x.labelled_by.split(":")[0] for x in labels)),
        "documents": len({x.group for x in labels}),
        "label_texts_from_passages": sum(
            1 for x in labels if x.passage_hash and x.passage_hash in passages
        ),
        "rows": dict(Counter(kinds)),
    }
    hashes += [None] * (len(texts) - len(hashes))
    return TrainingSet(texts, Y, groups, columns, kinds, label_counts, sources, entries, hashes)


def blend_weight(positives: int) -> float:
    """How much a criterion's classifier counts against the zero-shot scorer (0 to 1)."""
    return positives / (positives + BLEND_HALF) if positives > 0 else 0.0


class CriteriaModel:
    """Per-criterion evidence probabilities for a criteria set, with the card it was saved with."""

    def __init__(self, classifier: EvidenceClassifier, card: dict):
        self.classifier = classifier
        self.card = card

    @property
    def criteria_version(self) -> str:
        return self.card["criteria_version"]

    @property
    def embedding_model(self) -> str:
        return self.card["embedding_model"]

    @property
    def trained_criteria(self) -> list[str]:
        return list(self.classifier.labels_)

    def positives(self, criterion_id: str) -> int:
        return int(self.card["label_counts"].get(criterion_id, {}).get("positive", 0))

    def predict_proba(self, texts: list[str], vectors: np.ndarray, criteria: list[str]):
        """(probabilities (n, criteria), thresholds (criteria)); NaN where untrained."""
        probs = np.full((len(texts), len(criteria)), np.nan)
        thresholds = np.full(len(criteria), np.nan)
        if not texts:
            return probs, thresholds
        p = self.classifier.predict_proba(texts, vectors)
        index = {cid: j for j, cid in enumerate(self.classifier.labels_)}
        for k, cid in enumerate(criteria):
            if cid in index:
                probs[:, k] = p[:, index[cid]]
                thresholds[k] = max(EVIDENCE_FLOOR, self.classifier.thresholds_[index[cid]])
        return probs, thresholds

    def save(self, out_dir: str | Path) -> Path:
        return self.classifier.save(out_dir, self.card)

    @classmethod
    def load(cls, model_dir: str | Path) -> CriteriaModel:
        classifier = EvidenceClassifier.load(model_dir)
        card = classifier.card_ or {}
        if card.get("kind") != MODEL_KIND:
            raise ValueError(f"{model_dir}: not a criteria model (card kind {card.get('kind')!r})")
        return cls(classifier, card)


def fit_model(training: TrainingSet, vectors: np.ndarray) -> EvidenceClassifier:
    """The classifier on a training set; groups keep a report's passages in one inner fold."""
    model = EvidenceClassifier(labels=training.criteria)
    return model.fit(training.texts, training.Y, vectors, groups=training.groups)


def train_criteria_model(
    criteria: CriteriaSet,
    labels: list[Label],
    embed,
    embedding_model: str,
    db: Database | None = None,
    label_files: list[str] | None = None,
    background_per_document: int = BACKGROUND_PER_DOCUMENT,
    metrics: dict | None = None,
) -> CriteriaModel:
    """Fit on all labels and return the model with its card (not yet saved)."""
    training = build_training_set(criteria, labels, db, background_per_document)
    if not training.criteria:
        raise ValueError("no criterion has a labelled positive; nothing to train")
    vectors = embed(training.texts)
    classifier = fit_model(training, vectors)
    card = {
        "kind": MODEL_KIND,
        "criteria_set": criteria.name,
        "criteria_version": criteria.version,
        "embedding_model": embedding_model,
        "trained_criteria": training.criteria,
        "label_counts": training.label_counts,
        "training_data": {
            "sha256": training.digest(),
            "label_files": [str(p) for p in (label_files or [])],
            **training.sources,
        },
        "thresholds": {
            cid: round(max(EVIDENCE_FLOOR, float(t)), 4)
            for cid, t in zip(training.criteria, classifier.thresholds_, strict=True)
        },
        "blend_weights": {
            cid: round(blend_weight(training.label_counts[cid]["positive"]), 3)
            for cid in training.criteria
        },
        "metrics": metrics,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
    }
    return CriteriaModel(classifier, card)


def default_model_dir(criteria: CriteriaSet, created: str) -> Path:
    stamp = created.replace("-", "").replace(":", "").replace("+0000", "")[:15]
    return models_dir() / f"{criteria.name}-{criteria.version}-{stamp}"


def find_model(
    criteria_version: str,
    embedding_model: str,
    where: str | Path | None = None,
    kind: str = MODEL_KIND,
) -> Path | None:
    """The newest saved model of a kind (criteria model, pre-score model) for this criteria
    version and embedding model."""
    root = Path(where) if where is not None else models_dir()
    best: tuple[str, Path] | None = None
    for card_path in sorted(root.glob(f"*/{CARD_FILE}")):
        try:
            card = json.loads(card_path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if (
            card.get("kind") == kind
            and card.get("criteria_version") == criteria_version
            and card.get("embedding_model") == embedding_model
            and (best is None or card.get("created", "") > best[0])
        ):
            best = (card.get("created", ""), card_path.parent)
    return best[1] if best else None
