"""Pre-scores: a verdict and a level for every criterion of a report, learned across criteria.

Two stages, both trained on the report-level gold (``labels/gold/gold.jsonl``):

1. **Relevance** (one model for all criteria): for each criterion, the report's best passages
   by the hybrid zero-shot score are described by what they share with the criterion
   (similarity to its definition, queries, examples and look-alikes; its words), by generic
   evidence qualities (a commitment, a date, a quantity, binding wording, results, hedging,
   own operations, supply chain) and by what kind of text they are (a heading, a table of
   contents, a table row or prose). A gradient-boosted classifier says how likely the
   passage is evidence for that criterion. A criterion with few labels borrows from all
   others, since no feature names a criterion.
2. **Judge** (one model for all criteria): from a criterion's top relevance probabilities and
   the qualities of its best passages, a logistic model gives P(level >= 1) and
   P(level >= 2) for the report. The level is 2 when both pass 0.5, 1 when the first does,
   else 0, so every criterion gets a verdict ("evidence found" exactly when the level is
   above 0) and nothing is left "not assessed".

The estimators are scikit-learn's, fitted with ``fit(X, y)`` on plain arrays; the features
are computed here from texts, vectors and the hybrid scores, with no I/O.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from analyzer.candidates.quotes import criterion_terms, terms
from analyzer.criteria.sets import CriteriaSet
from analyzer.levels import find_cues
from analyzer.textkinds import DOT_LEADER, PAGE_REF

TOP_K = 20  # passages per criterion the relevance model looks at (by hybrid score)
CUE_KINDS = (
    "hedged",
    "binding",
    "commitment",
    "implemented",
    "dated",
    "quantified",
    "own operations",
    "supply chain",
)
PASSAGE_FEATURES = (
    "hybrid_z",
    "hybrid_rank_inv",
    "sim_definition",
    "sim_query_max",
    "sim_example_max",
    "sim_lookalike_max",
    "sim_margin",
    "term_overlap",
    "term_hits",
    *(f"cue_{k.replace(' ', '_')}" for k in CUE_KINDS),
    "log_length",
    "digit_share",
    "short_line_share",
    "sentence_ends",
    "toc_like",
)
JUDGE_FEATURES = (
    "p_max",
    "p_second",
    "p_mean3",
    "p_sum",
    "n_above_half",
    "hybrid_max",
    "sim_margin_best",
    *(f"best_{k.replace(' ', '_')}" for k in CUE_KINDS),
    "strong_best",
)
KIND = "prescore-model"


def text_features(text: str) -> list[float]:
    """What kind of text a passage is: prose, a heading, a table of contents, a table."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    n = max(len(text), 1)
    short = sum(1 for ln in lines if len(ln) < 40) / max(len(lines), 1)
    ends = len(re.findall(r"[.!?](?:\s|$)", text)) / (n / 100)
    digits = sum(ch.isdigit() for ch in text) / n
    toc = len(DOT_LEADER.findall(text)) + len(PAGE_REF.findall(text)) / max(len(lines), 1)
    return [math.log1p(len(text)), digits, short, ends, float(toc)]


def cue_vector(text: str) -> list[float]:
    cues = find_cues(text)
    return [1.0 if kind in cues else 0.0 for kind in CUE_KINDS]


@dataclass
class Prototypes:
    """A criteria set's texts embedded once: definition, queries, examples, look-alikes."""

    definition: np.ndarray  # (C, d)
    queries: list[np.ndarray]  # per criterion (q, d)
    examples: list[np.ndarray]
    lookalikes: list[np.ndarray]
    terms: list[set[str]]

    @classmethod
    def build(cls, criteria: CriteriaSet, embed) -> Prototypes:
        """`embed` maps texts to normalised vectors (the pipeline's cached embedder)."""
        texts: list[str] = []
        spans = []
        for c in criteria.criteria:
            groups = [[c.definition], list(c.queries), list(c.examples), list(c.lookalikes)]
            row = []
            for group in groups:
                row.append((len(texts), len(texts) + len(group)))
                texts += group
            spans.append(row)
        vectors = embed(texts)
        dim = vectors.shape[1]

        def take(a: int, b: int) -> np.ndarray:
            return vectors[a:b] if b > a else np.zeros((0, dim), np.float32)

        return cls(
            definition=np.vstack([take(*s[0]) for s in spans]),
            queries=[take(*s[1]) for s in spans],
            examples=[take(*s[2]) for s in spans],
            lookalikes=[take(*s[3]) for s in spans],
            terms=[criterion_terms(c) for c in criteria.criteria],
        )


def _best(sims: np.ndarray) -> np.ndarray:
    return sims.max(axis=1) if sims.shape[1] else np.zeros(sims.shape[0], np.float32)


@dataclass
class ReportFeatures:
    """The relevance features of one report: per criterion, its top passages."""

    passages: list[np.ndarray]  # per criterion: indices of the top passages (by hybrid)
    X: list[np.ndarray]  # per criterion: (k, len(PASSAGE_FEATURES))


def report_features(
    texts: list[str],
    vectors: np.ndarray,
    hybrid: np.ndarray,
    protos: Prototypes,
    top_k: int = TOP_K,
) -> ReportFeatures:
    """Features of the top-k passages (by hybrid score) of every criterion of one report."""
    n, n_criteria = hybrid.shape
    k = min(top_k, n)
    text_cache: dict[int, list[float]] = {}
    term_cache: dict[int, set[str]] = {}
    out_idx, out_x = [], []
    for j in range(n_criteria):
        if k == 0:
            out_idx.append(np.zeros(0, int))
            out_x.append(np.zeros((0, len(PASSAGE_FEATURES)), np.float32))
            continue
        order = np.argsort(-hybrid[:, j], kind="stable")[:k]
        v = vectors[order]
        sim_def = v @ protos.definition[j]
        sim_q = _best(v @ protos.queries[j].T)
        sim_e = _best(v @ protos.examples[j].T)
        sim_l = _best(v @ protos.lookalikes[j].T)
        best_pos = np.maximum.reduce([sim_def, sim_q, sim_e])
        rows = []
        wanted = protos.terms[j]
        for r, i in enumerate(order):
            i = int(i)
            if i not in text_cache:
                text_cache[i] = cue_vector(texts[i]) + text_features(texts[i])
                term_cache[i] = terms(texts[i])
            hits = len(term_cache[i] & wanted)
            rows.append(
                [
                    float(hybrid[i, j]),
                    1.0 / (r + 1),
                    float(sim_def[r]),
                    float(sim_q[r]),
                    float(sim_e[r]),
                    float(sim_l[r]),
                    float(best_pos[r] - sim_l[r]),
                    hits / math.sqrt(max(len(term_cache[i]), 1)),
                    float(hits),
                    *text_cache[i],
                ]
            )
        out_idx.append(order)
        out_x.append(np.asarray(rows, np.float32))
    return ReportFeatures(out_idx, out_x)


def judge_features(relevance: np.ndarray, x: np.ndarray) -> list[float]:
    """One criterion of one report: its top passages' relevance and qualities -> a row."""
    if len(relevance) == 0:
        return [0.0] * len(JUDGE_FEATURES)
    order = np.argsort(-relevance)
    p = relevance[order]
    best = x[order[0]]
    top3 = x[order[:3]]
    cue_at = {kind: PASSAGE_FEATURES.index(f"cue_{kind.replace(' ', '_')}") for kind in CUE_KINDS}
    weights = p[:3] / max(p[:3].sum(), 1e-6)
    cues = [float((top3[:, cue_at[kind]] * weights).sum()) for kind in CUE_KINDS]
    has = dict(zip(CUE_KINDS, cues, strict=True))
    strong = max(has["binding"], min(has["dated"], has["quantified"]), has["implemented"])
    return [
        float(p[0]),
        float(p[1]) if len(p) > 1 else 0.0,
        float(p[:3].mean()),
        float(p.sum()),
        float((p >= 0.5).sum()),
        float(x[:, 0].max()),
        float(best[PASSAGE_FEATURES.index("sim_margin")]),
        *cues,
        float(strong),
    ]


@dataclass
class PreScoreModel:
    """The two fitted stages and the card they were saved with."""

    relevance: HistGradientBoostingClassifier | None = None
    judge_any: object | None = None  # P(level >= 1)
    judge_full: object | None = None  # P(level >= 2 | features)
    card: dict = field(default_factory=dict)

    def fit_relevance(self, X: np.ndarray, y: np.ndarray) -> PreScoreModel:
        self.relevance = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0,
            class_weight="balanced", random_state=0,
        ).fit(X, y)  # fmt: skip
        return self

    def relevance_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self.relevance)
        if len(X) == 0:
            return np.zeros(0)
        return self.relevance.predict_proba(X)[:, 1]

    def fit_judge(self, F: np.ndarray, levels: np.ndarray) -> PreScoreModel:
        self.judge_any = _logistic().fit(F, (levels >= 1).astype(int))
        self.judge_full = _logistic().fit(F, (levels >= 2).astype(int))
        return self

    def judge(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(level, P(level >= 1), P(level >= 2)) per row."""
        check_is_fitted(self.judge_any)
        p_any = self.judge_any.predict_proba(F)[:, 1]
        p_full = np.minimum(self.judge_full.predict_proba(F)[:, 1], p_any)
        level = np.where(p_any >= 0.5, np.where(p_full >= 0.5, 2, 1), 0)
        return level, p_any, p_full

    def assess(
        self, features: ReportFeatures
    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
        """(relevance per criterion over its top passages, level, P(>= 1), P(>= 2))."""
        relevance = [self.relevance_proba(x) for x in features.X]
        F = np.asarray(
            [judge_features(r, x) for r, x in zip(relevance, features.X, strict=True)],
            np.float32,
        ).reshape(len(features.X), len(JUDGE_FEATURES))
        level, p_any, p_full = self.judge(F)
        return relevance, level, p_any, p_full

    def save(self, out_dir: str | Path) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        joblib.dump(
            {"relevance": self.relevance, "any": self.judge_any, "full": self.judge_full},
            out / "prescore.joblib",
            compress=3,
        )
        (out / "card.json").write_text(
            json.dumps(self.card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return out

    @classmethod
    def load(cls, model_dir: str | Path) -> PreScoreModel:
        path = Path(model_dir)
        parts = joblib.load(path / "prescore.joblib")
        card = json.loads((path / "card.json").read_text("utf-8"))
        if card.get("kind") != KIND:
            raise ValueError(f"{model_dir}: not a pre-score model")
        return cls(parts["relevance"], parts["any"], parts["full"], card)


def _logistic():
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))


@dataclass
class PreScore:
    """What the pre-score says about one report: per criterion, the passages it reranked
    (indices, best first) with their relevance, and the report's level and probabilities."""

    passages: list[np.ndarray]
    relevance: list[np.ndarray]
    level: np.ndarray
    p_evidence: np.ndarray
    p_full: np.ndarray


class PreScorer:
    """A fitted pre-score model with a criteria set's prototypes embedded, for the pipeline."""

    def __init__(self, model: PreScoreModel, criteria: CriteriaSet, embed, path: Path):
        self.model = model
        self.protos = Prototypes.build(criteria, embed)
        self.path = path

    def judge(self, texts: list[str], vectors: np.ndarray, hybrid: np.ndarray) -> PreScore:
        features = report_features(texts, vectors, hybrid, self.protos)
        relevance, level, p_any, p_full = self.model.assess(features)
        order = [np.argsort(-r, kind="stable") for r in relevance]
        return PreScore(
            passages=[idx[o] for idx, o in zip(features.passages, order, strict=True)],
            relevance=[r[o] for r, o in zip(relevance, order, strict=True)],
            level=level,
            p_evidence=p_any,
            p_full=p_full,
        )
