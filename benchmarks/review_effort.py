"""Analyst effort: the gold replayed as a reviewer through the review app's JSON API.

Usage:
  python benchmarks/review_effort.py --db ANALYSED_DB [--gold labels/gold/gold.jsonl]
      [--out benchmarks/results] [--note TEXT]

ANALYSED_DB holds the gold's reports analysed (``analyzer analyze ../shared/corpus --db X``);
reports are matched to the gold by their SHA-256, and a gold report that is not in the
database is listed as missing. The database is never changed: each way of reviewing runs on
its own backup copy, in the real app (``make_app``, Flask's test client: login, CSRF, the
same routes the browser calls), as one reviewer with four eyes off.

Two ways of turning a report's drafts into a confirmed scorecard equal to the gold:

- **criterion review** (issue 19): for each criterion the app queues
  (``/api/criterion-review/next``), confirm or set the gold's level with one decision
  (``.../decide``). When the gold's level is above 0 and none of the criterion's passages
  holds one of the gold's quotes, search for the quotes (``/api/search``, within the report,
  one search per quote until a page holds one), add that passage as evidence
  (``/api/evidence``) and then decide.
- **card by card**: every candidate card the app queues (``/api/next``) is accepted at the
  gold's level when its passage holds one of the gold's quotes, and rejected otherwise (one
  decision per card); then each criterion with a gold level above 0 and no accepted card is
  searched for and added as above.

An action is a request that changes state (a decision, an added passage) or a search;
reading a card, a criterion view or a page is not counted. A passage *holds* a gold quote
when the quote's words appear in it in order (case, spacing and punctuation ignored), or
when 80% of them appear in it and it lies on the quote's PDF page (table rows are read in
another order than the gold copied them). The simulated reviewer searches with the gold
quote's own text, so the search figures are a lower bound on a person's searching.
At the end, every criterion of every replayed report must be confirmed at the gold's level
(criterion review: its criterion decision; card by card: the best confirmed evidence), and
the company's confirmed scorecard (``build_scorecard``) must give the gold's level.

Writes review-effort.md and review-effort.json under --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shlex
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_model  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
USER = "effort-bench"
FUZZY_COVER = 0.8  # share of a quote's words a passage on the quote's page must hold
SEARCH_LIMIT = 5  # pages a search shows
SEASON = "2099"  # the season the copies score each report in: no cut-off row, all counted


class BenchError(Exception):
    """The benchmark cannot run as asked; the message says why."""


# --- what the simulated reviewer reads --------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def holds(text: str, pages: list[int], quote: str, quote_page: int | None) -> bool:
    """Does a passage (its text, its PDF pages) hold this gold quote? In order, or mostly
    and on the quote's page (the rule in the module docstring)."""
    want, have = _words(quote), _words(text)
    if not want:
        return False
    if f" {' '.join(want)} " in f" {' '.join(have)} ":
        return True
    vocabulary = set(have)
    cover = sum(w in vocabulary for w in want) / len(want)
    return cover >= FUZZY_COVER and quote_page in pages


def _segments_text(segments: list) -> str:
    return "".join(run[0] for run in segments)


def load_gold(path: Path) -> dict[str, dict[str, dict]]:
    """document sha256 -> criterion id -> the gold record."""
    out: dict[str, dict[str, dict]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            out.setdefault(record["document_sha256"], {})[record["criterion"]] = record
    return out


# --- the reviewer, through the app ------------------------------------------------------------


@dataclass
class Tally:
    """Actions taken, by kind, and how each criterion was settled."""

    actions: Counter = field(default_factory=Counter)
    settled: Counter = field(default_factory=Counter)
    unreachable: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.actions.values())


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    if not match:
        raise BenchError("the app's page has no CSRF token")
    return match.group(1)


class AppReviewer:
    """One logged-in reviewer on a real app; every request it sends goes through the app's
    login, CSRF and routes. State-changing requests and searches are tallied."""

    def __init__(self, app, password: str) -> None:
        self.client = app.test_client()
        token = _csrf(self.client.get("/login").get_data(as_text=True))
        response = self.client.post(
            "/login", data={"username": USER, "password": password, "csrf_token": token}
        )
        if response.status_code != 302:
            raise BenchError("the benchmark's reviewer could not log in")
        self.token = _csrf(self.client.get("/").get_data(as_text=True))
        self.tally = Tally()

    def get(self, url: str, **params) -> dict:
        response = self.client.get(url, query_string=params)
        if response.status_code != 200:
            raise BenchError(f"GET {url} answered {response.status_code}: {response.json}")
        return response.json

    def post(self, url: str, body: dict, kind: str) -> dict:
        response = self.client.post(url, json=body, headers={"X-CSRFToken": self.token})
        if response.status_code != 200:
            raise BenchError(f"POST {url} answered {response.status_code}: {response.json}")
        self.tally.actions[kind] += 1
        return response.json

    def search(self, query: str, doc_id: int) -> list[dict]:
        self.tally.actions["search"] += 1
        return self.get("/api/search", q=query[:2000], doc=doc_id, limit=SEARCH_LIMIT)["results"]

    def find_missing(self, db, doc_id: int, gold: dict) -> int | None:
        """Search for the gold's quotes until a shown page holds one; add that passage as
        evidence at the gold's level. Returns its id (None: no search found one)."""
        from analyzer.db.passages import get_passage

        for evidence in gold["evidence"]:
            for page in self.search(evidence["quote"], doc_id):
                for pid in page["page_passage_ids"]:  # the reviewer reads the opened page
                    passage = get_passage(db, pid)
                    pages = [p["pdf_page"] for p in json.loads(passage["parts"])]
                    if holds(passage["text"], pages, evidence["quote"], evidence["pdf_page"]):
                        body = {"passage_id": pid, "criterion": gold["criterion"]}
                        self.post("/api/evidence", {**body, "level": gold["level"]}, "add")
                        return pid
        return None


def review_by_criterion(rv: AppReviewer, db, doc_id: int, golds: dict[str, dict]) -> None:
    """Criterion review of one report, driven by the app's own queue."""
    skip: list[str] = []
    while True:
        view = rv.get("/api/criterion-review/next", doc=doc_id, skip=",".join(skip))["view"]
        if view is None:
            return
        cid = view["criterion"]["id"]
        gold = golds.get(cid)
        if gold is None:  # a criterion the gold does not judge
            skip.append(cid)
            continue
        level, drafted = gold["level"], view["draft"]["level"]
        url = f"/api/criterion-review/{doc_id}/{cid}/decide"
        if level == 0:
            rv.post(url, {"level": 0}, "criterion decision")
            rv.tally.settled["confirmed the draft" if not drafted else "set another level"] += 1
            continue
        holding = [
            p["passage_id"]
            for p in view["passages"]
            if any(
                holds(
                    _segments_text(p["segments"]),
                    [pg["pdf_page"] for pg in p["pages"]],
                    e["quote"],
                    e["pdf_page"],
                )
                for e in gold["evidence"]
            )
        ]
        selected = {p["passage_id"] for p in view["passages"] if p["selected"]}
        how = "confirmed the draft" if drafted == level else "set another level"
        if holding and drafted == level and not selected & set(holding):
            how = "confirmed the draft level, other passages"
        if not holding:
            found = rv.find_missing(db, doc_id, gold)
            if found is None:  # left undecided, and out of this reviewer's queue
                rv.tally.unreachable.append(f"{doc_id}/{cid}")
                skip.append(cid)
                continue
            holding, how = [found], f"{how} after a search"
        rv.post(url, {"level": level, "evidence": holding}, "criterion decision")
        rv.tally.settled[how] += 1


def review_card_by_card(rv: AppReviewer, db, doc_id: int, golds: dict[str, dict]) -> None:
    """Every candidate card of one report decided, then the missed evidence searched for."""
    skip: list[int] = []
    accepted: set[str] = set()
    while True:
        card = rv.get("/api/next", doc=doc_id, skip=",".join(map(str, skip)))["card"]
        if card is None:
            break
        cid = card["criterion"]["id"]
        gold = golds.get(cid)
        if gold is None:
            skip.append(card["candidate_id"])
            continue
        pages = [p["pdf_page"] for p in card["pages"]]
        text = _segments_text(card["segments"])
        url = f"/api/cards/{card['candidate_id']}/decide"
        if gold["level"] and any(
            holds(text, pages, e["quote"], e["pdf_page"]) for e in gold["evidence"]
        ):
            rv.post(url, {"action": "accept", "level": gold["level"]}, "card decision")
            accepted.add(cid)
            rv.tally.settled["card accepted"] += 1
        else:
            rv.post(url, {"action": "reject"}, "card decision")
            rv.tally.settled["card rejected"] += 1
    for cid, gold in golds.items():
        if gold["level"] and cid not in accepted:
            if rv.find_missing(db, doc_id, gold) is None:
                rv.tally.unreachable.append(f"{doc_id}/{cid}")
            else:
                rv.tally.settled["criterion added after a search"] += 1


# --- checks -----------------------------------------------------------------------------------


def criterion_levels_reached(db, doc_id: int, golds: dict[str, dict]) -> dict[str, int | None]:
    """criterion -> confirmed level by criterion review (None: not confirmed)."""
    from analyzer.review.criteria import criterion_levels
    from analyzer.review.status import CONFIRMED

    levels = criterion_levels(db, [doc_id])
    out: dict[str, int | None] = {}
    for cid in golds:
        st = levels.get((doc_id, cid))
        out[cid] = st["level"] if st and st["status"] == CONFIRMED else None
    return out


def card_levels_reached(db, doc_id: int, golds: dict[str, dict]) -> dict[str, int | None]:
    """criterion -> the best confirmed evidence level from card decisions (0 when every card
    was rejected; None when some card is still open)."""
    from analyzer.review.status import CONFIRMED, OPEN, items, statuses

    best = dict.fromkeys(golds, 0)
    for item, st in statuses(db, items(db, doc_id)):
        cid = st["state"].get("criterion") or item.key[2]
        if cid not in best:
            continue
        if st["status"] == OPEN:
            best[cid] = None
        elif (
            best[cid] is not None
            and st["status"] == CONFIRMED
            and st["state"].get("verdict") == "evidence"
        ):
            best[cid] = max(best[cid], st["state"].get("level") or 0)
    return best


def _scorecard_company(doc: dict) -> str:
    """The company name the report is scored under in the benchmark's copy: its file name,
    so two reports of one company (or reports without a company) never share a scorecard."""
    return f"{doc['file_name']} (document {doc['id']})"


def scorecard_levels(db, docs: list[dict]) -> dict[str, dict[str, int]]:
    """document file name -> criterion -> the confirmed level of the report's scorecard."""
    from analyzer.scorecard.scores import build_scorecard

    out = {}
    for d in docs:
        card = build_scorecard(db, SEASON, _scorecard_company(d), with_previous=False)
        out[d["file_name"]] = {c.criterion.id: c.confirmed_level for c in card.criteria}
    return out


# --- the run ----------------------------------------------------------------------------------


def replay(db_path: Path, gold_path: Path, work: Path) -> dict:
    """Both ways of reviewing on their own copies of the database; the figures and checks."""
    from analyzer import accounts
    from analyzer.db.backup import backup_database
    from analyzer.db.connection import open_db
    from analyzer.db.documents import all_documents
    from analyzer.embeddings.model import get_embedder
    from analyzer.scorecard.metadata import set_document
    from analyzer.web.app import make_app

    gold = load_gold(gold_path)
    source = open_db(db_path)
    docs = [d for d in all_documents(source) if d["sha256"] in gold]
    analysed = {d["sha256"] for d in all_documents(source)}
    source.close()
    missing = sorted(
        next(iter(g.values()))["document"] for sha, g in gold.items() if sha not in analysed
    )
    if not docs:
        raise BenchError(f"none of the gold's reports is analysed in {db_path}")
    embedder = get_embedder()
    password = secrets.token_urlsafe(18)
    modes = {"criterion": review_by_criterion, "card": review_card_by_card}
    reached = {"criterion": criterion_levels_reached, "card": card_levels_reached}
    per_doc: dict[int, dict] = {d["id"]: {"document": d["file_name"]} for d in docs}
    summary: dict[str, dict] = {}
    for mode, review in modes.items():
        (work / mode).mkdir(parents=True)
        copy = backup_database(db_path, work / mode / "analyzer.db")
        db = open_db(copy)
        accounts.add_user(db, USER, password, "reviewer")
        for d in docs:  # each report its own scorecard, so it is checked against its own gold
            set_document(db, d["id"], company=_scorecard_company(d), season=SEASON)
        app = make_app(copy, embedder=embedder)
        started = time.perf_counter()
        settled: Counter = Counter()
        unreachable: list[str] = []
        try:
            for d in docs:
                rv = AppReviewer(app, password)
                review(rv, db, d["id"], gold[d["sha256"]])
                levels = reached[mode](db, d["id"], gold[d["sha256"]])
                golds = gold[d["sha256"]]
                per_doc[d["id"]][mode] = {
                    "actions": rv.tally.total,
                    "by_kind": dict(rv.tally.actions),
                    "settled": dict(rv.tally.settled),
                    "criteria": len(golds),
                    "at_gold_level": sum(levels[c] == g["level"] for c, g in golds.items()),
                    "unreachable": rv.tally.unreachable,
                }
                settled.update(rv.tally.settled)
                unreachable += rv.tally.unreachable
            cards = scorecard_levels(db, docs)
        finally:
            app.extensions["worker"].stop()
            app.extensions["renderer"].close()
        differing = [
            f"{d['file_name']} {cid}: scorecard {cards[d['file_name']].get(cid)}, gold {g['level']}"
            for d in docs
            for cid, g in gold[d["sha256"]].items()
            if cards[d["file_name"]].get(cid) != g["level"]
        ]
        summary[mode] = {
            "seconds": round(time.perf_counter() - started, 1),
            "actions": sum(per_doc[d["id"]][mode]["actions"] for d in docs),
            "by_kind": dict(
                sum((Counter(per_doc[d["id"]][mode]["by_kind"]) for d in docs), Counter())
            ),
            "settled": dict(settled),
            "criteria": sum(per_doc[d["id"]][mode]["criteria"] for d in docs),
            "at_gold_level": sum(per_doc[d["id"]][mode]["at_gold_level"] for d in docs),
            "unreachable": unreachable,
            "scorecard_equals_gold": not differing,
            "scorecard_differences": differing[:20],
        }
        db.close()
    candidates = _candidate_counts(db_path, [d["id"] for d in docs])
    for d in docs:
        per_doc[d["id"]]["candidates"] = candidates.get(d["id"], 0)
    return {
        "documents": list(per_doc.values()),
        "missing_from_db": missing,
        "summary": summary,
        "embedder": embedder.name,
    }


def _candidate_counts(db_path: Path, doc_ids: list[int]) -> dict[int, int]:
    from analyzer.db.connection import open_db
    from analyzer.review.status import items

    db = open_db(db_path)
    try:
        return {d: sum(i.candidate is not None for i in items(db, d)) for d in doc_ids}
    finally:
        db.close()


def render(result: dict, command: str, note: str | None) -> str:
    """The results page in Markdown."""
    s = result["summary"]
    crit, card = s["criterion"], s["card"]
    lines = [
        "# Review effort: the gold replayed through the review API",
        "",
        f"- command: `{command}`, run {result['date']}",
        f"- machine: {result['machine']}; embedder {result['embedder']}",
        f"- data: {len(result['documents'])} report(s) of the gold analysed in `{result['db']}`"
        f" ({result['candidates']} candidate cards); gold `{result['gold']}`",
    ]
    if result["missing_from_db"]:
        lines.append(f"- gold reports not in the database: {', '.join(result['missing_from_db'])}")
    if note:
        lines.append(f"- note: {note}")
    ratio = card["actions"] / crit["actions"] if crit["actions"] else float("nan")
    lines += [
        "",
        "An action is a request that changes state (a decision, an added passage) or a search.",
        "",
        "| way of reviewing | actions | per report | criteria at the gold level | scorecard = gold"
        " | seconds |",
        "|---|---|---|---|---|---|",
    ]
    n = len(result["documents"])
    for name, m in (("criterion review", crit), ("card by card", card)):
        lines.append(
            f"| {name} | {m['actions']} | {m['actions'] / n:.1f} | {m['at_gold_level']} of"
            f" {m['criteria']} | {'yes' if m['scorecard_equals_gold'] else 'no'} | {m['seconds']} |"
        )
    lines += [
        "",
        f"Card by card takes {ratio:.1f}x the actions of criterion review.",
        "",
        "Actions by kind: criterion review "
        + ", ".join(f"{k} {v}" for k, v in sorted(crit["by_kind"].items()))
        + "; card by card "
        + ", ".join(f"{k} {v}" for k, v in sorted(card["by_kind"].items()))
        + ".",
        "",
        "How criterion review settled each criterion: "
        + ", ".join(f"{k} {v}" for k, v in sorted(crit["settled"].items()))
        + ".",
        "",
        "| report | candidates | criterion review actions | card by card actions | searches"
        " (criterion / card) |",
        "|---|---|---|---|---|",
    ]
    for d in result["documents"]:
        lines.append(
            f"| {d['document']} | {d['candidates']} | {d['criterion']['actions']} |"
            f" {d['card']['actions']} | {d['criterion']['by_kind'].get('search', 0)} /"
            f" {d['card']['by_kind'].get('search', 0)} |"
        )
    for name, m in (("criterion review", crit), ("card by card", card)):
        if m["unreachable"]:
            lines.append(
                f"\n{name}: no passage holding a gold quote was found for "
                + ", ".join(m["unreachable"])
            )
        if m["scorecard_differences"]:
            lines.append(f"\n{name}: scorecard differs: " + "; ".join(m["scorecard_differences"]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path, help="the gold's reports, analysed")
    parser.add_argument("--gold", type=Path, default=REPO / "labels/gold/gold.jsonl")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results")
    parser.add_argument("--note", help="a line for the results page (e.g. 'small run')")
    args = parser.parse_args(argv)
    command = "python benchmarks/review_effort.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    try:
        if not args.db.is_file():
            raise BenchError(f"no database at {args.db} (analyse the gold's reports into it)")
        if not args.gold.is_file():
            raise BenchError(f"no gold file at {args.gold}")
        with tempfile.TemporaryDirectory(prefix="review-effort-") as work:
            result = replay(args.db, args.gold, Path(work))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    result.update(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=f"{os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}",
        command=command,
        db=str(args.db),
        gold=str(args.gold),
        note=args.note,
        candidates=sum(d["candidates"] for d in result["documents"]),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "review-effort.md").write_text(render(result, command, args.note), "utf-8")
    (args.out / "review-effort.json").write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    s = result["summary"]
    print(
        f"criterion review {s['criterion']['actions']} actions, card by card"
        f" {s['card']['actions']} actions, over {len(result['documents'])} report(s);"
        f" written to {args.out}/review-effort.md"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
