"""Confirmed evidence out (CSV, JSON with citations) and missed passages in (meaning search).

What counts as confirmed is decided in review.py (one reviewer, or two with four eyes);
this module only lists and formats it, so the CLI and the web export the same rows.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
from sqlite_utils import Database

from analyzer.candidates.quotes import citation
from analyzer.candidates.views import passage_record
from analyzer.db.criteria import criterion_names
from analyzer.db.embeddings import from_blob
from analyzer.embeddings.model import Embedder
from analyzer.review.decisions import effective, is_positive
from analyzer.review.status import CONFIRMED, items, statuses

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


def _level(state: dict, candidate: dict | None) -> int | None:
    """The level a reviewer set, else the suggested one an accept takes (at least 1)."""
    if state["level"] is not None:
        return state["level"]
    suggested = (candidate or {}).get("level")
    return max(1, suggested) if suggested is not None else 1


def confirmed(db: Database, doc_id: int | None = None, company: str | None = None) -> list[dict]:
    """Confirmed evidence of a document or a company's documents, with citations."""
    docs = {d["id"]: d for d in db["documents"].rows}
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
                "level": _level(cur, item.candidate),
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
    """Rows as CSV with a header; reviewers joined with '; '."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "reviewers": "; ".join(row["reviewers"])})
    return buffer.getvalue()


def to_json(rows: list[dict]) -> str:
    """Rows as indented JSON."""
    return json.dumps(rows, indent=2, ensure_ascii=False)


def search(
    db: Database, embedder: Embedder, query: str, doc_id: int | None = None, limit: int = 10
) -> list[dict]:
    """Passages ranked by cosine similarity to the query, with an already-loaded model."""
    where, params = "", [embedder.name]
    if doc_id is not None:
        where, params = "and p.document_id = ?", [embedder.name, doc_id]
    sql = f"""
        select p.id, p.document_id, p.text, p.parts, d.file_name, e.vector
        from passages p join embeddings e on e.content_hash = p.content_hash and e.model = ?
        join documents d on d.id = p.document_id
        where 1 {where}
    """
    rows = db.execute(sql, params).fetchall()
    if not rows:
        return []
    matrix = np.vstack([from_blob(r[5]) for r in rows])
    scores = matrix @ embedder.encode([query])[0]
    results = []
    for i in np.argsort(-scores)[:limit]:
        pid, doc, text, parts, file_name, _ = rows[i]
        record = passage_record(doc, pid, text, json.loads(parts))
        record.update({"score": round(float(scores[i]), 4), "file_name": file_name})
        record["citation"] = record["first_citation"]
        results.append(record)
    return results
