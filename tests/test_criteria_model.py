"""Criteria models: trained on labels and decisions, chosen by the pipeline, evaluated fairly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analyzer.candidates.views import candidates as candidate_records
from analyzer.criteria.sets import load_criteria
from analyzer.pipeline import Analyzer, Settings
from analyzer.review.decisions import record_decision
from analyzer.scoring.evaluation import (
    balanced_accuracy,
    document_folds,
    evaluate_criteria_model,
    first_rank,
    prf,
    retrieval_summary,
)
from analyzer.scoring.labels import LabelError, label_files, load_training_labels, read_labels
from analyzer.scoring.model import (
    CriteriaModel,
    build_training_set,
    find_model,
    train_criteria_model,
)
from analyzer.scoring.verdict import NOT_ASSESSED, is_evidence, verdicts
from tests.conftest import REPO, run_cli

SEED = label_files("ltc")
# A few well-labelled criteria keep training fast; the full set is the benchmark's job.
FEW = {"FF-GEN-01", "FF-GEN-02", "FF-GEN-04", "HR-GEN-01", "HR-GEN-03", "HR-MIN-02", "HR-LAB-01"}


def few_labels(db=None):
    """The shipped labels of a few criteria, with the database's decisions laid over them."""
    labels = load_training_labels(SEED, db)
    return [x for x in labels if x.criterion in FEW or x.labelled_by.startswith("reviewer")]


# -- evaluation arithmetic, checked by hand ---------------------------------------------------


def test_precision_recall_f1_by_hand():
    # tp = 1 (first), fp = 1 (third), fn = 1 (second)
    assert prf([True, True, False, False], [True, False, True, False]) == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
    }
    assert prf([False, False], [False, False])["f1"] == 0.0  # undefined counts as 0


def test_rank_of_first_evidence_by_hand():
    # sorted by score: passage 0 (0.9), passage 2 (0.7), passage 1 (0.5): the evidence is third
    assert first_rank(np.array([0.9, 0.5, 0.7]), np.array([False, True, False])) == 3
    # ties keep passage order; no evidence at all ranks past the end
    assert first_rank(np.array([0.5, 0.5]), np.array([False, True])) == 2
    assert first_rank(np.array([0.5, 0.4]), np.array([False, False])) == 3
    summary = retrieval_summary([1, 3, 6])
    assert summary["hit_at_5"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 6) / 3, abs=1e-4)
    assert summary["median_rank"] == 3 and summary["pairs"] == 3


def test_balanced_accuracy_by_hand():
    # with evidence: 1 of 2 found; without: 2 of 3 correctly left empty
    result = balanced_accuracy([True, True, False, False, False], [True, False, False, False, True])
    assert result["recall_with_evidence"] == 0.5
    assert result["recall_without_evidence"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["balanced_accuracy"] == pytest.approx((0.5 + 2 / 3) / 2, abs=1e-4)


# -- labels ---------------------------------------------------------------------------------


def test_shipped_labels_read_and_bad_lines_are_named(tmp_path):
    labels = [label for path in SEED for label in read_labels(path)]
    assert len(labels) >= 175 and any(x.evidence for x in labels)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"criterion": "FF-ST-01", "label": "maybe", "text": "x"}\n')
    with pytest.raises(LabelError, match=r"bad.jsonl:1: label must be"):
        read_labels(bad)
    bad.write_text("not json\n")
    with pytest.raises(LabelError, match=r"bad.jsonl:1: not JSON"):
        read_labels(bad)


def test_grouped_folds_never_split_a_report():
    criteria = load_criteria("ltc")
    training = build_training_set(criteria, load_training_labels(SEED))
    folds = document_folds(training, 5)
    groups = np.asarray(training.groups, dtype=object)
    kinds = np.asarray(training.kinds)
    tested: list[str] = []
    for train, test in folds:
        train_reports = {g for g, k in zip(groups[train], kinds[train], strict=True)}
        test_reports = set(groups[test])
        assert not train_reports & test_reports
        assert "criteria-file" not in set(kinds[test])  # the criteria's own texts always train
        tested += list(test_reports)
    label_reports = set(groups[kinds == "label"])
    assert sorted(tested) == sorted(label_reports)  # every report is tested exactly once


# -- training, decisions, model choice --------------------------------------------------------


@pytest.fixture
def analysed(db, embedder, sample_pdf):
    analyzer = Analyzer(db, Settings(use_classifier=False), embedder=embedder)
    assert analyzer.analyze(sample_pdf).error is None
    return db, analyzer


def test_a_decision_changes_the_next_trained_model(analysed):
    db, analyzer = analysed
    criteria = analyzer.criteria
    untrained = next(c.id for c in criteria.criteria if c.id not in FEW)
    before = train_criteria_model(criteria, few_labels(db), analyzer.embed_texts, "m", db)
    assert untrained not in before.trained_criteria

    cand = next(iter(db["candidates"].rows_where("criterion_id = ? and rank = 1", [untrained])))
    record_decision(db, cand["id"], "accept", "ana", level=2)
    after = train_criteria_model(criteria, few_labels(db), analyzer.embed_texts, "m", db)
    assert untrained in after.trained_criteria
    assert after.card["label_counts"][untrained]["positive"] == 1
    assert after.card["training_data"]["labelled_by"]["reviewer"] == 1
    assert after.card["training_data"]["sha256"] != before.card["training_data"]["sha256"]
    passage = db["passages"].get(cand["passage_id"])["text"]
    vector = analyzer.embed_texts([passage])
    p, threshold = after.predict_proba([passage], vector, [untrained])
    assert p[0, 0] >= threshold[0]  # the accepted passage is now evidence for its criterion

    # A rejection is a hard negative: the next model's counts say so.
    other = next(iter(db["candidates"].rows_where("criterion_id = ? and rank = 2", [untrained])))
    record_decision(db, other["id"], "reject", "ben")
    again = train_criteria_model(criteria, few_labels(db), analyzer.embed_texts, "m", db)
    negatives = after.card["label_counts"][untrained]["negative"]
    assert negatives == 0
    assert again.card["label_counts"][untrained]["negative"] == negatives + 1


def test_pipeline_uses_the_newest_matching_model(analysed, tmp_path, monkeypatch, sample_pdf):
    db, analyzer = analysed
    criteria = analyzer.criteria
    labels = few_labels()
    name = analyzer.embedder.name
    models = tmp_path / "models"
    old = train_criteria_model(criteria, labels, analyzer.embed_texts, name)
    old.card["created"] = "2020-01-01T00:00:00+00:00"
    old.save(models / "old")
    new = train_criteria_model(criteria, labels, analyzer.embed_texts, name)
    new.save(models / "new")
    other = train_criteria_model(criteria, labels, analyzer.embed_texts, name)
    other.card["criteria_version"] = "another-set"
    other.card["created"] = "2030-01-01T00:00:00+00:00"
    other.save(models / "other-version")
    assert find_model(criteria.version, name, models) == models / "new"
    assert find_model(criteria.version, "another-embedder", models) is None

    monkeypatch.setenv("ANALYZER_MODELS", str(models))
    fresh = Analyzer(db, Settings(), embedder=analyzer.embedder)
    assert fresh.analyze(sample_pdf).error is None
    assert fresh.classifier_path == models / "new"
    rows = list(db["candidates"].rows)
    trained = set(CriteriaModel.load(models / "new").trained_criteria)
    assert trained == FEW
    positives = CriteriaModel.load(models / "new").positives
    seen: dict[bool, set[str]] = {True: set(), False: set()}
    for row in rows:
        if row["criterion_id"] in trained:
            assert row["scorer"].startswith("trained+zero-shot+tfidf")
            assert row["probability"] is not None
            # A verdict (a threshold) only where the classifier saw 5 or more positives.
            trusted = "too few labels" not in row["scorer"]
            assert trusted == (positives(row["criterion_id"]) >= 5), row["criterion_id"]
            assert (row["threshold"] is not None) == trusted
            seen[trusted].add(row["criterion_id"])
        else:
            assert row["scorer"] == "zero-shot+tfidf" and row["probability"] is None
        assert row["level"] in (0, 1, 2)
        if is_evidence(row["probability"], row["threshold"]) is False:
            assert row["level"] == 0 and "threshold" in row["level_reason"]
    # Both paths are taken: criteria trusted with a verdict and criteria with too few labels,
    # which the one verdict rule calls "not assessed" for the CLI and the scorecard alike.
    assert seen[True] and seen[False], seen
    found = verdicts(candidate_records(db, "1"))
    assert {found[c] for c in seen[False]} == {NOT_ASSESSED}
    assert NOT_ASSESSED not in {found[c] for c in seen[True]}
    probabilities = {r["probability"] for r in rows if r["criterion_id"] in trained}
    assert len(probabilities) > len(trained), "the classifiers tell passages apart"


def test_evaluation_without_a_database_reports_classification_only(embedder):
    criteria = load_criteria("ltc")
    labels = few_labels()
    result = evaluate_criteria_model(criteria, labels, embedder.encode, embedder.name, None, 3)
    assert result["folds"] == 3 and not result["retrieval_available"]
    model = result["overall"]["classification"]["model"]
    base = result["overall"]["classification"]["baseline"]
    assert model["support"] == base["support"] == sum(x.evidence for x in labels)
    p, r = model["precision"], model["recall"]
    assert model["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0, abs=1e-3)
    assert result["overall"]["retrieval"]["model"]["pairs"] == 0


# -- the CLI ------------------------------------------------------------------------------------


def test_cli_train_and_evaluate_on_the_shipped_labels(tmp_path):
    out = tmp_path / "model"
    # No database in the working folder: training uses the label quotes alone, and says so.
    done = run_cli("train", "--out", str(out), "--no-evaluate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no database" in done.stderr and "wrote" in done.stdout
    card = json.loads((out / "card.json").read_text())
    assert card["kind"] == "criteria-model" and card["criteria_version"]
    assert card["label_counts"]["FF-GEN-01"]["positive"] >= 1
    assert card["training_data"]["sha256"] and card["created"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    done = run_cli("evaluate", "--labels", str(bad), cwd=tmp_path)
    assert done.returncode == 1 and "bad.jsonl:1: not JSON" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli("evaluate", "--model", str(out), cwd=tmp_path)
    assert done.returncode == 1 and "needs both --csv and --model" in done.stderr


def test_cli_candidates_carry_probability_level_scorer_and_verdict(analysed, db_path):
    done = run_cli("candidates", "1", "--format", "json", "--order", "informative", db=db_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {"probability", "level", "scorer", "criterion_verdict", "cues"} <= set(rows[0])
    assert {r["criterion_verdict"] for r in rows} == {"not assessed"}  # no model in this run


def test_models_folder_holds_only_small_models_with_cards():
    """Classifiers stay under 5 MB; the evidence model (an int8 ONNX cross-encoder, issue 17)
    under 30 MB, with a card a person reads beside its card.json."""
    for model_dir in (REPO / "models").glob("*/"):
        assert (model_dir / "card.json").is_file(), f"{model_dir} has no card"
        size = sum(f.stat().st_size for f in model_dir.iterdir())
        kind = json.loads((model_dir / "card.json").read_text("utf-8")).get("kind")
        if kind == "evidence-model":
            assert (model_dir / "README.md").is_file() and size < 30_000_000, model_dir
        else:
            assert size < 5_000_000, f"{model_dir} is {size} bytes"


def test_the_shipped_model_fits_the_shipped_criteria(embedder):
    """Editing labels/criteria/ltc.yaml without retraining would silently drop the model."""
    criteria = load_criteria("ltc")
    path = find_model(criteria.version, embedder.name, REPO / "models")
    assert path is not None, (
        f"no model in models/ for criteria version {criteria.version} and {embedder.name}: "
        "run `analyzer train --db CORPUS_DB` on the analysed ../shared/corpus and commit it"
    )
    card = CriteriaModel.load(path).card
    assert card["metrics"]["overall"]["retrieval"]["model"]["pairs"] > 0  # evaluated on reports
