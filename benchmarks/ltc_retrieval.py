"""How well do the candidates find the seed-labelled evidence? Zero-shot vs a TF-IDF baseline.

Usage:  python benchmarks/ltc_retrieval.py [--db CORPUS_DB] [--out FILE.md]

For every (report, criterion) pair with at least one positive label in
labels/ltc/seed.jsonl, all passages of the report are ranked for the criterion, and we
record whether a labelled evidence passage is among the top 5 (hit@5) and the rank of the
first one (MRR). The baseline ranks the same passages by TF-IDF cosine similarity to the
criterion's own text (name, definition, queries, examples). Without --db, the reports in
../shared/corpus are analysed into a temporary database first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402

from analyzer.criteria import REPO_ROOT, load_criteria  # noqa: E402
from analyzer.embeddings import from_blob, get_embedder  # noqa: E402
from analyzer.pipeline import Analyzer, Settings  # noqa: E402
from analyzer.scoring import HybridScorer  # noqa: E402
from analyzer.store import open_db  # noqa: E402

SEED = REPO_ROOT / "labels" / "ltc" / "seed.jsonl"


def ranks_of_first_positive(scores: np.ndarray, positive: np.ndarray) -> int:
    order = np.argsort(-scores, kind="stable")
    hits = np.nonzero(positive[order])[0]
    return int(hits[0]) + 1 if len(hits) else len(scores) + 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory()
        db = open_db(Path(tmp.name) / "corpus.db")
        analyzer = Analyzer(db, Settings())
        for path in sorted((REPO_ROOT.parent / "shared" / "corpus").glob("*.pdf")):
            analyzer.analyze(path)
    else:
        db = open_db(args.db)
    criteria = load_criteria("ltc")
    embedder = get_embedder()
    analyzer = Analyzer(db, Settings(), embedder)
    hybrid = HybridScorer(criteria, analyzer.embed_texts)
    column = {c.id: j for j, c in enumerate(criteria.criteria)}
    criterion_text = {
        c.id: " ".join([c.name, c.definition, *c.queries, *c.examples]) for c in criteria.criteria
    }

    labels = [json.loads(line) for line in SEED.read_text().splitlines() if line]
    positives: dict[tuple[str, str], set[str]] = defaultdict(set)
    for x in labels:
        if x["label"] == "evidence":
            positives[(x["source"]["document_sha256"], x["criterion"])].add(
                x["source"]["passage_content_hash"]
            )

    docs = {d["sha256"]: d for d in db["documents"].rows}
    results = {"zero-shot": [], "tf-idf": [], "hybrid": []}
    per_criterion: dict[str, list[int]] = defaultdict(list)
    for (sha, criterion), wanted in sorted(positives.items()):
        doc = docs.get(sha)
        if doc is None:
            continue
        rows = list(
            db.query(
                "select p.text, p.content_hash, e.vector from passages p join embeddings e "
                "on e.content_hash = p.content_hash and e.model = ? where p.document_id = ?",
                [embedder.name, doc["id"]],
            )
        )
        texts = [r["text"] for r in rows]
        positive = np.array([r["content_hash"] in wanted for r in rows])
        if not positive.any():
            continue  # passage boundaries changed since labelling
        vectors = np.vstack([from_blob(r["vector"]) for r in rows])
        zero_shot = hybrid.zero_shot.score(texts, vectors)[:, column[criterion]]
        blended = hybrid.score(texts, vectors)[:, column[criterion]]
        tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit(texts)
        baseline = tfidf.transform(texts) @ tfidf.transform([criterion_text[criterion]]).T
        baseline = np.asarray(baseline.todense()).ravel()
        rank = ranks_of_first_positive(zero_shot, positive)
        results["zero-shot"].append(rank)
        results["tf-idf"].append(ranks_of_first_positive(baseline, positive))
        results["hybrid"].append(ranks_of_first_positive(blended, positive))
        per_criterion[criterion].append(rank)

    def summary(ranks: list[int]) -> str:
        r = np.array(ranks)
        return f"{np.mean(r <= 5):.2f} | {np.mean(1 / r):.2f} | {np.median(r):.0f}"

    lines = [
        "# Retrieval of seed-labelled evidence (LTC criteria)",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores",
        "- command: `python benchmarks/ltc_retrieval.py --out benchmarks/results/ltc-retrieval.md`",
        f"- labels: {SEED.relative_to(REPO_ROOT)}; report-criterion pairs with evidence: "
        f"{len(results['zero-shot'])}; embedder {embedder.name}",
        "",
        "| ranker | hit@5 | MRR | median rank of first evidence |",
        "|---|---|---|---|",
        f"| embedding similarity only (zero-shot) | {summary(results['zero-shot'])} |",
        f"| TF-IDF of the criterion text (baseline) | {summary(results['tf-idf'])} |",
        f"| hybrid: z-scored sum of both (the pipeline's scorer) | {summary(results['hybrid'])} |",
        "",
        "Goals from issue 3: hit@5 >= 0.9 and MRR >= 0.75 (a TF-IDF ranking reaches about 0.8",
        "and 0.6 on reports like these). The seed set is small and was itself drawn partly from",
        "the zero-shot candidates, which flatters the embedding rows.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
