"""The pre-score itself against the report-level gold: a level for every criterion of a report.

Usage:  python benchmarks/prescore.py --db CORPUS_DB [--out benchmarks/results] [--save-model]

CORPUS_DB is ../shared/corpus analysed (``analyzer analyze ../shared/corpus --db CORPUS_DB``).
Cross-validates the pre-score model (folds grouped by company) on labels/gold/gold.jsonl and
writes prescore.md and prescore.json beside the all-zero answer and today's drafts (the
candidates stored in CORPUS_DB, judged by the shipped per-criterion classifiers through the
one verdict rule; "not assessed" counts as level 0 for agreement and lowers coverage).
With --save-model the model is then fitted on every report and saved under models/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

from analyzer.criteria.sets import REPO_ROOT, load_criteria  # noqa: E402
from analyzer.db.connection import open_db  # noqa: E402
from analyzer.pipeline import Analyzer, Settings  # noqa: E402
from analyzer.scoring.labels import label_files, load_training_labels  # noqa: E402
from analyzer.scoring.prescore_training import (  # noqa: E402
    evaluate_on_gold,
    fit,
    model_card,
)


def row(name: str, f: dict) -> str:
    ba = "-" if f["present_balanced_accuracy"] is None else f"{f['present_balanced_accuracy']:.2f}"
    return (
        f"| {name} | {f['exact']:.2f} | {f['within_one']:.2f} | {f['qwk']:.2f} | {ba} "
        f"| {f['coverage']:.2f} | {f['false_alarms']} | {f['misses']} |"
    )


def table(section: dict) -> list[str]:
    return [
        "| draft | exact level | within one | QWK | present/absent bal. acc. | coverage "
        "| false alarms | misses |",
        "|---|---|---|---|---|---|---|---|",
        row("pre-score model (this run)", section["model"]),
        *(
            [row("today's drafts (per-criterion classifiers + verdict rule)", section["today"])]
            if "today" in section
            else []
        ),
        row("answering 0 everywhere", section["all_zero"]),
    ]


def markdown(result: dict, seconds: float, command: str) -> str:
    held = result.get("held_out")
    lines = [
        "# Pre-score evaluation: draft level per report and criterion against the gold",
        "",
        f"Command: `{command}`, run {result['date']} on {result['machine']} "
        f"({seconds:.0f} s). Data: labels/gold/gold.jsonl ({result['reports']} reports x 40 "
        f"criteria, {result['model']['pairs']} pairs), {result['folds']} folds grouped by "
        "company.",
        "",
    ]
    lines += [
        *table(result),
        "",
        "Goals (issue 10): exact >= 0.75, QWK >= 0.70, present/absent balanced accuracy >= 0.85,"
        " coverage 1.0.",
        "",
        "Today's drafts are an in-sample reading: the shipped per-criterion classifiers were "
        "trained on passage labels drawn from these same reports, and they give a verdict for "
        "fewer than half of the pairs (coverage; the rest count as level 0 here). The pre-score "
        "figures are out-of-fold: no report's company was in the training folds that judged it.",
        "",
        *(
            [
                f"Held out: {held['reports']} reports ({', '.join(held['files'])}; "
                f"{held['model']['pairs']} pairs) never in any fold, "
                "judged once by the model fitted on all the reports above (the shipped model):",
                "",
                *table(held),
                "",
                "| company (held out) | gold points | draft points |",
                "|---|---|---|",
                *(
                    f"| {c} | {v['gold_points']} | {v['draft_points']} |"
                    for c, v in held["companies"].items()
                ),
                "",
            ]
            if held
            else []
        ),
        f"Retrieval of a gold passage: hit@5 {result['retrieval']['hit_at_5']}, MRR@5 "
        f"{result['retrieval']['mrr_at_5']} over "
        f"{result['retrieval']['pairs_with_a_located_gold_passage']} pairs whose gold quote "
        f"was found in the top {result['top_k']} passages by hybrid score.",
        "",
        "| company | gold points | draft points |",
        "|---|---|---|",
        *(
            f"| {c} | {v['gold_points']} | {v['draft_points']} |"
            for c, v in result["companies"].items()
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the analysed corpus database")
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks" / "results"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--save-model", action="store_true")
    parser.add_argument(
        "--today-db",
        help="the database whose stored drafts are 'today' (default: --db); e.g. the corpus "
        "as the first version analysed it, with its per-criterion classifiers",
    )
    parser.add_argument(
        "--held-out",
        default=str(REPO_ROOT.parent / "shared" / "retrieval"),
        help="gold reports in this folder stay out of the folds and are judged once by the "
        "model fitted on the rest (default ../shared/retrieval; '' for none)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    held_out = {p.name for p in Path(args.held_out).glob("*.pdf")} if args.held_out else set()
    db = open_db(args.db)
    criteria = load_criteria()
    analyzer = Analyzer(db, Settings(use_classifier=False))
    labels = load_training_labels(label_files())
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    result, reports = evaluate_on_gold(
        db, criteria, analyzer.embed_texts, analyzer.embedder.name, labels, folds=args.folds,
        progress=say, today_db=open_db(args.today_db) if args.today_db else None, held_out=held_out,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    result.update(
        date=datetime.now(UTC).strftime("%Y-%m-%d"),
        machine=f"{cpu_model()}, {os.cpu_count()} cores",
        top_k=reports[0].features.X[0].shape[0] if reports else 0,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/prescore.py --db CORPUS_DB"
    command += " --today-db FIRST_VERSION_DB" if args.today_db else ""
    command += " --save-model" if args.save_model else ""
    (out / "prescore.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "prescore.md").write_text(markdown(result, seconds, command))
    print(markdown(result, seconds, command))
    if args.save_model:
        model = fit(reports)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        model.card = model_card(
            model, reports, criteria, created=stamp,
            embedding_model=analyzer.embedder.name,
            cross_validated=result["model"], today=result["today"], all_zero=result["all_zero"],
            **({"held_out": {k: result["held_out"][k] for k in ("files", "model", "all_zero")}}
               if "held_out" in result else {}),
        )  # fmt: skip
        path = model.save(REPO_ROOT / "models" / f"prescore-{criteria.version}-{stamp}")
        print(f"saved {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
