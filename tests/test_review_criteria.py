"""Criterion review and the review defects of issue 19, on a real analysed database.

Each test proves one thing the issue asked for: a correction never confirms at a level
nobody chose; Progress and the scorecard put a moved candidate under the same criterion;
companies are matched as typed; a criterion's level is confirmed with four eyes and becomes a
gold decision; unfinished review is said wherever a score is shown; the drafts pack has its
own file.
"""

from __future__ import annotations

import json

import pytest

from analyzer.db.connection import open_db
from analyzer.db.criterion_decisions import criterion_decisions
from analyzer.db.drafts import replace_drafts
from analyzer.review import criteria as crit_review
from analyzer.review import export as evidence
from analyzer.review import status as review
from analyzer.review.decisions import DecisionError, record_decision
from analyzer.review.names import CompanyError
from analyzer.scorecard.render import render_report
from analyzer.scorecard.scores import build_scorecard
from analyzer.scoring.gold import GOLD_FILE, load_gold
from tests.conftest import run_cli
from tests.review_support import copy_db, template_db

CRITERION = "FF-ST-01"


@pytest.fixture(scope="session")
def template(tmp_path_factory, embedder):
    return template_db(tmp_path_factory, embedder)


@pytest.fixture
def db_file(template, tmp_path):
    return copy_db(template, tmp_path)


@pytest.fixture
def db(db_file):
    return open_db(db_file)


def candidate(db, criterion: str = CRITERION, rank: int = 1) -> dict:
    return next(db["candidates"].rows_where("criterion_id = ? and rank = ?", [criterion, rank]))


def prescore(db, criterion: str, level: int, passage_ids: list[int]) -> None:
    """Store a draft as the pre-score writes it (level, reason, the passages it rests on)."""
    version = candidate(db, criterion)["criteria_version"]
    rows = [
        {
            "criterion_id": criterion,
            "run_id": None,
            "level": level,
            "p_evidence": 0.9,
            "p_full": 0.7,
            "model": "test",
            "reason": f"level {level} (full: binding, dated), p. 3",
            "evidence": json.dumps(passage_ids),
        }
    ]
    with db.atomic():
        replace_drafts(db, 1, version, rows)


def test_edit_or_move_of_an_unreviewed_candidate_needs_an_explicit_level(db):
    cand = candidate(db)
    passage = db["passages"].get(cand["passage_id"])
    sentence = passage["text"].split("\n")[0].strip()
    for kwargs in ({"quote": sentence}, {"criterion": "FF-AL-02"}):
        with pytest.raises(DecisionError, match="say the level"):
            record_decision(db, cand["id"], "correct", "ana", **kwargs)
    assert db["decisions"].count == 0  # nothing was confirmed behind the reviewer's back
    record_decision(db, cand["id"], "correct", "ana", quote=sentence, level=1)
    card = review.card(db, cand["id"], "ana")
    assert (card["status"], card["state"]["level"], card["quote"]) == ("confirmed", 1, sentence)


def test_progress_and_scorecard_count_a_moved_candidate_under_the_same_criterion(db):
    cand = candidate(db)
    record_decision(db, cand["id"], "correct", "ana", criterion="FF-AL-02", level=2)
    per_criterion = review.progress(db)["criteria"]
    assert per_criterion["FF-AL-02"]["confirmed"] == 1
    assert per_criterion.get(CRITERION, {}).get("confirmed", 0) == 0
    card = build_scorecard(db, "2024", "Acme")
    levels = {c.criterion.id: c.confirmed_level for c in card.criteria}
    assert (levels["FF-AL-02"], levels[CRITERION]) == (2, 0)


def test_a_company_is_matched_as_typed_or_answered_with_the_names_there_are(db, db_file):
    record_decision(db, candidate(db)["id"], "accept", "ana", level=1)
    for typed in ("Acme", "acme", "ACM", "cm"):
        assert len(evidence.confirmed(db, company=typed)) == 1, typed
    with pytest.raises(CompanyError, match="no company 'VW'; companies: Acme"):
        evidence.confirmed(db, company="VW")
    result = run_cli("export-evidence", "--company", "VW", "-f", "json", db=db_file)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "companies: Acme" in result.stderr
    ok = run_cli("export-evidence", "--company", "acm", "-f", "json", db=db_file)
    assert ok.returncode == 0 and json.loads(ok.stdout)[0]["company"] == "Acme"


def test_a_criterion_level_is_confirmed_by_two_reviewers_and_becomes_gold(db, tmp_path):
    version = candidate(db)["criteria_version"]
    review.set_four_eyes(db, version, True)
    picks = [candidate(db, rank=1)["passage_id"], candidate(db, rank=2)["passage_id"]]
    prescore(db, CRITERION, 2, picks)

    view = crit_review.criterion_view(db, 1, CRITERION.lower(), "ana")
    assert view["draft"]["level"] == 2 and view["draft"]["reason"].startswith("level 2")
    assert [p["passage_id"] for p in view["passages"][:2]] == picks
    assert all(p["in_draft"] and p["selected"] for p in view["passages"][:2])
    assert not any(p["in_draft"] for p in view["passages"][2:])
    assert view["passages"][0]["pages"][0]["boxes"]  # boxed on the page image
    assert crit_review.criterion_queue(db, "ana", 1)[0] == CRITERION  # evidence drafts first

    crit_review.decide_criterion(db, 1, CRITERION, "ana", 2, picks)
    assert crit_review.criterion_view(db, 1, CRITERION, "ana")["status"] == review.SECOND
    assert CRITERION not in crit_review.criterion_queue(db, "ana", 1)
    assert CRITERION in crit_review.criterion_queue(db, "ben", 1)
    waiting = build_scorecard(db, "2024", "Acme")
    assert next(c for c in waiting.criteria if c.criterion.id == CRITERION).confirmed_level == 0
    crit_review.decide_criterion(db, 1, CRITERION, "ben", 2, picks[:1], comment="dated target")
    assert crit_review.criterion_view(db, 1, CRITERION, "ana")["status"] == review.CONFIRMED

    card = build_scorecard(db, "2024", "Acme")
    scored = next(c for c in card.criteria if c.criterion.id == CRITERION)
    assert scored.confirmed_level == 2 and scored.settled
    assert {e.status for e in scored.evidence if e.decision_id} >= {"accepted"}
    assert card.review_summary == f"1 of {len(card.criteria)} criteria reviewed"

    # Reviewers who disagree leave the level disputed until someone who took no side settles it.
    other = "FF-AL-02"
    crit_review.decide_criterion(db, 1, other, "ana", 1, [candidate(db, other)["passage_id"]])
    crit_review.decide_criterion(db, 1, other, "ben", 0, [])
    assert crit_review.criterion_view(db, 1, other, "rev")["status"] == review.DISPUTED
    crit_review.decide_criterion(db, 1, other, "rev", 0, [], adjudication=True)
    assert crit_review.criterion_view(db, 1, other, "rev")["status"] == review.CONFIRMED

    records = crit_review.gold_records(db)
    gold = next(r for r in records if r["criterion"] == CRITERION)
    assert gold["level"] == 2 and gold["why"] == "dated target"
    assert gold["evidence"] and all(e["pdf_page"] and e["quote"] for e in gold["evidence"])
    assert gold["labelled_by"] == ["reviewer:ana", "reviewer:ben"]
    assert (gold["pass_a_level"], gold["pass_b_level"]) == (2, 2)
    path = tmp_path / "gold-plus-review.jsonl"
    counts = crit_review.export_gold(db, path, GOLD_FILE)
    loaded = load_gold(path)  # the pre-score's own reader takes the combined file
    assert counts["reviewed"] == 2 and len(loaded) == counts["gold"] + 2
    sha = db["documents"].get(1)["sha256"]
    assert loaded[(sha, CRITERION)]["level"] == 2 and loaded[(sha, other)]["level"] == 0


def test_without_a_prescore_the_classifiers_draft_and_bad_decisions_say_why(db):
    db["drafts"].delete_where()
    view = crit_review.criterion_view(db, 1, CRITERION, "ana")
    assert view["draft"]["source"] in ("classifiers", "not assessed")
    assert view["draft"]["level"] in (None, 0, 1, 2) and view["passages"]
    with pytest.raises(DecisionError, match="needs the passages"):
        crit_review.decide_criterion(db, 1, CRITERION, "ana", 2, [])
    with pytest.raises(DecisionError, match="say the level"):
        crit_review.decide_criterion(db, 1, CRITERION, "ana", None, [])
    with pytest.raises(DecisionError, match="no passage"):
        crit_review.decide_criterion(db, 1, CRITERION, "ana", 1, [10**9])
    with pytest.raises(DecisionError, match="no criterion"):
        crit_review.decide_criterion(db, 1, "XX-9", "ana", 1, [1])
    first = crit_review.decide_criterion(db, 1, CRITERION, "ana", 0, [])
    with pytest.raises(DecisionError, match="ana's to undo"):
        crit_review.undo_criterion_decision(db, first, "ben")
    crit_review.undo_criterion_decision(db, first, "ana")
    assert crit_review.criterion_view(db, 1, CRITERION, "ana")["status"] == review.OPEN
    assert [r["action"] for r in criterion_decisions(db, [1])] == ["reject", "undo"]


def test_unfinished_review_is_said_on_every_report_and_not_painted_as_zero(db):
    leaderboard = render_report(db, "2024", None, "html")[0].decode()
    assert "n/r" in leaderboard and "0 of 40 criteria reviewed" in leaderboard
    assert ">0%</text>" not in leaderboard.split("Subsection scores, confirmed")[1].split("<h2")[0]
    page = render_report(db, "2024", "acme", "html")[0].decode()
    assert "0 of 40 criteria reviewed" in page and "Review is unfinished" in page
    assert 'class="subsection-bars"' in page  # the company's own chart
    assert "Lead the Charge" in page and "stored 20" in page  # the rules, named and dated
    pack = render_report(db, "2024", "acme", "pack")[0].decode()
    assert "0 of 40 criteria reviewed" in pack and "Review is unfinished" in pack
    data = json.loads(render_report(db, "2024", "acme", "json")[0])
    assert data  # still valid JSON with the new fields in the cards


def test_the_drafts_pack_never_overwrites_the_confirmed_pack(db_file, tmp_path):
    out = tmp_path / "reports"
    plain = run_cli("report", "--season", "2024", "-f", "pack", "--out", str(out), db=db_file)
    drafts = run_cli(
        "report", "--season", "2024", "-f", "pack", "--drafts", "--out", str(out), db=db_file
    )
    assert plain.returncode == 0 and drafts.returncode == 0, plain.stderr + drafts.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["acme-2024-evidence-pack-with-drafts.html", "acme-2024-evidence-pack.html"]
    assert (
        "machine draft"
        not in (out / "acme-2024-evidence-pack.html")
        .read_text()
        .split("<h2>Criteria and evidence</h2>")[1]
    )
