"""Reviewer decisions are kept with who and when, survive re-analysis and become labels."""

from __future__ import annotations

import json
import shutil

import pytest

from analyzer.db.connection import open_db
from analyzer.pipeline import Analyzer, Settings
from analyzer.review.decisions import DecisionError, export_labels, history, record_decision
from tests.conftest import run_cli


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory, embedder, sample_pdf):
    """The sample report analysed once; each test gets a copy of the database file."""
    path = tmp_path_factory.mktemp("decisions") / "template.db"
    result = Analyzer(open_db(path), Settings(), embedder=embedder).analyze(sample_pdf)
    assert result.error is None
    return path, result


@pytest.fixture
def analysed(sample_template, db_path):
    template, result = sample_template
    shutil.copy(template, db_path)
    return open_db(db_path), result


def candidate(db, criterion: str, rank: int = 1) -> dict:
    rows = db["candidates"].rows_where("criterion_id = ? and rank = ?", [criterion, rank])
    return next(iter(rows))


def test_decisions_are_kept_with_reviewer_time_and_history(analysed):
    db, _ = analysed
    cand = candidate(db, "FF-ST-01")
    first = record_decision(db, cand["id"], "accept", "ana", level=2)
    second = record_decision(db, cand["id"], "correct", "ben", level=1, comment="no date")
    rows = history(db, cand["id"])
    assert [r["id"] for r in rows] == [first, second]
    assert [r["reviewer"] for r in rows] == ["ana", "ben"]
    assert all(r["created_at"] and r["criteria_version"] == cand["criteria_version"] for r in rows)
    assert rows[1]["level"] == 1 and rows[1]["comment"] == "no date"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"action": "maybe"}, "unknown action"),
        ({"action": "accept", "reviewer": " "}, "reviewer"),
        ({"action": "accept", "level": 5}, "level must be"),
        ({"action": "correct"}, "needs a new level"),
        ({"action": "correct", "criterion": "XX-1"}, "no criterion"),
        ({"action": "correct", "quote": "words that are not in the passage"}, "passage text"),
    ],
)
def test_bad_decisions_are_refused(analysed, kwargs, message):
    db, _ = analysed
    cand = candidate(db, "FF-ST-01")
    args = {"reviewer": "ana", **kwargs}
    with pytest.raises(DecisionError, match=message):
        record_decision(db, cand["id"], **args)
    assert db["decisions"].count == 0


def test_decisions_survive_reanalysis_and_export_as_labels(
    analysed, embedder, sample_pdf, tmp_path
):
    db, result = analysed
    accepted = candidate(db, "FF-ST-01")
    rejected = candidate(db, "HR-IP-01", rank=5)
    moved = candidate(db, "FF-AL-01", rank=2)
    record_decision(db, accepted["id"], "accept", "ana", level=2)
    record_decision(db, rejected["id"], "reject", "ana")
    record_decision(db, moved["id"], "correct", "ben", criterion="FF-AL-02", level=1)
    Analyzer(db, Settings(), embedder=embedder).analyze(sample_pdf)  # candidates are rebuilt
    assert db["decisions"].count == 3
    count = export_labels(db, tmp_path / "decisions.jsonl")
    labels = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    assert count == len(labels) == 4  # the moved one is also a negative for its old criterion
    by_key = {(x["criterion"], x["label"]) for x in labels}
    assert ("FF-ST-01", "evidence") in by_key
    assert ("HR-IP-01", "not_evidence") in by_key
    assert {("FF-AL-02", "evidence"), ("FF-AL-01", "not_evidence")} <= by_key
    for label in labels:
        assert label["labelled_by"].startswith("reviewer:")
        assert label["source"]["document_sha256"] and label["source"]["pdf_page"]


def test_decide_and_export_through_the_cli(analysed, db_path, tmp_path):
    db, _ = analysed
    cand = candidate(db, "FF-ST-01")
    proc = run_cli("decide", str(cand["id"]), "reject", "--by", "ana", "--comment", "topic only",
                   db=db_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("decide", "999999", "accept", "--by", "ana", db=db_path)
    assert proc.returncode == 1 and "no candidate 999999" in proc.stderr
    proc = run_cli("export-labels", str(tmp_path / "out.jsonl"), db=db_path)
    assert proc.returncode == 0 and "wrote 1 label(s)" in proc.stdout


def test_a_plain_accept_agrees_with_the_level_already_given(analysed):
    db, _ = analysed
    cand = candidate(db, "FF-AL-02")
    record_decision(db, cand["id"], "accept", "ana", level=2)
    record_decision(db, cand["id"], "accept", "ben")  # no level: ben agrees with ana
    assert [r["level"] for r in history(db, cand["id"])] == [2, 2]


def test_an_accept_with_an_edited_quote_has_one_level_in_exports_and_scorecards(analysed):
    """Regression (issue 9): an accept with an edited quote and no level was level 2 in
    export-evidence (the candidate's stored level) and 1 in the scorecard (the new quote
    re-scored). Both now ask analyzer.levels.effective_level: the edited quote is judged."""
    from analyzer.levels import suggest_level
    from analyzer.review.export import confirmed
    from analyzer.scorecard.data import decision_level, effective_decisions

    db, result = analysed
    chosen = None
    for cand in db["candidates"].rows_where("level > 0", order_by="id"):
        passage = db["passages"].get(cand["passage_id"])
        for line in passage["text"].split("\n"):
            line = line.strip()
            level = max(1, suggest_level(line).level)
            if len(line) > 30 and line != cand["quote"] and level != cand["level"]:
                chosen = (cand, line)
                break
        if chosen:
            break
    assert chosen, "the sample has a candidate whose passage holds a differently-levelled line"
    cand, line = chosen
    record_decision(db, cand["id"], "accept", "ana", quote=line)
    expected = max(1, suggest_level(line).level)
    assert expected != cand["level"]
    exported = [r for r in confirmed(db, result.doc_id) if r["candidate_id"] == cand["id"]]
    assert [r["level"] for r in exported] == [expected]
    rows = [r for r in effective_decisions(db, [result.doc_id]) if r["candidate_id"] == cand["id"]]
    assert [decision_level(r) for r in rows] == [expected]
