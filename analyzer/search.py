"""Search stored passages with an analyst's question: meaning and keywords, fused.

Meaning search alone loses to plain keywords on expert questions (figures, names and
exact terms matter), so each search ranks the passages twice, by cosine similarity of
their stored embeddings (exact, over a memory-mapped matrix, ``db/vectors.py``) and by
BM25 over the SQLite FTS5 index (``db/fts.py``, without the question's question words),
and fuses the two rankings by weighted reciprocal rank fusion (below). A reviewer wants
pages, so results are pages, each with its best passage and the other matches on it. Filters
(document, company, season, criterion) are applied before ranking, so the search stays
exact within the scope. Each result says whether the passage is already a candidate and
which decisions were taken on it.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sqlite_utils import Database

from analyzer.candidates.views import ocr_pages, passage_record
from analyzer.db.connection import StoreError
from analyzer.db.documents import find_document, get_document
from analyzer.db.fts import bm25_ranking
from analyzer.db.search_scope import (
    candidacies,
    criterion_passages,
    passage_decisions,
    passages_by_id,
    scope_choices,
    scope_documents,
)
from analyzer.db.vectors import VectorIndex, passage_vector_index
from analyzer.embeddings.model import Embedder, get_embedder

# Fusion: weighted reciprocal rank fusion, chosen on ../shared/retrieval by cross-validation
# over its questions (folds grouped by report; benchmarks/search.py quality): a small k keeps
# a ranker's first hit first, where k = 60 scored rank 1 and rank 10 of a report's few
# hundred passages almost alike.
RRF_K = 10
DENSE_WEIGHT = 1.0
DEPTH = 100
MODES = ("hybrid", "dense", "keyword")
# Words that say what kind of answer a question wants, not what it is about. They are left
# out of the keyword query ("company" matches "Companies Act", "disclose" every disclosure
# index), never out of the meaning query, which reads the question whole.
QUESTION_WORDS = frozenset(
    """
    company companies report reports reporting reported disclose discloses disclosed disclosure
    disclosures describe describes described description provide provides provided information
    any does do did has have had how what which when where who why whether according statement
    statements mention mentions mentioned state states stated fy fiscal year years annual
    current latest relation related regarding
    """.split()  # noqa: SIM905
)
_YEAR = re.compile(r"^(?:fy)?(?:19|20)\d\d$", re.IGNORECASE)


def keyword_query(query: str) -> str:
    """The question without its question words and years, for the keyword ranking."""
    kept = [
        w
        for w in re.findall(r"[\w'’-]+", query)
        if re.sub(r"['’]s$", "", w.lower()).strip("'’") not in QUESTION_WORDS and not _YEAR.match(w)
    ]
    return " ".join(kept) or query


_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dense-search")

PASSAGES_PER_PAGE_READ = 5  # passages read per page wanted, to fill the pages after merging

__all__ = ["MODES", "by_page", "keyword_query", "rank_passages", "scope_choices", "search"]


def search(
    db: Database,
    query: str,
    ref: str | None = None,
    limit: int = 10,
    model: str | None = None,
    backend: str | None = None,
    company: str | None = None,
    season: str | None = None,
    criterion: str | None = None,
    mode: str = "hybrid",
) -> list[dict]:
    """Passages ranked for the query across stored documents, within the given filters."""
    embedder = get_embedder(model, backend)
    doc_id = find_document(db, ref)["id"] if ref else None
    results = rank_passages(
        db, embedder, query, doc_id, limit, company=company, season=season,
        criterion=criterion, mode=mode,
    )  # fmt: skip
    if not results and not passage_vector_index(db, embedder.name).ids.size:
        raise StoreError(
            f"no passages embedded with {embedder.name} yet (run analyzer analyze with this model)"
        )
    return results


def rank_passages(
    db: Database,
    embedder: Embedder,
    query: str,
    doc_id: int | None = None,
    limit: int = 10,
    *,
    company: str | None = None,
    season: str | None = None,
    criterion: str | None = None,
    mode: str = "hybrid",
    pages: bool = True,
) -> list[dict]:
    """Pages ranked for the query with an already-loaded model, each with its best passage
    (``pages=False``: passages, repeats of a page included): `mode` is hybrid (fused
    rankings), dense (meaning only) or keyword (BM25 only)."""
    if mode not in MODES:
        raise ValueError(f"search mode must be one of {', '.join(MODES)}")
    doc_ids = scope_documents(db, doc_id, company, season)
    passage_ids = criterion_passages(db, criterion, doc_ids) if criterion else None
    if doc_ids == [] or passage_ids == []:
        return []
    depth = max(DEPTH, limit)
    dense: list[tuple[int, float]] = []
    lexical: list[tuple[int, float]] = []
    if mode == "keyword":
        lexical = bm25_ranking(db, keyword_query(query), depth, doc_ids, passage_ids)
    else:
        # The database is read here, in this thread; the embedding and the scan (which
        # release the GIL) run beside the keyword search on the other core.
        index = passage_vector_index(db, embedder.name)
        rows = _scope_rows(index, doc_ids, passage_ids)
        scan = _POOL.submit(_nearest, index, rows, embedder, query, depth)
        if mode == "hybrid":
            lexical = bm25_ranking(db, keyword_query(query), depth, doc_ids, passage_ids)
        dense = scan.result()
    ranked = (
        fuse([dense, lexical], weights=[DENSE_WEIGHT, 1.0])
        if mode == "hybrid"
        else dense or lexical
    )
    if not pages:
        return _records(db, ranked[:limit], dict(dense), _ranks(dense), _ranks(lexical))
    # pages, not repeats: read down the ranking until `limit` pages are filled
    records = _records(
        db, ranked[: limit * PASSAGES_PER_PAGE_READ], dict(dense), _ranks(dense), _ranks(lexical)
    )
    return by_page(records, limit)


def dense_ranking(
    db: Database,
    embedder: Embedder,
    query: str,
    depth: int,
    doc_ids: list[int] | None = None,
    passage_ids: list[int] | None = None,
) -> list[tuple[int, float]]:
    """(passage id, cosine similarity) of the `depth` nearest passages in scope, exactly."""
    index = passage_vector_index(db, embedder.name)
    return _nearest(index, _scope_rows(index, doc_ids, passage_ids), embedder, query, depth)


def _scope_rows(
    index: VectorIndex, doc_ids: list[int] | None, passage_ids: list[int] | None
) -> np.ndarray | None:
    """Matrix rows in scope (None: every row)."""
    rows = None if doc_ids is None else index.rows_in_documents(doc_ids)
    if passage_ids is not None:
        chosen = index.rows_of(passage_ids)
        rows = chosen if rows is None else np.intersect1d(rows, chosen)
    return rows


def _nearest(
    index: VectorIndex, rows: np.ndarray | None, embedder: Embedder, query: str, depth: int
) -> list[tuple[int, float]]:
    if not index.ids.size or (rows is not None and not rows.size):
        return []
    vector = np.asarray(embedder.encode([query])[0], dtype=np.float32)
    return index.nearest(vector, rows, depth)


def fuse(
    rankings: list[list[tuple[int, float]]],
    k: float = RRF_K,
    weights: list[float] | None = None,
) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion: ranking r gives weight_r / (k + rank); best first."""
    weights = weights or [1.0] * len(rankings)
    total: dict[int, float] = {}
    for weight, ranking in zip(weights, rankings, strict=True):
        for rank, (pid, _) in enumerate(ranking, start=1):
            total[pid] = total.get(pid, 0.0) + weight / (k + rank)
    return sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))


def by_page(records: list[dict], limit: int) -> list[dict]:
    """One result per page, in rank order: the page's best passage, how many more of the
    page's passages matched, and every matching passage's boxes on that page."""
    pages: dict[tuple[int, int], dict] = {}
    for r in records:
        key = (r["doc_id"], r["pdf_pages"][0])
        page = pages.get(key)
        if page is None:
            if len(pages) == limit:
                continue
            page = pages[key] = {
                **r,
                "page": key[1],
                "more_on_page": 0,
                "page_passage_ids": [],
                "page_boxes": [],
            }
        else:
            page["more_on_page"] += 1
        page["page_passage_ids"].append(r["passage_id"])
        page["page_boxes"] += r["boxes"].get(str(key[1]), [])
    return list(pages.values())


def _ranks(ranking: list[tuple[int, float]]) -> dict[int, int]:
    return {pid: rank for rank, (pid, _) in enumerate(ranking, start=1)}


def _records(
    db: Database,
    ranked: list[tuple[int, float]],
    similarity: dict[int, float],
    dense_rank: dict[int, int],
    keyword_rank: dict[int, int],
) -> list[dict]:
    ids = [pid for pid, _ in ranked]
    rows = passages_by_id(db, ids)
    marks = candidacies(db, ids)
    decided = passage_decisions(db, [(rows[p][0], rows[p][4]) for p in ids if p in rows])
    results = []
    ocr: dict[int, set[int]] = {}
    for pid, score in ranked:
        if pid not in rows:
            continue
        doc, text, parts, file_name, content_hash = rows[pid]
        if doc not in ocr:
            ocr[doc] = ocr_pages(get_document(db, doc))
        record = passage_record(doc, pid, text, json.loads(parts), ocr[doc])
        record.update(
            {
                "score": round(score, 4),
                "similarity": round(similarity[pid], 4) if pid in similarity else None,
                "dense_rank": dense_rank.get(pid),
                "keyword_rank": keyword_rank.get(pid),
                "file_name": file_name,
                "candidate_for": marks.get(pid, []),
                "decisions": decided.get((doc, content_hash), []),
            }
        )
        record["citation"] = record["first_citation"]
        results.append(record)
    return results
