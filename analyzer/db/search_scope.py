"""Queries search needs across tables: which passages are in scope (document, company,
season, criterion), the rows of the passages found, and what review already knows about
them (candidacies and decisions), so a reviewer sees at once what the model missed."""

from __future__ import annotations

import json

from sqlite_utils import Database

from analyzer.db.criteria import DOCUMENT_VERSION_SQL


def scope_documents(
    db: Database,
    doc_id: int | None = None,
    company: str | None = None,
    season: str | None = None,
) -> list[int] | None:
    """Ids of the documents that pass every given filter (None: no filter given). A season
    is the document's own season, or its fiscal year when it has none."""
    where: list[str] = []
    params: list[int | str] = []
    if doc_id is not None:
        where.append("id = ?")
        params.append(doc_id)
    if company:
        where.append("lower(company) = lower(?)")
        params.append(company)
    if season:
        where.append("coalesce(nullif(season, ''), fiscal_year) = ?")
        params.append(season)
    if not where:
        return None
    sql = f"select id from documents where {' and '.join(where)} order by id"
    return [r[0] for r in db.execute(sql, params).fetchall()]


def criterion_passages(db: Database, criterion: str, doc_ids: list[int] | None) -> list[int]:
    """Passages that are candidates for a criterion (each document's newest criteria
    version: that of its newest candidate row) or that a reviewer decided on for it."""
    within = "document_id in (select value from json_each(?))"
    docs, decided = ("", "") if doc_ids is None else (f" where {within}", f" and d.{within}")
    scope = [] if doc_ids is None else [json.dumps(doc_ids)]
    sql = f"""
        with newest as (
            select document_id, criteria_version from candidates
            where id in (select max(id) from candidates{docs} group by document_id))
        select c.passage_id from newest n join candidates c
            on c.document_id = n.document_id and c.criteria_version = n.criteria_version
            and c.criterion_id in (?, upper(?))
        union
        select p.id from decisions d join passages p
            on p.document_id = d.document_id and p.content_hash = d.passage_hash
        where lower(d.criterion_id) = lower(?){decided}
    """
    params = [*scope, criterion, criterion, criterion, *scope]
    return [r[0] for r in db.execute(sql, params).fetchall()]


def document_passages(db: Database, doc_ids: list[int]) -> list[int]:
    """Ids of the passages of the given documents."""
    sql = "select id from passages where document_id in (select value from json_each(?))"
    return [r[0] for r in db.execute(sql, [json.dumps(doc_ids)]).fetchall()]


def passages_by_id(db: Database, passage_ids: list[int]) -> dict[int, tuple]:
    """passage id -> (document id, text, parts JSON, file name, content hash)."""
    sql = """select p.id, p.document_id, p.text, p.parts, d.file_name, p.content_hash
        from passages p join documents d on d.id = p.document_id
        where p.id in (select value from json_each(?))"""
    return {r[0]: tuple(r[1:]) for r in db.execute(sql, [json.dumps(passage_ids)]).fetchall()}


def candidacies(db: Database, passage_ids: list[int]) -> dict[int, list[dict]]:
    """passage id -> its candidates (criterion, rank, level, candidate id) under its
    document's newest criteria version."""
    sql = f"""select c.passage_id, c.id, c.criterion_id, c.rank, c.level from candidates c
        where c.passage_id in (select value from json_each(?))
            and c.criteria_version = {DOCUMENT_VERSION_SQL}
        order by c.passage_id, c.criterion_id"""
    out: dict[int, list[dict]] = {}
    for pid, cid, criterion, rank, level in db.execute(sql, [json.dumps(passage_ids)]):
        out.setdefault(pid, []).append(
            {"candidate_id": cid, "criterion": criterion, "rank": rank, "level": level}
        )
    return out


def passage_decisions(db: Database, keys: list[tuple[int, str]]) -> dict[tuple[int, str], list]:
    """(document id, passage content hash) -> the decisions on that passage, oldest first,
    each marked when an undo reverted it."""
    if not keys:
        return {}
    sql = """select d.document_id, d.passage_hash, d.id, d.action, d.criterion_id, d.level,
            d.reviewer, d.created_at,
            exists(select 1 from decisions u where u.reverts_id = d.id and u.action = 'undo')
        from decisions d where d.action != 'undo' and d.passage_hash in
            (select value from json_each(?))
        order by d.id"""
    wanted = set(keys)
    out: dict[tuple[int, str], list] = {}
    for row in db.execute(sql, [json.dumps(sorted({h for _, h in keys}))]):
        key = (row[0], row[1])
        if key in wanted:
            out.setdefault(key, []).append(
                {
                    "decision_id": row[2],
                    "action": row[3],
                    "criterion": row[4],
                    "level": row[5],
                    "reviewer": row[6],
                    "at": row[7],
                    "undone": bool(row[8]),
                }
            )
    return out


def scope_choices(db: Database) -> dict[str, list[str]]:
    """The companies and seasons stored, for search filters."""
    companies = db.execute(
        "select distinct company from documents where coalesce(company, '') != '' order by 1"
    ).fetchall()
    seasons = db.execute(
        "select distinct coalesce(nullif(season, ''), fiscal_year) from documents "
        "where coalesce(nullif(season, ''), fiscal_year, '') != '' order by 1 desc"
    ).fetchall()
    return {"companies": [r[0] for r in companies], "seasons": [r[0] for r in seasons]}
