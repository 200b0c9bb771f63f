"""Search in Debian's Chromium (issue 22): results are pages, each once, and opening a page
shows its image with one outline per matching passage."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from analyzer.web.app import make_app
from tests.review_support import PASSWORD, copy_db
from tests.search_support import MULTI_MATCH_QUERY, sample_search_db

ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path_factory, tmp_path, embedder, sample_pdf):
    from waitress import create_server

    app = make_app(copy_db(sample_search_db(tmp_path_factory, embedder, sample_pdf), tmp_path))
    httpd = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.effective_port}"
    httpd.close()
    app.extensions["worker"].stop()
    app.extensions["renderer"].close()


@pytest.fixture
def page(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        browser.close()
        assert not errors, errors


def test_search_shows_pages_and_the_page_boxes_every_match(server, page):
    page.goto(server + "/login")
    page.fill("input[name=username]", "rev")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(server + "/search")
    page.fill("input[name=q]", MULTI_MATCH_QUERY)
    page.click("form.scope button[type=submit]")
    page.wait_for_selector("article.result")

    results = page.locator("article.result")
    shown = [
        (results.nth(i).get_attribute("data-doc"), results.nth(i).get_attribute("data-page"))
        for i in range(results.count())
    ]
    assert len(shown) == len(set(shown)) > 1, "each page once"
    busy = page.locator("article.result:has(.more-on-page)").first
    matches = int(busy.get_attribute("data-matches"))
    assert matches > 1
    more = busy.locator(".more-on-page").inner_text()
    assert more == f"{matches - 1} more passage{'s' if matches > 2 else ''} on this page"

    page.goto(server + busy.locator("a.open-page").get_attribute("href"))
    page.wait_for_function("document.getElementById('page-img').naturalWidth > 0")
    outlines = page.locator("#boxes .match")
    assert outlines.count() == matches  # one box per matching passage on the page
    assert page.locator("#boxes .box").count() >= matches  # their lines, marked too
    sheet = page.locator("#page-sheet").bounding_box()
    for i in range(matches):  # every outline lies on the page image
        box = outlines.nth(i).bounding_box()
        assert box["width"] > 0 and box["height"] > 0
        assert sheet["x"] <= box["x"] and box["x"] + box["width"] <= sheet["x"] + sheet["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-page-matches.png"), full_page=True)
