"""Review logic on a real analysed database: undo, add, four eyes, queue order, exports."""

from __future__ import annotations

import json

import pytest

from analyzer import accounts
from analyzer.db.connection import open_db
from analyzer.review import export as evidence
from analyzer.review import status as review
from analyzer.review.decisions import (
    DecisionError,
    add_evidence,
    export_labels,
    history,
    record_decision,
    undo_decision,
)
from analyzer.search import rank_passages
from tests.conftest import run_cli
from tests.review_support import PASSWORD, copy_db, template_db


@pytest.fixture(scope="session")
def template(tmp_path_factory, embedder):
    return template_db(tmp_path_factory, embedder)


@pytest.fixture
def db(template, tmp_path):
    return open_db(copy_db(template, tmp_path))


def first(db, criterion: str = "FF-ST-01", rank: int = 1) -> dict:
    return next(db["candidates"].rows_where("criterion_id = ? and rank = ?", [criterion, rank]))


def test_undo_is_a_new_row_and_the_undone_decision_yields_no_label(db, tmp_path):
    cand = first(db)
    accepted = record_decision(db, cand["id"], "accept", "ana", level=2)
    undo = undo_decision(db, accepted, "ana")
    rows = history(db, cand["id"])
    assert [r["action"] for r in rows] == ["accept", "undo"]
    assert rows[1]["reverts_id"] == accepted and rows[0]["level"] == 2  # nothing overwritten
    assert export_labels(db, tmp_path / "labels.jsonl") == 0
    with pytest.raises(DecisionError, match="already undone"):
        undo_decision(db, accepted, "ana")
    with pytest.raises(DecisionError, match="cannot be undone"):
        undo_decision(db, undo, "ana")
    other = record_decision(db, cand["id"], "reject", "ben")
    with pytest.raises(DecisionError, match="ben's to undo"):
        undo_decision(db, other, "ana")
    undo_decision(db, other, "ana", others_allowed=True)  # an adjudicator may
    with pytest.raises(DecisionError, match="no decision"):
        undo_decision(db, 10**6, "ana")


def test_history_records_what_changed_from_what(db):
    cand = first(db)
    record_decision(db, cand["id"], "accept", "ana", level=1)
    record_decision(db, cand["id"], "correct", "ana", criterion="FF-AL-02")
    record_decision(db, cand["id"], "correct", "ana", level=2)  # stays moved
    record_decision(db, cand["id"], "comment", "ana", comment="check the date")
    card = review.card(db, cand["id"], "ana")
    changes = [h["changes"] for h in card["history"]]
    assert changes[0] == ["level – → 1", "unreviewed → evidence"]
    assert changes[1] == ["criterion FF-ST-01 → FF-AL-02"]
    assert changes[2] == ["level 1 → 2"]
    assert card["history"][3]["comment"] == "check the date"
    assert card["state"]["criterion"] == "FF-AL-02" and card["state"]["level"] == 2
    assert all(h["criteria_version"] == cand["criteria_version"] for h in card["history"])
    with pytest.raises(DecisionError, match="needs some text"):
        record_decision(db, cand["id"], "comment", "ana", comment="  ")


def test_an_edited_quote_is_cited_to_its_own_page_and_boxed(db):
    cand = first(db)
    passage = db["passages"].get(cand["passage_id"])
    sentence = passage["text"].split("\n")[0].strip()
    record_decision(db, cand["id"], "correct", "ana", quote=sentence, level=2)
    card = review.card(db, cand["id"], "ana")
    assert card["quote"] == sentence
    assert any(run[1] for run in card["segments"])  # the quote is marked in the passage
    focus = next(p for p in card["pages"] if p["pdf_page"] == card["focus_page"])
    assert focus["quote_boxes"] and focus["width"] > 0


def test_a_missed_passage_is_added_from_search_and_exported(db, embedder, tmp_path):
    hits = rank_passages(db, embedder, "freedom of association at suppliers", limit=3)
    assert hits and "association" in hits[0]["text"]
    decision = add_evidence(db, hits[0]["passage_id"], "hr-lab-01", "ana", level=1)
    row = db["decisions"].get(decision)
    already = db["candidates"].count_where(
        "passage_id = ? and criterion_id = 'HR-LAB-01'", [hits[0]["passage_id"]]
    )
    # A passage already a candidate for the criterion is accepted; any other one is added.
    assert (row["action"], row["candidate_id"] is None) == (
        ("accept", False) if already else ("add", True)
    )
    rows = evidence.confirmed(db, company="acme")
    assert [(r["criterion"], r["level"], r["reviewers"]) for r in rows] == [
        ("HR-LAB-01", 1, ["ana"])
    ]
    assert rows[0]["citation"].startswith("p. ") and rows[0]["file_name"] == "acme-2024.pdf"
    assert export_labels(db, tmp_path / "l.jsonl") == 1
    with pytest.raises(DecisionError, match="no criterion"):
        add_evidence(db, hits[0]["passage_id"], "XX-99", "ana")
    with pytest.raises(DecisionError, match="no passage"):
        add_evidence(db, 10**6, "HR-LAB-01", "ana")


def test_four_eyes_needs_two_reviewers_and_sends_disagreement_to_adjudication(db):
    version = first(db)["criteria_version"]
    review.set_four_eyes(db, version, True)
    a, b = first(db, rank=1), first(db, rank=2)
    record_decision(db, a["id"], "accept", "ana", level=2)
    assert a["id"] not in review.queue(db, "ana")  # ana has done her part
    assert a["id"] in review.queue(db, "ben")  # ben still has to look
    assert evidence.confirmed(db) == []
    record_decision(db, a["id"], "accept", "ben", level=2)
    assert [r["reviewers"] for r in evidence.confirmed(db)] == [["ana", "ben"]]
    record_decision(db, b["id"], "accept", "ana", level=2)
    record_decision(db, b["id"], "reject", "ben")
    disputes = review.disputed(db)
    assert [item.candidate["id"] for item, _ in disputes] == [b["id"]]
    stats = review.progress(db)["criteria"]["FF-ST-01"]
    assert (stats["double_reviewed"], stats["agreed"], stats["agreement"]) == (2, 1, 0.5)
    record_decision(db, b["id"], "accept", "cleo", level=1, adjudication=True)
    assert review.disputed(db) == []
    assert len(evidence.confirmed(db)) == 2
    # An edited criteria file is a new version of the same set: it keeps the setting.
    row = db["criteria_sets"].get(version)
    db["criteria_sets"].insert({**row, "version": "edited", "created_at": "9999"})
    assert review.four_eyes(db, "edited")
    review.set_four_eyes(db, version, False)
    assert not review.four_eyes(db, version) and not review.four_eyes(db, "edited")


def test_queue_orders_by_score_or_by_model_uncertainty(db):
    with db.atomic():  # as if no trained model had scored them (one may exist under models/)
        db.execute("update candidates set probability = null, threshold = null")
    by_score = review.queue(db, "ana", doc_id=1)
    scores = [db["candidates"].get(i)["score"] for i in by_score]
    assert scores == sorted(scores, reverse=True) and len(by_score) == db["candidates"].count
    # Without probabilities "most informative" falls back to the score order.
    assert review.queue(db, "ana", doc_id=1, order="informative") == by_score
    ids = [r["id"] for r in db["candidates"].rows_where("criterion_id = 'FF-ST-01'")]
    for cid, p in zip(ids, [0.95, 0.52, 0.1, 0.4, None], strict=True):
        db["candidates"].update(cid, {"probability": p})
    order = review.queue(db, "ana", criterion="ff-st-01", order="informative")
    assert order[:4] == [ids[1], ids[3], ids[2], ids[0]] and order[4] == ids[4]
    record_decision(db, ids[1], "reject", "ana")
    assert ids[1] not in review.queue(db, "ben", criterion="FF-ST-01")
    skip = {ids[3]}
    assert (
        review.queue(db, "ana", criterion="ff-st-01", order="informative", skip=skip)[0] == ids[2]
    )


def test_accounts_hash_passwords_and_keep_an_admin(db):
    accounts.add_user(db, "ana", PASSWORD, "admin")
    stored = db["users"].get(1)
    assert stored["password_hash"].startswith("$argon2") and PASSWORD not in stored["password_hash"]
    assert accounts.authenticate(db, "ANA", PASSWORD)["username"] == "ana"
    for name, password in (("ana", "wrong password"), ("nobody", PASSWORD)):
        with pytest.raises(accounts.AccountError, match="wrong user name or password"):
            accounts.authenticate(db, name, password)
    with pytest.raises(accounts.AccountError, match="last active admin"):
        accounts.set_role(db, "ana", "reviewer")
    with pytest.raises(accounts.AccountError, match="exists already"):
        accounts.add_user(db, "Ana", PASSWORD, "reviewer")
    with pytest.raises(accounts.AccountError, match="at least 8"):
        accounts.add_user(db, "ben", "short", "reviewer")
    with pytest.raises(accounts.AccountError, match="unknown role"):
        accounts.add_user(db, "ben", PASSWORD, "boss")
    with pytest.raises(accounts.AccountError, match="user name"):
        accounts.add_user(db, "../ben", PASSWORD, "reviewer")
    accounts.add_user(db, "ben", PASSWORD, "reviewer")
    accounts.set_disabled(db, "ben", True)
    with pytest.raises(accounts.AccountError, match="disabled"):
        accounts.authenticate(db, "ben", PASSWORD)
    # The signing key is no longer kept in the database (tests/test_security.py checks its file).
    assert accounts.get_setting(db, "secret_key") is None


def test_users_and_serve_through_the_cli(tmp_path):
    db_path = tmp_path / "cli.db"
    proc = _cli_stdin(["users", "add", "root", "--role", "admin", "--password-stdin"], db_path)
    assert proc.returncode == 0 and "user root created (admin)" in proc.stdout
    proc = _cli_stdin(["users", "add", "root", "--password-stdin"], db_path)
    assert (
        proc.returncode == 1 and "exists already" in proc.stderr and "Traceback" not in proc.stderr
    )
    proc = run_cli("users", "list", db=db_path)
    assert proc.returncode == 0 and "root" in proc.stdout
    proc = run_cli("serve", "--port", "0", db=db_path)
    assert proc.returncode == 1 and "--port must be" in proc.stderr


def test_confirmed_evidence_through_the_cli(db, tmp_path):
    cand = first(db)
    record_decision(db, cand["id"], "accept", "ana", level=2)
    db_file = tmp_path / "analyzer.db"
    proc = run_cli("export-evidence", "--company", "Acme", "-f", "json", db=db_file)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["candidate_id"], r["level"], r["reviewers"]) for r in rows] == [
        (cand["id"], 2, ["ana"])
    ]
    proc = run_cli("export-evidence", "99", db=db_file)
    assert proc.returncode == 1 and "no such document" in proc.stderr
    proc = run_cli("undo", "1", "--by", "ana", db=db_file)
    assert proc.returncode == 0 and "undo of decision 1" in proc.stdout
    proc = run_cli("undo", "1", "--by", "ana", db=db_file)
    assert proc.returncode == 1 and "already undone" in proc.stderr


def _cli_stdin(args: list[str], db_path):
    return run_cli(*args, db=db_path, input=PASSWORD + "\n")


def test_labels_json_keeps_the_contract(db, tmp_path):
    cand = first(db)
    record_decision(db, cand["id"], "accept", "ana", level=2)
    export_labels(db, tmp_path / "l.jsonl")
    label = json.loads((tmp_path / "l.jsonl").read_text())
    assert label["label"] == "evidence" and label["labelled_by"] == "reviewer:ana"
