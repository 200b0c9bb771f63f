"""What the evidence model and judge add to the whole `analyzer analyze` command (issue 17).

Usage:  python benchmarks/judge_cost.py [REPORT ...] [--runs 2] [--out FILE.md]

For each report (default: the Volkswagen 2022 and 2021 reports of ../shared/corpus), in one
run and each into a fresh database: the whole command a user types, process start to exit,
with the shipped evidence model and judge, and the same command with ``--no-classifier``
(zero-shot: no evidence model); then the evidence model's own pass over the same
criterion-passage pairs, alone. The added share is (with - without) / without; the goal is at
most 0.25.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


def whole_command(report: Path, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        done = subprocess.run(
            ["analyzer", "analyze", str(report), "--db", f"{tmp}/a.db", *extra],
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"analyze failed on {report}: {done.stderr[-500:]}")
        if extra == [] and "evidence model and judge" not in done.stderr + done.stdout:
            raise SystemExit("no shipped evidence model was used: train one first")
        return seconds


def model_pass(report: Path) -> tuple[float, int]:
    """The evidence model alone on the report's pools (as analyze builds them)."""
    from analyzer.db.connection import open_db
    from analyzer.db.passages import load_passages
    from analyzer.pipeline import Analyzer
    from analyzer.scoring.evidence import EvidenceModel, criterion_text
    from analyzer.scoring.judge import POOL, pool
    from analyzer.scoring.scorers import HybridScorer

    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(f"{tmp}/a.db")
        analyzer = Analyzer(db)
        result = analyzer.analyze(report)
        passages = [p for _, p in load_passages(db, result.doc_id)]
        texts = [p.text for p in passages]
        hashes = [p.content_hash for p in passages]
        vectors = analyzer.embed_texts(texts)
        hybrid = HybridScorer(analyzer.criteria, analyzer.embed_criteria_texts).score(
            texts, vectors
        )
        left, right = [], []
        for j, c in enumerate(analyzer.criteria.criteria):
            for i in pool(hybrid[:, j], hashes, POOL):
                left.append(criterion_text(c))
                right.append(texts[int(i)])
        model = EvidenceModel(analyzer.prescorer.path).load()  # type: ignore[union-attr]
        started = time.perf_counter()
        model.predict_proba(left, right)
        seconds = time.perf_counter() - started
        return seconds, len(left)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="*")
    parser.add_argument("--runs", type=int, default=2, help="runs per command (the best kept)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "judge-cost.md"))
    args = parser.parse_args()
    reports = [Path(r) for r in args.reports] or [
        CORPUS / "volkswagen-2022-sustainability-report.pdf",
        CORPUS / "volkswagen-2021-sustainability-report.pdf",
    ]
    for r in reports:
        if not r.is_file():
            print(f"error: {r}: no such report", file=sys.stderr)
            return 1
    rows = []
    for report in reports:
        with_model = min(whole_command(report, []) for _ in range(args.runs))
        without = min(whole_command(report, ["--no-classifier"]) for _ in range(args.runs))
        alone, pairs = model_pass(report)
        rows.append((report.name, with_model, without, alone, pairs))
        print(report.name, with_model, without, alone, pairs, file=sys.stderr)
    lines = [
        "# What the evidence model and judge add to `analyzer analyze`",
        "",
        f"Command: `python benchmarks/judge_cost.py`, run {datetime.now(UTC):%Y-%m-%d} on "
        f"{cpu_model()}, {os.cpu_count()} cores; whole commands timed process start to exit, "
        f"each into a fresh database, best of {args.runs}.",
        "",
        "| report | with evidence model (s) | --no-classifier (s) | added | model pass alone "
        "(s) | pairs |",
        "|---|---|---|---|---|---|",
    ]
    for name, w, wo, alone, pairs in rows:
        lines.append(
            f"| {name} | {w:.1f} | {wo:.1f} | {(w - wo) / wo:+.0%} | {alone:.1f} | {pairs} |"
        )
    lines += ["", "Goal (issue 17): added <= +25% on Volkswagen 2022.", ""]
    text = "\n".join(lines)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
