"""Grouped 5-fold cross-validation of the evidence classifier on the AIMS.au dev set.

    python benchmarks/aims_au.py [CSV] --out benchmarks/results/aims-au.md

Embeds every sentence once with the default embedder, then runs GroupKFold(5) by statement
for the default model, the plain TF-IDF + LogisticRegression baseline and a few variants,
all on the same folds, and writes a Markdown report (per-label table and macro F1).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

from analyzer.embeddings.model import get_embedder
from analyzer.scoring.classifier import EvidenceClassifier
from analyzer.scoring.sentence_sets import grouped_cv, read_labelled_csv

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "datasets" / "aims-au-gold-dev.csv"

VARIANTS = {
    "default: embedding + TF-IDF, calibrated, tuned thresholds": {},
    "embedding + TF-IDF, cut at 0.5": dict(threshold=0.5, calibrate=False),
    "embedding only, tuned thresholds": dict(features="embedding"),
    "embedding only, cut at 0.5": dict(features="embedding", threshold=0.5, calibrate=False),
    "TF-IDF only, tuned thresholds": dict(features="tfidf"),
    "TF-IDF only, cut at 0.5 (= baseline)": dict(features="tfidf", threshold=0.5, calibrate=False),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="?", default=str(DEFAULT_CSV))
    ap.add_argument("--text-column", default="sentence")
    ap.add_argument("--group-column", default="statement_id")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", help="write the Markdown report here (default: stdout)")
    args = ap.parse_args(argv)

    data = read_labelled_csv(args.csv, args.text_column, None, args.group_column)
    embedder = get_embedder()
    t0 = time.perf_counter()
    vectors = embedder.encode(data.texts)
    embed_s = time.perf_counter() - t0

    results = {}
    for name, params in VARIANTS.items():
        t0 = time.perf_counter()
        cv = grouped_cv(
            data.texts,
            data.Y,
            data.groups,
            vectors,
            lambda params=params: EvidenceClassifier(labels=data.labels, **params),
            n_splits=args.folds,
            labels=data.labels,
            with_baseline=not results,  # the baseline once, on the same folds
        )
        results[name] = (cv, time.perf_counter() - t0)
        print(f"{name}: macro F1 {cv['model']['macro_f1']:.4f}", file=sys.stderr)

    first = next(iter(VARIANTS))
    model = results[first][0]["model"]
    baseline = results[first][0]["baseline"]
    n = len(data.texts)
    command = "python benchmarks/aims_au.py" + (f" --out {args.out}" if args.out else "")
    lines = [
        "# Evidence classifier on AIMS.au gold dev: grouped 5-fold cross-validation",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command}`",
        f"- machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}",
        f"- data: `{Path(args.csv).name}`, {n} sentences from {len(set(data.groups))} "
        f"statements, {len(data.labels)} labels, sha256 `{data.sha256[:16]}...`",
        f"- folds: GroupKFold({args.folds}) by `{args.group_column}` (no statement in both "
        "train and test); every row below uses the same folds",
        f"- embeddings: {embedder.name}, {n} sentences in {embed_s:.1f} s ({n / embed_s:.0f}/s)",
        "- model: one LogisticRegression(class_weight='balanced') per label over "
        "[embedding | TF-IDF words+bigrams (sublinear tf, min_df=2)], Platt-calibrated on "
        "inner GroupKFold(3) out-of-fold scores, per-label threshold maximising inner F1",
        "- baseline: TF-IDF words+bigrams (same settings) + LogisticRegression"
        "(class_weight='balanced'), threshold 0.5 (without class weights the same "
        "baseline scores far lower: most rare labels are never predicted)",
        "",
        f"**Macro F1: model {model['macro_f1']:.3f}, baseline {baseline['macro_f1']:.3f} "
        f"({model['macro_f1'] - baseline['macro_f1']:+.3f}).**",
        "",
        "| label | support | model P | model R | model F1 | baseline P | baseline R | "
        "baseline F1 | F1 diff |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in data.labels:
        m, b = model["labels"][name], baseline["labels"][name]
        lines.append(
            f"| {name} | {m['support']} | {m['precision']:.3f} | {m['recall']:.3f} | "
            f"**{m['f1']:.3f}** | {b['precision']:.3f} | {b['recall']:.3f} | {b['f1']:.3f} | "
            f"{m['f1'] - b['f1']:+.3f} |"
        )
    lines.append(
        f"| **macro** | | | | **{model['macro_f1']:.3f}** | | | "
        f"{baseline['macro_f1']:.3f} | {model['macro_f1'] - baseline['macro_f1']:+.3f} |"
    )
    lines += [
        "",
        "## Variants (same folds)",
        "",
        "| variant | macro F1 | CV seconds |",
        "|---|---:|---:|",
    ]
    for name, (cv, seconds) in results.items():
        lines.append(f"| {name} | {cv['model']['macro_f1']:.3f} | {seconds:.0f} |")
    lines += [
        "",
        "Caveats: the default was chosen from these variants on these same folds, so its",
        "lead is slightly optimistic; with 25 statements and labels of 18-34 positives, one",
        "fold split moves per-label F1 by several points. A side grid (embedding weight",
        "0.5/2, C 0.3/3, 5 inner folds) gave 0.540-0.564 macro F1, so the defaults",
        "(weight 1, C 1, 3 inner folds) were kept rather than tuned further on this set.",
        "",
    ]
    text = "\n".join(lines)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
