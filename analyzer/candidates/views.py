"""Read models: stored rows turned into the JSON-ready records the CLI (and web) show.

Field names here are the public contract of the JSON output: a passage has doc_id,
passage_id, text, pdf_pages and page_labels; a candidate adds criterion, rank, score;
a document has doc_id, file_name, sha256, company, fiscal_year, pages and flags.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlite_utils import Database

from analyzer.candidates.quotes import citation
from analyzer.db.candidates import candidate_rows
from analyzer.db.criteria import criterion_names
from analyzer.db.documents import all_documents, find_document
from analyzer.db.drafts import document_drafts
from analyzer.db.passages import passage_rows
from analyzer.levels import candidate_level
from analyzer.reading.names import shown
from analyzer.scoring.verdict import is_evidence, with_drafts


def collect_pdfs(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand folders to the PDFs in them; returns (files, [(path, reason it is unusable)])."""
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
            if not found:
                problems.append((path, "folder holds no PDF files"))
            files += found
        elif path.exists():
            files.append(path)
        else:
            problems.append((path, "no such file or folder"))
    return list(dict.fromkeys(files)), problems


def document_record(row: dict) -> dict:
    return {
        "doc_id": row["id"],
        "file_name": row["file_name"],
        "sha256": row["sha256"],
        "company": row["company"],
        "fiscal_year": row["fiscal_year"],
        "report_type": row["report_type"],
        "pages": row["page_count"],
        "flags": json.loads(row["flags"] or "{}"),
        "previous_version_id": row["previous_version_id"],
        "path": row["path"],
    }


def documents(db: Database) -> list[dict]:
    return [document_record(r) for r in all_documents(db)]


def ocr_pages(document: dict) -> set[int]:
    """The document's pages whose text Tesseract read from the page image."""
    return set(json.loads(document.get("flags") or "{}").get("ocr", []))


def passage_record(
    doc_id: int,
    passage_id: int,
    text: str,
    parts: list[dict],
    ocr: set[int] | frozenset[int] = frozenset(),
) -> dict:
    """A passage as the CLI and web show it; ``ocr``: the document's OCR-read pages, so a
    passage read from a scan says so (its text is Tesseract's reading, not the PDF's)."""
    first = parts[0]
    return {
        "doc_id": doc_id,
        "passage_id": passage_id,
        "text": text,
        "pdf_pages": [p["pdf_page"] for p in parts],
        "page_labels": [p["label"] for p in parts],
        "citation": "; ".join(citation(p["pdf_page"], p["label"]) for p in parts),
        "boxes": {str(p["pdf_page"]): p["boxes"] for p in parts},
        "char_range": {str(p["pdf_page"]): [p["start"], p["end"]] for p in parts},
        "first_citation": citation(first["pdf_page"], first["label"]),
        "ocr": any(p["pdf_page"] in ocr for p in parts),
    }


def passages(db: Database, ref: str) -> list[dict]:
    doc = find_document(db, ref)
    rows = passage_rows(db, doc["id"])
    ocr = ocr_pages(doc)
    return [
        passage_record(doc["id"], r["id"], r["text"], json.loads(r["parts"]), ocr) for r in rows
    ]


def candidates(db: Database, ref: str, criterion: str | None = None) -> list[dict]:
    doc = find_document(db, ref)
    records = []
    names: dict[str, str] = {}
    drafts: dict[str, dict] = {}
    ocr = ocr_pages(doc)
    for r in candidate_rows(db, doc["id"], criterion):
        if not names:
            names = criterion_names(db, r["criteria_version"])
            drafts = document_drafts(db, doc["id"], r["criteria_version"])
        parts = json.loads(r["passage_parts"])
        record = passage_record(doc["id"], r["passage_id"], r["passage_text"], parts, ocr)
        record.update(
            {
                "candidate_id": r["id"],
                "criterion": r["criterion_id"],
                "criterion_name": names.get(r["criterion_id"]),
                "rank": r["rank"],
                "score": r["score"],
                "probability": r.get("probability"),
                "threshold": r.get("threshold"),
                "evidence": is_evidence(r.get("probability"), r.get("threshold")),
                "scorer": r["scorer"],
                "quote": r["quote"],
                "quote_pdf_page": r["pdf_page"],
                "quote_page_label": r["page_label"],
                "citation": citation(r["pdf_page"], r["page_label"]),
                "criteria_version": r["criteria_version"],
            }
        )
        suggestion = candidate_level(r)
        level = (suggestion.level, suggestion.reason, suggestion.cues)
        record.update(dict(zip(("level", "level_reason", "cues"), level, strict=True)))
        records.append(record)
    return with_drafts(records, drafts)


def page_ranges(pages: list[int]) -> str:
    """[5, 6, 7, 9] -> '5-7, 9'."""
    out: list[str] = []
    for page in sorted(pages):
        if out and "-" not in out[-1] and int(out[-1]) == page - 1:
            out[-1] = f"{out[-1]}-{page}"
        elif out and "-" in out[-1] and int(out[-1].split("-")[1]) == page - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{page}"
        else:
            out.append(str(page))
    return ", ".join(out)


def result_line(result) -> str:
    flags = "; ".join(f"{k} on p. {page_ranges(v)}" for k, v in result.flags.items())
    cached = result.passages - result.embedded
    parts = [
        f"{shown(result.path.name)}: document {result.doc_id}",
        f"{result.pages} pages",
        f"{result.passages} passages ({cached} already embedded)",
        f"{result.candidates} candidates",
    ]
    if flags:
        parts.append(f"flagged: {flags}")
    line = ", ".join(parts)
    if result.passages == 0:
        line += " (no readable text: nothing to score; an OCR'd copy of the PDF would help)"
    return line


def summary_line(results: list, missing: int = 0) -> str:
    ok = [r for r in results if not r.error]
    failed = len(results) - len(ok) + missing
    pages = sum(r.pages for r in ok)
    passages = sum(r.passages for r in ok)
    candidates_n = sum(r.candidates for r in ok)
    line = (
        f"Analysed {len(ok)} report(s): {pages} pages, {passages} passages, "
        f"{candidates_n} candidates."
    )
    damaged = sum(1 for r in ok if r.damaged)
    if damaged:
        line += f" {damaged} damaged (repaired to read; text may be missing, see warnings above)."
    if failed:
        line += f" {failed} failed (see errors above)."
    return line
