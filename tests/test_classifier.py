"""Evidence classifier: grouped folds, metrics, CSV checks and a save/load round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from analyzer.scoring.classifier import EvidenceClassifier, best_threshold
from analyzer.scoring.sentence_sets import (
    evaluate_csv,
    grouped_cv,
    grouped_folds,
    label_metrics,
    read_labelled_csv,
    train_from_csv,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEV_CSV = SHARED / "datasets" / "aims-au-gold-dev.csv"


def test_grouped_folds_never_split_a_group():
    rng = np.random.default_rng(0)
    groups = list(rng.integers(0, 12, size=200))
    folds = grouped_folds(groups, n_splits=5)
    assert len(folds) == 5
    seen_in_test = []
    g = np.asarray(groups)
    for train, test in folds:
        assert not set(g[train]) & set(g[test])
        assert len(train) + len(test) == len(groups)
        seen_in_test.extend(test.tolist())
    assert sorted(seen_in_test) == list(range(len(groups)))  # every row tested once


def test_grouped_folds_need_enough_groups():
    with pytest.raises(ValueError, match="at least 5 groups"):
        grouped_folds(["a", "a", "b", "c"], n_splits=5)


def test_label_metrics_by_hand():
    y_true = np.array([[1, 0, 1], [1, 0, 1], [1, 1, 0], [0, 0, 0], [0, 1, 0], [0, 1, 0]])
    y_pred = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]])
    m = label_metrics(y_true, y_pred, ["a", "b", "c"])
    # a: TP 2, FP 1, FN 1 -> P = R = F1 = 2/3
    assert m["labels"]["a"] == {"precision": 0.6667, "recall": 0.6667, "f1": 0.6667, "support": 3}
    # b: TP 1, FP 0, FN 2 -> P 1, R 1/3, F1 = 2 * 1 * 1/3 / (4/3) = 0.5
    assert m["labels"]["b"] == {"precision": 1.0, "recall": 0.3333, "f1": 0.5, "support": 3}
    # c: never predicted -> all zero, support 2
    assert m["labels"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert m["macro_f1"] == pytest.approx((0.6667 + 0.5 + 0.0) / 3, abs=1e-4)


def test_best_threshold_maximises_f1():
    y = np.array([1, 1, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1])
    t = best_threshold(y, s)
    # Cutting below 0.6 gives TP 3, FP 1 (F1 6/7), better than below 0.8 (F1 0.8).
    assert 0.2 < t < 0.6
    assert best_threshold(np.zeros(4), s[:4]) == 0.5


def _toy(n_groups=8, per_group=12, seed=0):
    rng = np.random.default_rng(seed)
    words = ["supplier", "audit", "training", "risk", "board", "approved", "signed", "the"]
    texts, Y, groups = [], [], []
    for g in range(n_groups):
        for i in range(per_group):
            a, b = (i % 3 == 0), (i % 4 == 1)
            toks = list(rng.choice(words[4:], size=4))
            toks += ["supplier", "audit"] if a else []
            toks += ["board", "approved"] if b else []
            texts.append(" ".join(toks))
            Y.append([int(a), int(b)])
            groups.append(f"doc{g}")
    vectors = rng.normal(size=(len(texts), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, np.array(Y), groups, vectors


def test_grouped_cv_reports_model_and_baseline_on_toy_data():
    texts, Y, groups, vectors = _toy()
    result = grouped_cv(
        texts, Y, groups, vectors, lambda: EvidenceClassifier(labels=["a", "b"]), labels=["a", "b"]
    )
    assert set(result) >= {"model", "baseline", "n_splits", "n_groups"}
    for key in ("model", "baseline"):
        assert set(result[key]["labels"]) == {"a", "b"}
        assert result[key]["labels"]["a"]["support"] == int(Y[:, 0].sum())
    assert result["model"]["macro_f1"] > 0.8  # the toy labels are keyword-determined


def test_classifier_proba_shape_and_errors():
    texts, Y, groups, vectors = _toy()
    model = EvidenceClassifier().fit(texts, Y, vectors, groups=groups)
    proba = model.predict_proba(texts[:5], vectors[:5])
    assert proba.shape == (5, 2)
    # predict is the probability against each label's tuned threshold, nothing else
    predicted = model.predict(texts[:5], vectors[:5])
    assert (predicted == (proba >= model.thresholds_)).all()
    with pytest.raises(ValueError, match="embedding vectors"):
        model.predict_proba(texts[:5])
    with pytest.raises(ValueError, match="0 or 1"):
        EvidenceClassifier().fit(texts, Y * 2, vectors)


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_csv_errors_name_the_problem(tmp_path):
    good = _write_csv(tmp_path / "a.csv", ["doc", "text", "x"], [["1", "hello", "1"]])
    with pytest.raises(ValueError, match="missing column.*'sentence'"):
        read_labelled_csv(good, "sentence", None, "doc")
    with pytest.raises(ValueError, match="missing column.*'y'"):
        read_labelled_csv(good, "text", ["y"], "doc")
    bad = _write_csv(tmp_path / "b.csv", ["doc", "text", "x"], [["1", "hi", "1"], ["1", "a", "2"]])
    with pytest.raises(ValueError, match=r"row 3, column 'x'.*0 or 1.*'2'"):
        read_labelled_csv(bad, "text", ["x"], "doc")
    # Without explicit label columns, only all-0/1 columns are labels.
    assert read_labelled_csv(good, "text", None, "doc").labels == ["x"]
    with pytest.raises(ValueError, match="no 0/1 label columns"):
        read_labelled_csv(bad, "text", None, "doc")


def dev_rows() -> tuple[list[str], list[list[str]]]:
    """Header and rows of the AIMS.au dev CSV."""
    with open(DEV_CSV, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        return next(reader), list(reader)


@pytest.mark.slow
def test_train_save_load_evaluate_round_trip(tmp_path):
    if not DEV_CSV.exists():
        pytest.skip(f"round trip skipped: {DEV_CSV} is absent (it sits beside the repository)")
    from analyzer.embeddings.model import get_embedder

    header, rows = dev_rows()
    by_doc: dict[str, list] = {}
    for row in rows:
        by_doc.setdefault(row[0], []).append(row)
    docs = list(by_doc)
    train_rows = [r for d in docs[:8] for r in by_doc[d][:40]]
    test_rows = [r for d in docs[8:11] for r in by_doc[d][:40]]
    train_csv = _write_csv(tmp_path / "train.csv", header, train_rows)
    test_csv = _write_csv(tmp_path / "test.csv", header, test_rows)
    labels = ["C4 (risk mitigation)", "C2 (operations)", "C1 (reporting entity)"]

    embedder = get_embedder()
    out = tmp_path / "model"
    card = train_from_csv(train_csv, "sentence", "statement_id", labels, out, embedder)
    on_disk = json.loads((out / "card.json").read_text())
    assert on_disk == card
    assert card["labels"] == labels
    assert card["training_data"]["rows"] == len(train_rows)
    assert len(card["training_data"]["sha256"]) == 64
    assert card["embedding_model"] == embedder.name
    assert set(card["cross_validation"]["metrics"]["labels"]) == set(labels)
    assert "macro_f1" in card["cross_validation"]["baseline_metrics"]
    assert card["created"] and card["versions"]["scikit-learn"]

    result = evaluate_csv(test_csv, out, embedder)
    assert set(result) == {"labels", "macro_f1"}
    assert set(result["labels"]) == set(labels)
    for name, m in result["labels"].items():
        assert set(m) == {"precision", "recall", "f1", "support"}
        assert m["support"] == sum(int(r[header.index(name)]) for r in test_rows)
    assert result["macro_f1"] == pytest.approx(
        np.mean([m["f1"] for m in result["labels"].values()]), abs=1e-4
    )
    json.dumps(result)  # the CLI prints it as JSON

    loaded = EvidenceClassifier.load(out)
    texts = [r[header.index("sentence")] for r in test_rows[:10]]
    vectors = embedder.encode(texts)
    assert loaded.predict_proba(texts, vectors).shape == (10, len(labels))


def test_train_and_evaluate_through_the_cli(tmp_path):
    if not DEV_CSV.exists():
        pytest.skip(f"CLI round trip skipped: {DEV_CSV} is absent (it sits beside the repository)")
    from tests.conftest import run_cli

    header, rows = dev_rows()
    keep = sorted({r[0] for r in rows})[:6]
    small = _write_csv(tmp_path / "small.csv", header, [r for r in rows if r[0] in keep])
    out = tmp_path / "model"
    proc = run_cli(
        "train", "--csv", str(small), "--text-column", "sentence",
        "--group-column", "statement_id", "--label-columns", "C4 (risk mitigation),Approval",
        "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "macro F1" in proc.stdout and (out / "card.json").is_file()
    proc = run_cli("evaluate", "--csv", str(small), "--model", str(out), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert set(report["labels"]) == {"C4 (risk mitigation)", "Approval"}
    f1s = [v["f1"] for v in report["labels"].values()]
    assert report["macro_f1"] == pytest.approx(sum(f1s) / len(f1s), abs=1e-3)
    bad = run_cli("train", "--csv", str(small), "--text-column", "nope",
                  "--group-column", "statement_id", "--out", str(tmp_path / "x"))  # fmt: skip
    assert bad.returncode == 1 and "missing column(s) 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr
