"""Seasons: which documents a scorecard edition reads, and its disclosure cut-off.

A document counts for the season set on it, else for its fiscal year ("FY2024" -> "2024").
A season row holds the cut-off date (later documents count next season) and, optionally,
the start of its window (earlier documents are too old).
"""

from __future__ import annotations

import re
from datetime import date

from sqlite_utils import Database

from analyzer.db.connection import now
from analyzer.db.documents import all_documents
from analyzer.db.seasons import all_seasons, save_season, season_row
from analyzer.review.names import CompanyError, match_company


class SeasonError(Exception):
    """A season or date that cannot be used; the message says why."""


def normalise_season(value: object) -> str | None:
    """'FY2024', '2024', 'fy 2024/25' -> '2024'; anything without a year stays as written."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    match = re.search(r"(19|20)\d\d", text)
    return match.group(0) if match else text


def parse_date(value: str, what: str) -> str:
    """An ISO date (YYYY-MM-DD) checked and returned as text."""
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except (ValueError, AttributeError):
        raise SeasonError(f"{what} {value!r} is not a date (write it as YYYY-MM-DD)") from None


def add_season(
    db: Database,
    season: str,
    cutoff: str,
    window_start: str | None = None,
    note: str | None = None,
) -> dict:
    """Create or replace a season's cut-off (and window start); returns the stored row."""
    name = normalise_season(season)
    if not name or not re.fullmatch(r"(19|20)\d\d", name):
        raise SeasonError(f"a season is named by its year, e.g. 2025; got {season!r}")
    checked_cutoff = parse_date(cutoff, "cut-off")
    start = parse_date(window_start, "window start") if window_start else None
    if start and start > checked_cutoff:
        raise SeasonError(f"window start {start} is after the cut-off {checked_cutoff}")
    row = {
        "season": name,
        "cutoff": checked_cutoff,
        "window_start": start,
        "note": note,
        "created_at": now(),
    }
    save_season(db, row)
    return row


def get_season(db: Database, season: str) -> dict | None:
    """A season's row, or None."""
    return season_row(db, normalise_season(season))


def list_seasons(db: Database) -> list[dict]:
    """Every season's row, by name."""
    return all_seasons(db)


def document_season(doc: dict) -> str | None:
    return normalise_season(doc.get("season")) or normalise_season(doc.get("fiscal_year"))


def current_documents(db: Database) -> list[dict]:
    """Every document except those a newer version of the same file replaced."""
    rows = all_documents(db)
    replaced = {r["previous_version_id"] for r in rows if r["previous_version_id"]}
    return [r for r in rows if r["id"] not in replaced]


def documents_in_season(db: Database, season: str, company: str | None = None) -> list[dict]:
    season = normalise_season(season) or ""
    return [
        d
        for d in current_documents(db)
        if document_season(d) == season and (company is None or d["company"] == company)
    ]


def companies(db: Database, season: str) -> list[str]:
    """Companies with at least one document in the season (documents without one are skipped)."""
    return sorted({d["company"] for d in documents_in_season(db, season) if d["company"]})


def resolve_company(db: Database, season: str, wanted: str) -> str:
    """The stored company name a user means: exact (any case), else the one name it starts,
    else one unique partial match; otherwise a SeasonError with a "did you mean"."""
    try:
        return match_company(companies(db, season), wanted, f"season {season}")
    except CompanyError as exc:
        raise SeasonError(str(exc)) from None


def previous_season(db: Database, company: str, season: str) -> str | None:
    """The latest earlier season in which the company has documents."""
    season = normalise_season(season) or ""
    seasons = {document_season(d) for d in current_documents(db) if d["company"] == company}
    earlier = {s for s in seasons if s and s < season and len(s) == len(season)}
    return max(earlier) if earlier else None
