"""End to end in Debian's Chromium: log in, upload, watch it finish, review with the keyboard.

The server is the real app under waitress in a thread of the test process, so the embedding
model is loaded once. Screenshots of the review page are kept in tests/artifacts/.
"""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import pytest

from analyzer import accounts
from analyzer.db.connection import open_db
from analyzer.web.app import make_app
from tests.pdf_factory import folio_pdf
from tests.review_support import PASSWORD, copy_db, template_db

COMPANY = 'Gamma <img src=x onerror="document.body.dataset.pwned=1">'
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = pytest.mark.browser

# Selects the first 40 characters of the passage's first longer text run, as a reviewer would.
SELECT_WORDS = """() => {
  const passage = document.getElementById('passage');
  const walker = document.createTreeWalker(passage, NodeFilter.SHOW_TEXT);
  let node = walker.nextNode();
  while (node && node.textContent.trim().length < 40) node = walker.nextNode();
  const start = node.textContent.search(/\\S/);
  const range = document.createRange();
  range.setStart(node, start);
  range.setEnd(node, start + 40);
  getSelection().removeAllRanges();
  getSelection().addRange(range);
  return range.toString().trim();
}"""


@pytest.fixture
def server(tmp_path_factory, tmp_path, embedder):
    from waitress import create_server

    db_path = copy_db(template_db(tmp_path_factory, embedder), tmp_path)
    db = open_db(db_path)
    accounts.add_user(db, "ann", PASSWORD, "analyst")
    db.close()
    app = make_app(db_path, embedder=embedder)
    httpd = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.effective_port}", db_path
    httpd.close()
    app.extensions["worker"].stop()
    app.extensions["renderer"].close()


@pytest.fixture
def page(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True)
        # Playwright's wait_for_function evaluates strings, which the app's CSP forbids; with
        # the CSP off, the markup check below tests the escaping itself, not the backstop.
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=True, bypass_csp=True
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        browser.close()
        assert not errors, errors


def card_id(page) -> str:
    return page.locator("body").get_attribute("data-card") or ""


def press_and_wait_for_next(page, key: str) -> str:
    before = card_id(page)
    page.keyboard.press(key)
    page.wait_for_function(
        f"document.body.dataset.card && document.body.dataset.card !== '{before}'"
    )
    return card_id(page)


def test_upload_review_with_the_keyboard_undo_and_export(server, page, tmp_path):
    base, db_path = server
    report = tmp_path / "gamma-2024.pdf"
    folio_pdf(report, n_pages=4, first_folio=7)  # not the report already in the database

    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    page.fill("input[name=username]", "ann")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Upload reports")

    page.set_input_files("input[name=files]", str(report))
    page.fill("input[name=company]", COMPANY)  # untrusted text must stay text
    page.fill("input[name=fiscal_year]", "2024")
    page.click("text=Upload and analyse")
    page.wait_for_selector("text=analysis queued")
    # The page polls the analysis and shows the finished document with a link to review it.
    link = page.locator("a", has_text="review document 2").first
    link.wait_for(timeout=60_000)
    row = page.locator("tr[data-upload]").first
    assert row.locator(".status").inner_text() == "done"
    assert row.locator(".pages").inner_text() == "4"
    assert page.locator("body").get_attribute("data-pwned") is None  # the company stayed text
    link.click()

    page.wait_for_selector("#card:not([hidden])")
    first = card_id(page)
    assert page.locator("#citation").inner_text().startswith("p. ")
    assert COMPANY in page.locator("#doc-name").inner_text()
    assert page.locator("body").get_attribute("data-pwned") is None
    assert page.locator("#passage mark").count() > 0  # matched words highlighted
    page.wait_for_function("document.getElementById('page-img').naturalWidth > 0")
    assert page.locator("#boxes .box").count() > 0  # the passage boxed on the page image
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-card.png"))
    shown = page.get_attribute("#page-img", "src")  # browse to a neighbouring page and back
    number = int(shown.split("/pages/")[1].split(".")[0])
    step, there, back = (1, "]", "[") if number < 4 else (-1, "[", "]")
    page.keyboard.press(there)
    assert page.get_attribute("#page-img", "src").endswith(f"/pages/{number + step}.png?scale=1.5")
    page.keyboard.press(back)
    assert page.get_attribute("#page-img", "src") == shown

    second = press_and_wait_for_next(page, "a")  # accept at the suggested level
    third = press_and_wait_for_next(page, "r")  # reject
    fourth = press_and_wait_for_next(page, "2")  # accept as level 2
    assert len({first, second, third, fourth}) == 4
    assert "3 reviewed" in page.locator("#prog-doc").inner_text()

    page.keyboard.press("u")  # undo the level-2 accept: its card comes back
    page.wait_for_function(f"document.body.dataset.card === '{third}'")
    page.wait_for_selector("#history li.undone")
    history = page.locator("#history").inner_text()
    assert "ann · accept" in history and "undone by ann" in history and "ann · undo" in history
    assert "level – → 2" in history and "criteria " in history
    assert page.locator("#item-status").inner_text() == "open"
    page.screenshot(path=str(ARTIFACTS / "review-after-undo.png"))

    page.keyboard.press("c")
    page.fill("#dialog-input", "table on the next page")
    page.keyboard.press("Enter")
    page.wait_for_selector("#history >> text=table on the next page")

    # e: the words selected in the passage become the quote; the reviewer says the level
    # (an edit decides the candidate), and the next card comes.
    chosen = page.evaluate(SELECT_WORDS)
    page.keyboard.press("e")
    assert page.input_value("#dialog-input") == chosen
    page.select_option("#dialog-level", "1")
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.body.dataset.card !== '{third}'")

    # m: move the next card to another criterion, at a level the reviewer chooses.
    page.keyboard.press("m")
    target = page.evaluate("document.querySelector('#dialog-select option:not(:checked)').value")
    page.select_option("#dialog-select", target)
    page.select_option("#dialog-level", "2")
    moved = card_id(page)
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.body.dataset.card !== '{moved}'")

    page.goto(base + "/")
    with page.expect_download() as download:
        page.locator("tr", has_text="gamma-2024.pdf").locator("a", has_text="CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    # The first accept, the edited quote and the moved card; not the reject or the undone accept.
    assert len(rows) == 3
    assert {r["reviewers"] for r in rows} == {"ann"} and rows[0]["file_name"] == "gamma-2024.pdf"
    assert all(r["citation"].startswith("p. ") and r["company"] == COMPANY for r in rows)
    assert chosen in {r["quote"] for r in rows} and target in {r["criterion"] for r in rows}
    db = open_db(db_path)
    actions = [r["action"] for r in db["decisions"].rows_where(order_by="id")]
    assert actions == ["accept", "reject", "accept", "undo", "comment", "correct", "correct"]
    assert db["decisions"].get(7)["original_criterion_id"]  # the move is on record
