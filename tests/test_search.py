"""Hybrid search on real analysed databases: the FTS5 index written with the passages and
added to older databases by migration, fusion, filters, what review knows about each
result, and the memory-mapped vector file kept current with the database."""

from __future__ import annotations

import json
import shutil

import pytest

from analyzer.db.connection import connect, open_db
from analyzer.db.fts import bm25_ranking, match_expression, query_words
from analyzer.db.migrations import migrations
from analyzer.db.passages import replace_passages
from analyzer.db.vectors import database_file as db_file
from analyzer.db.vectors import passage_vector_index, vector_folder
from analyzer.pipeline import Analyzer
from analyzer.review.decisions import record_decision, undo_decision
from analyzer.search import QUESTION_WORDS, fuse, keyword_query, rank_passages
from analyzer.types import PagePart, Passage
from tests.conftest import invoke
from tests.pdf_factory import two_column_pdf
from tests.review_support import copy_db, template_db


@pytest.fixture(scope="module")
def two_reports(tmp_path_factory, embedder):
    """Acme 2024 (8 pages) and Beta 2023 (one two-column page), analysed once."""
    template = template_db(tmp_path_factory, embedder)
    folder = tmp_path_factory.mktemp("search")
    path = copy_db(template, folder)
    db = open_db(path)
    pdf = folder / "beta-2023.pdf"
    two_column_pdf(pdf)
    result = Analyzer(db, embedder=embedder).analyze(
        pdf, {"company": "Beta", "fiscal_year": "2023"}
    )
    assert result.error is None
    db.close()
    return path


@pytest.fixture
def db(two_reports, tmp_path):
    target = tmp_path / "analyzer.db"
    shutil.copy(two_reports, target)
    return open_db(target)


def fts_rows(db) -> int:
    return db.execute("select count(*) from passage_fts_docsize").fetchone()[0]


def integrity(db) -> None:
    db.execute("insert into passage_fts(passage_fts, rank) values ('integrity-check', 1)")


def test_the_keyword_index_is_written_with_the_passages(db):
    assert fts_rows(db) == db["passages"].count > 0
    integrity(db)  # the index holds exactly the stored passages' terms
    doc_id = db["documents"].rows_where("company = 'Beta'").__next__()["id"]
    with db.atomic():
        replace_passages(
            db, doc_id, [Passage(0, "Zirconium offtake agreement", [PagePart(1, "1", 0, 27)])]
        )
    integrity(db)
    assert [pid for pid, _ in bm25_ranking(db, "zirconium", 5)] == [
        db["passages"].rows_where("document_id = ?", [doc_id]).__next__()["id"]
    ]
    with pytest.raises(RuntimeError), db.atomic():  # rolled back: index and passages together
        replace_passages(db, doc_id, [])
        raise RuntimeError
    assert bm25_ranking(db, "zirconium", 5) and fts_rows(db) == db["passages"].count


def test_the_migration_indexes_an_existing_database_without_analysing_again(tmp_path):
    path = tmp_path / "old.db"
    old = connect(path)
    migrations.apply(old, stop_before="m008_passage_fts")
    old["documents"].insert({"id": 1, "sha256": "ab", "file_name": "old.pdf", "page_count": 1})
    parts = json.dumps([{"pdf_page": 1, "label": "1", "start": 0, "end": 40, "boxes": []}])
    old["passages"].insert_all(
        {"document_id": 1, "seq": i, "text": text, "content_hash": f"h{i}", "first_page": 1,
         "last_page": 1, "page_labels": "[\"1\"]", "parts": parts}
        for i, text in enumerate(["Cobalt refiners were audited in 2024.", "Nothing here."])
    )  # fmt: skip
    old.conn.commit()
    assert "passage_fts" not in old.table_names()
    old.close()
    db = open_db(path)  # applies m008: the stored passages are indexed from the database
    integrity(db)
    assert [pid for pid, _ in bm25_ranking(db, "who audited the refiners?", 5)] == [1]


def test_queries_are_words_never_fts_syntax(db):
    assert match_expression(query_words('steel" OR NEAR(a b) AND * the')) == '"steel" OR "near"'
    assert bm25_ranking(db, 'steel" NEAR( -- *', 5) is not None
    assert bm25_ranking(db, "the and of", 5) == []  # nothing but stopwords


def test_reciprocal_rank_fusion_by_hand():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    keyword = [(3, 12.0), (4, 9.0)]
    fused = dict(fuse([dense, keyword], k=60))
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[1] == pytest.approx(1 / 61) and fused[4] == pytest.approx(1 / 62)
    assert [pid for pid, _ in fuse([dense, keyword])][0] == 3  # found by both, first


def test_hybrid_search_uses_both_rankings(db, embedder):
    hits = rank_passages(db, embedder, "cobalt refiners audited", limit=5)
    assert hits and hits[0]["similarity"] is not None and hits[0]["keyword_rank"] is not None
    dense = rank_passages(db, embedder, "cobalt refiners audited", limit=5, mode="dense")
    keyword = rank_passages(db, embedder, "cobalt refiners audited", limit=5, mode="keyword")
    assert all(r["keyword_rank"] is None for r in dense)
    assert all(r["similarity"] is None for r in keyword)
    assert {r["passage_id"] for r in hits} <= {r["passage_id"] for r in dense + keyword} | {
        r["passage_id"] for r in rank_passages(db, embedder, "cobalt refiners audited", limit=50)
    }
    with pytest.raises(ValueError, match="search mode"):
        rank_passages(db, embedder, "x", mode="fuzzy")


def test_filters_by_document_company_season_and_criterion(db, embedder):
    docs = {r["company"]: r["id"] for r in db["documents"].rows}
    query = "suppliers audited for responsible sourcing"
    assert {r["doc_id"] for r in rank_passages(db, embedder, query, limit=50)} == set(docs.values())
    assert {r["doc_id"] for r in rank_passages(db, embedder, query, company="beta")} == {
        docs["Beta"]
    }
    assert {r["doc_id"] for r in rank_passages(db, embedder, query, season="2024")} == {
        docs["Acme"]
    }
    assert rank_passages(db, embedder, query, docs["Acme"], company="Beta") == []
    candidates = {
        r["passage_id"] for r in db["candidates"].rows_where("criterion_id = 'HR-MIN-01'")
    }
    scoped = rank_passages(db, embedder, query, limit=50, criterion="hr-min-01")
    assert scoped and {r["passage_id"] for r in scoped} == candidates


def test_results_say_what_review_already_knows(db, embedder):
    cand = next(db["candidates"].rows_where("rank = 1 and criterion_id = 'HR-MIN-01'"))
    passage = db["passages"].get(cand["passage_id"])
    accepted = record_decision(db, cand["id"], "accept", "ana", level=1)
    undo_decision(db, accepted, "ana")
    record_decision(db, cand["id"], "reject", "ben")
    hits = rank_passages(db, embedder, passage["text"], limit=50)
    hit = next(r for r in hits if r["passage_id"] == cand["passage_id"])
    assert {"criterion": "HR-MIN-01", "rank": 1} in [
        {k: c[k] for k in ("criterion", "rank")} for c in hit["candidate_for"]
    ]
    assert [(d["action"], d["reviewer"], d["undone"]) for d in hit["decisions"]] == [
        ("accept", "ana", True),
        ("reject", "ben", False),
    ]


def test_the_vector_file_follows_the_database(db, embedder, db_path):
    index = passage_vector_index(db, embedder.name)
    assert len(index.ids) == db["passages"].count
    files = list(vector_folder(db_path).iterdir())
    assert any(f.name.endswith(".f32.npy") for f in files)
    assert passage_vector_index(db, embedder.name) is index  # unchanged: reused, not rebuilt
    doc_id = next(db["documents"].rows_where("company = 'Beta'"))["id"]
    with db.atomic():
        replace_passages(db, doc_id, [])
    fresh = passage_vector_index(db, embedder.name)
    assert fresh is not index and len(fresh.ids) == db["passages"].count
    assert all(r["doc_id"] != doc_id for r in rank_passages(db, embedder, "suppliers", limit=50))


def test_the_cli_searches_within_filters(db, db_path):
    out = invoke("search", "responsible sourcing", "--company", "Beta", "--format", "json",
                 db=db_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows and {r["file_name"] for r in rows} == {"beta-2023.pdf"}
    assert {"score", "similarity", "keyword_rank", "candidate_for", "decisions"} <= set(rows[0])
    assert {"page", "more_on_page", "page_passage_ids", "page_boxes"} <= set(rows[0])
    assert len({(r["doc_id"], r["page"]) for r in rows}) == len(rows)
    bad = invoke("search", "steel", "--mode", "fuzzy", db=db_path)
    assert bad.returncode != 0 and "--mode" in bad.stderr


def test_results_are_pages_each_once_with_their_other_matches(tmp_path, embedder, sample_pdf):
    """A page with several matching passages is one result: its best passage, how many more
    matched, and every match's boxes on that page (the page image boxes them all)."""
    db = open_db(tmp_path / "sample.db")
    assert Analyzer(db, embedder=embedder).analyze(sample_pdf).error is None
    passages = rank_passages(db, embedder, "suppliers", limit=50, pages=False)
    pages = rank_passages(db, embedder, "suppliers", limit=50)
    keys = [(r["doc_id"], r["page"]) for r in pages]
    assert len(keys) == len(set(keys)), "no page twice"
    by_page: dict[tuple[int, int], list[dict]] = {}
    for r in passages:
        by_page.setdefault((r["doc_id"], r["pdf_pages"][0]), []).append(r)
    repeated = [k for k, rs in by_page.items() if len(rs) > 1]
    assert repeated, "the fixture has a page with several matching passages"
    for r in pages:
        mine = by_page.get((r["doc_id"], r["page"]), [])
        if not mine:
            continue  # read further down than the passage list above
        assert r["passage_id"] == mine[0]["passage_id"], "the page's best passage stands for it"
        assert r["more_on_page"] == len(r["page_passage_ids"]) - 1
        assert set(r["page_passage_ids"]) >= {m["passage_id"] for m in mine}
        assert len(r["page_boxes"]) >= sum(len(m["boxes"].get(str(r["page"]), [])) for m in mine)
    assert [r["passage_id"] for r in pages][0] == passages[0]["passage_id"]


def test_question_words_are_left_out_of_the_keyword_query_only():
    q = "According to the company's Disclosure from FY2023, which suppliers were audited?"
    assert keyword_query(q).split() == ["to", "the", "from", "suppliers", "were", "audited"]
    assert keyword_query("What does the company report?") == "the"  # nothing left to match
    assert not QUESTION_WORDS & {"supplier", "suppliers", "steel", "audit", "cobalt", "emissions"}


def test_the_compact_copy_shortlists_and_exact_scores_decide(
    tmp_path, embedder, sample_pdf, two_reports, monkeypatch
):
    """Wide scopes are answered by the 8-bit copy's shortlist, scored again exactly: the top
    hits and their scores are the exact search's, with and without a scope, and the copy
    is kept in a file beside the vectors."""
    import analyzer.db.vectors as vectors

    shutil.copy(two_reports, tmp_path / "two.db")
    db = open_db(tmp_path / "two.db")
    assert Analyzer(db, embedder=embedder).analyze(sample_pdf).error is None
    exact = rank_passages(db, embedder, "cobalt refiners audited", limit=8, mode="dense")
    docs = [r["id"] for r in db["documents"].rows]
    sample = max(docs)  # 97 passages: wider than the shortlist, so the selector is used
    scoped_exact = rank_passages(db, embedder, "suppliers", sample, limit=5, mode="dense")
    monkeypatch.setattr(vectors, "COMPACT_FROM", 1)
    monkeypatch.setattr(vectors, "SHORTLIST", 30)
    vectors._cache.clear()
    index = passage_vector_index(db, embedder.name)
    assert index.ids.size > 60, "the shortlist must be narrower than the scope"
    compact = rank_passages(db, embedder, "cobalt refiners audited", limit=8, mode="dense")
    scoped = rank_passages(db, embedder, "suppliers", sample, limit=5, mode="dense")
    assert {r["doc_id"] for r in scoped} == {sample}
    assert [r["passage_id"] for r in compact] == [r["passage_id"] for r in exact]
    assert [r["similarity"] for r in compact] == [r["similarity"] for r in exact]
    assert [r["passage_id"] for r in scoped] == [r["passage_id"] for r in scoped_exact]
    assert index.compact_path is not None and index.compact_path.is_file()


def test_a_search_leaves_no_transaction_open(db, embedder):
    """The keyword query's scratch tables must not keep a lock that blocks other writers."""
    rank_passages(db, embedder, "cobalt refiners audited", limit=5)
    assert not db.conn.in_transaction
    other = connect(db_file(db))
    with other.atomic():  # another writer gets the lock at once
        other.execute("create table if not exists probe (x)")
    other.close()
