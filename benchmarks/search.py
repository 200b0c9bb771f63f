"""Search: quality on expert questions, and speed at a million passages.

Usage:
  python benchmarks/search.py quality --db RETRIEVAL_DB [--questions CSV] [--out benchmarks/results]
  python benchmarks/search.py scale --passages 1000000 --work /tmp/search-scale [--out ...]

quality: RETRIEVAL_DB is ../shared/retrieval analysed (``analyzer analyze ../shared/retrieval
--db RETRIEVAL_DB``; the reports are never committed). Each of the expert questions in
questions.csv is searched within its own report by four rankings of the same stored
passages in the same run: hybrid (what ``analyzer search`` does: RRF of dense and BM25),
dense only, BM25 only (the FTS5 index) and TF-IDF (scikit-learn, cosine). A question is
found@5 when one of the top 5 passages lies on an answer page (or within two pages of one);
MRR@10 is the mean of 1 / rank of the first such passage in the top 10.

scale: builds a database of N synthetic passages (texts drawn from the word frequencies of
the sample report, or of --vocab-db's passages; vectors random and normalised) through the
real storage code (passages, FTS rows and embeddings in one transaction per document), then,
in a fresh process, times searches (the query embedded by the real model, then the full
hybrid search) without filter and with each filter, and records p50/p95 and memory.

Both write search.md and search.json under --out (each run replaces its own section).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

from analyzer.db.connection import connect, open_db  # noqa: E402
from analyzer.db.fts import bm25_ranking  # noqa: E402
from analyzer.db.passages import passage_rows  # noqa: E402
from analyzer.embeddings.model import get_embedder  # noqa: E402
from analyzer.search import (  # noqa: E402
    DENSE_WEIGHT,
    DEPTH,
    RRF_K,
    dense_ranking,
    fuse,
    keyword_query,
    rank_passages,
)

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT.parent / "shared" / "retrieval" / "questions.csv"
SYSTEMS = (
    "hybrid_cv",
    "hybrid_shipped",
    "hybrid_rrf60",
    "dense",
    "keyword",
    "keyword_all_words",
    "tfidf",
)
LABELS = {
    "hybrid_cv": "hybrid, fusion chosen on the other reports' questions (out of fold)",
    "hybrid_shipped": "hybrid as shipped (`analyzer search`; fusion chosen on all questions)",
    "hybrid_rrf60": "hybrid, RRF k = 60 (the former setting)",
    "dense": "dense only (all-MiniLM-L6-v2, cosine)",
    "keyword": "BM25 only (SQLite FTS5), question words left out",
    "keyword_all_words": "BM25 only, every word of the question",
    "tfidf": "TF-IDF (scikit-learn, cosine)",
}


def read_questions(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def hit(pages: list[int], answers: set[int], slack: int) -> bool:
    return any(abs(p - a) <= slack for p in pages for a in answers)


def metrics(ranked_pages: list[list[list[int]]], answers: list[set[int]], slack: int) -> dict:
    found, rr = 0, 0.0
    for pages, gold in zip(ranked_pages, answers, strict=True):
        hits = [i for i, p in enumerate(pages[:10], start=1) if hit(p, gold, slack)]
        found += bool(hits and hits[0] <= 5)
        rr += 1.0 / hits[0] if hits else 0.0
    n = len(answers)
    return {"found_at_5": round(found / n, 3), "mrr_at_10": round(rr / n, 3)}


def tfidf_rankings(db, questions: list[dict], doc_of: dict[str, int]) -> list[list[list[int]]]:
    """TF-IDF baseline: fitted on every stored passage, each question ranked in its report;
    one result per page, as every ranking here."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = {name: passage_rows(db, doc_id, "id, text, parts") for name, doc_id in doc_of.items()}
    every = [r["text"] for rows in docs.values() for r in rows]
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(every)
    out = []
    for q in questions:
        rows = docs[q["file"]]
        scores = (vectorizer.transform([r["text"] for r in rows]) @ vectorizer.transform(
            [q["question"]]).T).toarray().ravel()  # fmt: skip
        order = np.argsort(-scores, kind="stable")
        pages = [[p["pdf_page"] for p in json.loads(rows[i]["parts"])] for i in order[:100]]
        out.append(first_page_once(pages)[:10])
    return out


def first_page_once(pages: list[list[int]]) -> list[list[int]]:
    """A ranking of passages' pages with each first page once (what by_page does)."""
    seen, out = set(), []
    for p in pages:
        if p[0] not in seen:
            seen.add(p[0])
            out.append(p)
    return out


K_GRID = (1, 2, 5, 10, 20, 40, 60)
W_GRID = (0.5, 0.75, 1.0, 1.5, 2.0)


def fused_pages(dense, lexical, pages_of, k, w) -> list[list[int]]:
    ranked = fuse([dense, lexical], k=k, weights=[w, 1.0])
    return first_page_once([pages_of[pid] for pid, _ in ranked[:100]])[:10]


def choose_fusion(runs: list[dict], answers: list[set[int]], pages_of: dict) -> tuple[float, float]:
    """(k, dense weight) with the best MRR@10 on an answer page (then found@5) on these
    questions."""
    best = None
    for k in K_GRID:
        for w in W_GRID:
            ranked = [fused_pages(r["dense"], r["lexical"], pages_of, k, w) for r in runs]
            m = metrics(ranked, answers, 0)
            key = (m["mrr_at_10"], m["found_at_5"], -abs(k - RRF_K))
            if best is None or key > best[0]:
                best = (key, k, w)
    assert best is not None
    return best[1], best[2]


def quality(args: argparse.Namespace) -> dict:
    db = open_db(args.db)  # applies the FTS migration to an older database (backfill)
    embedder = get_embedder(None, None)
    questions = read_questions(args.questions)
    doc_of = {r["file_name"]: r["id"] for r in db["documents"].rows_where(select="id, file_name")}
    questions = [q for q in questions if q["file"] in doc_of]
    answers = [{int(p) for p in q["pages"].split()} for q in questions]
    pages_of = {
        r["id"]: [p["pdf_page"] for p in json.loads(r["parts"])]
        for doc_id in {doc_of[q["file"]] for q in questions}
        for r in passage_rows(db, doc_id, "id, parts")
    }
    embedder.encode(["warm up"])
    runs, seconds = [], {}
    clock = time.perf_counter()
    for q in questions:
        doc = [doc_of[q["file"]]]
        runs.append(
            {
                "dense": dense_ranking(db, embedder, q["question"], DEPTH, doc),
                "lexical": bm25_ranking(db, keyword_query(q["question"]), DEPTH, doc),
                "lexical_all_words": bm25_ranking(db, q["question"], DEPTH, doc),
            }
        )
    seconds["rankings"] = (time.perf_counter() - clock) / len(questions)
    # fusion chosen by cross-validation over the questions, folds grouped by report
    reports = sorted({q["file"] for q in questions})
    oof: list[list[list[int]] | None] = [None] * len(questions)
    chosen = {}
    for held in reports:
        train = [i for i, q in enumerate(questions) if q["file"] != held]
        k, w = choose_fusion([runs[i] for i in train], [answers[i] for i in train], pages_of)
        chosen[held] = {"k": k, "dense_weight": w}
        for i, q in enumerate(questions):
            if q["file"] == held:
                oof[i] = fused_pages(runs[i]["dense"], runs[i]["lexical"], pages_of, k, w)
    k_all, w_all = choose_fusion(runs, answers, pages_of)
    rankings: dict[str, list] = {
        "hybrid_cv": oof,
        "hybrid_shipped": [
            fused_pages(r["dense"], r["lexical"], pages_of, RRF_K, DENSE_WEIGHT) for r in runs
        ],
        "hybrid_rrf60": [fused_pages(r["dense"], r["lexical"], pages_of, 60, 1.0) for r in runs],
        "dense": [first_page_once([pages_of[p] for p, _ in r["dense"]])[:10] for r in runs],
        "keyword": [first_page_once([pages_of[p] for p, _ in r["lexical"]])[:10] for r in runs],
        "keyword_all_words": [
            first_page_once([pages_of[p] for p, _ in r["lexical_all_words"]])[:10] for r in runs
        ],
    }
    clock = time.perf_counter()
    rankings["tfidf"] = tfidf_rankings(db, questions, doc_of)
    seconds["tfidf"] = (time.perf_counter() - clock) / len(questions)
    clock = time.perf_counter()
    for q in questions:  # the whole search as `analyzer search` runs it, for its time
        rank_passages(db, embedder, q["question"], doc_of[q["file"]], 10)
    seconds["search"] = (time.perf_counter() - clock) / len(questions)
    figures = {
        s: {
            "answer_page": metrics(rankings[s], answers, 0),
            "within_two_pages": metrics(rankings[s], answers, 2),
            "repeated_pages_in_top5": sum(
                len(r[:5]) - len({p[0] for p in r[:5]}) for r in rankings[s]
            ),
        }
        for s in SYSTEMS
    }
    passages = db.execute("select count(*) from passages").fetchone()[0]
    return {
        "questions": len(questions),
        "documents": reports,
        "passages": sum(1 for _ in pages_of),
        "database_passages": passages,
        "fusion_chosen_per_fold": chosen,
        "fusion_chosen_on_all": {"k": k_all, "dense_weight": w_all},
        "shipped": {"k": RRF_K, "dense_weight": DENSE_WEIGHT},
        "grid": {"k": list(K_GRID), "dense_weight": list(W_GRID)},
        "ms_per_query": {k: round(1000 * v, 1) for k, v in seconds.items()},
        "figures": figures,
        "per_question_top5_pages": [
            {
                "file": q["file"],
                "question_id": q["question_id"],
                "answer_pages": sorted(a),
                **{s: [p[0] for p in rankings[s][i][:5]] for s in SYSTEMS},
            }
            for i, (q, a) in enumerate(zip(questions, answers, strict=True))
        ],
    }


# --- scale ---------------------------------------------------------------------------


def vocabulary(vocab_db: str | None) -> tuple[list[str], np.ndarray]:
    """Words and their frequencies, from real passages (or the sample report's text)."""
    import re
    from collections import Counter

    if vocab_db:
        db = connect(vocab_db)  # read only: its schema as it is
        text = " ".join(r[0] for r in db.execute("select text from passages"))
    else:
        text = (ROOT / "analyzer" / "data" / "sample_report.yaml").read_text(encoding="utf-8")
    counts = Counter(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]+", text))
    words, freq = zip(*counts.most_common(), strict=True)
    p = np.asarray(freq, dtype=np.float64)
    return list(words), p / p.sum()


def real_passages(path: str) -> tuple[list[str], np.ndarray]:
    """Texts and stored vectors of an analysed database's passages (the corpus)."""
    db = connect(path)
    model = get_embedder(None, None).name
    rows = db.execute(
        "select p.text, e.vector from passages p join embeddings e "
        "on e.content_hash = p.content_hash and e.model = ?",
        [model],
    ).fetchall()
    if not rows:
        raise SystemExit(f"{path}: no passages embedded with {model}")
    return [r[0] for r in rows], np.vstack([np.frombuffer(r[1], np.float32) for r in rows])


def build(args: argparse.Namespace) -> dict:
    """A database of synthetic passages written by the real storage code."""
    from analyzer.criteria.sets import load_criteria
    from analyzer.db.candidates import replace_candidates
    from analyzer.db.criteria import save_criteria_set
    from analyzer.db.embeddings import save_vectors
    from analyzer.db.passages import replace_passages
    from analyzer.hashes import content_hash
    from analyzer.types import PagePart, Passage

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    path = work / "scale.db"
    for old in work.glob("scale.db*"):
        if old.is_dir():
            for f in old.iterdir():
                f.unlink()
            old.rmdir()
        else:
            old.unlink()
    db = open_db(path)
    db.execute("PRAGMA journal_mode = WAL")
    words, p = vocabulary(args.vocab_db)
    rng = np.random.default_rng(7)
    real_texts, real_vectors = real_passages(args.real_db) if args.real_db else ([], None)
    criteria = load_criteria()
    save_criteria_set(db, criteria)
    model = get_embedder(None, None).name
    per_doc, total = args.per_document, args.passages
    clock = time.perf_counter()
    companies = [f"Company {i:03d}" for i in range(100)]
    for d in range((total + per_doc - 1) // per_doc):
        n = min(per_doc, total - d * per_doc)
        if real_vectors is not None:  # real passages, each repeated with its vector perturbed
            base = rng.integers(0, len(real_texts), size=n)
            texts = [f"[{d}.{i}] {real_texts[b]}" for i, b in enumerate(base)]
        else:
            picks = rng.choice(len(words), size=(n, args.words), p=p)
            texts = [f"[{d}.{i}] " + " ".join(words[j] for j in row) for i, row in enumerate(picks)]
        passages = [
            Passage(i, t, [PagePart(i // 4 + 1, str(i // 4 + 1), 0, len(t), [])])
            for i, t in enumerate(texts)
        ]
        if real_vectors is not None:
            noise = rng.standard_normal((n, real_vectors.shape[1]), dtype=np.float32)
            vectors = real_vectors[base] + args.noise * noise
        else:
            vectors = rng.standard_normal((n, args.dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with db.atomic():
            doc_id = (
                db["documents"]
                .insert(
                    {
                        "sha256": f"{d:064x}",
                        "file_name": f"synthetic-{d}.pdf",
                        "page_count": n // 4 + 1,
                        "company": companies[d % len(companies)],
                        "fiscal_year": str(2020 + d % 5),
                    }
                )
                .last_pk
            )
            save_vectors(
                db, model, {content_hash(t): v for t, v in zip(texts, vectors, strict=True)}
            )
            replace_passages(db, doc_id, passages)
            ids = [r["id"] for r in passage_rows(db, doc_id, "id")]
            rows = [
                {"document_id": doc_id, "criteria_version": criteria.version,
                 "criterion_id": c.id, "passage_id": ids[int(j)], "rank": r + 1, "score": 0.5}
                for c in criteria.criteria
                for r, j in enumerate(rng.choice(n, size=5, replace=False))
            ]  # fmt: skip
            replace_candidates(db, doc_id, criteria.version, rows)
        if d % 100 == 0:
            print(
                f"  {d * per_doc + n:,} passages, {time.perf_counter() - clock:.0f} s", flush=True
            )
    build_seconds = time.perf_counter() - clock
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"db": str(path), "build_seconds": round(build_seconds), "criteria": criteria}


def memory() -> dict:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    mb = {k: int(status[k].split()[0]) / 1024 for k in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}
    return {k: round(v) for k, v in mb.items()}


def recall_at_10(db, embedder, index, queries: list[str], scope: dict) -> float:
    """Share of the exact top 10 (a float32 scan of every row in scope) that the dense
    search as shipped returns in its top 10, averaged over the queries."""
    from analyzer.db.search_scope import criterion_passages, scope_documents
    from analyzer.search import _scope_rows

    doc_ids = scope_documents(db, scope.get("doc_id"), scope.get("company"), scope.get("season"))
    passage_ids = (
        criterion_passages(db, scope["criterion"], doc_ids) if "criterion" in scope else None
    )
    rows = _scope_rows(index, doc_ids, passage_ids)
    total = 0.0
    for q in queries:
        vector = np.asarray(embedder.encode([q])[0], dtype=np.float32)
        scores = index.matrix @ vector if rows is None else index.matrix[rows] @ vector
        ids = index.ids if rows is None else index.ids[rows]
        exact = set(ids[np.argsort(-scores)[:10]].tolist())
        got = rank_passages(db, embedder, q, limit=10, mode="dense", pages=False, **scope)
        total += len(exact & {r["passage_id"] for r in got}) / max(1, min(10, len(exact)))
    return round(total / len(queries), 4)


def timed_queries(args: argparse.Namespace) -> dict:
    """Run in a fresh process: vector file, then the searches with and without filters."""
    db = connect(args.db)  # just built by this script: read as it is
    embedder = get_embedder(None, None)
    embedder.encode(["warm up"])
    from analyzer.db.vectors import passage_vector_index

    clock = time.perf_counter()
    index = passage_vector_index(db, embedder.name)
    first = time.perf_counter() - clock
    clock = time.perf_counter()
    passage_vector_index(db, embedder.name)
    reopen = time.perf_counter() - clock
    questions = [q["question"] for q in read_questions(args.questions)]
    queries = (questions * 10)[: args.queries]
    criterion = args.criterion
    scopes = {
        "no filter": {},
        "one document": {"doc_id": 17},
        "one company (1% of documents)": {"company": "Company 042"},
        "one season (20% of documents)": {"season": "2022"},
        "one criterion (its candidates)": {"criterion": criterion},
    }
    out = {}
    load_before = os.getloadavg()
    for name, scope in scopes.items():
        rank_passages(db, embedder, queries[0], limit=10, **scope)  # warm the OS cache
        times = []
        for q in queries:
            clock = time.perf_counter()
            rows = rank_passages(db, embedder, q, limit=10, **scope)
            times.append(1000 * (time.perf_counter() - clock))
        out[name] = {
            "recall_at_10": recall_at_10(db, embedder, index, queries[:50], scope),
            "p50_ms": round(float(np.percentile(times, 50)), 1),
            "p95_ms": round(float(np.percentile(times, 95)), 1),
            "max_ms": round(max(times), 1),
            "queries": len(times),
            "results": len(rows),
        }
        print(f"  {name}: {out[name]}", flush=True)
    embed_times = []
    for q in queries:
        clock = time.perf_counter()
        embedder.encode([q])
        embed_times.append(1000 * (time.perf_counter() - clock))
    return {
        "vector_rows": int(len(index.ids)),
        "vector_file_first_open_s": round(first, 1),
        "vector_file_reopen_ms": round(1000 * reopen, 1),
        "query_embedding_p50_ms": round(float(np.percentile(embed_times, 50)), 1),
        "scopes": out,
        "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "memory_mb": memory(),
        "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def scale(args: argparse.Namespace) -> dict:
    built = build(args)
    size = sum(f.stat().st_size for f in Path(args.work).glob("scale.db*") if f.is_file())
    command = [sys.executable, __file__, "scale-query", "--db", built["db"],
               "--queries", str(args.queries), "--questions", str(args.questions),
               "--criterion", built["criteria"].criteria[0].id]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    print(proc.stderr[-2000:], file=sys.stderr)
    timed = json.loads(proc.stdout.strip().splitlines()[-1])
    vectors = sum(f.stat().st_size for f in Path(args.work).glob("scale.db.vectors/*"))
    return {
        "passages": args.passages,
        "per_document": args.per_document,
        "words_per_passage": args.words,
        "dimension": args.dim,
        "vocabulary": args.vocab_db or "analyzer/data/sample_report.yaml",
        "real_db": args.real_db,
        "noise": args.noise,
        "build_seconds": built["build_seconds"],
        "database_mb": round(size / 2**20),
        "vector_file_mb": round(vectors / 2**20),
        **timed,
    }


# --- records -------------------------------------------------------------------------


def quality_markdown(q: dict) -> list[str]:
    f = q["figures"]
    per_fold = ", ".join(
        f"{name.split('-')[0]}: k {c['k']}, w {c['dense_weight']}"
        for name, c in q["fusion_chosen_per_fold"].items()
    )
    lines = [
        "## Quality on expert questions",
        "",
        f"Command: `{q['command']}`, run {q['date']} on {q['machine']}. Data: "
        f"{q['questions']} questions (Climate Finance Bench, ../shared/retrieval, not "
        f"committed) over {len(q['documents'])} reports, {q['passages']} passages; each "
        "question searched within its own report. Every ranking lists pages, each page once "
        "(its best passage). The keyword query leaves out question words and years "
        "(`analyzer.search.QUESTION_WORDS`); the meaning query reads the whole question.",
        "",
        "Fusion: weighted reciprocal rank fusion, weight_r / (k + rank), over the top "
        f"{DEPTH} of each ranking; k from {q['grid']['k']} and the dense weight from "
        f"{q['grid']['dense_weight']} chosen by the best MRR@10 on an answer page, by "
        "cross-validation over the questions with folds grouped by report (chosen on three "
        f"reports, scored on the fourth: {per_fold}). Chosen on all questions: k "
        f"{q['fusion_chosen_on_all']['k']}, dense weight "
        f"{q['fusion_chosen_on_all']['dense_weight']}; shipped: k {q['shipped']['k']}, dense "
        f"weight {q['shipped']['dense_weight']}. The out-of-fold row is the honest figure; "
        "the shipped row was chosen on these same questions.",
        "",
        "| ranking | found@5 (answer page) | MRR@10 (answer page) | found@5 (within 2 pages) "
        "| MRR@10 (within 2 pages) | repeated pages in top 5 |",
        "|---|---|---|---|---|---|",
    ]
    for s in SYSTEMS:
        a, w = f[s]["answer_page"], f[s]["within_two_pages"]
        lines.append(
            f"| {LABELS[s]} | {a['found_at_5']:.2f} | {a['mrr_at_10']:.2f} | "
            f"{w['found_at_5']:.2f} | {w['mrr_at_10']:.2f} | {f[s]['repeated_pages_in_top5']} |"
        )
    ms = q["ms_per_query"]
    lines += [
        "",
        f"Time per question: {ms['search']} ms for the whole search as `analyzer search` runs "
        f"it (pages, candidacies and decisions included), {ms['rankings']} ms for the three "
        f"rankings alone, {ms['tfidf']} ms for TF-IDF.",
    ]
    return lines + [""]


def scale_markdown(s: dict) -> list[str]:
    lines = [
        "## Speed at scale",
        "",
        f"Command: `{s['command']}`, run {s['date']} on {s['machine']}. Data: "
        f"{s['passages']:,} passages ({s['per_document']:,} per document, "
        + (
            f"real corpus passages drawn at random from {s['real_db']} with their stored "
            f"all-MiniLM-L6-v2 vectors, each repeat perturbed by Gaussian noise of "
            f"{s['noise']} per dimension and normalised again"
            if s.get("real_db")
            else f"{s['words_per_passage']} words drawn from the word frequencies of "
            f"{s['vocabulary']}; random normalised {s['dimension']}-float vectors"
        )
        + "; 5 candidates per criterion per document), written by the real storage code in "
        f"{s['build_seconds']} s; database {s['database_mb']:,} MB, vector file "
        f"{s['vector_file_mb']:,} MB (built from the database in "
        f"{s['vector_file_first_open_s']} s on first search, reopened in "
        f"{s['vector_file_reopen_ms']} ms). Each search: the query embedded by the real model "
        f"(p50 {s['query_embedding_p50_ms']} ms alone); dense top {DEPTH} in scope (scopes "
        "of 100,000 passages or more: an 8-bit copy's best 400 scored again exactly, else an "
        f"exact float32 scan); BM25 top {DEPTH} from FTS5; fusion; the top 10 pages with "
        "their candidacies and decisions. Recall@10: the share of the exact top 10 (a float32 "
        "scan of every passage in scope) that the dense search returns, over 50 questions.",
        "",
        "| scope | p50 ms | p95 ms | max ms | searches | recall@10 (dense vs exact) |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in s["scopes"].items():
        lines.append(
            f"| {name} | {t['p50_ms']} | {t['p95_ms']} | {t['max_ms']} | {t['queries']} "
            f"| {t.get('recall_at_10', '-')} |"
        )
    m = s["memory_mb"]
    load = s.get("load_average_1min")
    lines += [
        "",
        f"Machine load (1-minute load average, before and after the searches): {load[0]} and "
        f"{load[1]} on {os.cpu_count()} cores; other work shares this machine, so figures "
        "above about 1.0 per core mean the searches waited for a core."
        if load
        else "",
        "",
        f"Memory of the searching process after all searches: resident {m['VmRSS']:,} MB, of "
        f"which {m['RssAnon']:,} MB its own (anonymous) and {m['RssFile']:,} MB mapped file "
        f"pages (the vector file and libraries, reclaimable by the OS); peak {m['VmHWM']:,} MB.",
        "",
    ]
    return lines


def write(out: Path, section: str, record: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "search.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[section] = record
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    lines = ["# Search benchmark", "", "Recorded by `benchmarks/search.py`.", ""]
    if "quality" in data:
        lines += quality_markdown(data["quality"])
    if "scale" in data:
        lines += scale_markdown(data["scale"])
    if data.get("notes"):
        lines += data["notes"]
    (out / "search.md").write_text("\n".join(lines).rstrip() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--db", required=True)
    q.add_argument("--questions", default=str(QUESTIONS))
    q.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    s = sub.add_parser("scale")
    s.add_argument("--passages", type=int, default=1_000_000)
    s.add_argument("--per-document", type=int, default=1000)
    s.add_argument("--words", type=int, default=110)
    s.add_argument("--dim", type=int, default=384)
    s.add_argument("--queries", type=int, default=200)
    s.add_argument("--work", default="/tmp/search-scale")
    s.add_argument("--vocab-db")
    s.add_argument("--real-db", help="analysed corpus: its passages and vectors, repeated")
    s.add_argument("--noise", type=float, default=0.01, help="per-dimension noise on repeats")
    s.add_argument("--questions", default=str(QUESTIONS))
    s.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    t = sub.add_parser("scale-query")
    t.add_argument("--db", required=True)
    t.add_argument("--queries", type=int, default=200)
    t.add_argument("--questions", default=str(QUESTIONS))
    t.add_argument("--criterion", required=True)
    args = parser.parse_args()
    if args.what == "scale-query":
        print(json.dumps(timed_queries(args)))
        return
    stamp = {
        "command": "python benchmarks/search.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, {platform.python_version()}",
    }
    record = quality(args) if args.what == "quality" else scale(args)
    write(Path(args.out), args.what, {**stamp, **record})
    print((Path(args.out) / "search.md").read_text())


if __name__ == "__main__":
    main()
