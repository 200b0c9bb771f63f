"""The pre-score: its figures checked by hand, its navigation guard, its quote matching,
and the order it gives candidates (a table of contents never comes first)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from analyzer.candidates.select import select_candidates
from analyzer.criteria.sets import load_criteria
from analyzer.scoring.prescore import PreScore, text_features
from analyzer.scoring.prescore_training import company_of, figures, passage_positives
from analyzer.scoring.scorers import Assessment
from analyzer.textkinds import is_navigation
from analyzer.types import PagePart, Passage


@pytest.mark.parametrize(
    "text, navigation",
    [
        ("Contents\nOur strategy .......... 4\nSupply chain ........ 12", True),
        ("Supply Chain and Human Rights", True),
        ("Supply Chain and Human Rights 34", True),
        ("Strategy 4\nSupply chain 12\nHuman rights 18\nClimate 24", True),
        (
            "We require all tier-1 suppliers to use renewable power by 2025. It is in contracts.",
            False,
        ),
        ("Scope 3 – Cat. 1 – Purchased goods (CO2e ktons) 8,439 N/A N/A", False),
    ],
)
def test_navigation_text_is_told_from_evidence(text, navigation):
    assert is_navigation(text) is navigation


def test_figures_by_hand():
    gold = np.array([0, 0, 1, 2, 2, 0])
    draft = np.array([0, 1, 1, 1, 0, 0])
    f = figures(gold, draft)
    assert f["exact"] == round(3 / 6, 3) and f["within_one"] == round(5 / 6, 3)
    # present: gold>0 at 2,3,4; predicted at 1,2,3 -> recall 2/3, specificity 2/3
    assert f["present_balanced_accuracy"] == round((2 / 3 + 2 / 3) / 2, 3)
    assert (f["false_alarms"], f["misses"]) == (1, 1)
    assert figures(gold, gold)["qwk"] == 1.0
    # "not assessed" counts as level 0 and lowers coverage
    assessed = np.array([True, True, False, True, True, True])
    g = figures(gold, draft, assessed)
    assert g["coverage"] == round(5 / 6, 3) and g["exact"] == round(2 / 6, 3)


def test_gold_quotes_find_their_passages_on_their_page():
    texts = ["Suppliers must use green\nsteel by 2030 under binding contracts.", "Other text."]
    pages = [[4], [4]]
    quote = "Suppliers must use green steel by 2030 under binding contracts."
    assert passage_positives(texts, [(4, quote)], pages) == {0}
    assert passage_positives(texts, [(5, quote)], pages) == set(), "the page must match"
    assert company_of("volkswagen-2021-sustainability-report.pdf") == "volkswagen"


def test_navigation_never_takes_the_first_rank():
    criteria = load_criteria()
    texts = [
        "Contents\nSupplier code .......... 4\nHuman rights ........ 12",
        "Our supplier code binds all tier-1 suppliers to respect human rights. Audits follow.",
        "Further suppliers are assessed each year against the code of conduct by auditors.",
    ]
    passages = [
        Passage(i, t, [PagePart(i + 1, str(i + 1), 0, len(t))]) for i, t in enumerate(texts)
    ]
    n, c = len(texts), len(criteria.criteria)
    assessment = Assessment(
        np.zeros((n, c)), np.full((n, c), np.nan), np.full(c, np.nan), ["x"] * c
    )
    # the model put the contents first for every criterion
    prescore = PreScore(
        passages=[np.array([0, 1, 2])] * c,
        relevance=[np.array([0.9, 0.6, 0.3])] * c,
        level=np.ones(c, int),
        p_evidence=np.full(c, 0.7),
        p_full=np.full(c, 0.2),
    )
    terms = {cr.id: {"supplier", "code"} for cr in criteria.criteria}
    rows = select_candidates(criteria, terms, passages, [10, 11, 12], assessment, 3, {}, prescore)
    first = [r for r in rows if r["rank"] == 1]
    assert len(first) == c and {r["passage_id"] for r in first} == {11}
    last = {r["passage_id"] for r in rows if r["rank"] == 3}
    assert last == {10}, "the contents come last, whatever the model said"


def test_text_features_tell_prose_from_a_list():
    prose = text_features("We require suppliers to act. They report each year. Audits follow.")
    listing = text_features("Steel\nAluminium\nBatteries\nCobalt\nLithium")
    # [log length, digit share, short-line share, sentence ends per 100 chars, toc-like]
    assert prose[3] > 0 and listing[3] == 0
    assert listing[2] == 1.0 and prose[2] == 0.0


@pytest.mark.corpus
def test_evaluate_prescore_reports_every_figure_and_company_points(corpus, tmp_path):
    """The whole command on three real reports (three companies, so three folds)."""
    import json

    from analyzer.scoring.prescore_training import GOLD_FILE
    from tests.conftest import invoke

    names = [
        "porsche-2020-report-extract-spreads.pdf",
        "gm-2024-climate-report.pdf",
        "tokyo-gas-2022-esg-fact-sheet.pdf",
    ]
    db = tmp_path / "three.db"
    for name in names:
        done = invoke("analyze", str(corpus / name), db=db)
        assert done.returncode == 0, done.stderr
    gold = tmp_path / "gold.jsonl"
    lines = GOLD_FILE.read_text(encoding="utf-8").splitlines()
    gold.write_text("\n".join(x for x in lines if json.loads(x)["document"] in names) + "\n")
    done = invoke("evaluate", "--prescore", "--gold", str(gold), db=db)
    assert done.returncode == 0, done.stderr
    assert "3 reports, 120 report-criterion pairs, 3 folds grouped by company" in done.stdout
    for name in ("pre-score model", "stored drafts", "0 everywhere"):
        assert name in done.stdout
    gold_points = {c: 0 for c in ("porsche", "gm", "tokyo")}
    for x in gold.read_text().splitlines():
        record = json.loads(x)
        gold_points[record["document"].split("-")[0]] += record["level"]
    for company, points in gold_points.items():
        assert re.search(rf"^{company}\s+{points}\s+\d+$", done.stdout, re.M), done.stdout
    as_json = invoke("evaluate", "--prescore", "--gold", str(gold), "--format", "json", db=db)
    result = json.loads(as_json.stdout)
    assert result["model"]["pairs"] == 120 and 0 <= result["model"]["exact"] <= 1
    assert result["model"]["coverage"] == 1.0

    bad = tmp_path / "bad-gold.jsonl"
    bad.write_text('{"document": "x.pdf"}\n')
    done = invoke("evaluate", "--prescore", "--gold", str(bad), db=db)
    assert done.returncode == 1 and "bad-gold.jsonl:1: not a gold decision" in done.stderr
