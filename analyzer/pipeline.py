"""The evidence pipeline: report PDF to cited passages to criterion candidates.

``Analyzer`` holds what is expensive to set up (the database, the embedding model, the
criteria and their prototype vectors) so a batch of reports pays for it once. Each
report is written in one transaction, its ``runs`` row included: a failure or a kill
leaves the database as it was. The PDF is parsed in a child process with resource limits
(``reading/sandbox.py``), so a hostile file fails alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

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
from analyzer.embeddings import cache as criteria_cache
from analyzer.embeddings.model import Embedder, get_embedder
from analyzer.hashes import content_hash, file_sha256
from analyzer.passages import DEFAULT_OVERLAP, DEFAULT_SIZE, SPLITTER_VERSION, split_passages
from analyzer.reading.limits import Limits
from analyzer.reading.names import storable
from analyzer.reading.parsing import PARSER_VERSION, ParseError, check_file, parse_checked
from analyzer.reading.sandbox import parse_isolated
from analyzer.scoring.evidence import KIND as EVIDENCE_KIND
from analyzer.scoring.judge import reason as draft_reason
from analyzer.scoring.model import CriteriaModel, find_model
from analyzer.scoring.prescore import PreScore, PreScorer, distinct_scores
from analyzer.scoring.scorers import Assessment, HybridScorer, Scorer, TrainedScorer, assess
from analyzer.types import ParsedDocument, Passage

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
    limits: Limits = field(default_factory=Limits)  # what reading one file may cost
    isolate: bool = True  # parse in a limited child process (off only for benchmarks)


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
    damaged: list[str] = field(default_factory=list)  # repairs the file needed, if any
    notes: list[str] = field(default_factory=list)  # e.g. scanned pages left unread


@dataclass
class Prepared:
    """A report read and split, ready to embed (picklable: it may come from elsewhere)."""

    parsed: ParsedDocument
    passages: list[Passage]
    damaged: list[str]
    parse_seconds: float = 0.0
    split_seconds: float = 0.0


@dataclass
class Computed:
    """Everything an analysis works out before it writes (picklable, so a Ray worker can
    compute a report and the driver store it)."""

    path: Path
    run_settings: dict
    sha256: str = ""
    parsed: ParsedDocument | None = None  # None when the stored passages were reused
    passages: list[Passage] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pages: int = 0
    flags: dict[str, list[int]] = field(default_factory=dict)
    reused: bool = False
    vectors: np.ndarray | None = None
    embedded: int = 0
    assessment: Assessment | None = None
    prescore: PreScore | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def result(self) -> Result:
        return Result(
            self.path,
            pages=self.pages,
            passages=len(self.passages),
            embedded=self.embedded,
            flags=self.flags,
            reused=self.reused,
            seconds=dict(self.seconds),
            damaged=list(self.damaged),
            notes=list(self.notes),
        )


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
        self._prescorer: PreScorer | None | Literal[False] = False  # False: not looked for yet
        self._terms = {c.id: criterion_terms(c) for c in self.criteria.criteria}

    def prepare(self) -> Analyzer:
        """Load the model and embed the criteria now rather than on the first report."""
        _ = self.scorer
        if self.prescorer is not None:
            self.prescorer.load()
        return self

    @property
    def prescorer(self) -> PreScorer | None:
        """The evidence model and judge for the criteria version and embedder, if any."""
        if self._prescorer is False:
            settings = self.settings
            path: Path | None
            if settings.prescore_dir:
                path = Path(settings.prescore_dir)
            elif settings.use_classifier and settings.use_prescore:
                path = find_model(self.criteria.version, self.embedder.name, kind=EVIDENCE_KIND)
            else:
                path = None
            self._prescorer = None
            if path is not None:
                prescorer = PreScorer(path, self.criteria)
                card = prescorer.card
                for key, want in (
                    ("criteria_version", self.criteria.version),
                    ("embedding_model", self.embedder.name),
                ):
                    if card.get(key) != want:
                        raise ValueError(f"{path} was trained for {key} {card.get(key)}")
                self._prescorer = prescorer
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
                self._scorer = HybridScorer(self.criteria, self.embed_criteria_texts)
            else:
                self._scorer = TrainedScorer(self.criteria, self.embed_criteria_texts, model)
        return self._scorer

    def scorer_description(self) -> str:
        """One line for the user: which scorer ranks the candidates, and why."""
        if self.prescorer is not None:
            return (
                f"scoring: evidence model and judge {self.prescorer.path} read and judge all "
                f"{len(self.criteria.criteria)} criteria"
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

    def embed_criteria_texts(self, texts: list[str]) -> np.ndarray:
        """Vectors for the criteria's own texts: from the database, else from the user's
        cache file (the same texts every run), else embedded now and kept in both."""
        hashes = [content_hash(t) for t in texts]
        model = self.embedder.name
        known = cached_vectors(self.db, hashes, model)
        missing = [h for h in hashes if h not in known]
        from_file = criteria_cache.load(model, missing)
        if from_file:
            with self.db.atomic():
                save_vectors(self.db, model, from_file)
        vectors = self._embed(texts)[0]
        fresh = [h for h in missing if h not in from_file]
        if fresh:
            by_hash = dict(zip(hashes, vectors, strict=True))
            criteria_cache.save(model, {h: by_hash[h] for h in fresh})
        return vectors

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

    def _drafts(self, prescore: PreScore | None, rows: list[dict]) -> list[dict]:
        """Draft rows (one per criterion) of a pre-score, each with its reason in words and
        the candidates it rests on; none without a pre-score model."""
        if prescore is None or self.prescorer is None:
            return []
        by_criterion: dict[str, list[dict]] = {}
        for row in rows:
            by_criterion.setdefault(row["criterion_id"], []).append(row)
        drafts = []
        for j, c in enumerate(self.criteria.criteria):
            level = int(prescore.level[j])
            cands = sorted(by_criterion.get(c.id, []), key=lambda r: r["rank"])
            rests = [r for r in cands if r["level"] > 0] if level > 0 else []
            first = rests[0] if rests else None
            drafts.append(
                {
                    "criterion_id": c.id,
                    "level": level,
                    "p_evidence": round(float(prescore.p_evidence[j]), 4),
                    "p_full": round(float(prescore.p_full[j]), 4),
                    "model": str(self.prescorer.path),
                    "reason": draft_reason(
                        level,
                        first["pdf_page"] if first else None,
                        first["quote"] if first else None,
                        first["quote"] if first else "",
                    ),
                    "evidence": json.dumps([r["passage_id"] for r in rests]),
                }
            )
        return drafts

    def run_settings(self) -> dict:
        """The settings a runs row records for an analysis with this analyzer."""
        settings = self.settings
        return {
            "model": None,
            "passage_size": settings.passage_size,
            "passage_overlap": settings.passage_overlap,
            "top_k": settings.top_k,
            "criteria": self.criteria.name,
            "criteria_version": self.criteria.version,
            **self.versions,
        }

    def read(self, path: str | Path) -> Prepared:
        """Parse (in a limited child process) and split one report: the part of an
        analysis a season run does ahead, while the previous report is embedded."""
        path = Path(path)
        settings = self.settings
        clock = time.perf_counter()
        reader = parse_isolated if settings.isolate else parse_checked
        parsed, damaged = reader(path, settings.limits)
        parsed.path = Path(storable(path))  # undecodable bytes in a name become \xNN
        parse_seconds = time.perf_counter() - clock
        clock = time.perf_counter()
        passages = split_passages(parsed, settings.passage_size, settings.passage_overlap)
        return Prepared(parsed, passages, damaged, parse_seconds, time.perf_counter() - clock)

    def needs_reading(self, path: str | Path) -> bool:
        """Will analysing this file parse it (it is not stored with these settings yet)?"""
        try:
            check_file(Path(path))
            existing = document_by_sha(self.db, file_sha256(path))
        except (ParseError, OSError):
            return False  # analyze() reports it
        return not self.stored_alike(existing)

    @property
    def versions(self) -> dict[str, str]:
        """The reader's and the splitter's versions, stored with a document's passages."""
        return {"parser_version": PARSER_VERSION, "splitter_version": SPLITTER_VERSION}

    def stored_alike(self, existing: dict | None) -> bool:
        """Were this document's stored passages read and cut as this analyzer would?
        Then they are reused, vectors and all; otherwise the report is read again."""
        settings = self.settings
        return (
            existing is not None
            and existing["parser_version"] == PARSER_VERSION
            and (existing.get("splitter_version") or "1") == SPLITTER_VERSION
            and existing["passage_size"] == settings.passage_size
            and existing["passage_overlap"] == settings.passage_overlap
        )

    def compute(
        self,
        path: str | Path,
        progress: Progress | None = None,
        prepared: Prepared | None = None,
    ) -> Computed:
        """Everything an analysis works out before it writes: passages (reused when the same
        file was analysed with the same settings), vectors, scores and the pre-score.
        Raises ParseError (and anything else) for the caller to report."""
        path = Path(path)
        out = Computed(path=path, run_settings=self.run_settings())
        check_file(path)  # a FIFO or device must never be opened
        out.sha256 = file_sha256(path)
        existing = document_by_sha(self.db, out.sha256)
        reuse = self.stored_alike(existing)
        if reuse and existing is not None:  # stored_alike is never true of None
            out.passages = [p for _, p in load_passages(self.db, existing["id"])]
            out.reused = True
            out.pages = existing["page_count"]
            out.flags = store_flags(existing)
            if "damaged" in out.flags:
                out.damaged = ["flagged damaged when first analysed"]
        else:
            ready = prepared or self.read(path)
            out.parsed, out.passages, out.damaged = ready.parsed, ready.passages, ready.damaged
            out.notes = list(ready.parsed.notes)
            out.pages = len(ready.parsed.pages)
            out.flags = ready.parsed.flags
            out.seconds["parse"] = ready.parse_seconds
            out.seconds["split"] = ready.split_seconds
        if progress:
            progress("parsed", out.pages, out.pages)

        texts = [p.text for p in out.passages]
        clock = time.perf_counter()
        out.vectors, out.embedded = self._embed(texts, progress)
        out.seconds["embed"] = time.perf_counter() - clock
        out.run_settings["model"] = self.embedder.name

        clock = time.perf_counter()
        out.assessment = assess(self.scorer, texts, out.vectors)
        out.run_settings["classifier"] = str(self.classifier_path or "") or None
        out.seconds["score"] = time.perf_counter() - clock

        if self.prescorer is not None:
            clock = time.perf_counter()
            hashes = [p.content_hash for p in out.passages]
            hybrid = out.assessment.hybrid
            if hybrid is None or len(set(hashes)) < len(hashes):
                scorer = HybridScorer(self.criteria, self.embed_criteria_texts)
                hybrid = distinct_scores(scorer.score, texts, out.vectors, hashes)
            out.prescore = self.prescorer.judge(texts, hashes, hybrid)
            out.run_settings["prescore"] = str(self.prescorer.path)
            out.seconds["judge"] = time.perf_counter() - clock
        return out

    def store(self, computed: Computed, meta: dict | None = None) -> Result:
        """Write one computed report in one transaction, its runs row included."""
        meta = dict(meta or {})
        settings = self.settings
        result = computed.result()
        clock = time.perf_counter()
        with self.db.atomic():  # the run row too: a kill never leaves one "running"
            run_id = start_run(self.db, storable(computed.path), "analyze", computed.run_settings)
            save_criteria_set(self.db, self.criteria)
            existing = document_by_sha(self.db, computed.sha256)
            if computed.parsed is not None or existing is None:
                if computed.parsed is None:
                    raise ValueError("a reused report must be stored where it was analysed")
                doc_id = save_document(
                    self.db,
                    computed.parsed,
                    {**meta, **self.versions},
                    (settings.passage_size, settings.passage_overlap),
                )
                replace_passages(self.db, doc_id, computed.passages)
            else:
                doc_id = existing["id"]
                update_document(self.db, doc_id, {k: str(v) for k, v in meta.items() if v})
            ids = [pid for pid, _ in load_passages(self.db, doc_id)]
            assessment = computed.assessment
            if assessment is None:  # rolls the transaction back, as any error here does
                raise ValueError(f"{computed.path}: not scored; store() takes what compute() gave")
            rows = select_candidates(
                self.criteria,
                self._terms,
                computed.passages,
                ids,
                assessment,
                settings.top_k,
                page_lines(self.db, doc_id),
                computed.prescore,
            )
            rows = [{**r, "document_id": doc_id, "run_id": run_id} for r in rows]
            replace_candidates(self.db, doc_id, self.criteria.version, rows)
            drafts = self._drafts(computed.prescore, rows)
            replace_drafts(self.db, doc_id, self.criteria.version, drafts)
            result.doc_id = doc_id
            result.candidates = len(rows)
            result.seconds["store"] = time.perf_counter() - clock
            finish_run(self.db, run_id, "ok", doc_id, stats_of(result))
        return result

    def analyze(
        self,
        path: str | Path,
        meta: dict | None = None,
        progress: Progress | None = None,
        prepared: Prepared | str | None = None,
    ) -> Result:
        """Analyse one report; on failure the result carries the error and nothing is stored.

        ``prepared``: the report already read by ``read`` (``ReadAhead``), or why it could
        not be read."""
        path = Path(path)
        try:
            if isinstance(prepared, str):
                raise ParseError(prepared)
            return self.store(self.compute(path, progress, prepared), meta)
        except ParseError as exc:
            error = str(exc)
        except Exception as exc:  # one bad report must not stop a batch
            error = f"{type(exc).__name__}: {exc}"
        result = Result(path, error=error)
        with self.db.atomic():
            run_id = start_run(self.db, storable(path), "analyze", self.run_settings())
            finish_run(self.db, run_id, "failed", None, stats_of(result), error)
        return result


class ReadAhead:
    """Reads reports ahead in one thread while the caller embeds the current one.

    Each parse runs in its own limited child process (reading/sandbox.py), so reading the
    next report takes the second core while the embedder keeps the first busy; the first
    report is read while the embedding model loads. Files already stored with the same
    settings are not read at all.
    """

    def __init__(
        self,
        analyzer: Analyzer,
        paths: list[Path],
        depth: int = 1,
        started: Future | None = None,
    ):
        """``started``: the first file's parse (``parse_isolated``), begun by the caller
        before the heavy imports, so even they overlap with reading."""
        self.analyzer = analyzer
        self.paths = [Path(p) for p in paths]
        self.depth = depth
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        self.futures: dict[int, Future] = {}
        self.asked: set[int] = set()
        if started is not None and self.paths and analyzer.needs_reading(self.paths[0]):
            self.asked.add(0)
            self.futures[0] = self.pool.submit(_finish_read, analyzer, self.paths[0], started)
        self._submit(0)

    def _submit(self, i: int) -> None:
        if i >= len(self.paths) or i in self.asked:
            return
        self.asked.add(i)
        if self.analyzer.needs_reading(self.paths[i]):
            self.futures[i] = self.pool.submit(_read_or_why, self.analyzer, self.paths[i])

    def take(self, i: int) -> Prepared | str | None:
        """Report i read (Prepared), why it cannot be read (str), or None: let analyze read."""
        for k in range(i, i + self.depth + 1):
            self._submit(k)
        future = self.futures.pop(i, None)
        return None if future is None else future.result()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _finish_read(analyzer: Analyzer, path: Path, started: Future) -> Prepared | str:
    """Split a report whose parse began early (or say why it could not be read)."""
    try:
        clock = time.perf_counter()
        parsed, damaged = started.result()
        parse_seconds = time.perf_counter() - clock
        parsed.path = Path(storable(path))
        clock = time.perf_counter()
        settings = analyzer.settings
        passages = split_passages(parsed, settings.passage_size, settings.passage_overlap)
        return Prepared(parsed, passages, damaged, parse_seconds, time.perf_counter() - clock)
    except ParseError as exc:
        return str(exc)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _read_or_why(analyzer: Analyzer, path: Path) -> Prepared | str:
    try:
        return analyzer.read(path)
    except ParseError as exc:
        return str(exc)
    except Exception as exc:  # reported as that report's failure; the batch goes on
        return f"{type(exc).__name__}: {exc}"


def store_flags(row: dict) -> dict[str, list[int]]:
    return json.loads(row["flags"] or "{}")


def stats_of(result: Result) -> dict:
    return {
        "pages": result.pages,
        "passages": result.passages,
        "embedded": result.embedded,
        "candidates": result.candidates,
        "reused": result.reused,
        "damaged": result.damaged,
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
    }
