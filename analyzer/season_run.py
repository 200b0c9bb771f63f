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
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from analyzer.candidates.views import collect_pdfs
from analyzer.db.connection import open_memory_db
from analyzer.db.documents import get_document, update_document
from analyzer.db.embeddings import cached_vectors, save_vectors
from analyzer.db.season_runs import record, register, season_rows
from analyzer.hashes import file_sha256
from analyzer.pipeline import Analyzer, Computed, Result, Settings
from analyzer.processes import exit_with_parent
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
    index_problems: list[str] = field(default_factory=list)  # one line each, see plan_season


YEAR = re.compile(r"(19|20)\d\d")


@dataclass
class Index:
    """What an index CSV says of each file, and what is wrong with it (one line each)."""

    rows: dict[str, dict]  # file name -> {company, fiscal_year, report_type, line}
    problems: list[str] = field(default_factory=list)


def read_index(path: str | Path) -> Index:
    """file name -> {company, fiscal_year, report_type} from an index CSV (a `file` column;
    `company`, `fiscal_year`, `report_type` or `document` as in ../shared/corpus/INDEX.csv).
    A duplicate row or a year that is not one is a problem, said in one line, not a stop:
    the caller decides (``season run --strict`` stops)."""
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
    index = Index({})
    for number, row in enumerate(rows, start=2):  # line 1 holds the column names
        where = f"{path.name} line {number}"
        name = Path((row.get("file") or "").strip()).name
        if not name:
            index.problems.append(f"{where}: no file name")
            continue
        if name in index.rows:
            first = index.rows[name]["line"]
            index.problems.append(f"{where}: {name} is listed again (line {first} counts)")
            continue
        year = (row.get("fiscal_year") or "").strip()
        if year and not YEAR.search(year):
            index.problems.append(f"{where}: {name}: fiscal year {year!r} is not a year")
            year = ""
        index.rows[name] = {
            "company": (row.get("company") or "").strip() or None,
            "fiscal_year": normalise_season(year),
            "report_type": (row.get("report_type") or row.get("document") or "").strip() or None,
            "line": number,
        }
    return index


def plan_season(folder: str | Path, season: str, index: str | Path | None = None) -> SeasonPlan:
    """The season's reports in a folder, with what the index says of each; the index's
    problems (rows naming no file of the folder, files without a row, duplicate rows,
    unreadable years) are listed in ``plan.index_problems``."""
    name = season_name(season)
    files, problems = collect_pdfs([Path(folder)])
    meta = read_index(index) if index else Index({})
    index_problems = list(meta.problems)
    reports, seen = [], set()
    for path in files:
        try:
            sha = file_sha256(path)
        except OSError as exc:
            problems.append((path, f"cannot read it ({exc.strerror or exc})"))
            continue
        if sha in seen:
            problems.append((path, "the same file is already in this run"))
            continue
        seen.add(sha)
        fields = meta.rows.get(path.name)
        if index and fields is None:
            index_problems.append(
                f"{path.name}: no row in the index (stored without company, year or type)"
            )
        fields = fields or {}
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
    present = {Path(p).name for p in files}
    if index:  # without an index there are no rows
        for file_name, fields in meta.rows.items():
            if file_name not in present:
                index_problems.append(
                    f"{Path(index).name} line {fields['line']}: {file_name} is not in the folder"
                )
    return SeasonPlan(name, reports, [(str(p), why) for p, why in problems], index_problems)


def apply_index(db: Database, plan: SeasonPlan) -> list[str]:
    """Give reports analysed before the company, year and type the index now says (a
    corrected index), without analysing them again; returns the files changed."""
    register(db, plan.season, plan.reports)
    changed = []
    with db.atomic():
        for row in season_rows(db, plan.season):
            if row["status"] != DONE or not row["document_id"]:
                continue
            doc = get_document(db, row["document_id"])
            fields = {
                k: row[k]
                for k in ("company", "fiscal_year", "report_type")
                if row[k] and row[k] != doc.get(k)
            }
            if fields:
                update_document(db, row["document_id"], fields)
                changed.append(row["file_name"])
    return changed


def without_company(rows: list[dict]) -> list[str]:
    """Files of a season's run stored with no company: they count on no leaderboard."""
    return [r["file_name"] for r in rows if r["status"] == DONE and not r.get("company")]


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
        # The criteria's vectors go into this database as a serial run puts them there.
        analyzer.prepare()
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
    """A private analyzer over a scratch database in memory (its own embedding cache and
    criteria vectors) that computes reports for this process, the only writer: one per
    worker process here, one per Ray actor on a cluster. In memory, so a worker killed
    anyhow leaves no folder behind; the vectors it computes travel back in ``Computed``
    and are stored by the writer. Its embedder uses one core, so workers share the
    machine's cores without fighting."""

    def __init__(self, settings: Settings):
        self.analyzer = Analyzer(open_memory_db(), settings).prepare()
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
            with db.atomic():  # the vectors and the report together, as `analyze` leaves them
                store_vectors(db, analyzer, outcome)
                result = analyzer.store(outcome, meta)
        except Exception as exc:  # e.g. a locked database: this report fails, the run goes on
            result = Result(Path(row["path"]), error=f"not stored: {type(exc).__name__}: {exc}")
    worked = sum(outcome.seconds.values()) if isinstance(outcome, Computed) else 0.0
    record_result(db, season, row, result, worked + time.perf_counter() - clock)
    if progress:
        progress(row, result)


def store_vectors(db: Database, analyzer: Analyzer, computed: Computed) -> None:
    """Keep the passages' vectors a worker computed, as ``analyze`` keeps those it embeds:
    without them dense and hybrid search would not see the report."""
    if computed.vectors is None or not len(computed.passages):
        return
    model = analyzer.embedder.name
    vectors = {p.content_hash: v for p, v in zip(computed.passages, computed.vectors, strict=True)}
    known = cached_vectors(db, vectors, model)  # kept as they are, as `analyze` does
    save_vectors(db, model, {h: v for h, v in vectors.items() if h not in known})


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
        try:
            for future in cf.as_completed(futures):
                path, outcome = future.result()
                finish(db, season, analyzer, by_path[path], outcome, progress)
        except BaseException:  # Ctrl-C: stop now; the workers end with this process
            pool.shutdown(wait=False, cancel_futures=True)
            raise


_WORKER: ComputeWorker | None = None


def _start_worker(settings: Settings) -> None:
    """A worker's start: it ends when the forkserver that forked it does (and that one
    when this run does), so a killed run leaves no worker computing for nobody."""
    global _WORKER
    exit_with_parent(parent_is_one_thread=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle, not ours
    _WORKER = ComputeWorker(settings)


def _compute_in_worker(path: str) -> tuple[str, Computed | str]:
    if _WORKER is None:
        raise RuntimeError("no compute worker in this process: _start_worker did not run")
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
        if result.doc_id is None:
            raise ValueError(f"{row['path']}: analysed without error but no document stored")
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
