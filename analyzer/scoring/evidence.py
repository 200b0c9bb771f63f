"""The evidence model: reads a criterion and a passage together and says whether the passage
is evidence for that criterion, and at which level.

Similarity between a passage and a criterion cannot tell evidence from a look-alike (a GRI
index row naming the human-rights policy, generic supply-chain text under "Indigenous
Peoples", an aluminium loop under steel): both are near the topic. A cross-encoder reads the
two texts in one pass, so the criterion's wording can decide. It gives three probabilities
per (criterion, passage): not evidence, level 1 (partial), level 2 (full).

The model is a cross-encoder fine-tuned from the shipped all-MiniLM-L6-v2 weights
(``analyzer.scoring.evidence_training``) and shipped as an int8 ONNX file with its tokenizer
and card in ``models/evidence-*/``. Inference needs only onnxruntime and tokenizers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.criteria.sets import Criterion

KIND = "evidence-model"
ONNX_FILE = "model_int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
CARD_FILE = "card.json"
CLASSES = ("not evidence", "level 1", "level 2")


def criterion_text(criterion: Criterion) -> str:
    """What the model reads of a criterion: its name, definition and level scale."""
    levels = "; ".join(f"{k} = {v}" for k, v in sorted(criterion.levels.items()) if k > 0)
    text = f"{criterion.name}. {criterion.definition}"
    return f"{text} Levels: {levels}" if levels else text


class EvidenceModel:
    """A shipped evidence model (int8 ONNX cross-encoder), loaded on first use.

    Every pair is run alone: dynamic int8 quantisation picks activation scales per call, so
    a pair's probabilities would otherwise depend on its batchmates, and the same report read
    twice must get the same answer. The two cores are used by two calls side by side.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        card_file = self.path / CARD_FILE
        if not card_file.is_file() or not (self.path / ONNX_FILE).is_file():
            raise ValueError(f"{self.path}: not an evidence model (no {ONNX_FILE} or {CARD_FILE})")
        self.card: dict[str, Any] = json.loads(card_file.read_text(encoding="utf-8"))
        if self.card.get("kind") != KIND:
            raise ValueError(
                f"{self.path}: not an evidence model (card kind {self.card.get('kind')})"
            )
        self.max_length = int(self.card.get("max_length", 256))
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: list[str] = []

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(
            str(self.path / ONNX_FILE), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(self.path / TOKENIZER_FILE))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_length, strategy="only_second")
        self._inputs = [i.name for i in session.get_inputs()]
        self._tokenizer, self._session = tokenizer, session

    def load(self) -> EvidenceModel:
        """Open the ONNX session now (the pipeline does it while the PDF is read)."""
        if self._session is None:
            self._load()
        return self

    def _run_one(self, encoding: Any) -> np.ndarray:
        n = len(encoding.ids)
        feeds = {
            "input_ids": np.asarray([encoding.ids], dtype=np.int64),
            "attention_mask": np.ones((1, n), dtype=np.int64),
            "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64),
        }
        logits = self._session.run(None, {k: feeds[k] for k in self._inputs})[0][0]
        z = np.exp(logits - logits.max())
        return z / z.sum()

    def predict_proba(self, criteria: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        """(n, 3) probabilities (not evidence, level 1, level 2) of each (criterion, passage)."""
        self.load()
        if len(criteria) != len(passages):
            raise ValueError("one criterion text per passage")
        if not passages:
            return np.zeros((0, len(CLASSES)), np.float32)
        encodings = self._tokenizer.encode_batch(list(zip(criteria, passages, strict=True)))
        threads = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2, 4)
        if threads > 1 and len(encodings) > 1:
            with ThreadPoolExecutor(threads) as pool:  # onnxruntime releases the GIL
                rows = list(pool.map(self._run_one, encodings))
        else:
            rows = [self._run_one(e) for e in encodings]
        return np.asarray(rows, np.float32)
