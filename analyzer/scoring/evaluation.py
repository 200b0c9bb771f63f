"""How good is a criteria model? Grouped cross-validation on labelled passages.

Folds are grouped by report: a report's labels and background passages are all in the
test fold or all in training, never split; the criteria file's own texts are always in
training. In every fold three rankers are measured on exactly the same data:

- ``model``: the trained classifiers blended with the zero-shot scorer (the pipeline's);
- ``baseline``: plain TF-IDF words+bigrams and a balanced logistic regression per criterion,
  trained on the same rows, ranking by its probability and deciding at 0.5;
- ``zero_shot``: the untrained hybrid scorer (ranking only; it has no probabilities).

Figures, per criterion and overall:

- classification: precision, recall, F1 of "this labelled passage is evidence";
- retrieval (needs the labelled reports in the database): for each report and criterion
  with labelled evidence, is a labelled passage in the top 5 of the whole report (hit@5),
  and 1 / rank of the first (MRR);
- detection: for each report and criterion the labeller looked at, does the report have
  evidence? Truth is "has a labelled positive"; the model says yes when its best passage
  in the report reaches the threshold. Balanced accuracy is the mean of both recalls. It
  is measured where the tool gives a verdict (criteria whose classifier saw enough
  positives in training); the pairs left "not assessed" are counted beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold
from sqlite_utils import Database

from analyzer.criteria.sets import CriteriaSet
from analyzer.db.embeddings import from_blob, report_vectors
from analyzer.scoring.model import (
    BACKGROUND_PER_DOCUMENT,
    CriteriaModel,
    TrainingSet,
    build_training_set,
    fit_model,
)
from analyzer.scoring.scorers import HybridScorer, TrainedScorer
from analyzer.scoring.sentence_sets import baseline_model
from analyzer.types import Label

RANKERS = ("model", "baseline", "zero_shot")
DETECTORS = ("model", "baseline")


# -- metrics on plain lists (checked by hand in tests) ------------------------------------


def prf(truth: list[bool], predicted: list[bool]) -> dict:
    """Precision, recall, F1 and support (positives) of binary predictions; 0 when undefined."""
    truth, predicted = [bool(t) for t in truth], [bool(p) for p in predicted]
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "support": tp + fn,
    }


def first_rank(scores: np.ndarray, positive: np.ndarray) -> int:
    """1-based rank of the first positive when sorted by score, ties broken by position."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = np.nonzero(np.asarray(positive)[order])[0]
    return int(hits[0]) + 1 if len(hits) else len(scores) + 1


def retrieval_summary(ranks: list[int], k: int = 5) -> dict:
    """hit@k, mean reciprocal rank and median rank of the first true evidence."""
    if not ranks:
        return {"hit_at_5": None, "mrr": None, "median_rank": None, "pairs": 0}
    r = np.asarray(ranks, dtype=float)
    return {
        "hit_at_5": round(float(np.mean(r <= k)), 4),
        "mrr": round(float(np.mean(1 / r)), 4),
        "median_rank": float(np.median(r)),
        "pairs": len(ranks),
    }


def balanced_accuracy(truth: list[bool], predicted: list[bool]) -> dict:
    """Mean of the recall on reports with evidence and the recall on reports without."""
    truth, predicted = [bool(t) for t in truth], [bool(p) for p in predicted]
    pos = [p for t, p in zip(truth, predicted, strict=True) if t]
    neg = [not p for t, p in zip(truth, predicted, strict=True) if not t]
    tpr = sum(pos) / len(pos) if pos else None
    tnr = sum(neg) / len(neg) if neg else None
    known = [x for x in (tpr, tnr) if x is not None]
    return {
        "balanced_accuracy": round(float(np.mean(known)), 4) if known else None,
        "recall_with_evidence": None if tpr is None else round(tpr, 4),
        "recall_without_evidence": None if tnr is None else round(tnr, 4),
        "pairs_with_evidence": len(pos),
        "pairs_without_evidence": len(neg),
    }


# -- cross-validation -----------------------------------------------------------------------


def document_folds(training: TrainingSet, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, test rows) per fold; criteria-file rows are always training rows."""
    groups = np.asarray(training.groups, dtype=object)
    kinds = np.asarray(training.kinds)
    report_rows = np.nonzero(kinds != "criteria-file")[0]
    n_docs = len(set(groups[report_rows]))
    if n_docs < 2:
        raise ValueError(f"grouped cross-validation needs labels from 2+ reports; got {n_docs}")
    k = min(n_splits, n_docs)
    always = np.nonzero(kinds == "criteria-file")[0]
    folds = []
    for train, test in GroupKFold(k).split(report_rows, groups=groups[report_rows]):
        folds.append((np.sort(np.r_[always, report_rows[train]]), report_rows[test]))
    return folds


def _fold_training(training: TrainingSet, rows: np.ndarray) -> TrainingSet:
    """The training set restricted to rows, keeping only criteria with a positive among them."""
    Y = training.Y[rows]
    label_rows = np.asarray([training.kinds[i] == "label" for i in rows])
    keep = [j for j in range(Y.shape[1]) if Y[label_rows, j].sum() > 0]
    positives = {training.criteria[j]: int(Y[label_rows, j].sum()) for j in keep}
    counts = {cid: {"positive": positives.get(cid, 0)} for cid in training.label_counts}
    return TrainingSet(
        texts=[training.texts[i] for i in rows],
        Y=Y[:, keep],
        groups=[training.groups[i] for i in rows],
        criteria=[training.criteria[j] for j in keep],
        kinds=[training.kinds[i] for i in rows],
        label_counts=counts,
    )


def _report_passages(db: Database, sha: str, embedding_model: str):
    rows = report_vectors(db, sha, embedding_model)
    if not rows:
        return None
    texts = [r[0] for r in rows]
    hashes = [r[1] for r in rows]
    return texts, hashes, np.vstack([from_blob(r[2]) for r in rows])


def evaluate_criteria_model(
    criteria: CriteriaSet,
    labels: list[Label],
    embed: Callable[[list[str]], np.ndarray],
    embedding_model: str,
    db: Database | None = None,
    n_splits: int = 5,
    background_per_document: int = BACKGROUND_PER_DOCUMENT,
) -> dict:
    """Grouped cross-validated figures for the model, the TF-IDF baseline and zero-shot."""
    training = build_training_set(criteria, labels, db, background_per_document)
    vectors = embed(training.texts)
    folds = document_folds(training, n_splits)
    criterion_ids = [c.id for c in criteria.criteria]
    column = {cid: j for j, cid in enumerate(criterion_ids)}
    hybrid = HybridScorer(criteria, embed) if db is not None else None

    entries_by_row: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for row, cid, evidence in training.entries:
        entries_by_row[row].append((cid, evidence))
    norm_quotes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for label in labels:
        if label.evidence:
            norm_quotes[(label.group, label.criterion)].append(" ".join(label.text.split()).lower())

    truth_by_crit: dict[str, list[bool]] = defaultdict(list)
    pred_by_crit: dict[str, dict[str, list[bool]]] = {m: defaultdict(list) for m in DETECTORS}
    ranks: dict[str, dict[str, list[int]]] = {m: defaultdict(list) for m in RANKERS}
    detect_truth: list[bool] = []
    not_assessed = 0
    detect_pred: dict[str, list[bool]] = {m: [] for m in DETECTORS}
    detect_by_crit: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    missing_reports: set[str] = set()
    skipped_pairs = 0

    for train_rows, test_rows in folds:
        fold = _fold_training(training, train_rows)
        if not fold.criteria:
            continue
        model = fit_model(fold, vectors[train_rows])
        baseline = baseline_model(fold.criteria).fit(fold.texts, fold.Y, groups=fold.groups)
        card = {"label_counts": fold.label_counts}
        trained = CriteriaModel(model, card)
        fold_col = {cid: j for j, cid in enumerate(fold.criteria)}

        # Classification of the held-out labelled passages.
        label_rows = [i for i in test_rows if training.kinds[i] == "label"]
        if label_rows:
            p_model, thresholds = trained.predict_proba(
                [training.texts[i] for i in label_rows], vectors[label_rows], fold.criteria
            )
            p_base = baseline.predict_proba([training.texts[i] for i in label_rows])
            for k, i in enumerate(label_rows):
                for cid, evidence in entries_by_row[i]:
                    j = fold_col.get(cid)
                    truth_by_crit[cid].append(evidence)
                    pred_by_crit["model"][cid].append(
                        j is not None and p_model[k, j] >= thresholds[j]
                    )
                    pred_by_crit["baseline"][cid].append(j is not None and p_base[k, j] >= 0.5)

        # Retrieval and detection over every passage of each held-out report.
        if db is None or hybrid is None:  # hybrid is None exactly when db is
            continue
        test_docs = sorted({training.groups[i] for i in test_rows})
        scorer = TrainedScorer(criteria, embed, trained, hybrid=hybrid)
        for sha in test_docs:
            pairs = {
                (cid, evidence)
                for i in test_rows
                if training.groups[i] == sha and training.kinds[i] == "label"
                for cid, evidence in entries_by_row[i]
            }
            if not pairs:
                continue
            report = _report_passages(db, sha, embedding_model)
            if report is None:
                missing_reports.add(sha)
                continue
            texts, hashes, report_vectors = report
            assessment = scorer.assess(texts, report_vectors)
            zero_shot = hybrid.score(texts, report_vectors)
            p_base_report = baseline.predict_proba(texts)
            positive_hashes = {
                training.passage_hashes[i]
                for i in test_rows
                if training.groups[i] == sha and training.kinds[i] == "label"
            }
            for cid in sorted({c for c, _ in pairs}):
                has_evidence = (cid, True) in pairs
                j = column[cid]
                fj = fold_col.get(cid)
                if has_evidence:
                    quotes = norm_quotes[(sha, cid)]
                    wanted = {
                        training.passage_hashes[i]
                        for i in test_rows
                        if training.groups[i] == sha and (cid, True) in entries_by_row.get(i, [])
                    } & positive_hashes
                    positive = np.array(
                        [
                            h in wanted or any(q in " ".join(t.split()).lower() for q in quotes)
                            for h, t in zip(hashes, texts, strict=True)
                        ]
                    )
                    if not positive.any():
                        skipped_pairs += 1
                    else:
                        ranks["model"][cid].append(first_rank(assessment.scores[:, j], positive))
                        ranks["zero_shot"][cid].append(first_rank(zero_shot[:, j], positive))
                        base_scores = (
                            p_base_report[:, fj] if fj is not None else np.zeros(len(texts))
                        )
                        ranks["baseline"][cid].append(first_rank(base_scores, positive))
                if fj is None or np.isnan(assessment.threshold[j]):
                    not_assessed += 1  # the tool gives no verdict here: too few labels
                    continue
                model_says = bool(
                    np.nanmax(assessment.probability[:, j]) >= assessment.threshold[j]
                )
                base_says = bool(p_base_report[:, fj].max() >= 0.5)
                detect_truth.append(has_evidence)
                detect_pred["model"].append(model_says)
                detect_pred["baseline"].append(base_says)
                detect_by_crit[cid].append((has_evidence, model_says))

    per_criterion = {}
    for cid in criterion_ids:
        if cid not in truth_by_crit and cid not in ranks["model"]:
            continue
        entry: dict[str, Any] = {
            "positives": training.label_counts[cid]["positive"],
            "negatives": training.label_counts[cid]["negative"],
        }
        for m in DETECTORS:
            if cid in truth_by_crit:
                entry[m] = prf(truth_by_crit[cid], pred_by_crit[m][cid])
        for m in RANKERS:
            if ranks[m].get(cid):
                entry.setdefault("retrieval", {})[m] = retrieval_summary(ranks[m][cid])
        if detect_by_crit.get(cid):
            t, p = zip(*detect_by_crit[cid], strict=True)
            entry["detection_model"] = balanced_accuracy(list(t), list(p))
        per_criterion[cid] = entry

    all_truth = [t for cid in truth_by_crit for t in truth_by_crit[cid]]
    overall: dict = {"classification": {}, "retrieval": {}, "detection": {}}
    for m in DETECTORS:
        preds = [p for cid in truth_by_crit for p in pred_by_crit[m][cid]]
        micro = prf(all_truth, preds)
        scored = [
            per_criterion[c][m]["f1"] for c in truth_by_crit if per_criterion[c][m]["support"]
        ]
        micro["macro_f1"] = round(float(np.mean(scored)), 4) if scored else 0.0
        overall["classification"][m] = micro
        overall["detection"][m] = balanced_accuracy(detect_truth, detect_pred[m])
    for m in RANKERS:
        overall["retrieval"][m] = retrieval_summary([r for v in ranks[m].values() for r in v])
    return {
        "criteria_set": criteria.name,
        "criteria_version": criteria.version,
        "embedding_model": embedding_model,
        "folds": len(folds),
        "grouped_by": "report (document sha256)",
        "labels": len(labels),
        "reports_with_labels": len({training.groups[i] for i, _, _ in training.entries}),
        "training_rows": training.sources["rows"],
        "retrieval_available": db is not None,
        "reports_not_in_database": len(missing_reports),
        "pairs_skipped_passage_not_found": skipped_pairs,
        "detection_pairs_not_assessed": not_assessed,
        "overall": overall,
        "per_criterion": per_criterion,
    }
