"""The criteria_sets table: every criteria version candidates were made with."""

from __future__ import annotations

import json

from sqlite_utils import Database

from analyzer.criteria.sets import CriteriaSet
from analyzer.db.connection import now


def save_criteria_set(db: Database, cset: CriteriaSet) -> None:
    if db.table("criteria_sets").count_where("version = ?", [cset.version]):
        return
    content = [c.__dict__ for c in cset.criteria]
    db.table("criteria_sets").insert(
        {
            "version": cset.version,
            "name": cset.name,
            "title": cset.title,
            "source": cset.source,
            "content": json.dumps(content, ensure_ascii=False),
            "created_at": now(),
        }
    )


def document_criteria_version(db: Database, doc_id: int) -> str | None:
    """The criteria version of the document's newest candidates (None before any)."""
    row = db.execute(
        "select criteria_version from candidates where document_id = ? "
        "order by created_at desc, id desc limit 1",
        [doc_id],
    ).fetchone()
    return row[0] if row else None


def newest_criteria_version(db: Database) -> str | None:
    """The criteria version stored last (None in a database that analysed nothing)."""
    row = db.execute(
        "select version from criteria_sets order by created_at desc, rowid desc limit 1"
    ).fetchone()
    return row[0] if row else None


# The newest criteria version of the candidates of document `c.document_id`, as SQL, for
# queries over many documents at once (the same rule as document_criteria_version).
DOCUMENT_VERSION_SQL = """(select c2.criteria_version from candidates c2
    where c2.document_id = c.document_id order by c2.created_at desc, c2.id desc limit 1)"""


def criteria_content(db: Database, version: str) -> list[dict]:
    """The criteria of a stored set as they were when candidates were made ([] if unknown)."""
    rows = list(db.table("criteria_sets").rows_where("version = ?", [version]))
    return json.loads(rows[0]["content"]) if rows else []


def criterion_names(db: Database, version: str) -> dict[str, str]:
    """Criterion id -> name in a stored set."""
    return {c["id"]: c["name"] for c in criteria_content(db, version)}


def criteria_sets(db: Database, newest_first: bool = False) -> list[dict]:
    """Every stored criteria set: in stored order, or newest first (by created_at)."""
    if newest_first:
        return list(db.table("criteria_sets").rows_where(order_by="created_at desc"))
    return list(db.table("criteria_sets").rows)


def criteria_set_row(db: Database, version: str) -> dict | None:
    """The stored row of a criteria version (name, title, source, content)."""
    rows = list(db.table("criteria_sets").rows_where("version = ?", [version]))
    return rows[0] if rows else None
