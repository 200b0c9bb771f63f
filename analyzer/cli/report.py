"""CLI face of the scorecards: ``analyzer report``, ``analyzer season``, ``analyzer document``.

Which files a report writes is planned by analyzer.scorecard.plan; this module parses the
options and prints. The scorecard library (and the database layer) is imported inside the
commands. Every error is one line and a non-zero exit.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from analyzer.cli.common import App, DbOption, err, fail, open_database, out

season_app = App(help="Seasons and their disclosure cut-off dates.")
document_app = App(help="Set a document's company, season, publication date or subsidiary flag.")


class ReportFormat(StrEnum):
    html = "html"
    pack = "pack"
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


def report(
    season: Annotated[str, typer.Option(help="season (edition) to report, e.g. 2025")],
    company: Annotated[
        str | None, typer.Option(help="one company (a unique part of its name will do)")
    ] = None,
    format: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            "-f",
            help="html: leaderboard and a page per company (or the one company); pack: "
            "evidence pack for the company's right of reply; csv, xlsx, json: scores and evidence",
        ),
    ] = ReportFormat.html,
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write to")] = Path("reports"),
    drafts: Annotated[
        bool,
        typer.Option(
            "--drafts",
            help="evidence packs: also show the machine's unreviewed drafts, marked as such "
            "(by default a pack carries confirmed evidence only)",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Write scorecards (draft and confirmed scores, cited evidence) to reports/."""
    from analyzer.scorecard.plan import plan_reports, write_file
    from analyzer.scorecard.render import ReportError

    if out_dir.exists() and not out_dir.is_dir():
        fail(f"{out_dir}: not a folder")
    database = open_database(db, must_exist=True)
    try:
        plan = plan_reports(database, season, company, format.value, out_dir, drafts)
    except ReportError as exc:
        fail(str(exc))
    for item in plan.files:
        try:
            path = write_file(plan, item)
        except OSError as exc:
            fail(f"{item.path}: cannot write ({exc.strerror or exc})")
        out.print(f"wrote {path}", highlight=False, markup=False)
    if plan.season_row is None:
        err.print(
            f"note: season {plan.season} has no cut-off date; every document counted "
            f"(set one: analyzer season add {plan.season} --cutoff YYYY-MM-DD)",
            highlight=False,
            markup=False,
        )


@season_app.command("add")
def season_add(
    season: Annotated[str, typer.Argument(help="season name, e.g. 2025")],
    cutoff: Annotated[str, typer.Option(help="disclosure cut-off date, YYYY-MM-DD")],
    window_start: Annotated[
        str | None, typer.Option(help="documents published before this date are too old")
    ] = None,
    note: Annotated[str | None, typer.Option(help="a note for the record")] = None,
    db: DbOption = None,
) -> None:
    """Record (or change) a season's disclosure cut-off date."""
    from analyzer.scorecard.seasons import SeasonError, add_season

    try:
        row = add_season(open_database(db), season, cutoff, window_start, note)
    except SeasonError as exc:
        fail(str(exc))
    window = f", window from {row['window_start']}" if row["window_start"] else ""
    out.print(
        f"season {row['season']}: cut-off {row['cutoff']}{window}", highlight=False, markup=False
    )


@season_app.command("list")
def season_list(db: DbOption = None) -> None:
    """List seasons with their cut-off dates (and those `season run` made without one)."""
    from analyzer.db.seasons import seasons_without_row
    from analyzer.scorecard.seasons import list_seasons

    database = open_database(db, must_exist=True)
    table = Table("season", "cut-off", "window start", "note")
    for row in list_seasons(database):
        table.add_row(row["season"], row["cutoff"], row["window_start"] or "-", row["note"] or "")
    for season in seasons_without_row(database):
        table.add_row(season, "not set", "-", f"from season run; analyzer season add {season}")
    out.print(table)


@document_app.command("set")
def document_set(
    doc: Annotated[str, typer.Argument(help="document id or path of an analysed file")],
    company: Annotated[str | None, typer.Option(help="company name")] = None,
    year: Annotated[str | None, typer.Option(help="fiscal year")] = None,
    season: Annotated[
        str | None, typer.Option(help="season it counts for (default: its fiscal year)")
    ] = None,
    published: Annotated[str | None, typer.Option(help="publication date, YYYY-MM-DD")] = None,
    subsidiary: Annotated[
        bool | None,
        typer.Option(
            "--subsidiary/--group",
            help="about a subsidiary only (shown, not counted) or about the group",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Set what a scorecard needs to know about a document."""
    from analyzer.db.connection import StoreError
    from analyzer.db.documents import find_document
    from analyzer.scorecard.metadata import set_document
    from analyzer.scorecard.seasons import SeasonError, document_season

    database = open_database(db, must_exist=True)
    try:
        row = find_document(database, doc)
        row = set_document(
            database,
            row["id"],
            company=company,
            fiscal_year=year,
            season=season,
            published=published,
            subsidiary_only=subsidiary,
        )
    except (StoreError, SeasonError) as exc:
        fail(str(exc))
    out.print(
        f"document {row['id']} ({row['file_name']}): company {row['company'] or '-'}, "
        f"season {document_season(row) or '-'}, published {row['publication_date'] or '-'}, "
        f"{'subsidiary only' if row['subsidiary_only'] else 'group'}",
        highlight=False,
        markup=False,
    )


@document_app.command("import")
def document_import(
    csv_file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a 'file' column and any of company, fiscal_year, season, "
            "publication_date, subsidiary_only"
        ),
    ],
    season: Annotated[
        str | None, typer.Option(help="put every listed document in this season")
    ] = None,
    db: DbOption = None,
) -> None:
    """Set many documents' company, season and dates from a CSV (matched by file name)."""
    from analyzer.scorecard.metadata import import_metadata
    from analyzer.scorecard.seasons import SeasonError

    try:
        updated, missing = import_metadata(open_database(db, must_exist=True), csv_file, season)
    except SeasonError as exc:
        fail(str(exc))
    out.print(f"updated {len(updated)} document(s) from {csv_file}", highlight=False, markup=False)
    if missing:
        err.print(f"not analysed yet, skipped: {', '.join(missing)}", highlight=False, markup=False)
