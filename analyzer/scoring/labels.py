"""Labelled passages: the JSON-lines files under labels/ and reviewer decisions in the DB.

A label says whether a short quote is evidence for one criterion, at what level, where it
came from (document hash, PDF page, passage hash) and who said so. Seed labels and
exported decisions share one format (see labels/ltc/README.md), so training reads both
the same way; a reviewer's decision on a passage overrides a seed label on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from sqlite_utils import Database

from analyzer.criteria.sets import REPO_ROOT
from analyzer.db.passages import passage_pages_of_sha
from analyzer.review.decisions import label_records
from analyzer.types import Label

LABELS_DIR = REPO_ROOT / "labels"
EVIDENCE, NOT_EVIDENCE = "evidence", "not_evidence"


class LabelError(Exception):
    """A label file that cannot be read; the message names the file and line."""


def label_files(name: str = "ltc") -> list[Path]:
    """The shipped label files of a criteria set, in name order."""
    return sorted((LABELS_DIR / name).glob("*.jsonl"))


def parse_label(record: dict, where: str) -> Label:
    for key in ("criterion", "label", "text"):
        if not record.get(key):
            raise LabelError(f"{where}: missing {key!r}")
    if record["label"] not in (EVIDENCE, NOT_EVIDENCE):
        raise LabelError(f"{where}: label must be {EVIDENCE!r} or {NOT_EVIDENCE!r}")
    level = record.get("level")
    if level is not None and level not in (0, 1, 2):
        raise LabelError(f"{where}: level must be 0, 1 or 2")
    source = record.get("source") or {}
    return Label(
        criterion=str(record["criterion"]),
        evidence=record["label"] == EVIDENCE,
        text=" ".join(str(record["text"]).split()),
        level=level,
        document_sha256=source.get("document_sha256"),
        file_name=source.get("file_name"),
        pdf_page=source.get("pdf_page"),
        passage_hash=source.get("passage_content_hash"),
        labelled_by=str(record.get("labelled_by") or ""),
        criteria_version=record.get("criteria_version"),
    )


def read_labels(path: str | Path) -> list[Label]:
    """Labels of one JSON-lines file; raises LabelError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: no such label file")
    labels = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise LabelError(f"{path}:{n}: expected a JSON object")
        labels.append(parse_label(record, f"{path}:{n}"))
    return labels


def decision_labels(db: Database) -> list[Label]:
    """The latest reviewer decision per (passage, criterion) as labels, undone ones left out."""
    return [parse_label(r, f"decision on {r['criterion']}") for r in label_records(db)]


def merge(*sources: Iterable[Label]) -> list[Label]:
    """All labels, a later source overriding an earlier one on the same passage and criterion."""
    merged: dict[tuple[str, str], Label] = {}
    for source in sources:
        for label in source:
            merged[label.key] = label
    return list(merged.values())


def load_training_labels(
    files: Iterable[str | Path] | None = None, db: Database | None = None, name: str = "ltc"
) -> list[Label]:
    """Shipped labels (or the given files) with the DB's reviewer decisions laid over them."""
    paths = list(files) if files is not None else label_files(name)
    labels = [label for path in paths for label in read_labels(path)]
    return merge(labels, decision_labels(db) if db is not None else [])


def squash(text: str) -> str:
    """A quote or passage as compared when matching one to the other: soft hyphens out,
    white space squeezed, lower case."""
    return " ".join(text.replace("\u00ad", "").split()).lower()


def repoint_labels(db: Database, path: str | Path) -> tuple[int, int, list[str]]:
    """Point a label file's passage hashes at the passages now stored for its documents.

    A new splitter cuts new passages, so a label's ``passage_content_hash`` goes stale;
    the quote and its page do not. Each label moves to the stored passage of its document
    that holds the quote, on its page if one does; a label whose quote no passage holds
    loses its hash and is trained on its quote alone. The file is rewritten atomically.
    Returns (labels moved, labels left without a passage, where the latter are).
    """
    path = Path(path)
    read_labels(path)  # a broken file is reported before anything is rewritten
    lines = path.read_text(encoding="utf-8").splitlines()
    cache: dict[str, list[tuple[dict, str]]] = {}  # sha -> (passage, squashed text)
    moved, lost, where = 0, 0, []
    out = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            out.append(line)
            continue
        record = json.loads(line)
        source = record.get("source") or {}
        sha = source.get("document_sha256")
        if not sha or "passage_content_hash" not in source:
            out.append(line)
            continue
        if sha not in cache:
            cache[sha] = [(p, squash(p["text"])) for p in passage_pages_of_sha(db, sha)]
        quote, page = squash(record["text"]), source.get("pdf_page")
        holding = [p for p, text in cache[sha] if quote in text]
        on_page = [p for p in holding if page and p["first_page"] <= page <= p["last_page"]]
        found = on_page or holding
        best = found[0] if found else None
        new_hash = best["content_hash"] if best else None
        if new_hash != source.get("passage_content_hash"):
            if new_hash is None:
                lost += 1
                where.append(f"{path}:{n}")
            else:
                moved += 1
            source["passage_content_hash"] = new_hash
            record["source"] = source
            line = json.dumps(record, ensure_ascii=False)
        out.append(line)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
    tmp.replace(path)
    return moved, lost, where
