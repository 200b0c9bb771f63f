"""The pre-score: the evidence model and judge, their figures checked by hand, the one story
per criterion (draft, evidence and candidate levels agree), the invariances the judge
promises, and bad training input as one clear error."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from analyzer.candidates.select import select_candidates
from analyzer.criteria.sets import load_criteria
from analyzer.scoring.gold import GOLD_FILE, company_of, figures, load_gold
from analyzer.scoring.judge import FEATURES, Judge, base_rates, features, pool, reason
from analyzer.scoring.judge_training import quote_on_page, quote_passages
from analyzer.scoring.prescore import PreScore, suggested_levels
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
    assert quote_passages(texts, pages, [(4, quote)]) == {0}
    assert quote_passages(texts, pages, [(5, quote)]) == set(), "the page must match"


def test_fold_groups_are_companies_up_to_the_year():
    assert company_of("volkswagen-2021-sustainability-report.pdf") == "volkswagen"
    assert company_of("tokyo-gas-2022-esg-fact-sheet.pdf") == "tokyo-gas"
    assert company_of("bmw-2023-cdp-climate-questionnaire-en.pdf") == "bmw"
    assert company_of("bmw-2020-group-report-extract.pdf") == "bmw"


def test_a_gold_line_with_an_unknown_criterion_is_one_clear_error(tmp_path):
    lines = GOLD_FILE.read_text(encoding="utf-8").splitlines()[:3]
    record = json.loads(lines[1])
    record["criterion"] = "XX-NOPE-01"
    bad = tmp_path / "gold.jsonl"
    bad.write_text("\n".join([lines[0], json.dumps(record), lines[2]]) + "\n")
    ids = {c.id for c in load_criteria().criteria}
    with pytest.raises(ValueError, match=r"gold.jsonl:2: unknown criterion 'XX-NOPE-01'"):
        load_gold(bad, ids)
    bad.write_text(lines[0] + "\n" + '{"document": "x.pdf", "level": 7}\n')
    with pytest.raises(ValueError, match=r"gold.jsonl:2: not a gold decision"):
        load_gold(bad, ids)


def test_the_pool_counts_a_text_once_so_a_report_read_twice_reads_the_same():
    scores = np.array([0.9, 0.5, 0.8, 0.1])
    hashes = ["a", "b", "c", "d"]
    once = pool(scores, hashes, 3)
    twice = pool(np.concatenate([scores, scores]), hashes * 2, 3)
    assert once.tolist() == [0, 2, 1] and twice.tolist() == once.tolist()


def test_judge_features_follow_the_best_passage_not_the_count():
    strong = np.array([[0.1, 0.2, 0.7]])
    many_weak = np.array([[0.6, 0.35, 0.05]] * 5)
    a = features(strong, "Suppliers must cut CO2 by 30% by 2030.", 0.3, 0.1)
    b = features(np.vstack([strong, many_weak]), "Suppliers must cut CO2 by 30% by 2030.", 0.3, 0.1)
    assert a == b, "near-topic passages beside the best one change nothing"
    assert len(a) == len(FEATURES)
    assert a[0] == pytest.approx(0.9) and a[1] == pytest.approx(0.7 / 0.9)


def test_an_unfitted_judge_says_so():
    with pytest.raises(NotFittedError):
        Judge().predict(np.zeros((1, len(FEATURES))))


def test_base_rates_shrink_towards_the_overall_rate():
    levels = np.array([[2, 0], [1, 0], [0, 0]])
    any_c, full_c = base_rates(levels, prior_weight=3)
    overall_any = 2 / 6
    assert any_c[0] == pytest.approx((2 + 3 * overall_any) / 6)
    assert any_c[1] == pytest.approx((0 + 3 * overall_any) / 6)
    assert 0 < full_c[1] < full_c[0]


def test_one_story_per_criterion():
    readings = np.array([[0.1, 0.2, 0.7], [0.3, 0.6, 0.1], [0.8, 0.1, 0.1]])
    assert suggested_levels(readings, 0).tolist() == [0, 0, 0], "a draft 0 shows no evidence"
    assert suggested_levels(readings, 2).tolist() == [2, 1, 0]
    assert suggested_levels(readings, 1).tolist() == [1, 1, 0], "never above the draft"
    # the first candidate carries the draft even when the model read it weakly
    assert suggested_levels(readings[::-1], 1).tolist()[0] == 1
    assert reason(0, None, None, "").startswith("level 0")
    said = reason(2, 47, "Suppliers must cut CO2 by 30% by 2030.", "Suppliers must cut by 2030.")
    assert said.startswith("level 2 (full: binding") and "p. 47" in said


def passage(i: int, text: str) -> Passage:
    return Passage(i, text, [PagePart(i + 1, str(i + 1), 0, len(text))])


def test_candidates_follow_the_draft_and_navigation_never_comes_first():
    criteria = load_criteria()
    texts = [
        "Contents\nSupplier code .......... 4\nHuman rights ........ 12",
        "Our supplier code binds all tier-1 suppliers to respect human rights. Audits follow.",
        "Further suppliers are assessed each year against the code of conduct by auditors.",
    ]
    passages = [passage(i, t) for i, t in enumerate(texts)]
    n, c = len(texts), len(criteria.criteria)
    assessment = Assessment(
        np.zeros((n, c)), np.full((n, c), np.nan), np.full(c, np.nan), ["x"] * c
    )
    level = np.array([2 if j % 2 else 0 for j in range(c)])
    readings = np.array([[0.05, 0.15, 0.8], [0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])
    prescore = PreScore(  # the model put the contents first for every criterion
        passages=[np.array([0, 1, 2])] * c,
        relevance=[1 - readings[:, 0]] * c,
        level=level,
        p_evidence=np.full(c, 0.7),
        p_full=np.full(c, 0.2),
        readings=[readings] * c,
    )
    terms = {cr.id: {"supplier", "code"} for cr in criteria.criteria}
    rows = select_candidates(criteria, terms, passages, [10, 11, 12], assessment, 3, {}, prescore)
    first = [r for r in rows if r["rank"] == 1]
    assert len(first) == c and {r["passage_id"] for r in first} == {11}
    assert {r["passage_id"] for r in rows if r["rank"] == 3} == {10}, "the contents come last"
    for j, cr in enumerate(criteria.criteria):
        mine = sorted((r for r in rows if r["criterion_id"] == cr.id), key=lambda r: r["rank"])
        levels = [r["level"] for r in mine]
        if level[j] == 0:
            assert levels == [0, 0, 0] and "no evidence" in mine[0]["level_reason"]
        else:
            assert levels[0] == 2 and max(levels) <= 2 and levels[1] == 0  # P(evidence) 0.3


@pytest.mark.corpus
@pytest.mark.slow
def test_evaluate_prescore_trains_judges_and_reports_every_figure(corpus, tmp_path):
    """The whole command on two small real reports of two companies (two folds): the
    evidence model is fine-tuned per fold and once more on both, the read-twice figure
    printed; a quote not on its page is one clear error."""
    from tests.conftest import invoke

    names = ["porsche-2020-report-extract-spreads.pdf", "rivian-2024-environmental-metrics.pdf"]
    db = tmp_path / "two.db"
    done = invoke("analyze", *(str(corpus / n) for n in names), db=db)
    assert done.returncode == 0, done.stderr
    gold = tmp_path / "gold.jsonl"
    lines = GOLD_FILE.read_text(encoding="utf-8").splitlines()
    gold.write_text("\n".join(x for x in lines if json.loads(x)["document"] in names) + "\n")
    done = invoke("evaluate", "--prescore", "--gold", str(gold), "--folds", "2", db=db)
    assert done.returncode == 0, done.stderr
    assert "2 reports, 80 report-criterion pairs, 2 folds grouped by company" in done.stdout
    assert re.search(r"^judge, out of fold\s+[01]\.\d\d", done.stdout, re.M), done.stdout
    assert re.search(r"^read twice: \d+ of 80 levels changed", done.stdout, re.M)
    points = {n: 0 for n in names}
    for x in gold.read_text().splitlines():
        points[json.loads(x)["document"]] += json.loads(x)["level"]
    for name, p in points.items():
        assert re.search(rf"^{re.escape(name)}\s+{p}\s+\d+$", done.stdout, re.M), done.stdout

    records = [json.loads(x) for x in gold.read_text().splitlines()]
    moved = next(r for r in records if r["evidence"])
    moved["evidence"][0]["pdf_page"] = 999  # the quote now cites a page it is not on
    bad = tmp_path / "moved.jsonl"
    bad.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    done = invoke("evaluate", "--prescore", "--gold", str(bad), "--folds", "2", db=db)
    assert done.returncode == 1 and "quote not on page 999" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_quote_is_found_on_its_page_despite_layout_but_not_on_another():
    page = "Scope 3\nCategory 1: Purchased Goods & Services\nCategory 2\n875,929 1,589,148\n"
    row = "Category 1: Purchased Goods & Services 875,929 1,589,148"
    assert quote_on_page(row, page), "a table row reordered by the layout is still on its page"
    assert not quote_on_page(row, "Category 2: Capital Goods 208,528 218,005")
    text = "The BMW Group supports the development of harmonised national regulation for all."
    assert quote_on_page("MW Group supports the development of harmonised national reg", text)
    assert not quote_on_page("Suppliers must cut CO2 by 30% by 2030.", text)
