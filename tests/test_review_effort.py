"""The review-effort benchmark (issue 19, item 5) on one small real report: the gold replayed
through the review API ends with every criterion confirmed at the gold's level, and reviewing
card by card never takes fewer actions than criterion review. Corpus tier."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.db.connection import open_db
from analyzer.db.criteria import document_criteria_version
from analyzer.db.passages import passage_rows
from analyzer.pipeline import Analyzer
from analyzer.review.criteria import candidate_rows

pytestmark = pytest.mark.corpus

REPO = Path(__file__).resolve().parent.parent
REPORT = "porsche-2020-report-extract-spreads.pdf"
GOLD = REPO / "labels" / "gold" / "gold.jsonl"


@pytest.fixture(scope="module")
def analysed(corpus, tmp_path_factory, embedder) -> Path:
    db_path = tmp_path_factory.mktemp("effort") / "analyzer.db"
    db = open_db(db_path)
    result = Analyzer(db, embedder=embedder).analyze(corpus / REPORT, {})
    assert result.error is None
    db.close()
    return db_path


def run_benchmark(db: Path, out: Path, gold: Path = GOLD) -> dict:
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "review_effort.py"), "--db", str(db),
         "--gold", str(gold), "--out", str(out), "--note", "test run"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "review-effort.md").is_file()
    return json.loads((out / "review-effort.json").read_text())


def check_consistent(result: dict, criteria: int) -> None:
    crit, card = result["summary"]["criterion"], result["summary"]["card"]
    assert [d["document"] for d in result["documents"]] == [REPORT]
    for mode in (crit, card):
        assert mode["criteria"] == criteria and mode["at_gold_level"] == criteria
        assert mode["unreachable"] == [] and mode["scorecard_equals_gold"]
    # criterion review: exactly one decision per criterion, plus its searches and additions
    assert crit["by_kind"]["criterion decision"] == criteria
    assert crit["actions"] == sum(crit["by_kind"].values())
    # card by card: one decision per candidate card, plus its searches and additions
    assert card["by_kind"]["card decision"] == result["documents"][0]["candidates"]
    assert card["actions"] >= crit["actions"]


def test_the_gold_replayed_ends_confirmed_at_the_gold_level(analysed, tmp_path):
    gold = [json.loads(line) for line in GOLD.read_text().splitlines() if line.strip()]
    mine = [g for g in gold if g["document"] == REPORT]
    result = run_benchmark(analysed, tmp_path / "out")
    check_consistent(result, len(mine))
    assert "test run" in (tmp_path / "out" / "review-effort.md").read_text()
    assert open_db(analysed)["criterion_decisions"].count == 0, "the given database unchanged"


def test_evidence_the_candidates_missed_is_searched_for_and_added(analysed, tmp_path):
    """A gold whose quote for one criterion sits in a passage that is not among that
    criterion's candidates: both ways must search, add it, and still reach the gold."""
    gold = [json.loads(line) for line in GOLD.read_text().splitlines() if line.strip()]
    mine = [g for g in gold if g["document"] == REPORT]
    target = next(g for g in mine if g["level"] == 0)
    db = open_db(analysed)
    version = document_criteria_version(db, 1)
    shown = {r["passage_id"] for r in candidate_rows(db, 1, version).get(target["criterion"], [])}
    passage = next(p for p in passage_rows(db, 1) if p["id"] not in shown and len(p["text"]) > 200)
    page = json.loads(passage["parts"])[0]["pdf_page"]
    quote = " ".join(passage["text"].split()[:25])
    db.close()
    target.update(level=1, evidence=[{"pdf_page": page, "quote": quote}])
    changed = tmp_path / "gold.jsonl"
    changed.write_text("".join(json.dumps(g) + "\n" for g in mine))
    result = run_benchmark(analysed, tmp_path / "out", changed)
    check_consistent(result, len(mine))
    for mode in ("criterion", "card"):
        kinds = result["summary"][mode]["by_kind"]
        assert kinds.get("search", 0) >= 1 and kinds.get("add", 0) == 1, (mode, kinds)
