"""The seasons table: each scorecard season's disclosure cut-off and window start."""

from __future__ import annotations

from sqlite_utils import Database


def save_season(db: Database, row: dict) -> None:
    """Create or replace a season row."""
    db.table("seasons").insert(row, pk="season", replace=True)


def season_row(db: Database, season: str | None) -> dict | None:
    """A season row by its (normalised) name, or None."""
    rows = list(db.table("seasons").rows_where("season = ?", [season]))
    return rows[0] if rows else None


def all_seasons(db: Database) -> list[dict]:
    """Every season row, by name."""
    return list(db.table("seasons").rows_where(order_by="season"))


def seasons_without_row(db: Database) -> list[str]:
    """Seasons a ``season run`` registered reports for that have no row (no cut-off) yet."""
    if "season_runs" not in db.table_names():
        return []
    sql = (
        "select distinct season from season_runs "
        "where season not in (select season from seasons) order by season"
    )
    return [r[0] for r in db.execute(sql).fetchall()]
