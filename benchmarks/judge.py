"""The evidence model and judge against the report-level gold (issue 17).

Usage:  python benchmarks/judge.py --db CORPUS_DB [--folds 4] [--learning-curve] [--save-model]

CORPUS_DB holds the gold's reports analysed (``analyzer analyze ../shared/corpus
../shared/retrieval ../shared/more/*-en.pdf --db CORPUS_DB``). Reports in ../shared/retrieval
are the held-out batch: never in a fold, judged once by the model fitted on all the others.
Writes benchmarks/results/judge.md and judge.json; with --save-model the model fitted on all
cross-validated reports (evidence model + judge) goes to models/evidence-VERSION-TIME/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

from analyzer.criteria.sets import REPO_ROOT, load_criteria  # noqa: E402
from analyzer.db.connection import open_db  # noqa: E402
from analyzer.embeddings.model import resolve_model  # noqa: E402
from analyzer.pipeline import Analyzer, Settings  # noqa: E402
from analyzer.scoring.gold import GOLD_FILE  # noqa: E402
from analyzer.scoring.judge_training import evaluate_on_gold  # noqa: E402
from analyzer.scoring.labels import label_files, load_training_labels  # noqa: E402

GOALS = "exact >= 0.75, QWK >= 0.70, present/absent balanced accuracy >= 0.85"


def row(name: str, f: dict) -> str:
    ba = f["present_balanced_accuracy"]
    return (
        f"| {name} | {f['pairs']} | {f['exact']:.2f} | {f['within_one']:.2f} | {f['qwk']:.2f} "
        f"| {'-' if ba is None else f'{ba:.2f}'} | {f['false_alarms']} | {f['misses']} |"
    )


def markdown(result: dict) -> str:
    cv, held = result["cross_validated"], result.get("held_out")
    head = (
        "| draft | pairs | exact | within one | QWK | present/absent bal. acc. "
        "| false alarms | misses |"
    )
    lines = [
        "# Evidence model and judge: draft level per report and criterion against the gold",
        "",
        f"Command: `{result['command']}`, run {result['date']} on {result['machine']} "
        f"({result['seconds']:.0f} s). Data: labels/gold/gold.jsonl; {cv['n_reports']} reports "
        f"in {result['folds']} folds grouped by company; held out: "
        f"{', '.join(result['held_out_files'])}.",
        "",
        head,
        "|---|---|---|---|---|---|---|---|",
        row("judge, out of fold", cv["model"]),
        row("answering 0 everywhere", cv["all_zero"]),
    ]
    if held:
        lines += [
            row("judge, held-out batch (judged once)", held["model"]),
            row("answering 0 everywhere, held out", held["all_zero"]),
        ]
    lines += ["", f"Goals (issue 17): {GOALS}.", ""]
    if "learning_curve" in result:
        lines += [
            "Learning curve (out of fold, each fold trained on a share of its training reports):",
            "",
            "| share of training reports | exact | QWK | present/absent bal. acc. |",
            "|---|---|---|---|",
            *(
                f"| {k} | {v['exact']:.2f} | {v['qwk']:.2f} "
                f"| {v['present_balanced_accuracy']:.2f} |"
                for k, v in result["learning_curve"].items()
            ),
            "",
        ]
    if "read_twice" in result:
        rt = result["read_twice"]
        lines += [
            f"Read twice (every passage of a report twice, shipped model): {rt['changed']} of "
            f"{rt['levels']} levels changed over {len(rt['reports'])} reports "
            f"({', '.join(rt['reports'])}).",
            "",
        ]
    lines += ["| report | gold points | draft points | exact |", "|---|---|---|---|"]
    for section in (cv, held or {}):
        for name, v in section.get("reports", {}).items():
            lines.append(
                f"| {name} | {v['gold_points']} | {v['draft_points']} | {v['exact']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the analysed corpus database")
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks" / "results"))
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--learning-curve", action="store_true")
    parser.add_argument("--save-model", action="store_true")
    parser.add_argument("--base-model", default=None, help="folder to fine-tune (default: MiniLM)")
    parser.add_argument(
        "--model-dir", default=None, help="with --save-model: this folder (reused if fitted)"
    )
    parser.add_argument("--work", default=None, help="folder for the fold models (default: temp)")
    parser.add_argument(
        "--held-out",
        default=str(REPO_ROOT.parent / "shared" / "retrieval"),
        help="gold reports in this folder stay out of the folds ('' for none)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    held = {p.name for p in Path(args.held_out).glob("*.pdf")} if args.held_out else set()
    db = open_db(args.db)
    criteria = load_criteria()
    analyzer = Analyzer(db, Settings(use_classifier=False))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    fresh = REPO_ROOT / "models" / f"evidence-{criteria.version}-{stamp}"
    save_to = (Path(args.model_dir) if args.model_dir else fresh) if args.save_model else None
    result = evaluate_on_gold(
        db, criteria, analyzer.embed_texts, analyzer.embedder.name,
        load_training_labels(label_files()), GOLD_FILE, args.base_model or resolve_model()[1],
        Path(args.work or tempfile.mkdtemp(prefix="analyzer-judge-")), held, args.folds,
        args.learning_curve, save_to, say,
    )  # fmt: skip
    command = "python benchmarks/judge.py --db CORPUS_DB"
    command += " --learning-curve" if args.learning_curve else ""
    command += " --save-model" if args.save_model else ""
    result.update(
        machine=f"{cpu_model()}, {os.cpu_count()} cores",
        seconds=time.perf_counter() - started,
        command=command,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "judge.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (out / "judge.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
