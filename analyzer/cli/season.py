"""`analyzer season run` and `analyzer season status`: a season's reports at once.

The library (analyzer.season_run) registers, analyses and resumes; this module parses the
options, shows a progress bar and prints the table. The library is imported inside each
command: it loads the embedding model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from analyzer.cli.common import DbOption, err, fail, open_database, out


def season_run(
    folder: Annotated[Path, typer.Argument(help="folder of the season's report PDFs")],
    season: Annotated[str, typer.Option(help="the season (edition) they count for, e.g. 2025")],
    index: Annotated[
        Path | None,
        typer.Option(help="CSV with file, company, fiscal_year, report_type (or document)"),
    ] = None,
    parallel: Annotated[
        bool,
        typer.Option(
            "--parallel/--serial", help="parse the next report while this one is embedded"
        ),
    ] = True,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="run on Ray: 'local' starts one here, 'auto' joins the running cluster, or "
            "give its address (needs pip install 'analyzer\\[cluster]')",
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Ray workers (actors holding the model)")] = 2,
    strict: Annotated[
        bool, typer.Option("--strict", help="stop before any work when the index has a problem")
    ] = False,
    db: DbOption = None,
) -> None:
    """Analyse a season's reports; stop it any time and run it again to finish the rest."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from analyzer.pipeline import Analyzer
    from analyzer.season_run import (
        SeasonError,
        apply_index,
        pending,
        plan_season,
        run_season,
        season_status,
    )

    if workers < 1:
        fail("--workers must be at least 1")
    if not folder.is_dir():
        fail(f"{escape(str(folder))}: not a folder")
    try:
        plan = plan_season(folder, season, index)
    except SeasonError as exc:
        fail(escape(str(exc)))
    for path, why in plan.problems:
        err.print(f"skipped {escape(path)}: {escape(why)}", highlight=False)
    for line in plan.index_problems:
        err.print(f"index: {escape(line)}", highlight=False)
    if strict and plan.index_problems:
        fail(f"stopped before any work: {len(plan.index_problems)} index problems (--strict)")
    if not plan.reports:
        fail(f"{escape(str(folder))}: no PDF reports to analyse")
    database = open_database(db)
    for name in apply_index(database, plan):
        err.print(f"index: {escape(name)}: company, year or type updated", highlight=False)
    analyzer = Analyzer(database).prepare()
    err.print(escape(analyzer.scorer_description()), highlight=False)
    started = time.perf_counter()
    pages = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} reports · {task.fields[pages]} pages"),
        TextColumn("· {task.fields[rate]} pages/s"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"season {plan.season}", total=None, pages=0, rate="-")

        def progress(row: dict, result) -> None:
            nonlocal pages
            pages += result.pages if result and not result.error else 0
            rate = pages / max(time.perf_counter() - started, 1e-9)
            bar.update(task, advance=1, pages=pages, rate=f"{rate:.1f}")

        bar.update(task, total=len(pending(database, plan)))
        try:
            if ray:
                from analyzer.season_ray import ClusterUnavailable, run_season_ray

                try:
                    rows = run_season_ray(database, plan, analyzer, ray, workers, progress)
                except ClusterUnavailable as exc:
                    fail(escape(str(exc)))
            else:
                rows = run_season(database, plan, analyzer, progress, parallel)
        except KeyboardInterrupt:
            bar.stop()
            _interrupted(season_status(database, plan.season), plan.season)
    seconds = time.perf_counter() - started
    _print_table(rows)
    failed = [r for r in rows if r["status"] == "failed"]
    out.print(
        f"season {plan.season}: {sum(r['status'] == 'done' for r in rows)} done, "
        f"{len(failed)} failed, {sum(r['status'] == 'pending' for r in rows)} pending; "
        f"{pages} pages analysed now in {seconds:.0f} s",
        highlight=False,
    )
    _note_without_company(rows)
    if failed:
        raise typer.Exit(1)


def _interrupted(rows: list[dict], season: str) -> None:
    """After Ctrl-C: what is stored, what is not, and how to go on (exit 130, as a shell)."""
    done = sum(r["status"] == "done" for r in rows)
    failed = sum(r["status"] == "failed" for r in rows)
    pending = [r["file_name"] for r in rows if r["status"] == "pending"]
    err.print(
        f"interrupted: season {season}: {done} done, {failed} failed, {len(pending)} pending "
        f"({escape(', '.join(pending[:5]))}{', ...' if len(pending) > 5 else ''}); every "
        "finished report is stored; run the same command again to finish the rest",
        highlight=False,
    )
    raise typer.Exit(130)


def _note_without_company(rows: list[dict]) -> None:
    from analyzer.season_run import without_company

    missing = without_company(rows)
    if missing:
        out.print(
            f"{len(missing)} reports without a company (on no leaderboard): "
            f"{escape(', '.join(missing))}; name them in the index and run again",
            highlight=False,
        )


def season_status(
    season: Annotated[str, typer.Option(help="the season, e.g. 2025")],
    db: DbOption = None,
) -> None:
    """Show a season's run: every report with pages, passages, flags, seconds and status."""
    from analyzer.season_run import SeasonError, season_status

    database = open_database(db, must_exist=True)
    try:
        rows = season_status(database, season)
    except SeasonError as exc:
        fail(escape(str(exc)))
    if not rows:
        out.print(f"no run registered for season {escape(season)}", highlight=False)
        return
    _print_table(rows)
    _note_without_company(rows)


def _print_table(rows: list[dict]) -> None:
    table = Table(show_lines=False)
    for column in ("report", "pages", "passages", "flags", "seconds", "status"):
        table.add_column(column, justify="right" if column in ("pages", "passages") else "left")
    for r in rows:
        flags = json.loads(r["flags"] or "{}") if r.get("flags") else {}
        table.add_row(
            escape(r["file_name"]),
            str(r["pages"] or ""),
            str(r["passages"] or ""),
            escape(", ".join(flags)),
            "" if r["seconds"] is None else f"{r['seconds']:.1f}",
            r["status"] + (f": {escape(r['error'])}" if r.get("error") else ""),
        )
    out.print(table)
