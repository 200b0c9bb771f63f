"""Scorecard reports from the web app: the Reports page and its downloads, through Flask's
test client over a real analysed database (Acme, fiscal year 2024, so season 2024)."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook

from analyzer import accounts
from analyzer.db.connection import open_db
from analyzer.review.decisions import record_decision
from analyzer.web.app import make_app
from tests.review_support import PASSWORD, copy_db, csrf_token, template_db

DOWNLOAD = "/reports/download"


@pytest.fixture(scope="session")
def reports_template(tmp_path_factory, embedder):
    """The analysed database, one accepted candidate and an analyst and a reviewer."""
    db_path = copy_db(template_db(tmp_path_factory, embedder), tmp_path_factory.mktemp("rep"))
    db = open_db(db_path)
    for name, role in (("ann", "analyst"), ("rev", "reviewer")):
        accounts.add_user(db, name, PASSWORD, role)
    first = next(db["candidates"].rows_where(order_by="id", limit=1))
    record_decision(db, first["id"], "accept", "rev", level=2)
    db.close()
    return db_path


@pytest.fixture
def app(reports_template, tmp_path, embedder):
    app = make_app(copy_db(reports_template, tmp_path), embedder=embedder)
    yield app
    app.extensions["worker"].stop()
    app.extensions["renderer"].close()


def login(app, name: str = "ann"):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": name, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_reports_need_a_login(app):
    client = app.test_client()
    for url in ("/reports", f"{DOWNLOAD}?season=2024&format=json"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_the_page_lists_seasons_companies_and_links(app):
    page = login(app, "rev").get("/reports")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Season 2024" in html and "Acme" in html
    assert 'href="/reports"' in html  # the nav link
    for fmt in ("html", "pack", "csv", "xlsx", "json"):
        assert f"{DOWNLOAD}?season=2024&amp;company=Acme&amp;format={fmt}" in html
    assert "<script" not in html.split("</main>")[0]


def test_leaderboard_and_scorecard_html_open_inline_and_link_into_the_app(app):
    client = login(app)
    board = client.get(f"{DOWNLOAD}?season=2024&format=html")
    assert board.status_code == 200 and board.mimetype == "text/html"
    assert board.headers["Content-Disposition"] == "inline; filename=leaderboard-2024.html"
    body = board.get_data(as_text=True)
    assert "Leaderboard, season 2024" in body
    assert f'href="{DOWNLOAD}?season=2024&amp;company=Acme&amp;format=html"' in body
    csp = board.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp
    card = client.get(f"{DOWNLOAD}?season=FY2024&company=acme&format=html")
    assert card.status_code == 200 and "<h1>Acme</h1>" in card.get_data(as_text=True)
    pack = client.get(f"{DOWNLOAD}?season=2024&company=Acme&format=pack")
    assert pack.status_code == 200 and "evidence pack" in pack.get_data(as_text=True)


def test_json_and_xlsx_download_as_attachments(app):
    client = login(app)
    response = client.get(f"{DOWNLOAD}?season=2024&company=Acme&format=json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert disposition == "attachment; filename=scorecards-2024-acme.json"
    report = json.loads(response.data)
    fields = {"company", "season", "criterion", "draft_level", "confirmed_level", "evidence"}
    assert report["scores"] and all(fields <= set(rec) for rec in report["scores"])
    assert {rec["company"] for rec in report["scores"]} == {"Acme"}
    assert any(rec["confirmed_level"] == 2 for rec in report["scores"])
    xlsx = client.get(f"{DOWNLOAD}?season=2024&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    assert xlsx.headers["Content-Disposition"].startswith("attachment;")
    workbook = load_workbook(io.BytesIO(xlsx.data))
    assert workbook.sheetnames and workbook.worksheets[0].max_row > 1
    text = client.get(f"{DOWNLOAD}?season=2024&format=csv")
    assert text.status_code == 200 and text.mimetype == "text/csv" and b"Acme" in text.data


@pytest.mark.parametrize(
    "query, code, message",
    [
        ("season=2030&format=html", 404, "no documents with a company in season 2030"),
        ("season=2024&company=Nobody&format=csv", 404, "no company"),
        ("season=2024&format=pdf", 400, "unknown format"),
        ("format=json", 400, "choose a season"),
        ("season=2024&format=pack", 400, "per company"),
    ],
)
def test_bad_requests_get_a_page_that_says_why(app, query, code, message):
    response = login(app).get(f"{DOWNLOAD}?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == code and message in html, html
    assert "Traceback" not in html and response.mimetype == "text/html"
