"""Search and "add as evidence" as JSON (issue 22): pages once each, their fields, the page
view with every match boxed, login, CSRF and bad input answered 400/404 with a message."""

from __future__ import annotations

import json
import re

import pytest

from analyzer.db.connection import open_db
from analyzer.web.app import make_app
from tests.review_support import PASSWORD, copy_db, csrf_token
from tests.search_support import MULTI_MATCH_QUERY, sample_search_db


@pytest.fixture
def app(tmp_path_factory, tmp_path, embedder, sample_pdf):
    app = make_app(copy_db(sample_search_db(tmp_path_factory, embedder, sample_pdf), tmp_path))
    yield app
    app.extensions["worker"].stop()
    app.extensions["renderer"].close()


def login(app):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": "rev", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    client.token = csrf_token(client.get("/").get_data(as_text=True))
    return client


def search(client, **params):
    return client.get("/api/search", query_string=params)


def test_search_returns_each_page_once_with_its_matches(app):
    client = login(app)
    response = search(client, q=MULTI_MATCH_QUERY, limit=5)
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert response.json["query"] == MULTI_MATCH_QUERY and len(results) == 5
    pages = [(r["doc_id"], r["page"]) for r in results]
    assert len(set(pages)) == len(pages), "a page twice in one result list"
    for r in results:
        assert r["passage_id"] == r["page_passage_ids"][0]  # the page's best passage first
        assert r["more_on_page"] == len(r["page_passage_ids"]) - 1
        assert r["page"] == r["pdf_pages"][0] and r["citation"] and r["text"]
        assert r["page_boxes"] and all(len(b) == 4 for b in r["page_boxes"])
        assert r["image_url"] == f"/documents/{r['doc_id']}/pages/{r['page']}.png"
        assert [int(x) for x in re.findall(r"passage=(\d+)", r["page_url"])] == r[
            "page_passage_ids"
        ]
        assert {"score", "similarity", "keyword_rank", "candidate_for", "decisions"} <= set(r)
    busy = next(r for r in results if r["more_on_page"])
    # The page view outlines every matching passage once, around its lines on that page.
    html = client.get(busy["page_url"]).get_data(as_text=True)
    outlined = json.loads(
        re.search(r'data-passages="([^"]*)"', html).group(1).replace("&#34;", '"')
    )
    assert [p["passage_id"] for p in outlined] == busy["page_passage_ids"]
    assert f"{len(outlined)} matching passages on this page" in html
    # The search page shows the same pages, each once, with "n more passages on this page".
    page = client.get("/search", query_string={"q": MULTI_MATCH_QUERY}).get_data(as_text=True)
    shown = re.findall(r'<article class="result" data-doc="(\d+)" data-page="(\d+)"', page)
    assert len(shown) == len(set(shown)) > 0
    more = (
        f"{busy['more_on_page']} more passage{'s' if busy['more_on_page'] > 1 else ''} on this page"
    )
    assert more in page


def test_search_scope_filters_and_modes(app):
    client = login(app)
    scoped = search(client, q="cobalt", doc=1, criterion="hr-min-01", limit=3, mode="keyword")
    assert scoped.status_code == 200 and scoped.json["scope"]["doc_id"] == 1
    assert all(r["doc_id"] == 1 for r in scoped.json["results"])
    assert search(client, q="cobalt", company="Nobody Inc").json["results"] == []


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({}, 400, "say what to look for"),
        ({"q": "  "}, 400, "say what to look for"),
        ({"q": "x" * 2001}, 400, "longer than 2000"),
        ({"q": "steel", "limit": "0"}, 400, "limit must be a whole number from 1 to 100"),
        ({"q": "steel", "limit": "ten"}, 400, "limit must be"),
        ({"q": "steel", "limit": "101"}, 400, "limit must be"),
        ({"q": "steel", "doc": "x"}, 400, "doc must be"),
        ({"q": "steel", "doc": "99999999999999999999"}, 400, "doc must be"),
        ({"q": "steel", "doc": "999"}, 404, "no document 999"),
        ({"q": "steel", "mode": "fuzzy"}, 400, "mode must be one of hybrid, dense, keyword"),
        ({"q": "steel", "criterion": "NOPE-01"}, 400, "no criterion 'NOPE-01'"),
    ],
)
def test_bad_search_requests_get_one_clear_error(app, params, code, message):
    response = search(login(app), **params)
    assert response.status_code == code and message in response.json["error"], response.json


def test_search_and_add_need_a_session_and_add_needs_csrf(app):
    anonymous = app.test_client()
    assert search(anonymous, q="steel").status_code == 401
    refused = anonymous.post("/api/evidence", json={"passage_id": 1})
    assert refused.status_code in (400, 401)  # no session, no token: never added
    client = login(app)
    body = {"passage_id": 1, "criterion": "HR-MIN-01", "level": 1}
    no_token = client.post("/api/evidence", json=body)
    assert no_token.status_code == 400 and "security token" in no_token.json["error"]
    assert open_db(app.config["DB_PATH"])["decisions"].count == 0


def post(client, body):
    return client.post("/api/evidence", json=body, headers={"X-CSRFToken": client.token})


def test_add_evidence_from_a_search_result(app):
    client = login(app)
    hit = search(client, q=MULTI_MATCH_QUERY, limit=1).json["results"][0]
    sentence = hit["text"].split(". ")[0].strip()
    added = post(
        client,
        {
            "passage_id": hit["passage_id"],
            "criterion": "hr-min-02",  # a criterion id as a person types it
            "level": 2,
            "quote": sentence,
            "comment": "found by search",
        },
    )
    assert added.status_code == 200, added.json
    assert added.json["criterion"] == "HR-MIN-02" and added.json["level"] == 2
    assert added.json["action"] in ("add", "accept") and added.json["quote"] == sentence
    row = open_db(app.config["DB_PATH"])["decisions"].get(added.json["decision_id"])
    assert (row["reviewer"], row["level"], row["comment"]) == ("rev", 2, "found by search")
    # The same passage now says it was decided on, in the search's own answer.
    again = search(client, q=MULTI_MATCH_QUERY, limit=1).json["results"][0]
    assert any(d["criterion"] == "HR-MIN-02" for d in again["decisions"])


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (None, 400, "send a JSON object"),
        ({"passage_id": "one", "criterion": "HR-MIN-01", "level": 1}, 400, "passage_id must be"),
        ({"passage_id": True, "criterion": "HR-MIN-01", "level": 1}, 400, "passage_id must be"),
        ({"passage_id": 1, "level": 1}, 400, "say which criterion"),
        ({"passage_id": 1, "criterion": "HR-MIN-01"}, 400, "level must be 1 or 2"),
        ({"passage_id": 1, "criterion": "HR-MIN-01", "level": 0}, 400, "level must be 1 or 2"),
        ({"passage_id": 1, "criterion": "HR-MIN-01", "level": 3}, 400, "level must be 1 or 2"),
        ({"passage_id": 1, "criterion": "HR-MIN-01", "level": 1, "quote": 5}, 400, "must be text"),
        ({"passage_id": 1, "criterion": "NOPE", "level": 1}, 400, "no criterion 'NOPE'"),
        (
            {"passage_id": 1, "criterion": "HR-MIN-01", "level": 1, "quote": "not in it"},
            400,
            "from the passage text",
        ),
        ({"passage_id": 999999, "criterion": "HR-MIN-01", "level": 1}, 404, "no passage 999999"),
        ({"passage_id": 2**70, "criterion": "HR-MIN-01", "level": 1}, 404, "no passage"),
    ],
)
def test_bad_evidence_gets_one_clear_error_and_adds_nothing(app, body, code, message):
    client = login(app)
    response = (
        client.post("/api/evidence", data="[", headers={"X-CSRFToken": client.token})
        if body is None
        else post(client, body)
    )
    assert response.status_code == code and message in response.json["error"], response.json
    assert open_db(app.config["DB_PATH"])["decisions"].count == 0
