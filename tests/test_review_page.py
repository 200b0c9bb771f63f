"""The review page as a reviewer meets it: boxes on the right lines at every window size
(measured in Chromium), "criterion done", the page view with boxes, distinctive-word
highlighting, the progress bar, and the admin's season and document settings."""

from __future__ import annotations

import json
import re

import pytest

from analyzer.db.connection import open_db
from analyzer.review import status as review
from tests.review_support import PASSWORD
from tests.test_web_api import app, login, post_json, template  # noqa: F401 (fixtures)
from tests.test_web_browser import page, server  # noqa: F401 (fixtures)

# Where the first quote box is drawn, against where the card's quote box (PDF points) falls
# on the image as the browser shows it, both in CSS pixels.
MEASURE = """() => {
  const img = document.getElementById('page-img').getBoundingClientRect();
  const box = document.querySelector('#boxes .box.quote').getBoundingClientRect();
  const r = (b) => [b.left, b.top, b.width, b.height];
  return {img: r(img), box: r(box)};
}"""


def _lowest_quote(db_path) -> tuple[int, list[float], float, float]:
    """The candidate whose quote sits lowest on its page (a box far down shows any drift)."""
    db = open_db(db_path)
    best = None
    for cand in db["candidates"].rows:
        boxes = json.loads(cand["quote_boxes"] or "[]")
        if not boxes:
            continue
        page_row = db["pages"].get((cand["document_id"], cand["pdf_page"]))
        if best is None or boxes[0][1] > best[1][1]:
            best = (cand["id"], boxes[0], page_row["width"], page_row["height"])
    db.close()
    assert best is not None
    return best


@pytest.mark.browser
@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_quote_box_lands_on_the_quote_at_every_window_size(server, page, size):  # noqa: F811
    base, db_path = server
    cid, quote_box, width, height = _lowest_quote(db_path)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(base + "/login")
    page.fill("input[name=username]", "ann")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Upload reports")
    page.goto(f"{base}/review?candidate={cid}")
    page.wait_for_selector("#card:not([hidden])")
    page.wait_for_function("document.getElementById('page-img').naturalWidth > 0")
    page.wait_for_function("document.querySelector('#boxes .box.quote')")
    got = page.evaluate(MEASURE)
    left, top, shown_w, shown_h = got["img"]
    scale_x, scale_y = shown_w / width, shown_h / height
    want = [
        left + quote_box[0] * scale_x,
        top + quote_box[1] * scale_y,
        (quote_box[2] - quote_box[0]) * scale_x,
        (quote_box[3] - quote_box[1]) * scale_y,
    ]
    for measured, expected in zip(got["box"], want, strict=True):
        assert abs(measured - expected) <= 2, (size, got, want)
    # The progress bar shows the document's reviewed share.
    assert page.locator("#prog-bar").get_attribute("max") not in (None, "1", "0")
    page.screenshot(path=f"tests/artifacts/review-box-{size[0]}x{size[1]}.png")


def test_criterion_done_rejects_the_rest_of_that_criterion(app):  # noqa: F811
    client = login(app, "rev")
    card = client.get("/api/next?doc=1").json["card"]
    criterion = card["criterion"]["id"]
    response = post_json(client, "/api/criteria/done", {"doc": 1, "criterion": criterion})
    assert response.status_code == 200, response.json
    assert response.json["rejected"] >= 1
    left = client.get(f"/api/next?doc=1&criterion={criterion}").json
    assert left["card"] is None  # nothing of that criterion left in the queue
    other = client.get("/api/next?doc=1").json["card"]
    assert other is not None and other["criterion"]["id"] != criterion
    bad = post_json(client, "/api/criteria/done", {"doc": "x", "criterion": criterion})
    assert bad.status_code == 400
    missing = post_json(client, "/api/criteria/done", {"doc": 99, "criterion": criterion})
    assert missing.status_code == 404


def test_the_page_view_shows_the_page_with_its_boxes(app):  # noqa: F811
    client = login(app, "rev")
    card = client.get("/api/next?doc=1").json["card"]
    page_no = card["focus_page"]
    html = client.get(f"/documents/1/pages/{page_no}?candidate={card['candidate_id']}")
    assert html.status_code == 200
    text = html.get_data(as_text=True)
    assert f"/documents/1/pages/{page_no}.png" in text and "page.js" in text
    quote_boxes = re.search(r'data-quote-boxes="([^"]*)"', text).group(1)
    assert json.loads(quote_boxes.replace("&#34;", '"'))  # the quote is boxed on its page
    assert client.get("/documents/1/pages/999").status_code == 404
    assert client.get(f"/documents/1/pages/{page_no}?candidate=999999").status_code == 404


def test_only_the_criterions_distinctive_words_are_highlighted(app):  # noqa: F811
    client = login(app, "rev")
    marked: set[str] = set()
    seen = 0
    skip: list[str] = []
    while seen < 12:
        card = client.get("/api/next?doc=1&skip=" + ",".join(skip)).json["card"]
        if card is None:
            break
        skip.append(str(card["candidate_id"]))
        seen += 1
        marked |= {chunk.lower().strip() for chunk, _, hit in card["segments"] if hit}
    assert marked, "some words are still highlighted"
    assert not marked & {"suppliers", "supplier", "supply", "group", "risk", "company"}


def test_distinctive_words_leave_out_words_most_criteria_share(template):  # noqa: F811
    db = open_db(template)
    version = db.execute("select version from criteria_sets").fetchone()[0]
    rows = review.criteria_content(db, version)
    human = next(c for c in rows if "suppliers" in review.criterion_words(c))
    words = review.distinctive_words(db, version, human)
    assert "suppliers" not in words and words


def test_an_admin_edits_seasons_and_documents_in_the_app(app):  # noqa: F811
    admin = login(app, "ada")
    assert admin.get("/settings").status_code == 200
    saved = admin.post(
        "/settings",
        data={
            "what": "season",
            "season": "2024",
            "cutoff": "2025-07-01",
            "csrf_token": admin.token,
        },
    )
    assert saved.status_code == 302
    page_html = admin.get("/settings").get_data(as_text=True)
    assert "2025-07-01" in page_html
    saved = admin.post(
        "/settings",
        data={
            "what": "document",
            "doc_id": "1",
            "company": "Acme Steel",
            "fiscal_year": "2024",
            "season": "2024",
            "published": "2025-03-01",
            "csrf_token": admin.token,
        },
    )
    assert saved.status_code == 302
    assert "Acme Steel" in admin.get("/settings").get_data(as_text=True)
    bad = admin.post(
        "/settings",
        data={"what": "season", "season": "2024", "cutoff": "July", "csrf_token": admin.token},
        follow_redirects=True,
    )
    assert "is not a date" in bad.get_data(as_text=True)
    reviewer = login(app, "rev")
    assert reviewer.get("/settings").status_code == 403
