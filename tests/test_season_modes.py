"""Every way of analysing a season ends with the same database, every table and row of it.

The same folder goes through `season run` with worker processes, `--serial` and `analyze`
(``Analyzer.analyze`` per report, what the command does for each file), each into a fresh
database file; the Ray mode is compared in ``tests/test_season_ray.py`` with the same
helper. ``whole_database`` reads every table (embeddings included, vector bytes and all)
and replaces only what must differ between runs: row ids, which depend on the order the
workers finish in, become the rows' natural keys (a document's file hash, a passage's
document and position), and clock readings (times, seconds) are left out. A mode that
forgot a table, a row or a column value is caught, not just one that chose other
candidates.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import pytest

from analyzer.db.connection import open_db
from analyzer.pipeline import Analyzer, Settings
from analyzer.season_run import plan_season, run_season
from tests.test_season import season_folder

pytestmark = pytest.mark.slow

CLOCK = {"created_at", "updated_at", "started_at", "finished_at", "applied_at", "seconds"}
SKIPPED_TABLES = {"_sqlite_migrations"}  # when each migration ran


def whole_database(path: Path, season: bool = True) -> dict[str, list]:
    """Every table's rows, sorted, with ids turned into natural keys and clocks left out.
    ``season=False`` leaves out what only a season run records (for `analyze`)."""
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    q = con.execute
    doc_key = {r["id"]: r["sha256"] for r in q("select id, sha256 from documents")}
    passage_key = {
        r["id"]: (doc_key[r["document_id"]], r["seq"])
        for r in q("select id, document_id, seq from passages")
    }
    run_key = {r["id"]: (r["file"], r["status"]) for r in q("select id, file, status from runs")}
    keys = {
        "document_id": doc_key,
        "previous_version_id": doc_key,
        "passage_id": passage_key,
        "run_id": run_key,
    }
    tables = [
        r[0]
        for r in q("select name from sqlite_master where type = 'table' order by name")
        if r[0] not in SKIPPED_TABLES and not r[0].startswith("passage_fts_")
    ]
    out: dict[str, list] = {}
    for table in tables:
        if table == "season_runs" and not season:
            continue
        rows = []
        select = "select rowid as rowid_, * from passage_fts" if table == "passage_fts" else None
        for row in q(select or f"select * from [{table}]"):
            item = {}
            for column in row.keys():  # noqa: SIM118 (a Row iterates its values)
                value = row[column]
                if column in CLOCK or (column == "season" and not season):
                    continue
                if column == "rowid_":  # the full-text index's rowid is the passage id
                    column, value = "passage", passage_key[value]
                elif column == "id" and table in ("documents", "passages", "runs", "candidates"):
                    continue
                elif column in keys and value is not None:
                    value = keys[column][value]
                elif table == "runs" and column == "stats":
                    value = {k: v for k, v in json.loads(value).items() if k != "seconds"}
                elif table == "drafts" and column == "evidence":
                    value = [passage_key[i] for i in json.loads(value)]
                item[column] = value
            rows.append(repr(sorted(item.items())))
        out[table] = sorted(rows)
    con.close()
    return out


def differences(a: dict[str, list], b: dict[str, list]) -> list[str]:
    """Readable differences, table by table (an assertion message, not a 10,000-line diff)."""
    found = []
    for table in sorted(set(a) | set(b)):
        left, right = a.get(table, []), b.get(table, [])
        if left != right:
            only_a = sorted(set(left) - set(right))[:2]
            only_b = sorted(set(right) - set(left))[:2]
            found.append(f"{table}: {len(left)} vs {len(right)} rows; {only_a} vs {only_b}")
    return found


def test_workers_serial_and_analyze_store_the_same_database(tmp_path, sample_pdf, embedder):
    folder, index = season_folder(tmp_path, sample_pdf)
    plan = plan_season(folder, "2025", index)
    scratch_before = set(Path(tempfile.gettempdir()).glob("analyzer-*"))

    serial = tmp_path / "serial.db"
    db = open_db(serial)
    run_season(db, plan, Analyzer(db, Settings(), embedder), None, parallel=False)

    workers = tmp_path / "workers.db"
    db = open_db(workers)
    run_season(db, plan, Analyzer(db, Settings(), embedder), None, parallel=True)

    analyzed = tmp_path / "analyze.db"
    db = open_db(analyzed)
    analyzer = Analyzer(db, Settings(), embedder)
    for report in plan.reports:
        meta = {k: report[k] for k in ("company", "fiscal_year", "report_type") if report[k]}
        analyzer.analyze(report["path"], meta)

    reference = whole_database(serial)
    assert len(reference["embeddings"]) > len(reference["passages"]) / 2, "passages embedded"
    with sqlite3.connect(workers) as con:
        unembedded = con.execute(
            "select count(*) from passages p where not exists "
            "(select 1 from embeddings e where e.content_hash = p.content_hash)"
        ).fetchone()[0]
    assert unembedded == 0, "every passage a worker computed has its vector stored"
    assert differences(whole_database(workers), reference) == []
    assert differences(whole_database(analyzed, season=False), whole_database(serial, False)) == []
    # Workers keep their scratch database in memory: no folder is left in /tmp.
    assert set(Path(tempfile.gettempdir()).glob("analyzer-*")) - scratch_before == set()
