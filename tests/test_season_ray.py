"""The same season on a local Ray instance (ray.init(num_cpus=2)): workers compute, the
driver stores; the database ends identical to the local run's in every table, embeddings
included (``tests/test_season_modes.py`` ``whole_database``). Skipped with a reason when
Ray (the optional `cluster` extra) is not installed."""

from __future__ import annotations

import pytest

from analyzer.db.connection import open_db
from analyzer.pipeline import Analyzer, Settings
from analyzer.season_run import plan_season, run_season
from tests.test_season import season_folder
from tests.test_season_modes import differences, whole_database

ray = pytest.importorskip("ray", reason="Ray tier skipped: pip install 'analyzer[cluster]'")
pytestmark = pytest.mark.slow


def test_a_season_on_local_ray_ends_as_the_local_run(tmp_path, sample_pdf, embedder):
    from analyzer.season_ray import run_season_ray

    folder, index = season_folder(tmp_path, sample_pdf)
    plan = plan_season(folder, "2025", index)
    local = tmp_path / "local.db"
    run_season(open_db(local), plan, Analyzer(open_db(local), Settings(), embedder), None, False)

    clustered = tmp_path / "ray.db"
    db = open_db(clustered)
    finished = []
    rows = run_season_ray(
        db, plan, Analyzer(db, Settings(), embedder), "local", workers=2, num_cpus=2,
        progress=lambda row, result: finished.append(row["file_name"]),
    )  # fmt: skip
    assert sorted(finished) == sorted(r["file_name"] for r in plan.reports)
    failed = {r["file_name"]: r["error"] for r in rows if r["status"] == "failed"}
    assert list(failed) == ["broken-2025.pdf"] and "not a PDF" in failed["broken-2025.pdf"]
    assert differences(whole_database(clustered), whole_database(local)) == []
