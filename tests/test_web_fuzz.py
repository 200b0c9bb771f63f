"""A fuzz of every route of the web app (taken from ``app.url_map``, so a new route is
fuzzed too): ids beyond SQLite's 64-bit range, negative, zero, text, and hostile strings in
the path, the query, the form and the JSON body, logged in as an admin. No answer may be a
500 (was: ids beyond 2^63 gave 500 on six routes, a newline in ``next`` gave 500)."""

from __future__ import annotations

import itertools

import pytest
from flask import request
from werkzeug.routing import IntegerConverter

from analyzer import accounts
from analyzer.db.connection import open_db
from analyzer.web.app import make_app
from tests.review_support import PASSWORD, copy_db, csrf_token, template_db

BAD_IDS = ["0", str(2**63 - 1), str(2**63), str(2**64 + 7), "9" * 40]
BAD_TEXT = [
    "x",
    "-1",
    str(2**63),
    "-" + "9" * 30,
    "nan",
    "inf",
    "1e999",
    "%",
    "\n",
    "a\r\nSet-Cookie: x=1",
    "/%09/evil.example",
    "' or 1=1 --",
    "<script>alert(1)</script>",
    "\u202e\ufffd",
    "x" * 3000,
]
# Every name a view reads from the query, the form or a JSON body.
PARAMS = [
    "doc",
    "candidate",
    "candidate_id",
    "passage_id",
    "decision_id",
    "level",
    "skip",
    "scale",
    "page",
    "q",
    "criterion",
    "order",
    "company",
    "format",
    "season",
    "next",
    "version",
    "four_eyes",
    "op",
    "username",
    "role",
    "action",
    "quote",
    "comment",
    "limit",
    "drafts",
]
SKIP_ENDPOINTS = {"auth.logout", "static"}  # logging out would end the fuzzing session


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("fuzz")
    db_path = copy_db(template_db(tmp_path_factory, embedder), folder)
    db = open_db(db_path)
    accounts.add_user(db, "ada", PASSWORD, "admin")
    db.close()
    app = make_app(db_path, embedder=embedder, upload_limit=64 * 1024)
    yield app
    app.extensions["worker"].stop()
    app.extensions["renderer"].close()


@pytest.fixture(scope="module")
def client(app):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    client.token = csrf_token(client.get("/").get_data(as_text=True))
    return client


def paths(rule) -> list[str]:
    """The rule's URL with every combination of bad values in its variables."""
    choices = []
    for name in rule.arguments:
        converter = rule._converters[name]
        values = BAD_IDS if isinstance(converter, IntegerConverter) else BAD_TEXT[:6] + ["1"]
        choices.append([(name, v) for v in values])
    out = []
    for combo in itertools.product(*choices):
        path = rule.rule
        for name, value in combo:
            path = path.replace(f"<{rule._converters[name].__class__.__name__}:{name}>", value)
            path = path.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
            path = path.replace(f"<path:{name}>", value)
        out.append(path)
    return out


def requests_for(rule):
    """(method, path, keyword arguments for the test client) to try on this route."""
    for path in paths(rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path, {}
            for value in BAD_TEXT + BAD_IDS[2:]:
                fields = dict.fromkeys(PARAMS, value)
                if method == "GET":
                    yield method, path, {"query_string": fields}
                else:
                    yield method, path, {"data": fields}
                    yield method, path, {"json": fields}
            if method == "POST":
                yield method, path, {"data": b"\xff\xfe not json", "content_type": "text/plain"}
                yield method, path, {"json": [1, 2, 3]}


def test_no_route_answers_500_to_bad_ids_or_strings(app, client):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIP_ENDPOINTS]
    assert len(rules) >= 15, [r.rule for r in rules]  # the fuzz sees the whole app
    failures, tried = [], 0
    for rule in rules:
        for method, path, kwargs in requests_for(rule):
            headers = {"X-CSRFToken": client.token}
            if "data" in kwargs and isinstance(kwargs["data"], dict):
                kwargs["data"] = {**kwargs["data"], "csrf_token": client.token}
            response = client.open(path, method=method, headers=headers, **kwargs)
            tried += 1
            if response.status_code >= 500:
                failures.append((method, path, str(kwargs)[:120], response.status_code))
    assert not failures, failures[:20]
    assert tried > 1000
    # The fuzz did not log the admin out or break the app.
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("value", [str(2**63), str(2**64), "-" + str(2**63), "1e400"])
def test_query_ids_out_of_range_read_as_missing(app, value):
    """An id that SQLite cannot hold is treated as absent, never passed to a query."""
    with app.test_request_context(f"/?doc={value}&scale={value}"):
        assert request.args.get("doc", type=int) is None
        assert request.args.get("scale", 1.5, type=float) in (1.5, float(value))
