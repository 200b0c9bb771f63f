"""`analyzer serve --proxy-hops 1` behind a real nginx, configured as the docs say.

Debian's nginx is started by the test on loopback (``apt-get install nginx``; skipped with
a reason when it is absent), in front of the installed command under waitress. Clients
connect to nginx from different loopback addresses (127.0.0.2, .3, ...), so nginx sends
each one's own address in X-Forwarded-For, as it would for clients on the internet. The
checks are the ones a coalition meets: each client's address reaches the app; a stranger's
guesses throttle the stranger's address and the guessed name but lock no one else out; and
the "known address" exemption holds only from the address the user really logged in from.
"""

from __future__ import annotations

import http.client
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import pytest

from analyzer import accounts
from analyzer.db.connection import open_db
from tests.conftest import REPO
from tests.processes_support import CASE, TAG, env_with_case, wait_until_gone
from tests.test_processes import wait_until_up

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PASSWORD = "correct horse battery"
STRANGER = "127.0.0.66"

sys.path.insert(0, str(REPO / "benchmarks"))
import load  # noqa: E402  (benchmarks/load.py: a free port)


def readme_location_block(port: int) -> str:
    """The documented nginx `location` block (README or docs/), pointed at the test's port."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    text = "\n".join(p.read_text(encoding="utf-8") for p in pages if p.is_file())
    block = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert block, "the README or docs/ document an nginx configuration"
    return block.group(1).replace("127.0.0.1:8000", f"127.0.0.1:{port}")


def nginx_conf(folder: Path, listen: int, upstream: int) -> Path:
    """A whole nginx configuration in ``folder``: loopback only, no root paths touched."""
    temp = {k: folder / k for k in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
master_process on;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
env {TAG};
env {CASE};
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    server {{
        listen 127.0.0.1:{listen};
        {readme_location_block(upstream)}
    }}
}}
"""
    )
    return conf


class Browser:
    """One client at its own loopback address, talking to nginx: cookies and CSRF token."""

    def __init__(self, port: int, address: str) -> None:
        self.port, self.address, self.cookies = port, address, {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60, source_address=(self.address, 0)
        )
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            return response.status, response.read().decode()
        finally:
            connection.close()

    def login(self, name: str, password: str) -> int:
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "a CSRF token on the login page"
        form = {"username": name, "password": password, "csrf_token": token.group(1)}
        return self.request("POST", "/login", form)[0]


@pytest.fixture
def proxied(tmp_path):
    """(nginx port, database path): `analyzer serve --proxy-hops 1` behind nginx."""
    if not Path(NGINX).exists():
        pytest.skip(f"proxy tier skipped: {NGINX} is absent (apt-get install nginx)")
    db_path = tmp_path / "analyzer.db"
    db = open_db(db_path)
    accounts.add_user(db, "boss", PASSWORD, "admin")
    accounts.add_user(db, "ria", PASSWORD, "reviewer")
    db.close()
    case = uuid.uuid4().hex
    app_port, proxy_port = load.free_port(), load.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "serve", "--port", str(app_port),
         "--db", str(db_path), "--proxy-hops", "1"],
        env=env_with_case(case), cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115 (the child holds it)
    )  # fmt: skip
    nginx = None
    try:
        wait_until_up(f"http://127.0.0.1:{app_port}", server)
        folder = tmp_path / "nginx"
        folder.mkdir()
        conf = nginx_conf(folder, proxy_port, app_port)
        nginx = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(folder)],
            env=env_with_case(case), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        wait_until_up(f"http://127.0.0.1:{proxy_port}", nginx)
        yield proxy_port, db_path
    finally:
        for proc in (nginx, server):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(30)
        assert wait_until_gone(case) == [], "nginx and the server end with their helpers"


def rows(db_path: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)  # the server writes it
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_behind_nginx_each_client_is_its_own_address(proxied):
    port, db_path = proxied
    boss, ria, stranger = (Browser(port, a) for a in ("127.0.0.5", "127.0.0.7", STRANGER))

    assert boss.login("boss", PASSWORD) == 302
    assert ("boss", "127.0.0.5") in rows(
        db_path,
        "select u.username, s.address from sessions s join users u on u.id = s.user_id",
    ), "the app sees the client's address, not nginx's"

    # The stranger guesses the admin's password: five free failures; after them even the
    # right password is refused from the stranger's address (the admin's known address
    # exempts the admin's own address only).
    for _ in range(5):
        assert stranger.login("boss", "not the password") == 401
    assert stranger.login("boss", "not the password") == 429
    assert stranger.login("boss", PASSWORD) == 429, "the known-address exemption is per address"
    # The admin, from the address they logged in from before, is not locked out.
    assert Browser(port, "127.0.0.5").login("boss", PASSWORD) == 302

    # Then made-up names until the stranger's address is throttled (20 failures).
    codes = [stranger.login(f"nobody{i}", "guess") for i in range(16)]  # 5 + 15 = 20
    assert codes[-1] == 429 and set(codes) <= {401, 429}
    keys = {k for (k,) in rows(db_path, "select key from login_throttle")}
    assert f"addr:{STRANGER}" in keys and "addr:127.0.0.1" not in keys

    # Everyone else still gets in: a reviewer from an address never seen before.
    assert ria.login("ria", PASSWORD) == 302
    addresses = {a for (a,) in rows(db_path, "select address from login_addresses")}
    assert addresses == {"127.0.0.5", "127.0.0.7"}
