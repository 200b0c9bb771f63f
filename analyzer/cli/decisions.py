"""Reviewer decisions from the command line: decide, undo, and the two exports.

The review library is imported inside each command (it loads the database layer).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from analyzer.cli.common import DbOption, fail, open_database, out


class Action(StrEnum):
    accept = "accept"
    reject = "reject"
    correct = "correct"
    comment = "comment"


class EvidenceFormat(StrEnum):
    csv = "csv"
    json = "json"


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
    out.print(
        f"decision {decision_id}: {action.value} candidate {candidate_id}",
        highlight=False,
        markup=False,
    )


def undo(
    decision_id: Annotated[int, typer.Argument(help="the decision to revert")],
    reviewer: Annotated[str, typer.Option("--by", help="who undoes it (its own reviewer)")],
    db: DbOption = None,
) -> None:
    """Revert a decision with a new 'undo' decision (nothing is deleted)."""
    from analyzer.review.decisions import DecisionError, undo_decision

    try:
        undo_id = undo_decision(open_database(db, must_exist=True), decision_id, reviewer)
    except DecisionError as exc:
        fail(str(exc))
    out.print(f"decision {undo_id}: undo of decision {decision_id}", highlight=False, markup=False)


def export_labels(
    path: Annotated[Path, typer.Argument(help="JSON-lines file to write")],
    db: DbOption = None,
) -> None:
    """Write reviewer decisions as training labels (a rejection is a hard negative)."""
    from analyzer.review.decisions import export_labels as export

    if path.is_dir():
        fail(f"{path}: is a folder; give a file name")
    database = open_database(db, must_exist=True)
    try:
        count = export(database, path)
    except OSError as exc:
        fail(f"{path}: cannot write ({exc.strerror or exc})")
    out.print(f"wrote {count} label(s) to {path}", highlight=False, markup=False)


def export_evidence(
    doc: Annotated[
        str | None, typer.Argument(help="document id or path of an analysed file")
    ] = None,
    company: Annotated[str | None, typer.Option(help="every document of this company")] = None,
    format: Annotated[
        EvidenceFormat, typer.Option("--format", "-f", help="csv or json")
    ] = EvidenceFormat.csv,
    db: DbOption = None,
) -> None:
    """Write reviewer-confirmed evidence with citations (the web app's export) to stdout."""
    from analyzer.db.connection import StoreError
    from analyzer.db.documents import find_document
    from analyzer.review import export as evidence
    from analyzer.review.names import CompanyError

    if (doc is None) == (company is None):
        fail("give either a document or --company")
    database = open_database(db, must_exist=True)
    doc_id = None
    if doc is not None:
        try:
            doc_id = find_document(database, doc)["id"]
        except StoreError as exc:
            fail(str(exc))
    try:
        rows = evidence.confirmed(database, doc_id, company)
    except CompanyError as exc:
        fail(str(exc))
    if format is EvidenceFormat.csv:
        sys.stdout.write(evidence.to_csv(rows))
    else:
        sys.stdout.write(evidence.to_json(rows) + "\n")


def export_gold(
    path: Annotated[Path, typer.Argument(help="JSON-lines file to write (gold format)")],
    with_gold: Annotated[
        Path | None,
        typer.Option(
            "--with-gold",
            help="put this gold file's lines first (e.g. labels/gold/gold.jsonl), so "
            "analyzer evaluate --prescore --gold PATH --save-model learns from both",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Write every confirmed criterion level (criterion review) as a gold decision."""
    from analyzer.review.criteria import export_gold as export

    if path.is_dir():
        fail(f"{path}: is a folder; give a file name")
    if with_gold is not None and not with_gold.is_file():
        fail(f"{with_gold}: no such gold file")
    database = open_database(db, must_exist=True)
    try:
        counts = export(database, path, with_gold)
    except OSError as exc:
        fail(f"{path}: cannot write ({exc.strerror or exc})")
    except (ValueError, KeyError) as exc:
        fail(f"{with_gold}: not a gold file ({exc})")
    out.print(
        f"wrote {counts['reviewed']} reviewed criterion level(s)"
        + (f" after {counts['gold']} gold line(s)" if with_gold else "")
        + f" to {path}",
        highlight=False,
        markup=False,
    )
