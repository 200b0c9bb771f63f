"""The documents table and the pages of each document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from analyzer.db.connection import StoreError, now
from analyzer.hashes import file_sha256
from analyzer.types import ParsedDocument


def document_by_sha(db: Database, sha256: str) -> dict | None:
    rows = list(db.table("documents").rows_where("sha256 = ?", [sha256]))
    return rows[0] if rows else None


def find_document(db: Database, ref: str) -> dict:
    """A document by id, or by the path of a file that was analysed (matched by content)."""
    if ref.isdigit():
        rows = list(db.table("documents").rows_where("id = ?", [int(ref)]))
        if rows:
            return rows[0]
    path = Path(ref)
    if path.is_file():
        row = document_by_sha(db, file_sha256(path))
        if row:
            return row
        raise StoreError(
            f"{ref}: this file has not been analysed yet (run: analyzer analyze {ref})"
        )
    rows = list(db.table("documents").rows_where("file_name = ?", [path.name], order_by="id desc"))
    if rows:
        return rows[0]
    raise StoreError(
        f"{ref}: no such document (give a document id or the path of an analysed file)"
    )


def save_document(
    db: Database, parsed: ParsedDocument, meta: dict[str, Any], passage_settings: tuple[int, int]
) -> int:
    """Insert or update the document row and its pages; returns the document id."""
    existing = document_by_sha(db, parsed.sha256)
    row = {
        "sha256": parsed.sha256,
        "file_name": parsed.path.name,
        "path": str(parsed.path.resolve()),
        "page_count": len(parsed.pages),
        "flags": json.dumps(parsed.flags),
        "parser_version": meta["parser_version"],
        "splitter_version": meta.get("splitter_version"),
        "passage_size": passage_settings[0],
        "passage_overlap": passage_settings[1],
        "updated_at": now(),
    }
    for key in ("company", "fiscal_year", "report_type"):
        if meta.get(key):
            row[key] = str(meta[key])
    if existing:
        doc_id = existing["id"]
        db.table("documents").update(doc_id, row)
    else:
        previous = list(
            db.table("documents").rows_where(
                "file_name = ? and sha256 != ?",
                [row["file_name"], row["sha256"]],
                order_by="id desc",
            )
        )
        row["previous_version_id"] = previous[0]["id"] if previous else None
        if previous:  # a new version of a known report keeps what was said about it
            for key in ("company", "fiscal_year", "report_type"):
                if not row.get(key) and previous[0].get(key):
                    row[key] = previous[0][key]
        row["created_at"] = row["updated_at"]
        doc_id = db.table("documents").insert(row).last_pk
    db.table("pages").delete_where("document_id = ?", [doc_id])
    db.table("pages").insert_all(
        {
            "document_id": doc_id,
            "pdf_page": page.number,
            "label": page.label,
            "width": round(page.width, 2),
            "height": round(page.height, 2),
            "text": page.text,
            "lines": json.dumps(
                [[ln.start, ln.end, *(round(v, 1) for v in ln.box)] for ln in page.lines]
            ),
            "flags": json.dumps(page.flags),
            "label_regions": json.dumps([[r.label, r.x0, r.x1] for r in page.label_regions]),
        }
        for page in parsed.pages
    )
    return doc_id


def page_lines(db: Database, doc_id: int) -> dict[int, list[list[float]]]:
    """PDF page -> its lines as stored ([start, end, x0, top, x1, bottom], reading order)."""
    return {
        r["pdf_page"]: json.loads(r["lines"] or "[]")
        for r in db.table("pages").rows_where("document_id = ?", [doc_id], select="pdf_page, lines")
    }


def update_document(db: Database, doc_id: int, values: dict[str, Any]) -> None:
    """Change what is said about a document (company, year, type, season, dates)."""
    if values:
        db.table("documents").update(doc_id, {**values, "updated_at": now()})


def get_document(db: Database, doc_id: int) -> dict:
    return db.table("documents").get(doc_id)


def document_by_id(db: Database, doc_id: int) -> dict | None:
    """A document by id, or None."""
    rows = list(db.table("documents").rows_where("id = ?", [doc_id]))
    return rows[0] if rows else None


def all_documents(db: Database, newest_first: bool = False) -> list[dict]:
    """Every document, by id (newest first if asked)."""
    return list(db.table("documents").rows_where(order_by="id desc" if newest_first else "id"))


def company_documents(db: Database, company: str) -> list[dict]:
    """The documents of a company (name matched case-insensitively), by id."""
    return list(
        db.table("documents").rows_where("lower(company) = lower(?)", [company], order_by="id")
    )


def companies_like(db: Database, part: str) -> set[str]:
    """The stored company names that contain the given text (SQL LIKE, any case)."""
    return {
        r["company"]
        for r in db.query(
            "select distinct company from documents where company like ?", [f"%{part}%"]
        )
    }


def document_pages(db: Database, doc_id: int, pdf_pages: list[int]) -> list[dict]:
    """The page rows of a document for the given PDF page numbers."""
    marks = ",".join("?" * len(pdf_pages))
    return list(
        db.table("pages").rows_where(
            f"document_id = ? and pdf_page in ({marks})", [doc_id, *pdf_pages]
        )
    )


def page_texts(db: Database, doc_id: int) -> dict[int, str]:
    """PDF page -> its text ('' where the page has none)."""
    return {
        r["pdf_page"]: r["text"] or ""
        for r in db.table("pages").rows_where("document_id = ?", [doc_id], select="pdf_page, text")
    }
