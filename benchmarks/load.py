"""Loopback load test of the review server: N clients decide for S seconds, then every
acknowledged write is looked up in the database.

    python benchmarks/load.py --clients 20 --seconds 60 --out benchmarks/results/load.md

It analyses the bundled sample report into a fresh database, adds one reviewer per client,
starts ``analyzer serve`` as a separate process on 127.0.0.1, and runs the clients as
threads: each logs in, then loops "next card, decide on it" (reject or accept; once the
queue is empty, a comment on a card), timing every request. A write counts as acknowledged
when the server answered 200 with a decision id; lost writes are acknowledged ids missing
from the database afterwards and must be 0. The reliability tests run the same code for a
few seconds, and kill the server with SIGKILL in the middle.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD = "correct horse battery staple 42"
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Tally:
    """What the clients saw, merged across threads under a lock."""

    latencies: list[float] = field(default_factory=list)
    acked: set[int] = field(default_factory=set)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, decision: int | None = None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if decision is not None:
                self.acked.add(decision)

    def fail(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_path: Path, port: int, threads: int = 8) -> subprocess.Popen:
    """``analyzer serve`` in its own process; returns once it answers."""
    exe = shutil.which("analyzer") or sys.executable
    args = [exe] if exe.endswith("analyzer") else [exe, "-m", "analyzer"]
    proc = subprocess.Popen(
        [*args, "serve", "--port", str(port), "--db", str(db_path), "--threads", str(threads)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).read()
            return proc
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None:
                tail = proc.stderr.read().decode()[-2000:]
                raise RuntimeError(f"the server ended: {tail}") from None
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not answer within 60 s")


class Client:
    """One reviewer's browser: a cookie jar, the CSRF token, JSON calls."""

    def __init__(self, base: str, name: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.token = ""
        self.name = name

    def _token(self, html: str) -> str:
        found = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
            r'name="csrf_token" value="([^"]+)"', html
        )
        return found.group(1) if found else ""

    def login(self) -> None:
        page = self.opener.open(self.base + "/login", timeout=30).read().decode()
        form = urllib.parse.urlencode(
            {"username": self.name, "password": PASSWORD, "csrf_token": self._token(page)}
        ).encode()
        home = self.opener.open(self.base + "/login", form, timeout=60).read().decode()
        self.token = self._token(home)
        if not self.token:
            raise RuntimeError(f"{self.name} could not log in")

    def call(self, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
            request.add_header("X-CSRFToken", self.token)
        with self.opener.open(request, timeout=30) as response:
            return json.loads(response.read())


def client_loop(client: Client, stop: float, tally: Tally, seed: int) -> None:
    """Decide until the clock says stop; every answer is timed, every decision id kept."""
    rng = random.Random(seed)
    seen: list[int] = []
    while time.monotonic() < stop:
        started = time.perf_counter()
        try:
            card = client.call("/api/next?order=score")["card"]
            tally.add(time.perf_counter() - started)
            if card is not None:
                seen.append(card["candidate_id"])
                body = rng.choice([{"action": "reject"}, {"action": "accept", "level": 1}])
                target = card["candidate_id"]
            elif seen:
                body, target = {"action": "comment", "comment": "load"}, rng.choice(seen)
            else:
                body, target = {"action": "comment", "comment": "load"}, 1
            started = time.perf_counter()
            answer = client.call(f"/api/cards/{target}/decide", body)
            tally.add(time.perf_counter() - started, answer["decision_id"])
        except urllib.error.HTTPError as exc:
            tally.fail(f"HTTP {exc.code}")
        except (urllib.error.URLError, ConnectionError, OSError, ValueError) as exc:
            tally.fail(type(exc).__name__)
            time.sleep(0.05)  # the server is gone or restarting: do not spin


def add_reviewers(db_path: Path, count: int) -> list[str]:
    from analyzer import accounts
    from analyzer.db.connection import open_db

    db = open_db(db_path)
    names = [f"load{i:02d}" for i in range(count)]
    for name in names:
        accounts.add_user(db, name, PASSWORD, "reviewer")
    db.close()
    return names


def run_load(
    base: str,
    names: list[str],
    seconds: float,
    kill: subprocess.Popen | None = None,
    kill_after: float | None = None,
) -> tuple[Tally, float]:
    """Run one client per name for `seconds`; optionally SIGKILL `kill` after `kill_after` s."""
    clients = [Client(base, name) for name in names]
    for client in clients:
        client.login()
    tally = Tally()
    started = time.monotonic()
    stop = started + seconds
    threads = [
        threading.Thread(target=client_loop, args=(c, stop, tally, i), daemon=True)
        for i, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    if kill is not None and kill_after is not None:
        time.sleep(kill_after)
        os.kill(kill.pid, signal.SIGKILL)
        kill.wait()
    for thread in threads:
        thread.join(seconds + 60)
    return tally, time.monotonic() - started


def lost_writes(db_path: Path, acked: set[int]) -> int:
    """Acknowledged decision ids that the database does not hold."""
    conn = sqlite3.connect(db_path)
    try:
        stored = {row[0] for row in conn.execute("select id from decisions")}
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    return len(acked - stored)


def summary(tally: Tally, elapsed: float) -> dict:
    latencies = sorted(tally.latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    return {
        "requests": len(latencies),
        "throughput": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p95_ms": 1000 * p95,
        "acked_writes": len(tally.acked),
        "errors": dict(tally.errors),
        "seconds": elapsed,
    }


def prepare_db(folder: Path) -> Path:
    """A fresh database with the sample report analysed in it."""
    from analyzer.db.connection import open_db
    from analyzer.pipeline import Analyzer
    from analyzer.sample import SAMPLE_FILE_NAME, build_sample_report

    pdf = build_sample_report(folder / SAMPLE_FILE_NAME)
    db_path = folder / "load.db"
    db = open_db(db_path)
    result = Analyzer(db).analyze(pdf, {"company": "Northwind Motors", "fiscal_year": "2025"})
    db.close()
    if result.error:
        raise RuntimeError(result.error)
    return db_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=8, help="server request threads")
    parser.add_argument("--work", type=Path, default=Path("/tmp/analyzer-load"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    db_path = prepare_db(args.work)
    names = add_reviewers(db_path, args.clients)
    port = free_port()
    server = start_server(db_path, port, args.threads)
    try:
        tally, elapsed = run_load(f"http://127.0.0.1:{port}", names, args.seconds)
    finally:
        server.terminate()
        server.wait(30)
    figures = summary(tally, elapsed)
    figures["lost_writes"] = lost_writes(db_path, tally.acked)
    print(json.dumps(figures, indent=2))
    if args.out:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from machine import cpu_model

        machine = f"{os.cpu_count()} cores ({cpu_model()}), Python {sys.version.split()[0]}"
        args.out.write_text(report(figures, args, machine), encoding="utf-8")


def report(figures: dict, args, machine: str) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in figures["errors"].items()) or "none"
    return f"""# Review server under load (loopback)

`python benchmarks/load.py --clients {args.clients} --seconds {args.seconds:g} --out {args.out}`,
{time.strftime("%Y-%m-%d")}: `analyzer serve --threads {args.threads}` (waitress) in its own process
on 127.0.0.1, {args.clients} reviewer clients as threads of one Python process, each logged in
with its own session, looping "GET /api/next, POST a decision" (a comment once the queue is
empty) on the sample report's 200 candidates.

| figure | value |
|---|---|
| clients / duration | {args.clients} / {figures["seconds"]:.1f} s |
| requests answered | {figures["requests"]:,} |
| throughput | {figures["throughput"]:.1f} requests/s |
| latency p50 / p95 | {figures["p50_ms"]:.0f} ms / {figures["p95_ms"]:.0f} ms |
| acknowledged writes | {figures["acked_writes"]:,} |
| **lost writes** (acknowledged, not in the database) | **{figures["lost_writes"]}** |
| errors | {errors} |

Machine: {machine}
"""


if __name__ == "__main__":
    main()
