"""The pipeline end to end on real PDFs, a real SQLite file and the real embedding model."""

from __future__ import annotations

import json
import re

import pytest

from analyzer import pipeline
from analyzer.candidates.views import candidates as candidate_records
from analyzer.db.connection import open_db
from analyzer.db.drafts import document_drafts
from analyzer.passages import SPLITTER_VERSION, split_passages
from analyzer.pipeline import Analyzer, Settings
from analyzer.reading.parsing import parse_pdf
from analyzer.scoring.verdict import EVIDENCE_FOUND, NO_EVIDENCE, NOT_ASSESSED, verdicts
from tests import pdf_factory


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture
def analyzer(db, embedder):
    return Analyzer(db, Settings(), embedder=embedder)


def counts(db) -> dict[str, int]:
    return {t: db[t].count for t in ("documents", "pages", "passages", "candidates")}


def test_sample_report_gives_cited_candidates_for_every_criterion(analyzer, db, sample_pdf):
    result = analyzer.analyze(sample_pdf, {"company": "Northwind Motors", "fiscal_year": "2025"})
    assert result.error is None
    n_criteria = len(analyzer.criteria.criteria)
    assert n_criteria == 40
    assert result.candidates == 5 * n_criteria
    pages = {r["pdf_page"]: r for r in db["pages"].rows_where("document_id = ?", [result.doc_id])}
    for cand in db["candidates"].rows:
        page = pages[cand["pdf_page"]]
        quote = squash(cand["quote"]).removesuffix(" …")
        assert quote and quote in squash(page["text"]), (cand["criterion_id"], quote)
        assert cand["page_label"] == page["label"]
        assert cand["criteria_version"] == analyzer.criteria.version


def test_pages_store_their_lines_with_boxes(analyzer, db, sample_pdf):
    result = analyzer.analyze(sample_pdf)
    for page in db["pages"].rows_where("document_id = ?", [result.doc_id]):
        lines = json.loads(page["lines"])
        assert lines, page["pdf_page"]
        for start, end, x0, top, x1, bottom in lines:
            assert page["text"][start:end].strip()
            assert 0 <= x0 < x1 <= page["width"] + 1 and 0 <= top < bottom <= page["height"] + 1


def test_passage_offsets_and_boxes_point_at_the_page_text(sample_pdf):
    doc = parse_pdf(sample_pdf)
    passages = split_passages(doc)
    by_number = {p.number: p for p in doc.pages}
    crossing = [p for p in passages if len(p.parts) > 1]
    assert crossing, "the sample has paragraphs that run over a page break"
    for passage in passages:
        pieces = []
        for part in passage.parts:
            page = by_number[part.pdf_page]
            piece = page.text[part.start : part.end]
            assert piece.strip() and piece in passage.text
            assert part.boxes and all(0 <= b[0] < b[2] <= page.width + 1 for b in part.boxes)
            assert part.label == page.label
            pieces.append(piece)
        assert squash(" ".join(pieces)) == squash(passage.text)
    for passage in crossing:
        assert passage.pdf_pages == list(range(passage.pdf_pages[0], passage.pdf_pages[-1] + 1))


def test_printed_page_labels_are_offset_from_pdf_pages(sample_pdf):
    doc = parse_pdf(sample_pdf)
    from analyzer.sample import FOLIO_OFFSET

    for page in doc.pages[2:]:
        assert page.label == str(page.number + FOLIO_OFFSET)


def test_reanalysing_is_idempotent_and_embeds_nothing_twice(analyzer, db, sample_pdf):
    first = analyzer.analyze(sample_pdf)
    before = counts(db)
    second = analyzer.analyze(sample_pdf)
    assert second.doc_id == first.doc_id
    assert second.embedded == 0 and second.reused
    assert counts(db) == before


def test_passages_cut_by_an_older_splitter_are_cut_again_and_decisions_survive(
    analyzer, db, sample_pdf
):
    from analyzer.review.decisions import record_decision

    first = analyzer.analyze(sample_pdf)
    cand = next(iter(db["candidates"].rows_where("document_id = ?", [first.doc_id])))
    record_decision(db, cand["id"], "accept", "ana", level=2)
    assert not analyzer.needs_reading(sample_pdf)
    db["documents"].update(first.doc_id, {"splitter_version": None})  # stored by splitter v1
    assert analyzer.needs_reading(sample_pdf)
    again = analyzer.analyze(sample_pdf)
    assert again.error is None and not again.reused and again.doc_id == first.doc_id
    assert db["documents"].get(first.doc_id)["splitter_version"] == SPLITTER_VERSION
    assert again.embedded == 0  # the same texts: their vectors come from the cache
    decisions = list(db["decisions"].rows)
    assert [(d["action"], d["level"], d["reviewer"]) for d in decisions] == [("accept", 2, "ana")]


def test_changed_file_is_a_new_document_version(analyzer, db, tmp_path):
    path = tmp_path / "acme-2024.pdf"
    pdf_factory.folio_pdf(path, n_pages=8)
    first = analyzer.analyze(path, {"company": "Acme", "fiscal_year": "2024"})
    pdf_factory.folio_pdf(path, n_pages=9)  # same name, one more page
    second = analyzer.analyze(path)
    assert second.doc_id != first.doc_id
    row = db["documents"].get(second.doc_id)
    assert row["previous_version_id"] == first.doc_id
    assert (row["company"], row["fiscal_year"]) == ("Acme", "2024")  # carried over
    # The eight unchanged pages give the same passages: their embeddings are reused.
    assert second.embedded < second.passages


def test_failure_while_storing_leaves_database_as_it_was(analyzer, db, sample_pdf, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "replace_candidates", broken)
    result = analyzer.analyze(sample_pdf)
    assert result.error and "disk full" in result.error
    assert counts(db) == {"documents": 0, "pages": 0, "passages": 0, "candidates": 0}
    run = list(db["runs"].rows)[-1]
    assert run["status"] == "failed" and "disk full" in run["error"]


def test_image_only_page_is_stored_and_reported(analyzer, db, tmp_path):
    path = tmp_path / "scan.pdf"
    pdf_factory.image_only_pdf(path)
    result = analyzer.analyze(path)
    assert result.error is None
    assert result.flags == {"no_text": [2]}
    row = db["documents"].get(result.doc_id)
    assert row["page_count"] == 3 and json.loads(row["flags"]) == {"no_text": [2]}
    page = db["pages"].get((result.doc_id, 2))
    assert json.loads(page["flags"]) == ["no_text"]


def test_migrations_are_recorded_and_reopening_is_harmless(db_path):
    db = open_db(db_path)
    applied = [r["name"] for r in db["_sqlite_migrations"].rows]
    assert applied[0] == "m001_initial"
    open_db(db_path)  # applying again changes nothing
    assert [r["name"] for r in db["_sqlite_migrations"].rows] == applied


def test_quotes_are_sentences_not_line_fragments():
    """The PDF's line wraps are not sentence ends; headings and blank lines are."""
    from analyzer.candidates.quotes import _sentences

    text = (
        "Steel\nIn 2025 we signed a purchase agreement for fossil-free\nsteel from 2026."
        " Deliveries start in May.\n\nLiving wage"
    )
    got = [text[a:b] for a, b in _sentences(text)]
    assert got == [
        "Steel",
        "In 2025 we signed a purchase agreement for fossil-free\nsteel from 2026.",
        "Deliveries start in May.",
        "Living wage",
    ]


def test_the_pre_score_gives_every_criterion_a_verdict_and_a_level(analyzer, db, sample_pdf):
    """With the shipped pre-score model nothing is "not assessed": every criterion has a
    stored draft level, and the verdict is "evidence found" exactly where it is above 0."""
    result = analyzer.analyze(sample_pdf)
    assert result.error is None and analyzer.prescorer is not None
    assert "judge" in result.seconds
    version = analyzer.criteria.version
    drafts = document_drafts(db, result.doc_id, version)
    assert set(drafts) == {c.id for c in analyzer.criteria.criteria}
    records = candidate_records(db, str(result.doc_id))
    found = verdicts(records)
    assert set(found) == set(drafts) and NOT_ASSESSED not in found.values()
    assert EVIDENCE_FOUND in found.values() and NO_EVIDENCE in found.values()
    for cid, verdict in found.items():
        assert (drafts[cid]["level"] > 0) == (verdict == EVIDENCE_FOUND), cid
        assert 0 <= drafts[cid]["p_full"] <= drafts[cid]["p_evidence"], "P(2) <= P(>=1)"
    # candidates come in the pre-score's order: relevance falls with the rank
    for cid in found:
        rel = [r["probability"] for r in records if r["criterion"] == cid]
        read = [p for p in rel if p is not None]  # passages past the model's pool come last
        assert rel[: len(read)] == read and read == sorted(read, reverse=True), cid
