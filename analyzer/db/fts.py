"""The passage_fts table: SQLite FTS5 over the passages' text, ranked by BM25.

Keyword search catches what the embedding misses (figures, names, rare terms), so the
lexical index lives in the database itself: an external-content FTS5 table over
``passages.text`` (the text is stored once), written in the same transaction as the
passages. ``passage_index_state`` counts every change to the indexed passages, so a
vector file built from them (``db/vectors.py``) knows when it is stale.
"""

from __future__ import annotations

import json
import re

from sqlite_utils import Database

FTS_TABLE = "passage_fts"
STATE_TABLE = "passage_index_state"
TERMS_TABLE = "passage_fts_terms"  # fts5vocab: how many passages hold each term
# Porter stemming so "emission" finds "emissions"; chosen before any evaluation.
TOKENIZE = "porter unicode61 remove_diacritics 2"

# Common English words carry no evidence and make an OR query match nearly every row
# (slow at a million passages); BM25's idf would weigh them near zero anyway.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers him his how i if in into is
    it its itself just me more most my no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there
    these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours""".split()  # noqa: SIM905
)
_WORD = re.compile(r"\w+", re.UNICODE)


def create_passage_fts(db: Database) -> None:
    """Create the index and its change counter (used by migration m008)."""
    db.execute(
        f"create virtual table [{FTS_TABLE}] using fts5(text, content='passages', "
        f"content_rowid='id', tokenize='{TOKENIZE}')"
    )
    db.execute(f"create virtual table [{TERMS_TABLE}] using fts5vocab([{FTS_TABLE}], 'row')")
    db.table(STATE_TABLE).create({"key": str, "generation": int}, pk="key")
    db.table(STATE_TABLE).insert({"key": "passages", "generation": 0})


def rebuild_passage_fts(db: Database) -> None:
    """Index every stored passage again from the passages table (no re-analysis)."""
    db.execute(f"insert into [{FTS_TABLE}]([{FTS_TABLE}]) values ('rebuild')")
    _bump(db)


def unindex_document(db: Database, doc_id: int) -> None:
    """Remove a document's passages from the index; call before the rows are deleted
    (an external-content index needs the old text to remove its terms)."""
    db.execute(
        f"insert into [{FTS_TABLE}]([{FTS_TABLE}], rowid, text) "
        "select 'delete', id, text from passages where document_id = ?",
        [doc_id],
    )
    _bump(db)


def index_document(db: Database, doc_id: int) -> None:
    """Add a document's stored passages to the index (same transaction as the insert)."""
    db.execute(
        f"insert into [{FTS_TABLE}](rowid, text) select id, text from passages "
        "where document_id = ?",
        [doc_id],
    )
    _bump(db)


def _bump(db: Database) -> None:
    db.execute(f"update [{STATE_TABLE}] set generation = generation + 1 where key = 'passages'")


def passages_generation(db: Database) -> int:
    """How many times the indexed passages changed (0 in a fresh database)."""
    row = db.execute(f"select generation from [{STATE_TABLE}] where key = 'passages'").fetchone()
    return int(row[0]) if row else 0


# BM25 scores every passage that holds any query word; at a million passages common words
# hold hundreds of thousands. Past this many postings the commonest words are left out
# (they carry the least idf), which bounds the time; below it the ranking is exact. A speed
# bound chosen for the 1M benchmark, never reached by a database of a few hundred reports.
POSTING_BUDGET = 30_000
FEW_DOCUMENTS = 50


def query_words(query: str) -> list[str]:
    """The content words of free text, lower-cased, in order, without repeats."""
    words = [w.lower() for w in _WORD.findall(query)]
    return [w for w in dict.fromkeys(words) if w not in STOPWORDS and len(w) > 1]


def match_expression(words: list[str]) -> str | None:
    """Words as an FTS5 query: each quoted (so no word is read as syntax), any of them may
    match; None when there is none."""
    if not words:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


def affordable_words(db: Database, words: list[str], budget: int = POSTING_BUDGET) -> list[str]:
    """The words whose postings fit the budget, rarest first (always the rarest one)."""
    if not words:
        return []
    terms = index_terms(db, words)
    found = dict(
        db.execute(
            f"select term, doc from [{TERMS_TABLE}] where term in (select value from json_each(?))",
            [json.dumps(sorted(set(terms)))],
        ).fetchall()
    )
    counts = [(found.get(term, 0), word) for word, term in zip(words, terms, strict=True)]
    if sum(c for c, _ in counts) <= budget:
        return words
    kept: list[str] = []
    total = 0
    for count, word in sorted(counts):
        if kept and total + count > budget:
            break
        kept.append(word)
        total += count
    return kept


def index_terms(db: Database, words: list[str]) -> list[str]:
    """What the index's own tokenizer makes of each word (its stem), read from a scratch
    FTS5 table in this connection's temp schema (nothing is written to the database)."""
    # The scratch writes below open an implicit transaction that would keep a shared lock on
    # the database and block every other writer (another command in this process, the
    # server's upload worker): it is ended here unless the caller holds one of its own.
    outer = db.conn.in_transaction
    db.execute(
        f"create virtual table if not exists temp.query_words using fts5(w, tokenize='{TOKENIZE}')"
    )
    db.execute(
        "create virtual table if not exists temp.query_terms "
        "using fts5vocab('temp', 'query_words', 'instance')"
    )
    db.execute("delete from temp.query_words")
    db.conn.executemany(
        "insert into temp.query_words(rowid, w) values (?, ?)", list(enumerate(words))
    )
    stems = dict(db.execute("select doc, term from temp.query_terms").fetchall())
    if not outer and db.conn.in_transaction:
        db.conn.commit()
    return [stems.get(i, w) for i, w in enumerate(words)]


def bm25_ranking(
    db: Database,
    query: str,
    limit: int,
    doc_ids: list[int] | None = None,
    passage_ids: list[int] | None = None,
) -> list[tuple[int, float]]:
    """(passage id, BM25 score, higher is better) of the best keyword matches, optionally
    only among the given documents and passages."""
    expression = match_expression(affordable_words(db, query_words(query)))
    if expression is None:
        return []
    # The match drives the query (CROSS JOIN, unary +): the scope is checked per match,
    # never turned into one match test per passage in scope. A few documents' passages
    # are collected once instead (cheaper than a lookup per match).
    join, where, params = "", f"f.[{FTS_TABLE}] match ?", [expression]
    docs = "document_id in (select value from json_each(?))"
    if doc_ids is not None and len(doc_ids) <= FEW_DOCUMENTS:
        where += f" and +f.rowid in (select id from passages where {docs})"
        params.append(json.dumps(doc_ids))
    elif doc_ids is not None:
        join = f" cross join passages p on p.id = f.rowid and p.{docs}"
        params.insert(0, json.dumps(doc_ids))
    if passage_ids is not None:
        where += " and +f.rowid in (select value from json_each(?))"
        params.append(json.dumps(passage_ids))
    sql = (
        f"select f.rowid, -f.rank from [{FTS_TABLE}] f{join} where {where} order by f.rank limit ?"
    )
    return [(int(r[0]), float(r[1])) for r in db.execute(sql, [*params, limit]).fetchall()]
