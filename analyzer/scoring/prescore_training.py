"""Training and evaluating the pre-score model on the report-level gold.

The gold (``labels/gold/gold.jsonl``) gives, for each corpus report and criterion, the level
the report earns and the quotes that earn it. A passage is a relevance positive for a
criterion when it holds one of those quotes (or a passage label in ``labels/ltc`` says it
is evidence); the judge learns the level itself. Evaluation is cross-validated with folds
grouped by company (the three Volkswagen reports never straddle a fold), and stage two is
trained on out-of-fold relevance scores of the training reports, as it sees them at run time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score
from sklearn.model_selection import GroupKFold
from sqlite_utils import Database

from analyzer.criteria.sets import REPO_ROOT, CriteriaSet
from analyzer.db.candidates import candidate_rows
from analyzer.db.criteria import document_criteria_version
from analyzer.db.documents import document_by_sha
from analyzer.db.drafts import document_drafts
from analyzer.db.embeddings import cached_vectors
from analyzer.db.passages import load_passages
from analyzer.levels import candidate_level
from analyzer.scoring.labels import squash
from analyzer.scoring.prescore import (
    JUDGE_FEATURES,
    KIND,
    PASSAGE_FEATURES,
    TOP_K,
    PreScoreModel,
    Prototypes,
    ReportFeatures,
    judge_features,
    report_features,
)
from analyzer.scoring.scorers import HybridScorer
from analyzer.scoring.sentence_sets import library_versions
from analyzer.scoring.verdict import draft, with_drafts
from analyzer.types import Label

GOLD_FILE = REPO_ROOT / "labels" / "gold" / "gold.jsonl"


def load_gold(path: str | Path = GOLD_FILE) -> dict[tuple[str, str], dict]:
    """(document sha256, criterion) -> {"level", "quotes", "document"}."""
    gold = {}
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            gold[(r["document_sha256"], r["criterion"])] = {
                "level": int(r["level"]),
                "quotes": [(e["pdf_page"], e["quote"]) for e in r["evidence"]],
                "document": r["document"],
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a gold decision ({exc!r})") from None
    return gold


def company_of(file_name: str) -> str:
    """The fold group: the company, read from the corpus file name (volkswagen-2021-...)."""
    return file_name.split("-")[0].lower()


@dataclass
class Report:
    """One analysed report with everything the pre-score needs, and its gold."""

    sha256: str
    file_name: str
    texts: list[str]
    hashes: list[str]
    features: ReportFeatures
    positives: list[np.ndarray]  # per criterion: 0/1 over features.passages
    levels: np.ndarray  # gold level per criterion
    criterion_ids: list[str]


def passage_positives(
    texts: list[str], quotes: list[tuple[int, str]], pages: list[list[int]]
) -> set[int]:
    """Passages that hold a gold quote (on its page): the start or end of the quote inside."""
    found = set()
    normed = [squash(t) for t in texts]
    for page, quote in quotes:
        q = squash(quote)
        probes = {q[:40], q[-40:]} if len(q) > 40 else {q}
        for i, t in enumerate(normed):
            if page in pages[i] and any(p and p in t for p in probes):
                found.add(i)
    return found


def build_report(
    sha256: str,
    file_name: str,
    texts: list[str],
    hashes: list[str],
    pages: list[list[int]],
    vectors: np.ndarray,
    criteria: CriteriaSet,
    hybrid: HybridScorer,
    protos: Prototypes,
    gold: dict,
    label_positives: dict[tuple[str, str], bool],
) -> Report:
    scores = hybrid.score(texts, vectors)
    feats = report_features(texts, vectors, scores, protos)
    positives, levels = [], []
    for j, c in enumerate(criteria.criteria):
        g = gold.get((sha256, c.id), {"level": 0, "quotes": []})
        hits = passage_positives(texts, g["quotes"], pages) if g["level"] > 0 else set()
        y = []
        for i in feats.passages[j]:
            label = label_positives.get((hashes[int(i)], c.id))
            positive = int(i) in hits or (label is True and g["level"] > 0)
            y.append(1 if positive else 0)
        positives.append(np.asarray(y, int))
        levels.append(g["level"])
    ids = [c.id for c in criteria.criteria]
    return Report(sha256, file_name, texts, hashes, feats, positives, np.asarray(levels), ids)


def fit(reports: list[Report], inner_folds: int = 4) -> PreScoreModel:
    """Fit relevance on all passages of the reports, and the judge on out-of-fold relevance."""
    model = PreScoreModel()
    X = np.vstack([x for r in reports for x in r.features.X])
    y = np.concatenate([p for r in reports for p in r.positives])
    model.fit_relevance(X, y)
    F, L = out_of_fold_judge_rows(reports, inner_folds)
    model.fit_judge(F, L)
    return model


def out_of_fold_judge_rows(reports: list[Report], folds: int) -> tuple[np.ndarray, np.ndarray]:
    """Judge features from relevance models that never saw the report (grouped by company)."""
    groups = [company_of(r.file_name) for r in reports]
    n_groups = len(set(groups))
    rows, levels = [], []
    splitter = GroupKFold(n_splits=min(folds, n_groups))
    for train, test in splitter.split(reports, groups=groups):
        inner = PreScoreModel().fit_relevance(
            np.vstack([x for i in train for x in reports[i].features.X]),
            np.concatenate([p for i in train for p in reports[i].positives]),
        )
        for i in test:
            for j, x in enumerate(reports[i].features.X):
                rows.append(judge_features(inner.relevance_proba(x), x))
                levels.append(reports[i].levels[j])
    return np.asarray(rows, np.float32), np.asarray(levels)


def figures(gold: np.ndarray, draft: np.ndarray, assessed: np.ndarray | None = None) -> dict:
    """The pre-score figures of issue 10: level agreement, kappa, present/absent."""
    assessed = np.ones(len(gold), bool) if assessed is None else assessed
    draft0 = np.where(assessed, draft, 0)
    present, predicted = gold > 0, draft0 > 0
    both = len(set(present)) > 1
    return {
        "pairs": int(len(gold)),
        "exact": round(float((draft0 == gold).mean()), 3),
        "within_one": round(float((np.abs(draft0 - gold) <= 1).mean()), 3),
        "qwk": round(float(cohen_kappa_score(gold, draft0, weights="quadratic")), 3)
        if len(set(gold)) > 1 or len(set(draft0)) > 1
        else 0.0,
        "present_balanced_accuracy": round(float(balanced_accuracy_score(present, predicted)), 3)
        if both
        else None,
        "coverage": round(float(assessed.mean()), 3),
        "false_alarms": int((predicted & ~present).sum()),
        "misses": int((~predicted & present).sum()),
    }


def evaluate(
    reports: list[Report],
    today: dict[tuple[str, str], int | None] | None = None,
    folds: int = 5,
    progress: Callable[[str], None] | None = None,
    held_out: list[Report] | None = None,
) -> dict:
    """Cross-validated pre-score figures (folds grouped by company) beside the all-zero
    answer and, when given, today's drafts ((sha256, criterion) -> level, None = not assessed).

    ``held_out``: reports kept out of the cross-validation altogether and judged once by the
    model fitted on all the cross-validated reports, which is the model ``--save-model``
    ships (``result["held_out"]``): a test kept out of every fold."""
    groups = [company_of(r.file_name) for r in reports]
    splitter = GroupKFold(n_splits=min(folds, len(set(groups))))
    n_c = len(reports[0].levels)
    predicted = {}
    hits, ranks = [], []
    for k, (train, test) in enumerate(splitter.split(reports, groups=groups)):
        if progress:
            progress(f"fold {k + 1}: training on {len(train)} reports")
        model = fit([reports[i] for i in train])
        for i in test:
            r = reports[i]
            relevance, level, _, _ = model.assess(r.features)
            predicted[r.sha256] = level
            for j in range(n_c):
                if r.levels[j] > 0 and r.positives[j].any():
                    order = np.argsort(-relevance[j])
                    first = int(np.flatnonzero(r.positives[j][order])[0]) + 1
                    ranks.append(first)
                    hits.append(first <= 5)
    result = {
        "folds": splitter.get_n_splits(),
        "grouping": "company (from the file name); the 3 Volkswagen reports share a fold",
        "reports": len(reports),
        **_scored(reports, predicted, today),
        "retrieval": {
            "pairs_with_a_located_gold_passage": len(ranks),
            "hit_at_5": round(float(np.mean(hits)), 3) if hits else None,
            "mrr_at_5": round(float(np.mean([1 / r if r <= 5 else 0 for r in ranks])), 3)
            if ranks
            else None,
            "note": f"rank among the top {TOP_K} passages by hybrid score, reranked by relevance",
        },
        "companies": company_points(reports, predicted),
        "features": {"relevance": list(PASSAGE_FEATURES), "judge": list(JUDGE_FEATURES)},
    }
    if held_out:
        if progress:
            progress(f"held out: judging {len(held_out)} reports with the model fitted on all")
        final = fit(reports)
        judged = {r.sha256: final.assess(r.features)[1] for r in held_out}
        result["held_out"] = {
            "reports": len(held_out),
            "files": sorted(r.file_name for r in held_out),
            **_scored(held_out, judged, today),
            "companies": company_points(held_out, judged),
        }
    return result


def _scored(reports: list[Report], predicted: dict, today: dict | None) -> dict:
    """The model's, the all-zero answer's and (when given) today's figures on these reports."""
    gold = np.concatenate([r.levels for r in reports])
    draft = np.concatenate([predicted[r.sha256] for r in reports])
    out = {"model": figures(gold, draft), "all_zero": figures(gold, np.zeros_like(gold))}
    if today is not None:
        levels = [today.get((r.sha256, c)) for r in reports for c in r.criterion_ids]
        assessed = np.asarray([v is not None for v in levels])
        values = np.asarray([v or 0 for v in levels])
        out["today"] = figures(gold, values, assessed)
    return out


def company_points(reports: list[Report], predicted: dict[str, np.ndarray]) -> dict:
    """Each company's draft points (sum of levels over its reports' best per criterion)
    against its gold points, as the leaderboard would add them (points 0/1/2)."""
    by_company: dict[str, list[Report]] = defaultdict(list)
    for r in reports:
        by_company[company_of(r.file_name)].append(r)
    out = {}
    for company, rs in sorted(by_company.items()):
        gold = np.max([r.levels for r in rs], axis=0)
        draft = np.max([predicted[r.sha256] for r in rs], axis=0)
        out[company] = {"gold_points": int(gold.sum()), "draft_points": int(draft.sum())}
    return out


def model_card(model: PreScoreModel, reports: list[Report], criteria: CriteriaSet, **extra) -> dict:
    levels = np.concatenate([r.levels for r in reports])
    return {
        "kind": KIND,
        "criteria_version": criteria.version,
        "trained_on": "labels/gold/gold.jsonl (report-level levels) + labels/ltc passage labels",
        "reports": sorted(r.file_name for r in reports),
        "gold_levels": {str(k): int((levels == k).sum()) for k in (0, 1, 2)},
        "relevance_positives": int(sum(int(p.sum()) for r in reports for p in r.positives)),
        "top_k": TOP_K,
        "features": {"relevance": list(PASSAGE_FEATURES), "judge": list(JUDGE_FEATURES)},
        "libraries": library_versions(),
        **extra,
    }


def reports_from_db(
    db: Database,
    criteria: CriteriaSet,
    embed: Callable[[list[str]], np.ndarray],
    embedding_model: str,
    gold: dict,
    labels: list[Label],
    progress: Callable[[str], None] | None = None,
) -> list[Report]:
    """The gold's reports as analysed in `db` (passages and stored embeddings), as Reports."""
    hybrid = HybridScorer(criteria, embed)
    protos = Prototypes.build(criteria, embed)
    label_positives = {(x.passage_hash, x.criterion): x.evidence for x in labels if x.passage_hash}
    reports, missing_docs = [], []
    for sha in sorted({sha for sha, _ in gold}):
        doc = document_by_sha(db, sha)
        if doc is None:
            missing_docs.append(gold[next(k for k in gold if k[0] == sha)]["document"])
            continue
        passages = [p for _, p in load_passages(db, doc["id"])]
        hashes = [p.content_hash for p in passages]
        stored = cached_vectors(db, hashes, embedding_model)
        missing = [h for h in hashes if h not in stored]
        if missing:
            raise ValueError(f"{doc['file_name']}: {len(missing)} passages not embedded")
        vectors = np.vstack([stored[h] for h in hashes]) if hashes else np.zeros((0, 384))
        if progress:
            progress(f"{doc['file_name']}: {len(passages)} passages")
        reports.append(
            build_report(
                sha, doc["file_name"], [p.text for p in passages], hashes,
                [p.pdf_pages for p in passages], vectors, criteria, hybrid, protos, gold,
                label_positives,
            )
        )  # fmt: skip
    if not reports:
        raise ValueError("none of the gold's reports is analysed in this database")
    if missing_docs and progress:
        progress(f"left out, not analysed in this database: {', '.join(sorted(missing_docs))}")
    return reports


def stored_drafts(db: Database, gold: dict) -> dict[tuple[str, str], int | None]:
    """(sha256, criterion) -> the draft level the stored analysis gives (None: not assessed),
    by the one verdict rule: what to compare a new model with ("today's drafts")."""
    out: dict[tuple[str, str], int | None] = {}
    for sha in {sha for sha, _ in gold}:
        doc = document_by_sha(db, sha)
        if doc is None:
            continue  # not analysed there: its pairs count as not assessed
        version = document_criteria_version(db, doc["id"])
        rows = with_drafts(candidate_rows(db, doc["id"]), document_drafts(db, doc["id"], version))
        by_criterion: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            row["level"] = candidate_level(row).level
            by_criterion[row["criterion_id"]].append(row)
        for s, cid in gold:
            if s == sha:
                _, level, _, _ = draft(by_criterion.get(cid, []))
                out[(sha, cid)] = level
    return out


def evaluate_on_gold(
    db: Database,
    criteria: CriteriaSet,
    embed: Callable[[list[str]], np.ndarray],
    embedding_model: str,
    labels: list[Label],
    gold_path: str | Path = GOLD_FILE,
    folds: int = 5,
    progress: Callable[[str], None] | None = None,
    today_db: Database | None = None,
    held_out: set[str] | None = None,
) -> tuple[dict, list[Report]]:
    """Cross-validated pre-score figures on the gold's reports as analysed in `db`, beside
    answering 0 everywhere and the drafts stored in `today_db` (default `db`): "today".
    Reports whose file name is in ``held_out`` are left out of the folds and judged by the
    model fitted on the others (see ``evaluate``). Returns the figures and the
    cross-validated reports (what a saved model is fitted on)."""
    gold = load_gold(gold_path)
    reports = reports_from_db(db, criteria, embed, embedding_model, gold, labels, progress)
    today = stored_drafts(today_db if today_db is not None else db, gold)
    kept = [r for r in reports if r.file_name not in (held_out or set())]
    aside = [r for r in reports if r.file_name in (held_out or set())]
    return evaluate(kept, today, folds, progress, aside), kept
