"""``analyzer analyze`` and what reads its results: documents, candidates, passages, search,
criteria, and the bundled sample report.

The library is imported inside each command, so ``analyzer --help`` and a listing never
load what only analysis needs (the embedding model, PDF parsing, rich's progress bars).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from analyzer.cli.common import (
    BackendOption,
    DbOption,
    FormatOption,
    ModelOption,
    TableFormat,
    err,
    error,
    fail,
    open_database,
    out,
    warn,
)


class CandidateFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ReviewOrder(StrEnum):
    criterion = "criterion"
    score = "score"
    informative = "informative"


class PassageFormat(StrEnum):
    text = "text"
    jsonl = "jsonl"


CSV_FIELDS = [
    "doc_id",
    "criterion",
    "rank",
    "score",
    "probability",
    "scorer",
    "level",
    "criterion_verdict",
    "citation",
    "pdf_pages",
    "page_labels",
    "quote",
    "passage_id",
]


def analyze(
    paths: Annotated[list[Path], typer.Argument(help="PDF files or folders of PDFs")],
    company: Annotated[str | None, typer.Option(help="company name")] = None,
    year: Annotated[str | None, typer.Option(help="fiscal year, e.g. 2024")] = None,
    report_type: Annotated[
        str | None, typer.Option("--type", help="report type, e.g. sustainability, annual, CSRD")
    ] = None,
    top_k: Annotated[int, typer.Option(help="candidates kept per criterion")] = 5,
    passage_size: Annotated[int, typer.Option(help="passage size in characters")] = 800,
    passage_overlap: Annotated[
        int, typer.Option(help="most characters (whole sentences) shared by neighbours")
    ] = 100,
    criteria: Annotated[str | None, typer.Option(help="criteria set name or YAML file")] = None,
    classifier: Annotated[
        Path | None,
        typer.Option(help="trained model folder (default: the newest in models/ for the criteria)"),
    ] = None,
    use_classifier: Annotated[
        bool,
        typer.Option("--classifier-auto/--no-classifier", help="use a trained model when one fits"),
    ] = True,
    max_pages: Annotated[int, typer.Option(help="refuse a file with more pages")] = 3000,
    max_memory_mb: Annotated[
        int, typer.Option(help="memory the process parsing one file may use (MB)")
    ] = 2048,
    max_decompressed_mb: Annotated[
        int, typer.Option(help="refuse a file whose compressed text streams expand beyond (MB)")
    ] = 1024,
    timeout: Annotated[float, typer.Option(help="seconds parsing one file may take")] = 600,
    model: ModelOption = None,
    backend: BackendOption = None,
    db: DbOption = None,
) -> None:
    """Parse, embed and score reports; store passages and evidence candidates.

    Each file is parsed in a child process within the limits below, so a hostile or broken
    file fails alone and the batch goes on."""
    from concurrent.futures import ThreadPoolExecutor

    from analyzer.candidates import views
    from analyzer.reading.limits import Limits
    from analyzer.reading.names import shown
    from analyzer.reading.sandbox import parse_isolated

    files, missing = views.collect_pdfs(paths)
    for path, reason in missing:
        error(f"{shown(path)}: {reason}")
    if not files:
        raise typer.Exit(1)
    if top_k < 1 or passage_size < 100 or not 0 <= passage_overlap < passage_size:
        fail("need --top-k >= 1, --passage-size >= 100 and 0 <= --passage-overlap < --passage-size")
    if min(max_pages, max_memory_mb, max_decompressed_mb) < 1 or not timeout > 0:
        fail("the --max-* limits must be at least 1 and --timeout above 0")
    if classifier is not None and not (classifier / "card.json").is_file():
        fail(f"{classifier}: not a trained model folder (no card.json)")
    limits = Limits(max_memory_mb, max_pages, max_decompressed_mb, timeout)
    # Start reading the first report (in its limited child process) before the heavy
    # imports below; ReadAhead uses it only if the file is not already stored.
    early = ThreadPoolExecutor(max_workers=1)
    started = early.submit(parse_isolated, files[0], limits)
    early.shutdown(wait=False)

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from analyzer.criteria.sets import CriteriaError
    from analyzer.embeddings.model import EmbeddingError
    from analyzer.pipeline import Analyzer, ReadAhead, Result, Settings

    database = open_database(db)
    settings = Settings(
        model=model,
        backend=backend,
        passage_size=passage_size,
        passage_overlap=passage_overlap,
        top_k=top_k,
        criteria=criteria,
        use_classifier=use_classifier,
        classifier_dir=str(classifier) if classifier else None,
        limits=limits,
    )
    try:
        analyzer = Analyzer(database, settings)
    except (CriteriaError, ValueError) as exc:
        fail(str(exc))
    # The first report is read (in its limited child process) while the model loads, and
    # each next one while the current one is embedded.
    reader = ReadAhead(analyzer, files, started=started)
    try:
        analyzer.prepare()
    except (CriteriaError, EmbeddingError, ValueError) as exc:
        reader.close()
        fail(str(exc))
    err.print(analyzer.scorer_description(), highlight=False, markup=False)
    meta = {"company": company, "fiscal_year": year, "report_type": report_type}
    results = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}", markup=False),  # file names are not markup
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        overall = bar.add_task(f"{len(files)} report(s)", total=len(files), detail="")
        for i, path in enumerate(files):
            name = shown(path.name)
            bar.update(overall, detail=name)

            def progress(stage: str, done: int, total: int, _name=name) -> None:
                bar.update(overall, detail=f"{_name}: {stage} {done}/{total}")

            try:
                result = analyzer.analyze(path, meta, progress, reader.take(i))
            except EmbeddingError as exc:
                reader.close()
                fail(str(exc))
            except Exception as exc:  # e.g. a locked database: this file fails, the batch goes on
                result = Result(path, error=f"not stored: {type(exc).__name__}: {exc}")
            results.append(result)
            if result.error:
                error(f"{shown(path)}: {result.error}")
            else:
                out.print(views.result_line(result), highlight=False, markup=False)
                if result.damaged:
                    warn(
                        f"{shown(path)}: damaged PDF, repaired to read it "
                        f"({'; '.join(result.damaged)}): text may be missing, check the pages"
                    )
            bar.advance(overall)
    reader.close()
    failed = [r for r in results if r.error] + missing
    for note in dict.fromkeys(_note_kind(n) for r in results for n in r.notes):
        warn(note)  # once per kind, not once per report
    out.print(views.summary_line(results, len(missing)), highlight=False, markup=False)
    if failed:
        raise typer.Exit(1)


def _note_kind(note: str) -> str:
    """A note without its page count, so the same reason is said once for the batch."""
    head, sep, tail = note.partition(" page(s) without a text layer left unread: ")
    return f"pages without a text layer left unread: {tail}" if sep else note


def documents(format: FormatOption = TableFormat.table, db: DbOption = None) -> None:
    """List analysed documents."""
    from analyzer.candidates import views
    from analyzer.reading.names import shown

    rows = views.documents(open_database(db, must_exist=True))
    if format is TableFormat.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("id", "file", "company", "year", "pages", "flags", "sha256")
    for r in rows:
        flags = ", ".join(f"{k}: {len(v)}" for k, v in r["flags"].items()) or "-"
        table.add_row(
            str(r["doc_id"]),
            Text(shown(r["file_name"])),
            Text(r["company"] or "-"),
            r["fiscal_year"] or "-",
            str(r["pages"]),
            flags,
            r["sha256"][:12],
        )
    out.print(table)


def candidates(
    doc: Annotated[str, typer.Argument(help="document id or path of an analysed file")],
    criterion: Annotated[str | None, typer.Option(help="only this criterion id")] = None,
    top: Annotated[int | None, typer.Option(help="only the best N per criterion")] = None,
    format: Annotated[CandidateFormat, typer.Option("--format", "-f")] = CandidateFormat.table,
    order: Annotated[
        ReviewOrder,
        typer.Option(
            help="criterion (then rank), score (highest first) or informative "
            "(uncertain candidates and criteria with few labels first: active learning)"
        ),
    ] = ReviewOrder.criterion,
    db: DbOption = None,
) -> None:
    """Show the evidence candidates of a document, with quote, score and page citation.

    A criterion whose candidates all fall below the trained model's evidence threshold is
    reported as "no evidence found"."""
    from analyzer.candidates import views
    from analyzer.db.connection import StoreError
    from analyzer.review.order import review_order
    from analyzer.scoring.verdict import verdicts as verdicts_of

    if top is not None and top < 1:
        fail("--top must be at least 1")
    database = open_database(db, must_exist=True)
    try:
        rows = views.candidates(database, doc, criterion)
    except (StoreError, KeyError) as exc:
        fail(str(exc).strip("'"))
    verdicts = verdicts_of(rows)  # over all stored candidates, before --top
    if top is not None:
        rows = [r for r in rows if r["rank"] <= top]
    if order is ReviewOrder.informative:
        from analyzer.review.status import confirmed_evidence_counts  # loads accounts (argon2)

        rows = review_order(rows, order.value, confirmed_evidence_counts(database))
    elif order is ReviewOrder.score:
        rows = review_order(rows, order.value)
    for r in rows:
        r["criterion_verdict"] = verdicts[r["criterion"]]
    if criterion and not rows:
        fail(f"no candidates for criterion {criterion!r} in document {doc}")
    if not rows and format is CandidateFormat.table:
        out.print(
            f"No candidates stored for document {doc}: it has no readable text.", markup=False
        )
        return
    if format is CandidateFormat.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif format is CandidateFormat.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {**r, "pdf_pages": r["pdf_pages"][0], "page_labels": r["page_labels"][0]}
            )
        sys.stdout.write(buffer.getvalue())
    else:
        _print_candidates(rows, verdicts)


def _print_candidates(rows: list[dict], verdicts: dict[str, str]) -> None:
    table = Table(show_lines=True, expand=True)
    table.add_column("criterion", min_width=11, ratio=1)
    table.add_column("score", no_wrap=True)
    table.add_column("lvl", no_wrap=True)
    table.add_column("citation", no_wrap=True)
    table.add_column("quote", ratio=3)
    for r in rows:
        label = f"{r['criterion']} #{r['rank']}\n[dim]id {r['candidate_id']}[/dim]"
        if r["rank"] == 1 and r.get("criterion_name"):
            label += f"\n[dim]{r['criterion_name']}[/dim]"
        if r["rank"] == 1 and r["criterion_verdict"] == "no evidence found":
            label += "\n[yellow]no evidence found[/yellow]"
        quote = Text(r["quote"])
        if r["rank"] == 1 and r.get("draft_level") is not None:
            label += f"\n[bold]draft level {r['draft_level']}[/bold]"
            if r.get("draft_reason"):
                quote.append(f"\ndraft: {r['draft_reason']}", style="dim")
        score = f"{r['score']:.2f}"
        if r.get("probability") is not None:
            score += f"\np={r['probability']:.2f}"
        table.add_row(label, score, str(r["level"]), Text(r["citation"]), quote)
    out.print(table)
    missing = sorted(c for c, v in verdicts.items() if v == "no evidence found")
    if missing:
        out.print(
            f"No evidence found (draft level 0, or no candidate reaches its threshold): "
            f"{', '.join(missing)}",
            highlight=False,
        )


def passages(
    doc: Annotated[str, typer.Argument(help="document id or path of an analysed file")],
    format: Annotated[PassageFormat, typer.Option("--format", "-f")] = PassageFormat.text,
    db: DbOption = None,
) -> None:
    """List every passage of a document with its pages."""
    from analyzer.candidates import views
    from analyzer.db.connection import StoreError

    try:
        rows = views.passages(open_database(db, must_exist=True), doc)
    except StoreError as exc:
        fail(str(exc))
    for r in rows:
        if format is PassageFormat.jsonl:
            print(json.dumps(r, ensure_ascii=False))
        else:
            out.print(Text.assemble((f"#{r['passage_id']}", "bold"), " ", r["citation"]))
            out.print(r["text"], highlight=False, markup=False)
            out.print()


def search(
    query: Annotated[str, typer.Argument(help="what to look for, in plain words")],
    doc: Annotated[str | None, typer.Option(help="only this document (id or path)")] = None,
    company: Annotated[str | None, typer.Option(help="only this company's documents")] = None,
    season: Annotated[
        str | None, typer.Option(help="only documents of this season (else fiscal year)")
    ] = None,
    criterion: Annotated[
        str | None, typer.Option(help="only passages that are candidates for this criterion")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="hybrid (meaning + keywords), dense or keyword")
    ] = "hybrid",
    limit: Annotated[int, typer.Option(help="how many pages")] = 10,
    format: FormatOption = TableFormat.table,
    model: ModelOption = None,
    backend: BackendOption = None,
    db: DbOption = None,
) -> None:
    """Rank stored pages against free text, by meaning and keywords (fused): each page once,
    with its best passage and how many more passages on it matched."""
    from analyzer.db.connection import StoreError
    from analyzer.embeddings.model import EmbeddingError
    from analyzer.search import MODES
    from analyzer.search import search as rank

    if not query.strip():
        fail("the search text is empty")
    if limit < 1:
        fail("--limit must be at least 1")
    if mode not in MODES:
        fail(f"--mode must be one of {', '.join(MODES)}")
    try:
        rows = rank(
            open_database(db, must_exist=True), query, doc, limit, model, backend,
            company=company, season=season, criterion=criterion, mode=mode,
        )  # fmt: skip
    except (StoreError, EmbeddingError) as exc:
        fail(str(exc))
    if format is TableFormat.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("score", "doc", "page", "best passage", "candidate for", show_lines=True)
    for r in rows:
        marks = ", ".join(f"{c['criterion']} #{c['rank']}" for c in r["candidate_for"])
        citation = r["citation"]
        if r.get("more_on_page"):
            citation += f"\n{r['more_on_page']} more passage(s) on this page"
        table.add_row(
            f"{r['score']:.3f}", Text(r["file_name"]), Text(citation),
            Text(r["text"][:400]), Text(marks),
        )  # fmt: skip
    out.print(table)


def sample(
    folder: Annotated[Path, typer.Argument(help="where to write the sample report")] = Path(
        "corpus"
    ),
) -> None:
    """Write the bundled sample report (a fictional automaker) as a PDF."""
    from analyzer.sample import SAMPLE_FILE_NAME, build_sample_report

    if folder.exists() and not folder.is_dir():
        fail(f"{folder}: not a folder")
    try:
        path = build_sample_report(folder / SAMPLE_FILE_NAME)
    except OSError as exc:
        fail(f"{folder}: cannot write the sample report ({exc.strerror or exc})")
    out.print(f"wrote {path}", highlight=False, markup=False)


def list_criteria(
    criteria: Annotated[str | None, typer.Option(help="criteria set name or YAML file")] = None,
    format: FormatOption = TableFormat.table,
) -> None:
    """List the criteria of a set, with its version."""
    from analyzer.criteria.sets import CriteriaError, load_criteria

    try:
        cset = load_criteria(criteria)
    except CriteriaError as exc:
        fail(str(exc))
    if format is TableFormat.json:
        data = {
            "name": cset.name,
            "version": cset.version,
            "criteria": [c.__dict__ for c in cset.criteria],
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    table = Table(
        "id", "section", "subsection", "name", title=f"{cset.title} (version {cset.version})"
    )
    for c in cset.criteria:
        table.add_row(c.id, c.section, c.subsection, c.name)
    out.print(table)
