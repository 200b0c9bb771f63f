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

from collections.abc import Callable

from sqlite_utils import Database

from analyzer.db.season_runs import season_rows
from analyzer.pipeline import Analyzer, Result
from analyzer.season_run import ComputeWorker, SeasonPlan, finish, pending

Progress = Callable[[dict, Result | None], None]


class ClusterUnavailable(Exception):
    """Ray is not installed or the cluster cannot be reached; the message says which."""


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
    todo = pending(db, plan)
    if not todo:
        return season_rows(db, plan.season)
    analyzer.prepare()  # the criteria's vectors into this database, as a local run does
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
        actor = ray.remote(num_cpus=1)(ComputeWorker)
        pool = ActorPool([actor.remote(analyzer.settings) for _ in range(max(1, workers))])
        by_path = {r["path"]: r for r in todo}
        results = pool.map_unordered(
            lambda worker, path: worker.compute.remote(path), list(by_path)
        )
        for path, outcome in results:
            finish(db, plan.season, analyzer, by_path[path], outcome, progress)
    finally:
        if started_here:
            ray.shutdown()
    return season_rows(db, plan.season)
