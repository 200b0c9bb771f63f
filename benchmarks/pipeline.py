"""Benchmark the evidence pipeline on a folder of reports and print the numbers per stage.

Usage:  python benchmarks/pipeline.py [FOLDER] [--backend onnx|torch] [--out FILE.md]

FOLDER defaults to ../shared/corpus. Each report is analysed three ways, each into a
fresh database: first sight (nothing cached), second sight (same database, so every
passage is already embedded), and embedding alone (the same passage texts through the
same model with no parsing, scoring or storing), which is the floor the pipeline is
measured against. The pre-score's share (judging every criterion, the ``judge`` stage) is
reported against the rest of the first-sight time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

from analyzer.db.connection import open_db  # noqa: E402
from analyzer.embeddings.model import get_embedder  # noqa: E402
from analyzer.passages import split_passages  # noqa: E402
from analyzer.pipeline import Analyzer, Settings  # noqa: E402
from analyzer.reading.limits import Limits  # noqa: E402
from analyzer.reading.parsing import parse_pdf  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("--backend", default=None, help="embedding backend (default: onnx)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    parser.add_argument(
        "--command",
        default=None,
        help="also time this report as a user waits for it: the whole `analyzer analyze` "
        "command, process start to exit, beside embedding its passages alone",
    )
    args = parser.parse_args()

    folder = Path(args.folder)
    reports = sorted(folder.glob("*.pdf"))
    if not reports:
        print(f"error: {folder}: no PDF reports found", file=sys.stderr)
        return 1

    clock = time.perf_counter()
    embedder = get_embedder(args.model, args.backend)
    embedder.encode(["warm-up"])
    load_seconds = time.perf_counter() - clock

    # Parsing alone, on one core, over the whole folder: the text layer, then with OCR of
    # the pages that have none (Tesseract), which is a stage of its own.
    parse_pages, parse_seconds, ocr_seconds, ocr_pages = 0, 0.0, 0.0, 0
    for path in reports:
        try:
            clock = time.perf_counter()
            doc = parse_pdf(path, Limits(ocr=False))
            plain = time.perf_counter() - clock
            clock = time.perf_counter()
            with_ocr = parse_pdf(path)
            ocr_seconds += max(time.perf_counter() - clock - plain, 0.0)
        except Exception:  # a bad file is reported by the per-report rows below
            continue
        parse_seconds += plain
        parse_pages += len(doc.pages)
        ocr_pages += sum(1 for page in with_ocr.pages if "ocr" in page.flags)

    with tempfile.TemporaryDirectory() as tmp:
        clock = time.perf_counter()
        Analyzer(open_db(Path(tmp) / "proto.db"), Settings(), embedder).prepare()
        prototype_seconds = time.perf_counter() - clock

    rows = []
    totals = {"pages": 0, "passages": 0, "first": 0.0, "second": 0.0, "embed": 0.0, "judge": 0.0}
    for path in reports:
        with tempfile.TemporaryDirectory() as tmp:
            db = open_db(Path(tmp) / "bench.db")
            settings = Settings(model=args.model, backend=args.backend)
            # Criteria prototypes are embedded once per database, not per report.
            analyzer = Analyzer(db, settings, embedder).prepare()
            clock = time.perf_counter()
            first = analyzer.analyze(path)
            first_seconds = time.perf_counter() - clock
            if first.error:
                rows.append(f"| {path.name} | failed: {first.error} | | | | | | |")
                continue
            clock = time.perf_counter()
            analyzer.analyze(path)
            second_seconds = time.perf_counter() - clock
        texts = [p.text for p in split_passages(parse_pdf(path))]
        clock = time.perf_counter()
        embedder.encode(texts)
        embed_seconds = time.perf_counter() - clock
        ratio = first_seconds / embed_seconds if embed_seconds else float("nan")
        rows.append(
            f"| {path.name} | {first.pages} | {first.passages} | {first_seconds:.1f} | "
            f"{second_seconds:.2f} | {embed_seconds:.1f} | {ratio:.2f} | "
            f"{first.pages / first.seconds.get('parse', float('nan')):.0f} |"
        )
        totals["pages"] += first.pages
        totals["passages"] += first.passages
        totals["first"] += first_seconds
        totals["second"] += second_seconds
        totals["embed"] += embed_seconds
        totals["judge"] += first.seconds.get("judge", 0.0)
        print(rows[-1], file=sys.stderr, flush=True)

    lines = [
        "# Pipeline benchmark",
        "",
        f"- machine: {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}",
        f"- embedder: {embedder.name}, loaded in {load_seconds:.1f} s",
        f"- criteria prototypes (once per database and model): {prototype_seconds:.1f} s",
        f"- reports: {len(reports)} in {folder}",
        f"- peak memory (max RSS): {peak_mb():.0f} MB",
        "",
        "| stage | rate |",
        "|---|---|",
        f"| parsing the text layer (one core) | {parse_pages / parse_seconds:.0f} pages/s "
        f"({parse_pages} pages in {parse_seconds:.1f} s) |",
        f"| OCR of pages without a text layer | {ocr_pages} pages, {ocr_seconds:.1f} s more "
        "(the quick look at every page without text included) |",
        f"| embedding alone | {totals['passages'] / totals['embed']:.1f} passages/s |",
        f"| pipeline, first sight | {totals['passages'] / totals['first']:.1f} passages/s, "
        f"{totals['pages'] / totals['first']:.1f} pages/s, "
        f"{totals['first'] / max(len(reports), 1):.1f} s per report |",
        f"| pipeline, already embedded | {totals['pages'] / totals['second']:.0f} pages/s, "
        f"{totals['second'] / max(len(reports), 1):.2f} s per report |",
        f"| pipeline / embedding alone | {totals['first'] / totals['embed']:.2f} |",
        f"| pre-score (judging every criterion) | {totals['judge']:.1f} s in all, "
        f"{100 * totals['judge'] / max(totals['first'] - totals['judge'], 1e-9):.1f}% added to "
        "the rest of first sight (target: at most 10%) |",
        "",
        "| report | pages | passages | first sight s | again s | embed alone s | ratio "
        "| parse pages/s |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    if args.command:
        from season import single_report  # benchmarks/season.py

        one = single_report(Path(args.command))
        lines += [
            "",
            f"Whole command ({one['report']}, {one['passages']} passages, fresh database, "
            f"process start to exit): {one['command_seconds']} s; a process that loads the "
            f"same embedder and embeds the same passages alone: "
            f"{one['embedding_alone_seconds']} s; ratio {one['ratio']} (target 1.3).",
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
