"""The web app through Flask's test client: login, roles, CSRF, uploads, the review API."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest

from analyzer import accounts
from analyzer.db.connection import open_db
from analyzer.web.app import highlight, make_app
from tests.pdf_factory import labelled_pdf
from tests.review_support import PASSWORD, copy_db, csrf_token, template_db, template_pdf

LIMIT = 64 * 1024


@pytest.fixture(scope="session")
def template(tmp_path_factory, embedder):
    """The analysed database plus four users (hashing passwords is slow on purpose)."""
    db_path = copy_db(template_db(tmp_path_factory, embedder), tmp_path_factory.mktemp("web"))
    db = open_db(db_path)
    for name, role in (
        ("ada", "admin"),
        ("ann", "analyst"),
        ("rev", "reviewer"),
        ("rob", "reviewer"),
    ):
        accounts.add_user(db, name, PASSWORD, role)
    db.close()
    return db_path


@pytest.fixture
def app(template, tmp_path, embedder):
    db_path = copy_db(template, tmp_path)
    app = make_app(db_path, embedder=embedder, upload_limit=LIMIT)
    yield app
    app.extensions["worker"].stop()
    app.extensions["renderer"].close()


def login(app, name: str):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": name, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    client.token = csrf_token(client.get("/").get_data(as_text=True))
    return client


def post_json(client, url: str, body: dict, token: bool = True):
    headers = {"X-CSRFToken": client.token} if token else {}
    return client.post(url, json=body, headers=headers)


def test_every_page_but_login_needs_a_session(app):
    client = app.test_client()
    for url in (
        "/",
        "/review",
        "/progress",
        "/search?q=x",
        "/export?doc=1",
        "/documents/1/pages/1.png",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    response = client.get("/api/next")
    assert response.status_code == 401 and response.json == {"error": "log in first"}
    assert client.get("/login").status_code == 200


def test_login_logout_and_wrong_passwords(app):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = csrf_token(page)
    bad = client.post("/login", data={"username": "ada", "password": "nope", "csrf_token": token})
    assert bad.status_code == 401 and "wrong user name or password" in bad.get_data(as_text=True)
    # A next= pointing at another site is ignored.
    good = client.post(
        "/login?next=//evil.example/x",
        data={"username": "ada", "password": PASSWORD, "csrf_token": token},
    )
    assert good.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    assert client.get("/").status_code == 302


def test_password_guessing_is_locked_out(app):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    for _ in range(5):
        bad = client.post(
            "/login", data={"username": "rob", "password": "guess", "csrf_token": token}
        )
        assert bad.status_code == 401
    right = {"username": "ROB", "password": PASSWORD, "csrf_token": token}
    locked = client.post("/login", data=right)
    assert locked.status_code == 429 and "too many failed logins" in locked.get_data(as_text=True)
    assert login(app, "rev")  # other users are not affected


def test_csrf_is_required_on_forms_and_json(app):
    client = app.test_client()
    refused = client.post("/login", data={"username": "ada", "password": PASSWORD})
    assert refused.status_code == 400 and "security token" in refused.get_data(as_text=True)
    client = login(app, "rev")
    cand = _first_card(client)
    refused = post_json(
        client, f"/api/cards/{cand['candidate_id']}/decide", {"action": "accept"}, token=False
    )
    assert refused.status_code == 400 and "security token" in refused.json["error"]
    ok = post_json(
        client, f"/api/cards/{cand['candidate_id']}/decide", {"action": "accept", "level": 2}
    )
    assert ok.status_code == 200 and ok.json["decision_id"]


def test_roles_decide_who_may_do_what(app):
    reviewer, analyst, admin = login(app, "rev"), login(app, "ann"), login(app, "ada")
    pdf = {"files": (io.BytesIO(b"%PDF-1.4\n"), "x.pdf"), "csrf_token": reviewer.token}
    assert reviewer.post("/upload", data=pdf).status_code == 403
    assert reviewer.get("/admin/users").status_code == 403
    assert analyst.get("/admin/criteria").status_code == 403
    assert analyst.get("/adjudicate").status_code == 403
    assert reviewer.get("/adjudicate").status_code == 200
    assert admin.get("/admin/users").status_code == 200
    response = admin.post(
        "/admin/users",
        data={"op": "disable", "username": "ann", "csrf_token": admin.token},
        follow_redirects=True,
    )
    assert "ann disabled" in response.get_data(as_text=True)
    assert analyst.get("/").status_code == 302  # a disabled account's session ends at once
    form = {"op": "add", "username": "zoe", "password": PASSWORD, "role": "reviewer"}
    page = admin.post(
        "/admin/users", data={**form, "csrf_token": admin.token}, follow_redirects=True
    )
    assert "user zoe created" in page.get_data(as_text=True)
    assert login(app, "zoe").get("/review").status_code == 200
    form = {"op": "role", "username": "ada", "role": "reviewer", "csrf_token": admin.token}
    page = admin.post("/admin/users", data=form, follow_redirects=True).get_data(as_text=True)
    assert "last active admin" in page


def test_uploads_are_checked_by_content_and_size(app):
    client = login(app, "ann")

    def upload(data: bytes, name: str):
        form = {"files": (io.BytesIO(data), name), "csrf_token": client.token, "company": "Acme"}
        return client.post("/upload", data=form, follow_redirects=True).get_data(as_text=True)

    assert "not a PDF" in upload(b"GIF89a pretending to be a report", "report.pdf")
    assert "the file is empty" in upload(b"", "empty.pdf")
    assert "larger than the limit" in upload(b"%PDF-1.7\n" + b"0" * LIMIT, "big.pdf")
    huge = client.post(
        "/upload",
        data={
            "files": (io.BytesIO(b"%PDF-" + b"0" * 3 * 2**20), "huge.pdf"),
            "csrf_token": client.token,
        },
    )
    assert huge.status_code == 413 and "larger than the limit" in huge.get_data(as_text=True)
    db = open_db(app.config["DB_PATH"])
    assert db["uploads"].count == 0
    assert not list(app.config["UPLOADS_DIR"].glob("*"))  # nothing refused is kept
    # The same file as the analysed one: found, not analysed again; the client's name is no path.
    db["documents"].update(1, {"path": "/gone/acme-2024.pdf"})  # analysed on another machine
    page = upload(template_pdf().read_bytes(), "../../etc/acme.pdf")
    assert "already analysed as document 1" in page
    row = db["uploads"].get(1)
    assert row["file_name"] == "acme.pdf" and row["status"] == "done"
    both = [(io.BytesIO(b"plain text"), "notes.pdf"), (template_pdf().open("rb"), "again.pdf")]
    form = {"files": both, "csrf_token": client.token}
    page = client.post("/upload", data=form, follow_redirects=True).get_data(as_text=True)
    assert "notes.pdf: not a PDF" in page and "again.pdf: already analysed" in page
    assert row["stored_path"].endswith(f"{row['sha256']}.pdf")
    assert db["documents"].get(1)["path"] == row["stored_path"]  # so its pages can be shown


def wait_for_latest_upload(client, timeout: float = 90) -> dict:
    """Poll like the page does until the newest upload is done or failed."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.get("/api/uploads").json["uploads"][0]
        if state["status"] in ("done", "failed") or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def test_an_upload_is_analysed_in_the_background(app, tmp_path):
    client = login(app, "ann")
    labelled_pdf(tmp_path / "labelled.pdf")
    form = {
        "files": ((tmp_path / "labelled.pdf").open("rb"), "labelled.pdf"),
        "company": "Beta",
        "fiscal_year": "2023",
        "csrf_token": client.token,
    }
    assert "analysis queued" in client.post("/upload", data=form, follow_redirects=True).get_data(
        as_text=True
    )
    state = wait_for_latest_upload(client)
    assert state["status"] == "done", state
    assert state["pages"] == 6 and state["candidates"] > 0 and state["document_id"] == 2
    doc = open_db(app.config["DB_PATH"])["documents"].get(2)
    assert (doc["file_name"], doc["company"], doc["fiscal_year"]) == (
        "labelled.pdf",
        "Beta",
        "2023",
    )
    bad = client.post(
        "/upload",
        data={
            "files": (io.BytesIO(b"%PDF-1.4\n%broken"), "broken.pdf"),
            "csrf_token": client.token,
        },
    )
    assert bad.status_code == 302
    state = wait_for_latest_upload(client)
    assert state["status"] == "failed" and state["error"]  # the reason is shown


def test_uploads_left_queued_by_a_stopped_server_are_analysed_on_start(
    template, tmp_path, embedder
):
    db_path = copy_db(template, tmp_path)
    labelled_pdf(tmp_path / "uploads" / "left.pdf")
    db = open_db(db_path)
    stored = str(tmp_path / "uploads" / "left.pdf")
    db["uploads"].insert({"file_name": "left.pdf", "stored_path": stored, "status": "running"})
    db.close()
    app = make_app(db_path, embedder=embedder)
    try:
        state = wait_for_latest_upload(login(app, "ann"))
        assert state["status"] == "done" and state["pages"] == 6
    finally:
        app.extensions["worker"].stop()


def _card(client, candidate_id: int) -> dict:
    return client.get(f"/api/cards/{candidate_id}").json["card"]


def _first_card(client, **params) -> dict:
    response = client.get("/api/next", query_string=params)
    assert response.status_code == 200
    return response.json["card"]


def test_review_api_decide_undo_history_and_export(app):
    client = login(app, "rev")
    first = _first_card(client, doc=1)
    assert first["criterion"]["definition"] and first["citation"].startswith("p. ")
    assert first["pages"][0]["boxes"] and first["segments"]
    cid = first["candidate_id"]
    accepted = post_json(client, f"/api/cards/{cid}/decide", {"action": "accept", "level": 2}).json
    second = _first_card(client, doc=1)
    assert second["candidate_id"] != cid  # the next card
    rejected = post_json(
        client, f"/api/cards/{second['candidate_id']}/decide", {"action": "reject"}
    )
    assert rejected.status_code == 200
    bad = post_json(client, f"/api/cards/{cid}/decide", {"action": "accept", "level": "high"})
    assert bad.status_code == 400 and "level must be" in bad.json["error"]
    bad = post_json(client, f"/api/cards/{cid}/decide", {"action": "correct", "criterion": [1]})
    assert bad.status_code == 400 and bad.json["error"] == "criterion must be text"
    bad = post_json(client, f"/api/cards/{cid}/decide", {"action": "correct", "quote": "not there"})
    assert bad.status_code == 400 and "taken from the passage" in bad.json["error"]
    assert post_json(client, "/api/cards/999999/decide", {"action": "accept"}).status_code == 400
    other = login(app, "ann")
    refused = post_json(other, f"/api/decisions/{accepted['decision_id']}/undo", {})
    assert refused.status_code == 400 and "rev's to undo" in refused.json["error"]
    offered = {
        name: login(app, name).get(f"/api/cards/{cid}").json["card"]["history"][0]["can_undo"]
        for name in ("rev", "ann", "ada")
    }
    assert offered == {"rev": True, "ann": False, "ada": True}  # admins may undo anyone's
    undo = post_json(client, f"/api/decisions/{rejected.json['decision_id']}/undo", {})
    assert undo.status_code == 200
    card = client.get(f"/api/cards/{second['candidate_id']}").json["card"]
    assert [h["action"] for h in card["history"]] == ["reject", "undo"]
    assert card["history"][0]["undone_by"] == "rev" and card["status"] == "open"
    assert card["progress"]["document"]["reviewed"] == 1
    exported = client.get("/export", query_string={"doc": 1, "format": "csv"})
    assert exported.headers["Content-Disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == 1 and rows[0]["reviewers"] == "rev" and rows[0]["level"] == "2"
    assert rows[0]["citation"] == first["citation"] and rows[0]["file_name"] == "acme-2024.pdf"
    by_company = json.loads(client.get("/export?company=ACME&format=json").get_data(as_text=True))
    assert [r["candidate_id"] for r in by_company] == [cid]
    assert client.get("/export?format=json").status_code == 400
    assert client.get("/export?doc=1&format=xml").status_code == 400


def test_page_images_are_rendered(app):
    client = login(app, "rev")
    response = client.get("/documents/1/pages/2.png?scale=0.5")
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    assert client.get("/documents/1/pages/99.png").status_code == 404
    assert client.get("/documents/1/pages/1.png?scale=nan").status_code == 200
    assert client.get("/documents/42/pages/1.png").status_code == 404


def test_four_eyes_adjudication_and_agreement_pages(app):
    admin, rev, rob = login(app, "ada"), login(app, "rev"), login(app, "rob")
    version = _first_card(rev)["criteria_version"]
    page = admin.post(
        "/admin/criteria",
        data={"version": version, "four_eyes": "1", "csrf_token": admin.token},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "four eyes on" in page
    cid = _first_card(rev)["candidate_id"]
    post_json(rev, f"/api/cards/{cid}/decide", {"action": "accept", "level": 2})
    assert _first_card(rob)["candidate_id"] == cid  # rob is asked for the second look
    post_json(rob, f"/api/cards/{cid}/decide", {"action": "reject"})
    page = rob.get("/adjudicate").get_data(as_text=True)
    assert f'value="{cid}"' in page
    progress = rob.get("/progress").get_data(as_text=True)
    assert "0% (0/1)" in progress  # agreement per criterion
    assert "0 of 200 reviewed" in progress and "1 disputed" in progress
    assert _card(rev, cid)["settles"] is False  # a side in the dispute does not settle it
    assert _card(admin, cid)["settles"] is True
    refused = post_json(
        login(app, "ann"), f"/api/cards/{cid}/decide", {"action": "accept", "adjudication": True}
    )
    assert refused.status_code == 403  # analysts do not adjudicate
    admin.post(
        "/adjudicate",
        data={"candidate_id": cid, "action": "accept", "level": "1", "csrf_token": admin.token},
    )
    assert f'value="{cid}"' not in admin.get("/adjudicate").get_data(as_text=True)
    rows = json.loads(admin.get("/export?doc=1&format=json").get_data(as_text=True))
    assert [(r["candidate_id"], r["level"]) for r in rows] == [(cid, 1)]


def test_search_adds_a_missed_passage(app):
    client = login(app, "rev")
    page = client.get("/search?q=cobalt+refiners+audited").get_data(as_text=True)
    assert "Add as evidence" in page
    passage_id = int(page.split('name="passage_id" value="')[1].split('"')[0])
    response = client.post(
        "/evidence/add",
        data={
            "passage_id": passage_id,
            "criterion": "HR-MIN-01",
            "level": "1",
            "csrf_token": client.token,
        },
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert "added as evidence for HR-MIN-01" in text
    assert open_db(app.config["DB_PATH"])["decisions"].count == 1
    refused = client.post(
        "/evidence/add",
        data={
            "passage_id": passage_id, "criterion": "NOPE", "level": "2",
            "csrf_token": client.token,
        },
        follow_redirects=True,
    )  # fmt: skip
    assert "no criterion" in refused.get_data(as_text=True)
    # Issue 12: the level is asked for, never assumed (it used to default to 2).
    assert 'name="level" required' in page and '<option value="">choose the level' in page
    unlevelled = client.post(
        "/evidence/add",
        data={"passage_id": passage_id, "criterion": "HR-MIN-02", "csrf_token": client.token},
        follow_redirects=True,
    )
    assert "choose the level" in unlevelled.get_data(as_text=True)
    assert open_db(app.config["DB_PATH"])["decisions"].count == 1, "nothing added without it"


def test_report_text_is_escaped(app):
    db = open_db(app.config["DB_PATH"])
    db["documents"].update(1, {"company": "<script>alert(1)</script>"})
    client = login(app, "ada")
    page = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    marked = str(highlight("<b>steel</b> & more steel", {"steel"}))
    assert marked == "&lt;b&gt;<mark>steel</mark>&lt;/b&gt; &amp; more <mark>steel</mark>"


def test_a_review_scope_that_names_nothing_is_refused(app):
    client = login(app, "rev")
    response = client.get("/api/next?order=bogus")
    assert response.status_code == 400 and "unknown order" in response.json["error"]
    response = client.get("/review?doc=999")
    assert response.status_code == 404 and b"no document 999" in response.data
