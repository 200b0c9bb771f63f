"""Confirmed evidence out: CSV and JSON with citations, the same rows for the CLI and the web.

What counts as confirmed is decided in review.py (one reviewer, or two with four eyes);
this module only lists and formats it, so the CLI and the web export the same rows. Quotes
come from companies' reports, so CSV cells that a spreadsheet would run as a formula are
neutralised; JSON keeps the exact text.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TypeGuard

from sqlite_utils import Database

from analyzer.candidates.quotes import citation
from analyzer.db.criteria import criterion_names
from analyzer.db.documents import all_documents
from analyzer.levels import effective_level
from analyzer.review.decisions import effective, is_positive
from analyzer.review.status import CONFIRMED, items, statuses

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice or
# Google Sheets: "=HYPERLINK(...)", "+cmd|...", "-2+3", "@SUM(...)", and the same after a
# tab, carriage return or line feed; full-width forms are read as the ASCII ones in some
# locales.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def is_formula_like(value: object) -> TypeGuard[str]:
    """Would a spreadsheet read this text as a formula?"""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def spreadsheet_text(value: object) -> object:
    """Text for a CSV cell that no spreadsheet runs: a leading apostrophe (as OWASP
    advises) before text that would start a formula; anything else is left as it is."""
    return "'" + value if is_formula_like(value) else value


FIELDS = [
    "document_id",
    "file_name",
    "company",
    "fiscal_year",
    "report_type",
    "criterion",
    "criterion_name",
    "level",
    "quote",
    "pdf_page",
    "page_label",
    "citation",
    "reviewers",
    "confirmed_at",
    "criteria_version",
    "candidate_id",
    "passage_id",
]


def confirmed(db: Database, doc_id: int | None = None, company: str | None = None) -> list[dict]:
    """Confirmed evidence of a document or a company's documents, with citations."""
    docs = {d["id"]: d for d in all_documents(db)}
    names: dict[str, dict[str, str]] = {}
    out = []
    for item, st in statuses(db, items(db, doc_id, company)):
        if st["status"] != CONFIRMED:
            continue
        cur = st["state"]
        version = item.criteria_version
        if version not in names:
            names[version] = criterion_names(db, version)
        live = effective(item.rows)
        doc = docs[item.key[0]]
        out.append(
            {
                "document_id": doc["id"],
                "file_name": doc["file_name"],
                "company": doc["company"],
                "fiscal_year": doc["fiscal_year"],
                "report_type": doc["report_type"],
                "criterion": cur["criterion"],
                "criterion_name": names[version].get(cur["criterion"], ""),
                "level": effective_level("accept", cur["level"], cur["quote"], item.candidate),
                "quote": cur["quote"],
                "pdf_page": cur["pdf_page"],
                "page_label": cur["page_label"],
                "citation": citation(cur["pdf_page"], cur["page_label"]),
                "reviewers": sorted({r["reviewer"] for r in live if is_positive(r)}),
                "confirmed_at": live[-1]["created_at"],
                "criteria_version": version,
                "candidate_id": item.candidate["id"] if item.candidate else None,
                "passage_id": live[-1]["passage_id"],
            }
        )
    return sorted(out, key=lambda r: (r["document_id"], r["criterion"], r["pdf_page"] or 0))


def to_csv(rows: list[dict]) -> str:
    """Rows as CSV with a header; reviewers joined with '; '; formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        row = {**row, "reviewers": "; ".join(row["reviewers"])}
        writer.writerow({k: spreadsheet_text(v) for k, v in row.items()})
    return buffer.getvalue()


def to_json(rows: list[dict]) -> str:
    """Rows as indented JSON, the text exactly as stored."""
    return json.dumps(rows, indent=2, ensure_ascii=False)
