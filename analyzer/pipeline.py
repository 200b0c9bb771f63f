"""The evidence pipeline: report PDF to cited passages to criterion candidates.

``Analyzer`` holds what is expensive to set up (the database, the embedding model, the
criteria and their prototype vectors) so a batch of reports pays for it once. Each
report is written in one transaction: a failure leaves the database as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from analyzer.candidates.quotes import criterion_terms
from analyzer.candidates.select import select_candidates
from analyzer.criteria.sets import CriteriaSet, load_criteria
from analyzer.db.candidates import replace_candidates
from analyzer.db.criteria import save_criteria_set
from analyzer.db.documents import document_by_sha, page_lines, save_document, update_document
from analyzer.db.drafts import replace_drafts
from analyzer.db.embeddings import cached_vectors, save_vectors
from analyzer.db.passages import load_passages, replace_passages
from analyzer.db.runs import finish_run, start_run
from analyzer.embeddings.model import Embedder, get_embedder
from analyzer.hashes import content_hash, file_sha256
from analyzer.passages import DEFAULT_OVERLAP, DEFAULT_SIZE, split_passages
from analyzer.reading.parsing import PARSER_VERSION, ParseError, parse_pdf
from analyzer.scoring.model import CriteriaModel, find_model
from analyzer.scoring.prescore import KIND as PRESCORE_KIND
from analyzer.scoring.prescore import PreScore, PreScoreModel, PreScorer
from analyzer.scoring.scorers import HybridScorer, Scorer, TrainedScorer, assess

DEFAULT_TOP_K = 5
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Settings:
    model: str | None = None
    backend: str | None = None
    passage_size: int = DEFAULT_SIZE
    passage_overlap: int = DEFAULT_OVERLAP
    top_k: int = DEFAULT_TOP_K
    criteria: str | None = None  # set name or YAML path
    use_classifier: bool = True  # the newest trained model for the criteria, when there is one
    classifier_dir: str | None = None  # a specific trained model folder instead
    prescore_dir: str | None = None  # a specific pre-score model folder (else the newest)
    use_prescore: bool = True  # the newest pre-score model, when there is one


@dataclass
class Result:
    """What analysing one report did, for the closing summary and the benchmark."""

    path: Path
    doc_id: int | None = None
    pages: int = 0
    passages: int = 0
    embedded: int = 0  # passages embedded now (the rest came from the cache)
    candidates: int = 0
    flags: dict[str, list[int]] = field(default_factory=dict)
    reused: bool = False  # the same file was analysed before
    seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None


class Analyzer:
    def __init__(
        self, db: Database, settings: Settings | None = None, embedder: Embedder | None = None
    ):
        self.db = db
        self.settings = settings or Settings()
        self.criteria: CriteriaSet = load_criteria(self.settings.criteria)
        self._embedder = embedder
        self._scorer: Scorer | None = None
        self.classifier_path: Path | None = None
        self._prescorer: PreScorer | None | bool = False  # False: not looked for yet
        self._terms = {c.id: criterion_terms(c) for c in self.criteria.criteria}

    def prepare(self) -> Analyzer:
        """Load the model and embed the criteria now rather than on the first report."""
        _ = self.scorer, self.prescorer
        return self

    @property
    def prescorer(self) -> PreScorer | None:
        """The pre-score model for the criteria version and embedder, if there is one."""
        if self._prescorer is False:
            settings = self.settings
            if settings.prescore_dir:
                path = Path(settings.prescore_dir)
            elif settings.use_classifier and settings.use_prescore:
                path = find_model(self.criteria.version, self.embedder.name, kind=PRESCORE_KIND)
            else:
                path = None
            self._prescorer = None
            if path is not None:
                model = PreScoreModel.load(path)
                for key, want in (
                    ("criteria_version", self.criteria.version),
                    ("embedding_model", self.embedder.name),
                ):
                    if model.card.get(key) != want:
                        raise ValueError(f"{path} was trained for {key} {model.card.get(key)}")
                self._prescorer = PreScorer(model, self.criteria, self.embed_texts, path)
        return self._prescorer

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings.model, self.settings.backend)
        return self._embedder

    @property
    def scorer(self) -> Scorer:
        if self._scorer is None:
            # A pre-score model ranks and judges every criterion from the hybrid scores, so
            # the per-criterion classifiers are not needed (nor loaded) where there is one.
            model = None if self.prescorer is not None else self._criteria_model()
            if model is None:
                self._scorer = HybridScorer(self.criteria, self.embed_texts)
            else:
                self._scorer = TrainedScorer(self.criteria, self.embed_texts, model)
        return self._scorer

    def scorer_description(self) -> str:
        """One line for the user: which scorer ranks the candidates, and why."""
        if self.prescorer is not None:
            return (
                f"scoring: pre-score model {self.prescorer.path} ranks and judges all "
                f"{len(self.criteria.criteria)} criteria (learned across criteria)"
            )
        scorer = self.scorer
        if isinstance(scorer, TrainedScorer):
            return (
                f"scoring: trained model {self.classifier_path} for "
                f"{len(scorer.model.trained_criteria)} of {len(self.criteria.criteria)} criteria, "
                f"blended with the zero-shot scorer"
            )
        if not self.settings.use_classifier and not self.settings.prescore_dir:
            return "scoring: zero-shot (trained models switched off)"
        return (
            f"scoring: zero-shot; no trained model for criteria version {self.criteria.version} "
            f"and {self.embedder.name} (analyzer train makes one)"
        )

    def _criteria_model(self):
        """The trained model to use: the one asked for, else the newest that matches."""
        settings = self.settings
        if settings.classifier_dir:
            path = Path(settings.classifier_dir)
        elif settings.use_classifier:
            path = find_model(self.criteria.version, self.embedder.name)
        else:
            path = None
        if path is None:
            return None
        model = CriteriaModel.load(path)
        if model.criteria_version != self.criteria.version:
            raise ValueError(
                f"{path} was trained for criteria version {model.criteria_version}, "
                f"not {self.criteria.version}"
            )
        if model.embedding_model != self.embedder.name:
            raise ValueError(
                f"{path} was trained on {model.embedding_model} embeddings, "
                f"not {self.embedder.name}"
            )
        self.classifier_path = path
        return model

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts, embedding only those not already stored for this model."""
        return self._embed(texts)[0]

    def _embed(self, texts: list[str], progress: Progress | None = None) -> tuple[np.ndarray, int]:
        """(vectors, how many had to be embedded now)."""
        hashes = [content_hash(t) for t in texts]
        model = self.embedder.name
        known = cached_vectors(self.db, hashes, model)
        todo = {h: t for h, t in zip(hashes, texts, strict=True) if h not in known}
        if todo:
            items = list(todo.items())
            fresh: dict[str, np.ndarray] = {}
            step = 64
            for i in range(0, len(items), step):
                batch = items[i : i + step]
                vectors = self.embedder.encode([t for _, t in batch])
                fresh.update({h: v for (h, _), v in zip(batch, vectors, strict=True)})
                if progress:
                    progress("embed", min(i + step, len(items)), len(items))
            # Embeddings are content-addressed, so they are kept even if the report fails later.
            with self.db.atomic():
                save_vectors(self.db, model, fresh)
            known.update(fresh)
        if not hashes:
            return np.zeros((0, 0), np.float32), 0
        return np.vstack([known[h] for h in hashes]), len(todo)

    def _drafts(self, prescore: PreScore | None) -> list[dict]:
        """Draft rows (one per criterion) of a pre-score; none without a pre-score model."""
        if prescore is None:
            return []
        return [
            {
                "criterion_id": c.id,
                "level": int(prescore.level[j]),
                "p_evidence": round(float(prescore.p_evidence[j]), 4),
                "p_full": round(float(prescore.p_full[j]), 4),
                "model": str(self.prescorer.path),
            }
            for j, c in enumerate(self.criteria.criteria)
        ]

    def analyze(
        self, path: str | Path, meta: dict | None = None, progress: Progress | None = None
    ) -> Result:
        """Analyse one report; on failure the result carries the error and nothing is stored."""
        path = Path(path)
        result = Result(path)
        meta = dict(meta or {})
        settings = self.settings
        run_settings = {
            "model": None,
            "passage_size": settings.passage_size,
            "passage_overlap": settings.passage_overlap,
            "top_k": settings.top_k,
            "criteria": self.criteria.name,
            "criteria_version": self.criteria.version,
            "parser_version": PARSER_VERSION,
        }
        run_id = None
        try:
            clock = time.perf_counter()
            sha = file_sha256(path) if path.is_file() else None
            existing = document_by_sha(self.db, sha) if sha else None
            reuse = (
                existing is not None
                and existing["parser_version"] == PARSER_VERSION
                and existing["passage_size"] == settings.passage_size
                and existing["passage_overlap"] == settings.passage_overlap
            )
            parsed = None
            if reuse:
                stored = load_passages(self.db, existing["id"])
                passages = [p for _, p in stored]
                result.reused = True
                result.pages = existing["page_count"]
                result.flags = store_flags(existing)
            else:
                parsed = parse_pdf(path)
                result.pages = len(parsed.pages)
                result.flags = parsed.flags
                result.seconds["parse"] = time.perf_counter() - clock
                clock = time.perf_counter()
                passages = split_passages(parsed, settings.passage_size, settings.passage_overlap)
                result.seconds["split"] = time.perf_counter() - clock
            if progress:
                progress("parsed", result.pages, result.pages)
            result.passages = len(passages)

            clock = time.perf_counter()
            vectors, result.embedded = self._embed([p.text for p in passages], progress)
            result.seconds["embed"] = time.perf_counter() - clock
            run_settings["model"] = self.embedder.name

            clock = time.perf_counter()
            assessment = assess(self.scorer, [p.text for p in passages], vectors)
            run_settings["classifier"] = str(self.classifier_path or "") or None
            result.seconds["score"] = time.perf_counter() - clock

            clock = time.perf_counter()
            prescore = None
            if self.prescorer is not None:
                texts = [p.text for p in passages]
                hybrid = assessment.hybrid
                if hybrid is None:
                    hybrid = HybridScorer(self.criteria, self.embed_texts).score(texts, vectors)
                prescore = self.prescorer.judge(texts, vectors, hybrid)
                run_settings["prescore"] = str(self.prescorer.path)
                result.seconds["judge"] = time.perf_counter() - clock

            clock = time.perf_counter()
            run_id = start_run(self.db, str(path), "analyze", run_settings)
            with self.db.atomic():
                save_criteria_set(self.db, self.criteria)
                if parsed is not None:
                    doc_id = save_document(
                        self.db,
                        parsed,
                        {**meta, "parser_version": PARSER_VERSION},
                        (settings.passage_size, settings.passage_overlap),
                    )
                    replace_passages(self.db, doc_id, passages)
                else:
                    doc_id = existing["id"]
                    update_document(self.db, doc_id, {k: str(v) for k, v in meta.items() if v})
                ids = [pid for pid, _ in load_passages(self.db, doc_id)]
                rows = select_candidates(
                    self.criteria,
                    self._terms,
                    passages,
                    ids,
                    assessment,
                    settings.top_k,
                    page_lines(self.db, doc_id),
                    prescore,
                )
                rows = [{**r, "document_id": doc_id, "run_id": run_id} for r in rows]
                replace_candidates(self.db, doc_id, self.criteria.version, rows)
                replace_drafts(self.db, doc_id, self.criteria.version, self._drafts(prescore))
                result.doc_id = doc_id
                result.candidates = len(rows)
                result.seconds["store"] = time.perf_counter() - clock
                finish_run(self.db, run_id, "ok", doc_id, stats_of(result))
        except ParseError as exc:
            result.error = str(exc)
        except Exception as exc:  # one bad report must not stop a batch
            result.error = f"{type(exc).__name__}: {exc}"
        if result.error:
            if run_id is None:
                run_id = start_run(self.db, str(path), "analyze", run_settings)
            finish_run(self.db, run_id, "failed", None, stats_of(result), result.error)
        return result


def store_flags(row: dict) -> dict[str, list[int]]:
    return json.loads(row["flags"] or "{}")


def stats_of(result: Result) -> dict:
    return {
        "pages": result.pages,
        "passages": result.passages,
        "embedded": result.embedded,
        "candidates": result.candidates,
        "reused": result.reused,
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
    }
