"""``analyzer serve`` (the review web app under waitress) and ``analyzer users``.

The accounts module (argon2 hashes a dummy password when imported) and the web app
(flask, waitress) are imported inside the commands, not by ``analyzer --help``.
"""

from __future__ import annotations

import contextlib
import getpass
import ipaddress
import signal
import sys
import threading
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from analyzer.cli.common import App, DbOption, db_path, err, fail, open_database, out

if TYPE_CHECKING:  # the web app's imports load Flask; the CLI loads them only when serving
    from analyzer.web.model import SharedEmbedder

users_app = App(help="Accounts of the review web app.")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        fail("no terminal to ask for the password; use --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        fail("the two passwords differ")
    return first


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="the user's login name")],
    role: Annotated[str, typer.Option(help="analyst, reviewer or admin")] = "reviewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    db: DbOption = None,
) -> None:
    """Create a user (the first admin comes from here); the password is prompted for."""
    from analyzer import accounts

    database = open_database(db)
    if role not in accounts.ROLES:
        fail(f"unknown role {role!r}; choose one of {', '.join(accounts.ROLES)}")
    if accounts.get_user(database, username):
        fail(f"user {username!r} exists already")
    try:
        accounts.add_user(database, username, _password(password_stdin), role)
    except accounts.AccountError as exc:
        fail(str(exc))
    out.print(f"user {username} created ({role})", highlight=False, markup=False)


@users_app.command("list")
def list_users(db: DbOption = None) -> None:
    """List users with their roles."""
    from analyzer import accounts

    table = Table("user", "role", "created", "status")
    for u in accounts.list_users(open_database(db, must_exist=True)):
        table.add_row(
            u["username"], u["role"], u["created_at"], "disabled" if u["disabled"] else "active"
        )
    out.print(table)


@users_app.command("set")
def set_user(
    username: Annotated[str, typer.Argument(help="the user's login name")],
    role: Annotated[str | None, typer.Option(help="new role")] = None,
    disable: Annotated[
        bool | None, typer.Option("--disable/--enable", help="lock or unlock")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="set a new password read from standard input")
    ] = False,
    db: DbOption = None,
) -> None:
    """Change a user's role, lock or unlock the account, or set a new password."""
    from analyzer import accounts

    database = open_database(db)
    try:
        if role is not None:
            accounts.set_role(database, username, role)
        if disable is not None:
            accounts.set_disabled(database, username, disable)
        if password_stdin:
            accounts.set_password(database, username, _password(True))
    except accounts.AccountError as exc:
        fail(str(exc))
    out.print(f"user {username} updated", highlight=False, markup=False)


@users_app.command("logout")
def logout_user(
    username: Annotated[str, typer.Argument(help="the user's login name")],
    db: DbOption = None,
) -> None:
    """End every session of a user (a lost laptop, a shared browser)."""
    from analyzer import accounts

    try:
        ended = accounts.end_sessions(open_database(db, must_exist=True), username)
    except accounts.AccountError as exc:
        fail(str(exc))
    out.print(f"{username}: {ended} sessions ended", highlight=False, markup=False)


def serve(
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    upload_limit_mb: Annotated[int, typer.Option(help="largest PDF accepted, in MB")] = 100,
    threads: Annotated[int, typer.Option(help="request threads")] = 4,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help="behind HTTPS: send the session cookie over HTTPS only, and HSTS",
        ),
    ] = False,
    proxy_hops: Annotated[
        int,
        typer.Option(
            help="reverse proxies in front (trust their X-Forwarded-For/-Proto/-Host headers)"
        ),
    ] = 0,
    trusted_proxy: Annotated[
        str,
        typer.Option(help="with --proxy-hops: the address the proxy connects from ('*' for any)"),
    ] = "127.0.0.1",
    max_memory_mb: Annotated[
        int, typer.Option(help="memory the process analysing one upload may use (MB)")
    ] = 2048,
    timeout: Annotated[
        float, typer.Option(help="seconds analysing one upload may take (and parsing it)")
    ] = 600,
    db: DbOption = None,
) -> None:
    """Start the review web app (upload, review with the page image, export).

    Uploads are analysed in a worker process within the limits below, so a hostile upload
    fails alone and the server keeps answering."""
    from waitress import create_server

    from analyzer import accounts
    from analyzer.reading.limits import Limits
    from analyzer.web.app import make_app

    if not 0 < port < 65536:
        fail("--port must be between 1 and 65535")
    if upload_limit_mb < 1:
        fail("--upload-limit-mb must be at least 1")
    if threads < 1:
        fail("--threads must be at least 1")
    if max_memory_mb < 1 or not timeout > 0:
        fail("--max-memory-mb must be at least 1 and --timeout above 0")
    if not 0 <= proxy_hops <= 5:
        fail("--proxy-hops must be between 0 and 5")
    if trusted_proxy != "*":
        try:
            ipaddress.ip_address(trusted_proxy)
        except ValueError:
            fail(f"--trusted-proxy {trusted_proxy!r}: not an IP address (or '*' for any)")
    path = db_path(db)
    open_database(path)
    # waitress reads the proxy's headers itself: it drops X-Forwarded-* from any peer it
    # was not told to trust, so a Flask-side ProxyFix would never see them.
    limits = Limits(memory_mb=max_memory_mb, seconds=timeout)
    app = make_app(
        path, upload_limit=upload_limit_mb * 2**20, secure_cookies=secure_cookies, limits=limits
    )
    if not accounts.list_users(open_database(path)):
        err.print(
            f"no users yet: create the first with: "
            f"analyzer users add NAME --role admin --db {path}",
            highlight=False,
            markup=False,
        )
    if host not in ("127.0.0.1", "localhost", "::1") and not secure_cookies:
        err.print(
            "warning: listening beyond this machine over plain HTTP; passwords and session "
            "cookies cross the network in clear. Put the app behind an HTTPS proxy and use "
            "--secure-cookies (see the README's Security section).",
            highlight=False,
            markup=False,
        )
    try:
        server = create_server(
            app, host=host, port=port, threads=threads, ident="analyzer",
            **proxy_trust(proxy_hops, trusted_proxy),
        )  # fmt: skip
    except OSError as exc:
        fail(f"cannot listen on {host}:{port} ({exc.strerror or exc})")
    app.extensions["worker"].start()  # its process loads the model now, not on the first upload
    # The server's own copy of the model is for search: loaded now, not on the first search.
    threading.Thread(target=_warm, args=(app.extensions["embedder"],), daemon=True).start()
    out.print(
        f"analyzer review app on http://{host}:{port}/ (database {path})",
        highlight=False,
        markup=False,
    )
    # A service manager stops the server with SIGTERM: end as after Ctrl-C, helpers included.
    signal.signal(signal.SIGTERM, _stop_on_signal)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.extensions["renderer"].close()
        app.extensions["worker"].stop(timeout=2)


def proxy_trust(hops: int, proxy: str) -> dict:
    """waitress's settings to take the client's address, scheme and host from ``hops``
    proxies connecting from ``proxy``; from any other peer those headers are dropped."""
    if not hops:
        return {}
    return {
        "trusted_proxy": proxy,
        "trusted_proxy_count": hops,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
        "clear_untrusted_proxy_headers": True,
        "log_untrusted_proxy_headers": False,
    }


def _warm(embedder: SharedEmbedder) -> None:
    """Load the search model; a failure is said on the first search instead."""
    with contextlib.suppress(Exception):
        _ = embedder.name


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
