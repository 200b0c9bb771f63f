"""Issue 19's review defects and the criterion view, in Debian's Chromium at two screen sizes.

Each test drives the real app (waitress in a thread, the real embedding model, a real
analysed report) with the keyboard, as a reviewer would, and checks the database after.
"""

from __future__ import annotations

import re

import pytest

from analyzer.db.connection import open_db
from tests.review_support import PASSWORD
from tests.test_web_browser import ARTIFACTS, card_id, server  # noqa: F401 - fixture

pytestmark = pytest.mark.browser
SIZES = [(1366, 768), (1920, 1080)]
SCOPE = "/review?doc=1&criterion=FF-ST-01"


@pytest.fixture
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p.chromium.launch(executable_path=str(chromium), headless=True, args=["--no-sandbox"])


def open_page(browser, base: str, size: tuple[int, int]):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/login")
    page.fill("input[name=username]", "ann")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Upload reports")
    return page, errors


def visible_above_key_bar(page, selector: str) -> bool:
    """Is the element on screen without scrolling and not under the sticky key bar?"""
    return page.evaluate(
        """(sel) => {
          const box = document.querySelector(sel).getBoundingClientRect();
          const bar = document.querySelector('#card .actions-bar').getBoundingClientRect();
          return box.height > 0 && box.top >= 0 && box.bottom <= Math.min(bar.top, innerHeight);
        }""",
        selector,
    )


def decisions(db_path) -> list[dict]:
    db = open_db(db_path)
    try:
        return list(db["decisions"].rows_where(order_by="id"))
    finally:
        db.close()


def wait_for_next(page, before: str) -> None:
    page.wait_for_function(
        f"document.body.dataset.queueEmpty || document.body.dataset.card !== '{before}'"
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_levels_in_sight_edit_and_move_ask_for_a_level_and_the_queue_ends(
    server,  # noqa: F811
    browser,
    size,
):
    base, db_path = server
    page, errors = open_page(browser, base, size)
    page.goto(base + SCOPE)
    page.wait_for_selector("#card:not([hidden])")
    for selector in ("#sug-level-top", "#draft-level"):
        assert visible_above_key_bar(page, selector), (selector, size)
    assert page.locator("#sug-level-top").inner_text() != ""
    assert page.locator("#draft-level").inner_text() != ""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"review-card-{size[0]}x{size[1]}.png"))

    # e: without a level nothing is saved and the dialog stays; with one the card advances.
    first = card_id(page)
    page.keyboard.press("e")
    page.keyboard.press("Enter")
    assert "Choose the level" in page.locator("#status").inner_text()
    assert not page.locator("#dialog").is_hidden() and decisions(db_path) == []
    page.select_option("#dialog-level", "1")
    page.keyboard.press("Enter")
    wait_for_next(page, first)
    assert [(d["action"], d["level"]) for d in decisions(db_path)] == [("correct", 1)]

    # m: the same for a move.
    second = card_id(page)
    page.keyboard.press("m")
    target = page.evaluate("document.querySelector('#dialog-select option:not(:checked)').value")
    page.select_option("#dialog-select", target)
    page.keyboard.press("Enter")
    assert len(decisions(db_path)) == 1
    page.select_option("#dialog-level", "2")
    page.keyboard.press("Enter")
    wait_for_next(page, second)
    moved = decisions(db_path)[-1]
    assert (moved["criterion_id"], moved["level"]) == (target, 2)

    # Empty the queue: at the large size with "criterion done", else one reject at a time.
    if size == SIZES[1]:
        page.on("dialog", lambda dialog: dialog.accept())
        page.keyboard.press("d")
    else:
        while page.locator("body").get_attribute("data-queue-empty") is None:
            before = card_id(page)
            page.keyboard.press("r")
            wait_for_next(page, before)
    page.wait_for_selector("#queue-empty:not([hidden])")
    assert page.locator("#card").is_hidden()  # the last card does not linger
    assert "Nothing left to review here" in page.locator("#queue-empty").inner_text()
    if size == SIZES[1]:
        assert re.search(r"done: \d+ candidate\(s\) rejected", page.locator("#status").inner_text())
    count = len(decisions(db_path))
    page.keyboard.press("a")  # keys do nothing on an empty queue
    page.wait_for_timeout(300)
    assert len(decisions(db_path)) == count
    page.screenshot(path=str(ARTIFACTS / f"review-empty-{size[0]}x{size[1]}.png"))
    assert not errors, errors


@pytest.mark.parametrize("size", SIZES[:1], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_criterion_is_confirmed_from_its_view_with_the_keyboard(
    server,  # noqa: F811
    browser,
    size,
):
    base, db_path = server
    page, errors = open_page(browser, base, size)
    page.goto(base + "/review/criteria?doc=1")
    page.wait_for_selector("#view:not([hidden])")
    page.wait_for_function("document.getElementById('page-img').naturalWidth > 0")
    assert page.locator("#boxes .box").count() > 0  # the passage boxed on its page
    assert page.locator("#draft-level").inner_text() != ""
    first = page.locator("body").get_attribute("data-criterion")
    page.screenshot(path=str(ARTIFACTS / "criterion-review.png"))
    # Select exactly the focused passage, then set level 2 on it.
    page.evaluate(
        "document.querySelectorAll('#passages input[type=checkbox]').forEach("
        "(c) => { if (c.checked) c.click(); })"
    )
    page.locator("#crit-id").click()  # focus back on the page, off the checkboxes
    page.keyboard.press("x")
    page.keyboard.press("2")
    page.wait_for_function(f"document.body.dataset.criterion !== '{first}'")
    db = open_db(db_path)
    rows = list(db["criterion_decisions"].rows)
    db.close()
    assert [(r["criterion_id"], r["level"], r["reviewer"]) for r in rows] == [(first, 2, "ann")]
    page.keyboard.press("u")  # undo brings the criterion back
    page.wait_for_function(f"document.body.dataset.criterion === '{first}'")
    assert page.locator("#crit-status").inner_text() == "open"
    assert not errors, errors
