"""A season's run on a Ray cluster: workers read and judge, the driver writes.

An optional extra (``pip install 'analyzer[cluster]'``, which brings ``ray[data]``). Each
worker is a Ray actor holding the embedding model and the criteria (loaded once); it parses,
splits, embeds, scores and pre-scores one report at a time (``Analyzer.compute``) and sends
the result back. The driver, the only process that touches the database, writes each
finished report in its own transaction (``Analyzer.store``) and records it in the season's
run, so a run on a cluster resumes exactly like a local one. A report a worker fails on
comes back as a failed row with its reason; it never fails the whole run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from analyzer.db.connection import open_db
from analyzer.db.season_runs import register, season_rows
from analyzer.pipeline import Analyzer, Computed, Result, Settings
from analyzer.season_run import DONE, SeasonPlan, record_result, report_seconds

Progress = Callable[[dict, Result | None], None]


class ClusterUnavailable(Exception):
    """Ray is not installed or the cluster cannot be reached; the message says which."""


class _Worker:
    """One Ray actor: a private analyzer (its own scratch database for the embedding cache
    and the criteria prototypes) that computes reports and returns them to the driver."""

    def __init__(self, settings: Settings):
        self.folder = tempfile.mkdtemp(prefix="analyzer-worker-")
        self.analyzer = Analyzer(open_db(Path(self.folder) / "worker.db"), settings).prepare()

    def compute(self, path: str) -> tuple[str, Computed | str]:
        """(path, the computed report or why it failed)."""
        try:
            return path, self.analyzer.compute(path)
        except Exception as exc:  # reported as a failed report by the driver
            return path, f"{type(exc).__name__}: {exc}"


def run_season_ray(
    db: Database,
    plan: SeasonPlan,
    analyzer: Analyzer,
    address: str | None = None,
    workers: int = 2,
    progress: Progress | None = None,
    num_cpus: int | None = None,
) -> list[dict]:
    """The season's reports not done yet, computed by Ray workers and stored here."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise ClusterUnavailable(
            "Ray is not installed: pip install 'analyzer[cluster]' (brings ray[data])"
        ) from None
    register(db, plan.season, plan.reports)
    todo = [r for r in season_rows(db, plan.season) if r["status"] != DONE]
    if not todo:
        return season_rows(db, plan.season)
    started_here = not ray.is_initialized()
    if started_here:
        try:
            if address in (None, "local"):
                ray.init(num_cpus=num_cpus or workers, include_dashboard=False,
                         log_to_driver=False)  # fmt: skip
            else:
                ray.init(address=address, log_to_driver=False)
        except Exception as exc:
            raise ClusterUnavailable(f"cannot start or reach Ray ({address}): {exc}") from None
    try:
        actor = ray.remote(num_cpus=1)(_Worker)
        pool = ActorPool([actor.remote(analyzer.settings) for _ in range(max(1, workers))])
        by_path = {r["path"]: r for r in todo}
        results = pool.map_unordered(
            lambda worker, path: worker.compute.remote(path), list(by_path)
        )
        for path, outcome in results:
            row = by_path[path]
            clock = time.perf_counter()
            meta = {k: row[k] for k in ("company", "fiscal_year", "report_type") if row.get(k)}
            if isinstance(outcome, str):
                result = Result(Path(path), error=outcome)
            else:
                result = analyzer.store(outcome, meta)
            record_result(db, plan.season, row, result, report_seconds(outcome, clock))
            if progress:
                progress(row, result)
    finally:
        if started_here:
            ray.shutdown()
    return season_rows(db, plan.season)
