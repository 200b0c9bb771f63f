"""What a scorecard needs to know about a document beyond its text: who, which season,
when it was published and whether it is about a subsidiary only.

Set one document at a time, or many from a CSV with a ``file`` column (file name) and any
of company, fiscal_year, season, publication_date, subsidiary_only.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TypedDict

from sqlite_utils import Database

from analyzer.db.documents import all_documents, get_document, update_document
from analyzer.scorecard.seasons import SeasonError, normalise_season, parse_date

_TRUE = {"1", "true", "yes", "y", "subsidiary"}
_FALSE = {"", "0", "false", "no", "n", "group"}


class _Fields(TypedDict):
    """One CSV line's fields, as keyword arguments of ``set_document``."""

    company: str | None
    fiscal_year: str | None
    season: str | None
    published: str | None
    subsidiary_only: bool | None


def set_document(
    db: Database,
    doc_id: int,
    *,
    company: str | None = None,
    fiscal_year: str | None = None,
    season: str | None = None,
    published: str | None = None,
    subsidiary_only: bool | None = None,
) -> dict:
    """Update the given fields of one document; returns the updated row."""
    update: dict = {}
    if company is not None:
        if not company.strip():
            raise SeasonError("the company name is empty")
        update["company"] = company.strip()
    if fiscal_year is not None:
        update["fiscal_year"] = fiscal_year.strip() or None
    if season is not None:
        update["season"] = normalise_season(season)
    if published is not None:
        update["publication_date"] = parse_date(published, "publication date")
    if subsidiary_only is not None:
        update["subsidiary_only"] = int(subsidiary_only)
    update_document(db, doc_id, update)
    return get_document(db, doc_id)


def _flag(value: str, where: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SeasonError(f"{where}: subsidiary_only {value!r} is not yes/no")


def import_metadata(
    db: Database, path: str | Path, season: str | None = None
) -> tuple[list[str], list[str]]:
    """Apply a metadata CSV; ``season`` overrides every row's. Returns (updated, not stored)."""
    path = Path(path)
    if not path.is_file():
        raise SeasonError(f"{path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SeasonError(f"{path}: not a readable CSV ({exc})") from None
    if not rows or "file" not in rows[0]:
        raise SeasonError(f"{path}: expected a CSV with a 'file' column (the PDF's file name)")
    by_name: dict[str, list[int]] = {}
    for doc in all_documents(db):
        by_name.setdefault(doc["file_name"], []).append(doc["id"])
    updated, missing = [], []
    plans: list[tuple[str, _Fields]] = []
    for n, row in enumerate(rows, start=2):
        name = Path(row["file"].strip()).name
        if name not in by_name:
            missing.append(name)
            continue
        where = f"{path}, line {n}"
        published = (row.get("publication_date") or "").strip() or None
        fields: _Fields = {
            "company": (row.get("company") or "").strip() or None,
            # "FY2022" in an index is the year 2022, as a web upload would store it.
            "fiscal_year": normalise_season(row.get("fiscal_year")),
            "season": season or (row.get("season") or "").strip() or None,
            "published": published,
            "subsidiary_only": _flag(row["subsidiary_only"], where)
            if row.get("subsidiary_only") is not None
            else None,
        }
        if published:
            try:
                parse_date(published, "publication date")
            except SeasonError as exc:
                raise SeasonError(f"{where}: {exc}") from None
        plans.append((name, fields))
    with db.atomic():  # every line is checked before anything is written
        for name, fields in plans:
            for doc_id in by_name[name]:
                set_document(db, doc_id, **fields)
            updated.append(name)
    return updated, missing
