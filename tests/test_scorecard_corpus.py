"""Real-report tier for scorecards: Volkswagen 2021 and 2022 as two seasons, Porsche's
spreads beside them. Skipped, with the reason, when ../shared/corpus is absent.

To stay fast, the Volkswagen reports are cut to their first 25 pages (real pages, copied
by PDFium) rather than the whole corpus analysed: enough for real printed page labels,
spreads, control characters in real text and near-same passages across years.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook

from analyzer.db.connection import open_db
from analyzer.pipeline import Analyzer, Settings
from analyzer.review.decisions import record_decision
from analyzer.scorecard.carryover import carry_over_suggestions
from analyzer.scorecard.metadata import set_document
from analyzer.scorecard.render import render_report
from analyzer.scorecard.scores import build_scorecard
from tests.test_scorecard import assert_quotes_on_pages, quotes_in

pytestmark = pytest.mark.corpus
VW = "Volkswagen AG (Group)"
FILES = {
    "volkswagen-2021-sustainability-report.pdf": (VW, "2021"),
    "volkswagen-2022-sustainability-report.pdf": (VW, "2022"),
    "porsche-2020-report-extract-spreads.pdf": ("Porsche AG", "2022"),
}
FIRST_PAGES = 25


def first_pages(source: Path, target: Path) -> Path:
    src = pdfium.PdfDocument(source)
    out = pdfium.PdfDocument.new()
    out.import_pages(src, list(range(min(FIRST_PAGES, len(src)))))
    out.save(target)
    return target


@pytest.fixture(scope="module")
def real_db(corpus, embedder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("scorecard-corpus")
    db = open_db(folder / "corpus.db")
    analyzer = Analyzer(db, Settings(use_classifier=False), embedder=embedder)
    for name, (company, year) in FILES.items():
        pdf = first_pages(corpus / name, folder / name)
        result = analyzer.analyze(pdf, {"company": company, "fiscal_year": year})
        assert result.error is None, (name, result.error)
    porsche = next(iter(db["documents"].rows_where("file_name like 'porsche%'")))
    set_document(db, porsche["id"], season="2022")
    return db


def test_real_reports_cite_every_quote_on_its_page_and_export_cleanly(real_db):
    db = real_db
    old = next(iter(db["documents"].rows_where("fiscal_year = '2021'")))
    for cand in db["candidates"].rows_where("document_id = ? and rank = 1", [old["id"]]):
        record_decision(db, cand["id"], "accept", "ana", level=1)
    report = json.loads(render_report(db, "2022", None, "json")[0])
    assert {c["company"] for c in report["companies"]} == {VW, "Porsche AG"}
    assert assert_quotes_on_pages(db, quotes_in(report)) > 80
    labels = {q.get("page_label") for q in quotes_in(report) if "porsche" in q["file_name"]}
    assert labels and all(label and "-" not in label for label in labels), "a half, not a spread"
    wb = load_workbook(io.BytesIO(render_report(db, "2022", None, "xlsx")[0]))
    assert wb["Scores"].max_row == 1 + 2 * 40

    suggestions = carry_over_suggestions(db, VW, "2022")
    near = [s for s in suggestions if s["match"] == "near-same text"]
    assert near, "Volkswagen 2022 repeats some of 2021's passages with small edits"
    assert all(0.9 <= s["similarity"] < 1 for s in near)
    card = build_scorecard(db, "2022", VW)
    assert card.previous.season == "2021" and card.previous.confirmed.total.percent == 50
    assert card.confirmed.total.achieved == 0, "suggestions are offered, never copied"
