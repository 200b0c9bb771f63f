"""The HTML evidence pack stands alone (issue 19, item 4): each quote's citation links to
its page image, carried in the file as a data:image/png URI with the quote boxed; each cited
page is rendered once and small; a PDF that is gone leaves the citation as plain text."""

from __future__ import annotations

import base64
import io
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from analyzer.db.candidates import candidates_with_pages
from analyzer.db.connection import open_db
from analyzer.db.criteria import document_criteria_version
from analyzer.db.documents import all_documents, update_document
from analyzer.review.criteria import decide_criterion
from analyzer.review.decisions import record_decision
from analyzer.scorecard.pages import BOX_OUTLINE, WIDTH
from analyzer.scorecard.render import render_report
from analyzer.scorecard.scores import build_scorecard
from tests.test_scorecard import COMPANY, build_two_seasons, candidate, doc_of

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LINK = re.compile(r'<a class="page-link" href="#(page-\d+-\d+)">([^<]+)</a>')
FIGURE = re.compile(r'<figure class="cited-page" id="(page-\d+-\d+)">\s*<img src="([^"]+)"')


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, embedder, sample_pdf):
    """The 2025 sample with a card accepted, a second card on the same page accepted for
    another criterion, and a criterion confirmed by criterion review."""
    path = tmp_path_factory.mktemp("pack-pages") / "pack.db"
    shutil.copy(build_two_seasons(tmp_path_factory, embedder, sample_pdf), path)
    db = open_db(path)
    doc = doc_of(db, "2025")
    steel = candidate(db, doc["id"], "FF-ST-01")
    record_decision(db, steel["id"], "accept", "ana", level=2)
    version = document_criteria_version(db, doc["id"])
    same_page = next(
        c
        for c in candidates_with_pages(db, doc["id"], version)
        if c["pdf_page"] == steel["pdf_page"] and c["criterion_id"] != "FF-ST-01"
    )
    record_decision(db, same_page["id"], "accept", "ana", level=1)
    minerals = candidate(db, doc["id"], "HR-MIN-01")
    decide_criterion(db, doc["id"], "HR-MIN-01", "ana", 1, [minerals["passage_id"]])
    return db


def pack(db, drafts: bool = False) -> str:
    content, _, _ = render_report(db, "2025", COMPANY, "pack", drafts=drafts)
    return content.decode("utf-8")


def test_each_citation_links_to_its_page_image_inline(reviewed):
    html = pack(reviewed)
    links = LINK.findall(html)
    figures = dict(FIGURE.findall(html))
    card = build_scorecard(reviewed, "2025", COMPANY)
    cited = {
        f"page-{e.doc_id}-{e.pdf_page}"
        for cs in card.criteria
        for e in cs.evidence
        if e.status == "accepted"
    }
    assert len(cited) >= 2 and len(links) >= 3  # two quotes share a page
    assert {target for target, _ in links} == cited == set(figures)  # every link lands
    assert Counter(FIGURE.findall(html)).most_common(1)[0][1] == 1  # each page once
    for target, src in figures.items():
        assert src.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")
        assert image.width == WIDTH
        colours = Counter(zip(*[iter(image.tobytes())] * 3, strict=True))
        outline = sum(n for c, n in colours.items() if _near(c, BOX_OUTLINE))
        assert outline > 100, f"{target}: no quote box drawn"
    # small: rendered once per page at a modest size, so the whole pack stays light
    assert len(html.encode()) < 150_000 * len(figures) + 200_000


def _near(colour: tuple, target: tuple, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, target, strict=True))


def test_a_pack_with_drafts_links_the_drafts_pages_too(reviewed):
    html = pack(reviewed, drafts=True)
    drafts = re.findall(
        r"machine draft, not reviewed</strong> · [^,]+, <a class=\"page-link\"", html
    )
    assert drafts, "machine-draft citations link to their pages as well"
    assert {t for t, _ in LINK.findall(html)} == set(dict(FIGURE.findall(html)))


def test_a_pdf_that_is_gone_leaves_the_citation_as_text(reviewed, tmp_path):
    path = tmp_path / "moved.db"
    shutil.copy(reviewed.conn.execute("pragma database_list").fetchone()[2], path)
    db = open_db(path)
    for doc in all_documents(db):
        update_document(db, doc["id"], {"path": str(tmp_path / "gone.pdf")})
    html = pack(db)
    assert "data:image/png" not in html and not LINK.findall(html)
    assert "PDF p." in html or "p. " in html  # the citations are still there, as text


@pytest.mark.browser
def test_the_citation_link_opens_the_page_image_in_the_browser(reviewed, chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    file = tmp_path / "pack.html"
    file.write_text(pack(reviewed), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(file.as_uri())
        link = page.locator("a.page-link").first
        target = link.get_attribute("href")
        link.click()
        assert page.evaluate("location.hash") == target
        figure = page.locator(target)
        page.wait_for_function(f"document.querySelector('{target} img').naturalWidth === {WIDTH}")
        box = figure.locator("img").bounding_box()
        assert box and 0 <= box["y"] < 900, "the page image is scrolled into view"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "pack-cited-page.png"))
        browser.close()
