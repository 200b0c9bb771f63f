"""A season's run side by side: serial, parallel on one machine, and on a local Ray instance.

Usage:  python benchmarks/season.py [FOLDER] [--index INDEX.csv] [--out benchmarks/results]
        [--no-ray] [--single REPORT.pdf]

FOLDER defaults to ../shared/corpus (with its INDEX.csv). Each mode analyses every report
into a fresh database with the same embedder: "serial" is today's `analyzer analyze
FOLDER` loop (one report after the other), "parallel" is `analyzer season run` (the next
report is read in a child process while this one is embedded), "ray" the same season on
`ray.init(num_cpus=2)` with two workers. The candidates of every mode must be identical.
Reported: wall seconds, pages/s, CPU seconds (this process and its children) over wall
time, and the database writer's rows per second (what bounds a cluster). With --single, one
report is also timed as a user sees it: the whole `analyzer analyze` command, process start
to exit, fresh database, beside the embedding of the same passages alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

from analyzer.db.connection import open_db  # noqa: E402
from analyzer.embeddings.model import get_embedder  # noqa: E402
from analyzer.pipeline import Analyzer, Settings  # noqa: E402
from analyzer.season_run import plan_season, run_season  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (all cores, /proc/stat): worker processes,
    parse children and Ray actors are not this process's waited-for children, so only the
    machine-wide count sees them. Meaningful on an otherwise quiet machine."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        own = resource.getrusage(resource.RUSAGE_SELF)
        return own.ru_utime + own.ru_stime


def candidates_of(path: Path) -> list[tuple]:
    con = sqlite3.connect(path)
    rows = con.execute(
        "select d.sha256, c.criterion_id, c.rank, p.content_hash, c.quote from candidates c "
        "join documents d on d.id = c.document_id join passages p on p.id = c.passage_id"
    ).fetchall()
    written = sum(
        con.execute(f"select count(*) from {t}").fetchone()[0]
        for t in ("documents", "pages", "passages", "embeddings", "candidates", "drafts", "runs")
    )
    con.close()
    return sorted(rows), written


def run_mode(mode: str, plan, embedder, folder: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{mode}.db"
        db = open_db(path)
        analyzer = Analyzer(db, Settings(), embedder).prepare()
        store_seconds = []

        original = analyzer.store

        def timed_store(*args, **kwargs):
            clock = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                store_seconds.append(time.perf_counter() - clock)

        analyzer.store = timed_store
        cpu, clock = cpu_seconds(), time.perf_counter()
        if mode == "serial":
            rows = []
            for report in plan.reports:
                meta = {k: report[k] for k in ("company", "fiscal_year", "report_type")}
                rows.append(analyzer.analyze(report["path"], meta))
            pages = sum(r.pages for r in rows if not r.error)
        elif mode == "parallel":
            rows = run_season(db, plan, analyzer, None, parallel=True)
            pages = sum(r["pages"] or 0 for r in rows if r["status"] == "done")
        else:
            from analyzer.season_ray import run_season_ray

            rows = run_season_ray(db, plan, analyzer, "local", workers=2, num_cpus=2)
            pages = sum(r["pages"] or 0 for r in rows if r["status"] == "done")
        wall = time.perf_counter() - clock
        used = cpu_seconds() - cpu
        db.conn.close()
        found, written = candidates_of(path)
    return {
        "mode": mode,
        "seconds": round(wall, 1),
        "pages": pages,
        "pages_per_second": round(pages / wall, 1),
        "cpu_use": round(used / wall, 2),
        "store_seconds": round(sum(store_seconds), 2),
        "rows_written": written,
        "writer_rows_per_second": round(written / max(sum(store_seconds), 1e-9)),
        "candidates": found,
    }


def single_report(report: Path) -> dict:
    """The whole `analyzer analyze` command, process start to exit, fresh database, beside
    a process that loads the same embedder and embeds the same passages alone."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ANALYZER_DB": str(Path(tmp) / "one.db")}
        clock = time.perf_counter()
        subprocess.run([sys.executable, "-m", "analyzer", "analyze", str(report)], env=env,
                       check=True, capture_output=True)  # fmt: skip
        command = time.perf_counter() - clock
        con = sqlite3.connect(Path(tmp) / "one.db")
        texts = [r[0] for r in con.execute("select text from passages order by seq")]
        con.close()
        (Path(tmp) / "texts.json").write_text(json.dumps(texts))
        floor_code = (
            "import json,sys; from analyzer.embeddings.model import get_embedder; "
            "e=get_embedder(); e.encode(json.load(open(sys.argv[1])))"
        )
        clock = time.perf_counter()
        subprocess.run([sys.executable, "-c", floor_code, str(Path(tmp) / "texts.json")],
                       check=True, env=env, capture_output=True)  # fmt: skip
        floor = time.perf_counter() - clock
    return {
        "report": report.name,
        "passages": len(texts),
        "command_seconds": round(command, 2),
        "embedding_alone_seconds": round(floor, 2),
        "ratio": round(command / floor, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("--index", default=None)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--single", default=None, help="also time one report's whole command")
    args = parser.parse_args()
    folder = Path(args.folder)
    index = args.index or (folder / "INDEX.csv" if (folder / "INDEX.csv").exists() else None)
    plan = plan_season(folder, "2025", index)
    embedder = get_embedder()
    embedder.encode(["warm-up"])
    modes = ["serial", "parallel"] + ([] if args.no_ray else ["ray"])
    results = []
    for mode in modes:
        print(f"{mode} ...", file=sys.stderr, flush=True)
        results.append(run_mode(mode, plan, embedder, folder))
    same = all(r["candidates"] == results[0]["candidates"] for r in results)
    serial = results[0]["seconds"]
    single = single_report(Path(args.single)) if args.single else None
    single_flag = f" --single {args.single}" if args.single else ""
    lines = [
        "# Season benchmark: serial, parallel and Ray, side by side",
        "",
        f"- command: `python benchmarks/season.py{single_flag}`, "
        f"run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {os.cpu_count()} cores ({cpu_model()}); embedder {embedder.name}",
        f"- reports: {len(plan.reports)} in {folder} ({sum(r['pages'] for r in results[:1])} "
        "pages analysed per mode, OCR of pages without a text layer included)",
        f"- identical candidates in every mode: {'yes' if same else 'NO'}",
        "",
        "| mode | seconds | pages/s | speed-up vs serial | CPU use (cores busy) | store s "
        "| writer rows/s |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['mode']} | {r['seconds']} | {r['pages_per_second']} | "
            f"{serial / r['seconds']:.2f}x | {r['cpu_use']} | {r['store_seconds']} | "
            f"{r['writer_rows_per_second']:,} |"
            for r in results
        ),
        "",
    ]
    if single:
        lines += [
            f"One report as a user waits for it ({single['report']}, {single['passages']} "
            f"passages, fresh database): the whole `analyzer analyze` command "
            f"{single['command_seconds']} s, embedding the same passages alone (process "
            f"start, model load, encode) {single['embedding_alone_seconds']} s: "
            f"ratio {single['ratio']} (target 1.3).",
            "",
        ]
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "season.md").write_text(text + "\n", encoding="utf-8")
    data = [{k: v for k, v in r.items() if k != "candidates"} for r in results]
    (out / "season.json").write_text(
        json.dumps({"modes": data, "identical": same, "single": single}, indent=2) + "\n"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
