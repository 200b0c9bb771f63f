"""Machine-readable exports of scorecards: JSON (everything), CSV and XLSX (scores, evidence).

Quotes and file names come from outside, so no CSV or XLSX cell may hold a live formula:
CSV text that would start one gets a leading apostrophe (as OWASP advises), XLSX cells are
written as text with Excel's quote prefix (the exact text shows, and stays text when
edited). JSON keeps the exact text.
"""

from __future__ import annotations

import csv
import io
import json

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

from analyzer.db.connection import now
from analyzer.review.export import is_formula_like, spreadsheet_text
from analyzer.scorecard.records import breakdown_rows, criterion_record, summary_record
from analyzer.scorecard.scores import Scorecard

SCORE_COLUMNS = [
    "company",
    "season",
    "section",
    "subsection",
    "criterion",
    "criterion_name",
    "draft_level",
    "draft_confidence",
    "confirmed_level",
    "review_changed_level",
    "points_possible",
    "draft_points",
    "confirmed_points",
    "previous_season",
    "change_draft",
    "change_confirmed",
    "draft_basis",
]
EVIDENCE_COLUMNS = [
    "status",
    "level",
    "counts",
    "file_name",
    "citation",
    "pdf_page",
    "page_label",
    "quote",
    "reason",
    "reviewer",
    "decision_id",
    "candidate_id",
    "probability",
    "doc_id",
]


def to_json(cards: list[Scorecard], season: str) -> bytes:
    payload = {
        "season": season,
        "generated_at": now(),
        "criteria_version": cards[0].criteria_set.version if cards else None,
        "scoring_version": cards[0].criteria_set.scoring.version if cards else None,
        "companies": [summary_record(c) for c in cards],
        "scores": [criterion_record(c, cs) for c in cards for cs in c.criteria],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False).encode("utf-8")


def evidence_rows(cards: list[Scorecard]) -> list[dict]:
    """One row per criterion and evidence item (a criterion without evidence: one row)."""
    rows = []
    for card in cards:
        for cs in card.criteria:
            rec = criterion_record(card, cs)
            base = {k: rec[k] for k in SCORE_COLUMNS}
            if not rec["evidence"]:
                searched = rec["searched_not_found"] or {}
                rows.append({**base, "status": "searched, not found",
                             "reason": searched.get("summary")})  # fmt: skip
            for ev in rec["evidence"]:
                rows.append({**base, **{k: ev.get(k) for k in EVIDENCE_COLUMNS}})
    return rows


def to_csv(cards: list[Scorecard]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SCORE_COLUMNS + EVIDENCE_COLUMNS)
    writer.writeheader()
    for row in evidence_rows(cards):
        writer.writerow({k: spreadsheet_text(v) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8")


def _sheet(wb: Workbook, title: str, columns: list[str], rows: list[dict]) -> None:
    ws = wb.create_sheet(title)
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([_cell(row.get(c)) for c in columns])
        for cell in ws[ws.max_row]:
            if cell.data_type == "f" or is_formula_like(cell.value):
                cell.data_type = "s"  # openpyxl stores text starting with "=" as a formula
                cell.quotePrefix = True
    ws.freeze_panes = "A2"
    for col in ws.columns:
        width = min(60, max(len(str(c.value or "")) for c in col) + 2)
        ws.column_dimensions[col[0].column_letter].width = width
        if width == 60:
            for c in col[1:]:
                c.alignment = Alignment(wrap_text=True, vertical="top")


def _cell(value):
    """A value a worksheet accepts: lists as JSON, control characters from PDFs dropped."""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def to_xlsx(cards: list[Scorecard]) -> bytes:
    """Sheets: Summary (percentages), Scores (per criterion), Evidence, Searched (zeros)."""
    wb = Workbook()
    wb.remove(wb.active)
    summary = []
    for card in cards:
        confirmed = {r["key"]: r for r in breakdown_rows(card.criteria_set, card.confirmed)}
        for row in breakdown_rows(card.criteria_set, card.draft):
            summary.append(
                {"company": card.company, "season": card.season, "scope": row["level"],
                 "name": row["name"], "draft_percent": row["percent"],
                 "confirmed_percent": confirmed[row["key"]]["percent"],
                 "points_possible": row["possible"], "draft_points": row["achieved"],
                 "confirmed_points": confirmed[row["key"]]["achieved"]}
            )  # fmt: skip
    _sheet(wb, "Summary", list(summary[0]) if summary else ["company"], summary)
    records = [criterion_record(c, cs) for c in cards for cs in c.criteria]
    _sheet(wb, "Scores", SCORE_COLUMNS, records)
    evidence = [r for r in evidence_rows(cards) if r.get("citation")]
    _sheet(wb, "Evidence", SCORE_COLUMNS[:6] + EVIDENCE_COLUMNS, evidence)
    searched = []
    for rec in records:
        found = rec["searched_not_found"]
        if not found:
            continue
        for best in found["best"] or [{}]:
            searched.append(
                {"company": rec["company"], "season": rec["season"],
                 "criterion": rec["criterion"], "draft_level": rec["draft_level"],
                 "confirmed_level": rec["confirmed_level"], "searched": found["summary"],
                 "candidate_quote": best.get("quote"), "file_name": best.get("file_name"),
                 "citation": best.get("citation"), "why_short": "; ".join(best.get("why", []))}
            )  # fmt: skip
    columns = ["company", "season", "criterion", "draft_level", "confirmed_level", "searched",
               "candidate_quote", "file_name", "citation", "why_short"]  # fmt: skip
    _sheet(wb, "Searched", columns, searched)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
