"""Generated reports open and render: HTML in the real browser (Debian's Chromium through
Playwright, screenshots in tests/artifacts/), the XLSX read back with openpyxl.

The quotes are read from the page as a reader sees them, with the citation printed under
each, and looked up on the cited page of the cited file in the stored page text.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from analyzer.db.connection import open_db
from analyzer.review.decisions import record_decision
from analyzer.scorecard.render import render_report
from analyzer.scorecard.scores import build_scorecard
from analyzer.scorecard.seasons import add_season
from tests.test_scorecard import COMPANY, build_two_seasons, candidate, doc_of, squash

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CITED = re.compile(r"(?P<file>[\w.-]+\.pdf), p\. (?P<label>[\w-]+)(?: \(PDF p\. (?P<pdf>\d+)\))?")


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, embedder, sample_pdf):
    """The two-season database with a cut-off and a few decisions, and its reports on disk."""
    folder = tmp_path_factory.mktemp("reports")
    path = folder / "reports.db"
    shutil.copy(build_two_seasons(tmp_path_factory, embedder, sample_pdf), path)
    db = open_db(path)
    add_season(db, "2025", "2026-06-30")
    old, new = doc_of(db, "2024"), doc_of(db, "2025")
    record_decision(db, candidate(db, old["id"], "FF-AL-01")["id"], "accept", "ana", level=2)
    record_decision(db, candidate(db, new["id"], "FF-ST-01")["id"], "accept", "ana", level=2)
    record_decision(db, candidate(db, new["id"], "HR-IP-01")["id"], "reject", "ben")
    files = {}
    for company, fmt in ((COMPANY, "html"), (None, "html"), (COMPANY, "pack")):
        content, _, name = render_report(db, "2025", company, fmt)
        files[name] = folder / name
        files[name].write_bytes(content)
    return db, files


def quote_on_cited_page(db, quote: str, cite: str) -> None:
    match = CITED.search(cite)
    assert match, cite
    doc = next(iter(db["documents"].rows_where("file_name = ?", [match["file"]])))
    pdf_page = int(match["pdf"] or match["label"])
    page = db["pages"].get((doc["id"], pdf_page))
    assert squash(quote).removesuffix(" …") in squash(page["text"]), (cite, quote)
    if match["pdf"]:
        assert match["label"] in (page["label"] or "").split("-") + [page["label"]]


@pytest.mark.browser
def test_company_report_renders_and_every_quote_is_on_the_page_it_cites(reviewed, chromium):
    from playwright.sync_api import sync_playwright

    db, files = reviewed
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(files["northwind-motors-2025.html"].as_uri())
        assert page.locator("h1").inner_text() == COMPANY
        assert page.locator("section.criterion").count() == 40
        assert page.locator("table.breakdown tbody tr").count() == 1 + 2 + 8
        steel = page.locator("#FF-ST-01")
        assert "confirmed 2 · full" in steel.inner_text()
        assert "rejected by reviewer ben" in page.locator("#HR-IP-01 .searched").inner_text()
        assert "Suggestion from season 2024" in page.locator("#FF-AL-01").inner_text()
        checked = 0
        for item in page.locator(".evidence").all():
            quote_on_cited_page(db, item.locator("blockquote").inner_text(),
                                item.locator(".cite").inner_text())  # fmt: skip
            checked += 1
        for item in page.locator(".searched li").all():
            text = item.inner_text()
            quote = text[text.index("“") + 1 : text.index("”")]
            quote_on_cited_page(db, quote, text[text.index("”") :])
            checked += 1
        assert checked > 100
        page.screenshot(path=str(ARTIFACTS / "scorecard-company.png"), full_page=False)
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") > 5, "prints to PDF"
        browser.close()


@pytest.mark.browser
def test_leaderboard_and_evidence_pack_render(reviewed, chromium):
    from playwright.sync_api import sync_playwright

    _, files = reviewed
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(files["leaderboard-2025.html"].as_uri())
        heat = page.locator("svg.heatmap").first
        box = heat.bounding_box()
        assert box and box["width"] > 600 and box["height"] > 150
        assert heat.locator("rect").count() == 9  # one company: 8 subsections and the total
        assert page.locator("svg.bars rect").count() == 2
        assert "Northwind Motors" in page.locator("svg.bars").inner_html()
        assert page.locator("table a").get_attribute("href") == "northwind-motors-2025.html"
        page.screenshot(path=str(ARTIFACTS / "scorecard-leaderboard.png"), full_page=True)
        page.goto(files["northwind-motors-2025-evidence-pack.html"].as_uri())
        assert "evidence pack" in page.locator("h1").inner_text()
        assert page.locator("section.criterion").count() == 40
        assert "reviewer" not in page.locator("body").inner_text().lower()
        browser.close()


def test_xlsx_reads_back(reviewed):
    db, _ = reviewed
    content, mimetype, name = render_report(db, "2025", None, "xlsx")
    assert name == "scorecards-2025.xlsx" and mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["Summary", "Scores", "Evidence", "Searched"]
    card = build_scorecard(db, "2025", COMPANY)
    summary = list(wb["Summary"].iter_rows(values_only=True))
    header = summary[0]
    total = dict(zip(header, summary[1], strict=True))
    assert total["scope"] == "total" and total["company"] == COMPANY
    assert total["draft_percent"] == round(card.draft.total.percent, 1)
    assert total["confirmed_percent"] == 2.5 and total["points_possible"] == 80
    scores = list(wb["Scores"].iter_rows(values_only=True))
    assert len(scores) == 41
    by_id = {row[4]: dict(zip(scores[0], row, strict=True)) for row in scores[1:]}
    assert by_id["FF-ST-01"]["confirmed_level"] == 2
    evidence = list(wb["Evidence"].iter_rows(values_only=True))
    cols = evidence[0]
    statuses = {dict(zip(cols, r, strict=True))["status"] for r in evidence[1:]}
    assert {"accepted", "rejected", "draft"} <= statuses
    assert wb["Searched"].max_row > 40


def test_xlsx_cells_drop_control_characters_from_pdf_text():
    """Real reports carry control characters (found on the corpus) that XLSX cannot hold."""
    from analyzer.scorecard.export import _cell

    assert _cell("Inde\x02x 20\x0b24") == "Index 2024"
    assert _cell({"a": [1]}) == '{"a": [1]}' and _cell(3) == 3
