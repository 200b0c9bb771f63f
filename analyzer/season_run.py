"""A season's run: every report of a folder registered, analysed once, resumable at any moment.

``plan_season`` lists the folder's PDFs with their company, year and type from an index
(the columns of ``analyzer document import``); ``run_season`` registers them in the
``season_runs`` table and analyses what is not done yet. Each report is stored in its own
transaction by the pipeline, so a run stopped anywhere (Ctrl-C, kill -9, a reboot) resumes
from the first report not done: nothing is lost, duplicated or half-written, and a report
whose analysis committed just before the stop is recognised by its content hash and only
re-checked (its passages and embeddings are reused). Reports are computed (read, embedded,
scored) by two worker processes, one core each, and stored by this process, the only
writer, as they finish.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import json
import multiprocessing
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from analyzer.candidates.views import collect_pdfs
from analyzer.db.connection import open_db
from analyzer.db.documents import update_document
from analyzer.db.season_runs import record, register, season_rows
from analyzer.hashes import file_sha256
from analyzer.pipeline import Analyzer, Computed, Result, Settings
from analyzer.reading.parsing import ParseError
from analyzer.scorecard.seasons import normalise_season

PENDING, DONE, FAILED = "pending", "done", "failed"
Progress = Callable[[dict, Result | None], None]  # (report row, result when it finished)


class SeasonError(Exception):
    """A season run that cannot start; the message says why."""


@dataclass
class SeasonPlan:
    season: str
    reports: list[dict]  # file_name, path, sha256, company, fiscal_year, report_type
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, why it is skipped)


def read_index(path: str | Path) -> dict[str, dict]:
    """file name -> {company, fiscal_year, report_type} from an index CSV (a `file` column;
    `company`, `fiscal_year`, `report_type` or `document` as in ../shared/corpus/INDEX.csv)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise SeasonError(f"{path}: cannot read the index ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SeasonError(f"{path}: not a readable CSV ({exc})") from None
    if not rows or "file" not in rows[0]:
        raise SeasonError(f"{path}: expected a CSV with a 'file' column (the PDF's file name)")
    out = {}
    for row in rows:
        name = Path((row.get("file") or "").strip()).name
        if name:
            out[name] = {
                "company": (row.get("company") or "").strip() or None,
                "fiscal_year": normalise_season(row.get("fiscal_year")),
                "report_type": (row.get("report_type") or row.get("document") or "").strip()
                or None,
            }
    return out


def plan_season(folder: str | Path, season: str, index: str | Path | None = None) -> SeasonPlan:
    """The season's reports in a folder, with what the index says of each."""
    name = season_name(season)
    files, problems = collect_pdfs([Path(folder)])
    meta = read_index(index) if index else {}
    reports, seen = [], set()
    for path in files:
        try:
            sha = file_sha256(path)
        except OSError as exc:
            problems.append((str(path), f"cannot read it ({exc.strerror or exc})"))
            continue
        if sha in seen:
            problems.append((str(path), "the same file is already in this run"))
            continue
        seen.add(sha)
        fields = meta.get(path.name, {})
        reports.append(
            {
                "file_name": path.name,
                "path": str(path.resolve()),
                "sha256": sha,
                "company": fields.get("company"),
                "fiscal_year": fields.get("fiscal_year"),
                "report_type": fields.get("report_type"),
            }
        )
    return SeasonPlan(name, reports, [(str(p), why) for p, why in problems])


def run_season(
    db: Database,
    plan: SeasonPlan,
    analyzer: Analyzer,
    progress: Progress | None = None,
    parallel: bool = True,
) -> list[dict]:
    """Analyse the season's reports not done yet; returns every registered report's row."""
    todo = pending(db, plan)
    if parallel and len(todo) > 1:
        _run_in_workers(db, plan.season, todo, analyzer, progress)
    else:
        for row in todo:
            result = _analyse(db, analyzer, plan.season, row, None)
            if progress:
                progress(row, result)
    return season_rows(db, plan.season)


WORKERS = 2  # compute processes on one machine: one report each, one core each


def pending(db: Database, plan: SeasonPlan) -> list[dict]:
    """Register the plan's reports and return those of them not done yet."""
    register(db, plan.season, plan.reports)
    planned = {r["sha256"] for r in plan.reports}
    return [
        r for r in season_rows(db, plan.season) if r["status"] != DONE and r["sha256"] in planned
    ]


class ComputeWorker:
    """A private analyzer over a scratch database (its own embedding cache and criteria
    vectors) that computes reports for this process, the only writer: one per worker
    process here, one per Ray actor on a cluster. Its embedder uses one core, so workers
    share the machine's cores without fighting."""

    def __init__(self, settings: Settings):
        folder = tempfile.mkdtemp(prefix="analyzer-worker-")
        self.analyzer = Analyzer(open_db(Path(folder) / "worker.db"), settings).prepare()
        if hasattr(self.analyzer.embedder, "threads"):
            self.analyzer.embedder.threads = 1

    def compute(self, path: str) -> tuple[str, Computed | str]:
        """(path, the computed report or why it could not be computed)."""
        try:
            return path, self.analyzer.compute(path)
        except ParseError as exc:
            return path, str(exc)
        except Exception as exc:  # one bad report must not stop the season
            return path, f"{type(exc).__name__}: {exc}"


def finish(
    db: Database,
    season: str,
    analyzer: Analyzer,
    row: dict,
    outcome: Computed | str,
    progress: Progress | None,
) -> None:
    """Store a report a worker computed (or record why it could not be) and its outcome."""
    clock = time.perf_counter()
    meta = {k: row[k] for k in ("company", "fiscal_year", "report_type") if row.get(k)}
    if isinstance(outcome, str):
        result = analyzer.analyze(row["path"], meta, prepared=outcome)  # records the failure
    else:
        try:
            result = analyzer.store(outcome, meta)
        except Exception as exc:  # e.g. a locked database: this report fails, the run goes on
            result = Result(Path(row["path"]), error=f"not stored: {type(exc).__name__}: {exc}")
    worked = sum(outcome.seconds.values()) if isinstance(outcome, Computed) else 0.0
    record_result(db, season, row, result, worked + time.perf_counter() - clock)
    if progress:
        progress(row, result)


def _run_in_workers(
    db: Database, season: str, todo: list[dict], analyzer: Analyzer, progress
) -> None:
    """Reports computed (read, embedded, scored) in worker processes, one core each, and
    stored here in the order they finish: the database has one writer, this process."""
    by_path = {row["path"]: row for row in todo}
    with cf.ProcessPoolExecutor(
        max_workers=min(WORKERS, len(todo)),
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_start_worker,
        initargs=(analyzer.settings,),
    ) as pool:
        futures = {pool.submit(_compute_in_worker, row["path"]) for row in todo}
        for future in cf.as_completed(futures):
            path, outcome = future.result()
            finish(db, season, analyzer, by_path[path], outcome, progress)


_WORKER: ComputeWorker | None = None


def _start_worker(settings: Settings) -> None:
    global _WORKER
    _WORKER = ComputeWorker(settings)


def _compute_in_worker(path: str) -> tuple[str, Computed | str]:
    return _WORKER.compute(path)


def _analyse(db: Database, analyzer: Analyzer, season: str, row: dict, prepared) -> Result:
    clock = time.perf_counter()
    meta = {k: row[k] for k in ("company", "fiscal_year", "report_type") if row.get(k)}
    result = analyzer.analyze(row["path"], meta, prepared=prepared)
    record_result(db, season, row, result, time.perf_counter() - clock)
    return result


def record_result(db: Database, season: str, row: dict, result: Result, seconds: float) -> None:
    """A report's outcome in the season's run, and the season on its document, together."""
    with db.atomic():
        if result.error:
            record(db, season, row["sha256"], status=FAILED, error=result.error,
                   seconds=round(seconds, 2))  # fmt: skip
            return
        update_document(db, result.doc_id, {"season": season})
        record(
            db,
            season,
            row["sha256"],
            status=DONE,
            error=None,
            document_id=result.doc_id,
            pages=result.pages,
            passages=result.passages,
            flags=json.dumps(result.flags),
            seconds=round(seconds, 2),
        )


def season_status(db: Database, season: str) -> list[dict]:
    """Every registered report of the season with its outcome (pending, done, failed)."""
    return season_rows(db, season_name(season))


def season_name(season: str) -> str:
    """'FY2025' or '2025' -> '2025'; a season is named by its year, as `season add` says."""
    name = normalise_season(season)
    if not name or not re.fullmatch(r"(19|20)\d\d", name):
        raise SeasonError(f"{season!r}: a season is named by its year, e.g. 2025")
    return name
