"""``analyzer train`` and ``analyzer evaluate``: a face over analyzer.scoring.training.

The training library (scikit-learn, the embedding model) is imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from analyzer.cli.common import (
    BackendOption,
    DbOption,
    FormatOption,
    ModelOption,
    TableFormat,
    db_path,
    err,
    fail,
    open_database,
    out,
)

LabelsOption = Annotated[
    list[Path] | None,
    typer.Option("--labels", help="label file(s) (default: labels/<criteria set>/*.jsonl)"),
]
CriteriaOption = Annotated[
    str | None, typer.Option("--criteria", help="criteria set name or YAML file (default: ltc)")
]


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
    from analyzer.embeddings.model import EmbeddingError
    from analyzer.scoring import training
    from analyzer.scoring.labels import LabelError

    data = _training_data(labels, criteria, db, model, backend)
    try:
        metrics = None
        if evaluate_first:
            err.print("cross-validating, 5 folds grouped by report (a minute or two) ...")
            metrics = training.cross_validate(data)
        err.print(f"fitting classifiers on {len(data.labels)} labels ...")
        trained = training.train(data, metrics)
        target = training.save(trained, data.criteria, out_dir)
    except (ValueError, LabelError, EmbeddingError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot save the model: {exc.strerror or exc} ({exc.filename or out_dir})")
    counts = trained.card["training_data"]
    out.print(
        f"wrote {target}: classifiers for {len(trained.trained_criteria)} of "
        f"{len(data.criteria.criteria)} criteria from {counts['labels']} labels "
        f"({counts['labelled_by'].get('reviewer', 0)} from reviewer decisions, each replacing "
        "any shipped label on the same passage and criterion), "
        f"criteria version {data.criteria.version}",
        highlight=False,
        markup=False,
    )
    if metrics:
        _print_overall(metrics)


def evaluate(
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="held-out CSV with the model's columns")
    ] = None,
    model_dir: Annotated[
        Path | None, typer.Option("--model", help="CSV: folder written by analyzer train --csv")
    ] = None,
    labels: LabelsOption = None,
    criteria: CriteriaOption = None,
    format: FormatOption = TableFormat.table,
    prescore: Annotated[
        bool,
        typer.Option(
            "--prescore",
            help="evaluate the pre-score itself: the level per report and criterion against "
            "labels/gold/gold.jsonl (needs the gold's reports analysed in --db)",
        ),
    ] = False,
    db: DbOption = None,
    backend: BackendOption = None,
    gold: Annotated[
        Path | None,
        typer.Option("--gold", help="--prescore: the gold file (default: labels/gold/gold.jsonl)"),
    ] = None,
    held_out: Annotated[
        Path | None,
        typer.Option(
            "--held-out",
            help="--prescore: gold reports in this folder stay out of the folds and are "
            "judged once by the model fitted on the others",
        ),
    ] = None,
    folds: Annotated[int, typer.Option(help="--prescore: folds, grouped by company")] = 4,
    learning_curve: Annotated[
        bool,
        typer.Option(
            "--learning-curve",
            help="--prescore: also the figures with 1/4, 1/2 and 3/4 of the training reports",
        ),
    ] = False,
    save_model: Annotated[
        bool,
        typer.Option(
            "--save-model",
            help="--prescore: save the model fitted on every cross-validated report under "
            "models/ (the newest is used by analyze)",
        ),
    ] = False,
    compare_db: Annotated[
        Path | None,
        typer.Option(
            "--compare-db",
            help="--prescore: also score the drafts stored in this database (e.g. the corpus "
            "as an earlier version analysed it)",
        ),
    ] = None,
    base_model: Annotated[
        str | None,
        typer.Option(
            "--base-model",
            help="--prescore: sentence-transformers folder the evidence model is fine-tuned "
            "from (default: the shipped all-MiniLM-L6-v2)",
        ),
    ] = None,
) -> None:
    """Cross-validated quality of the classifiers, beside a TF-IDF baseline.

    By default, on the criteria set's labels with folds grouped by report: classifier
    P/R/F1, hit@5 and MRR of the first true evidence, balanced accuracy of evidence / none
    per report. With --csv and --model: a CSV-trained model's P/R/F1 on a held-out CSV.
    """
    if csv_file is not None or model_dir is not None:
        _evaluate_csv(csv_file, model_dir, format, backend)
        return
    if prescore:
        _evaluate_prescore(
            labels, criteria, db, format, backend, gold, held_out, folds, learning_curve,
            save_model, base_model, compare_db,
        )  # fmt: skip
        return
    from analyzer.embeddings.model import EmbeddingError
    from analyzer.scoring import training
    from analyzer.scoring.labels import LabelError

    data = _training_data(labels, criteria, db, None, backend)
    err.print(
        f"cross-validating on {len(data.labels)} labels, 5 folds grouped by report "
        "(a minute or two) ..."
    )
    try:
        metrics = training.cross_validate(data)
    except (ValueError, LabelError, EmbeddingError) as exc:
        fail(str(exc))
    if format is TableFormat.json:
        print(json.dumps(metrics, indent=2))
        return
    _print_overall(metrics)
    _print_per_criterion(metrics)


def _training_data(labels, criteria, db, model, backend):
    """The run's data, or one line saying why there is none."""
    from analyzer.criteria.sets import CriteriaError
    from analyzer.db.connection import StoreError
    from analyzer.scoring import training
    from analyzer.scoring.labels import LabelError

    try:
        data = training.training_data(labels, criteria, db_path(db), model, backend)
    except (CriteriaError, LabelError, StoreError, training.TrainingError) as exc:
        fail(str(exc))
    if data.db is None:
        err.print(
            f"note: no database at {data.db_path}; training on the label quotes alone "
            "(analyse the labelled reports first for passage texts, background passages, "
            "reviewer decisions and retrieval figures)",
            highlight=False,
            markup=False,
        )
    return data


def _train_csv(csv_file, text_column, group_column, label_columns, out_dir, model, backend):
    from analyzer.scoring import training

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
    columns = [c.strip() for c in label_columns.split(",") if c.strip()] if label_columns else None
    try:
        card = training.train_csv(
            csv_file, text_column, group_column, columns, out_dir, model, backend
        )
    except training.TrainingError as exc:
        fail(str(exc))
    cv = card.get("cross_validation") or {}
    line = f"wrote {out_dir}: {len(card.get('labels', []))} labels"
    if cv.get("metrics"):
        line += (
            f"; {cv['method']}: macro F1 {cv['metrics']['macro_f1']:.3f} "
            f"(TF-IDF baseline {cv['baseline_metrics']['macro_f1']:.3f})"
        )
    out.print(line, highlight=False, markup=False)


def _evaluate_csv(csv_file, model_dir, format, backend) -> None:
    from analyzer.scoring import training

    if csv_file is None or model_dir is None:
        fail("evaluating on a CSV needs both --csv and --model")
    try:
        report = training.evaluate_csv_model(csv_file, model_dir, backend)
    except training.TrainingError as exc:
        fail(str(exc))
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


def _evaluate_prescore(
    labels, criteria, db, format, backend, gold=None, held_out=None, folds=4,
    learning_curve=False, save_model=False, base_model=None, compare_db=None,
) -> None:  # fmt: skip
    import tempfile

    from analyzer.embeddings.model import EmbeddingError, resolve_model
    from analyzer.scoring.evidence import KIND
    from analyzer.scoring.gold import GOLD_FILE
    from analyzer.scoring.judge_training import evaluate_on_gold
    from analyzer.scoring.labels import LabelError
    from analyzer.scoring.model import models_dir

    data = _training_data(labels, criteria, db, None, backend)
    if data.db is None:
        fail("--prescore needs the database where the gold's reports are analysed (--db)")
    gold = gold or GOLD_FILE
    if held_out is not None and not held_out.is_dir():
        fail(f"{held_out}: no such folder")
    if not gold.is_file():
        fail(f"{gold}: no such gold file")
    if folds < 2:
        fail("--folds must be at least 2")
    aside = {p.name for p in held_out.glob("*.pdf")} if held_out is not None else None
    err.print(
        f"cross-validating the evidence model and judge on {gold}, {folds} folds grouped by "
        "company (the evidence model is fine-tuned once per fold: minutes per fold) ...",
        highlight=False,
        markup=False,
    )
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    save_to = (
        models_dir() / f"{KIND.split('-')[0]}-{data.criteria.version}-{stamp}"
        if save_model
        else None
    )
    try:
        with tempfile.TemporaryDirectory(prefix="analyzer-evaluate-") as work:
            result = evaluate_on_gold(
                data.db, data.criteria, data.analyzer.embed_texts, data.embedding_model,
                data.labels, gold, base_model or resolve_model()[1], work, aside, folds,
                learning_curve, save_to,
                progress=lambda m: err.print(m, highlight=False, markup=False),
                compare_db=open_database(compare_db, must_exist=True) if compare_db else None,
            )  # fmt: skip
    except (ValueError, LabelError, EmbeddingError, OSError) as exc:
        fail(str(exc))
    if not save_model:
        result.pop("model_dir", None)
    if format is TableFormat.json:
        print(json.dumps(result, indent=2))
        return
    cv = result["cross_validated"]
    out.print(
        f"{cv['n_reports']} reports, {cv['model']['pairs']} report-criterion pairs, "
        f"{result['folds']} folds grouped by company",
        highlight=False,
    )
    out.print("draft                          exact  within1  QWK    bal.acc", highlight=False)
    rows = [("judge, out of fold", cv["model"]), ("0 everywhere", cv["all_zero"])]
    if "stored_drafts" in cv:
        rows.append(("stored drafts", cv["stored_drafts"]))
    if "held_out" in result:
        held = result["held_out"]
        rows += [
            ("judge, held out (judged once)", held["model"]),
            ("0 everywhere, held out", held["all_zero"]),
        ]
        if "stored_drafts" in held:
            rows.append(("stored drafts, held out", held["stored_drafts"]))
    for name, f in rows:
        ba = f["present_balanced_accuracy"]
        out.print(
            f"{name:<30} {f['exact']:.2f}   {f['within_one']:.2f}     {f['qwk']:.2f}   "
            f"{'-' if ba is None else f'{ba:.2f}'}",
            highlight=False,
        )
    twice = result["read_twice"]
    out.print(
        f"read twice: {twice['changed']} of {twice['levels']} levels changed "
        f"({', '.join(twice['reports'])})",
        highlight=False,
        markup=False,
    )
    for share, f in (result.get("learning_curve") or {}).items():
        out.print(
            f"learning curve, {share} of the training reports: exact {f['exact']:.2f}, "
            f"QWK {f['qwk']:.2f}",
            highlight=False,
        )
    out.print(
        "\nreport                                          gold points  draft points",
        highlight=False,
    )
    for section in (cv, result.get("held_out") or {}):
        for name, v in section.get("reports", {}).items():
            out.print(
                f"{name:<48} {v['gold_points']:>11}  {v['draft_points']:>12}",
                highlight=False,
                markup=False,
            )
    if save_model:
        out.print(f"saved {result['model_dir']}", highlight=False, markup=False)


def repoint_labels(
    files: Annotated[list[Path], typer.Argument(help="label files (JSON lines) to rewrite")],
    db: DbOption = None,
) -> None:
    """Point label files' passage hashes at the passages stored now (after a new splitter)."""
    from analyzer.scoring.labels import LabelError
    from analyzer.scoring.labels import repoint_labels as repoint

    database = open_database(db, must_exist=True)
    if not database.table("passages").count:
        fail("no passages stored: analyse the labelled reports into this database first")
    for path in files:
        try:
            moved, lost, where = repoint(database, path)
        except (LabelError, OSError) as exc:
            fail(str(exc))
        line = f"{path}: {moved} label(s) moved to the stored passages, {lost} left without one"
        out.print(line, markup=False)
        for place in where:
            err.print(f"  no stored passage holds the quote at {place}", markup=False)
