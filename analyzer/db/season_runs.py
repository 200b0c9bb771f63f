"""The season_runs table: the reports registered for a season's run and their outcome."""

from __future__ import annotations

from sqlite_utils import Database

from analyzer.db.connection import now


def register(db: Database, season: str, rows: list[dict]) -> None:
    """Register reports for the season; a report already registered keeps its outcome."""
    with db.atomic():
        for row in rows:
            key = [season, row["sha256"]]
            if db.table("season_runs").count_where("season = ? and sha256 = ?", key):
                db.table("season_runs").update(
                    tuple(key),
                    {k: row[k] for k in ("path", "company", "fiscal_year", "report_type")},
                )
            else:
                db.table("season_runs").insert(
                    {**row, "season": season, "status": "pending", "updated_at": now()}
                )


def record(db: Database, season: str, sha256: str, **fields) -> None:
    """Write a report's outcome (inside the caller's transaction when there is one)."""
    db.table("season_runs").update((season, sha256), {**fields, "updated_at": now()})


def season_rows(db: Database, season: str) -> list[dict]:
    """Every registered report of the season, in file-name order."""
    if "season_runs" not in db.table_names():
        return []
    return list(db.table("season_runs").rows_where("season = ?", [season], order_by="file_name"))
