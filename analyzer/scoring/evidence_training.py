"""Training the evidence model (``analyzer.scoring.evidence``) and exporting it to int8 ONNX.

Pairs of (criterion, passage) with a class: 0 not evidence, 1 partial, 2 full.

- **Positives**: the passages that hold a gold quote (``labels/gold/gold.jsonl``), at the
  gold level of their report and criterion; passage labels (``labels/ltc``) at their level.
- **Hard negatives**: the passages of a criterion's pool (its best passages by the zero-shot
  hybrid score, what the judge reads at run time) that the gold did not cite; a criterion's
  own evidence passages paired with the other criteria of its section that the report does
  not earn (evidence for a neighbour is a look-alike); each criterion's listed look-alikes.

The network is all-MiniLM-L6-v2 (the shipped weights) with a fresh three-way head, trained
with a plain PyTorch loop (AdamW, linear warm-up and decay, class-weighted cross-entropy),
then exported to ONNX and quantised to int8 as the embedder is. Torch is imported only here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analyzer.criteria.sets import CriteriaSet
from analyzer.scoring.evidence import (
    CARD_FILE,
    KIND,
    ONNX_FILE,
    TOKENIZER_FILE,
    criterion_text,
)

MAX_LENGTH = 192  # tokens of criterion + passage; the passage is truncated, never the criterion
EPOCHS = 1
BATCH = 16
LEARNING_RATE = 4e-5
# per evidence passage: other criteria of its section it is not evidence for
NEIGHBOUR_NEGATIVES = 2
TRAIN_POOL = 5  # pool passages per criterion whose uncited ones are hard negatives
SEED = 0


@dataclass
class Pairs:
    """Training pairs: criterion text, passage text, class (0, 1, 2), and the report group."""

    criteria: list[str] = field(default_factory=list)
    passages: list[str] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # where the pair came from, for the card

    def add(self, criterion: str, passage: str, y: int, group: str, kind: str) -> None:
        self.criteria.append(criterion)
        self.passages.append(passage)
        self.y.append(int(y))
        self.groups.append(group)
        self.kinds.append(kind)

    def __len__(self) -> int:
        return len(self.y)

    def take(self, keep: Sequence[int]) -> Pairs:
        out = Pairs()
        for i in keep:
            out.add(self.criteria[i], self.passages[i], self.y[i], self.groups[i], self.kinds[i])
        return out

    def digest(self) -> str:
        """A hash of the pairs (texts and classes), so a model fitted on them can be reused."""
        h = hashlib.sha256()
        for row in zip(self.criteria, self.passages, self.y, strict=True):
            h.update(json.dumps(row, ensure_ascii=False).encode())
        return h.hexdigest()

    def counts(self) -> dict[str, int]:
        return {str(k): int(sum(1 for v in self.y if v == k)) for k in (0, 1, 2)}


def lookalike_pairs(criteria: CriteriaSet) -> Pairs:
    """Each criterion's listed look-alikes as negatives (they belong to no report)."""
    out = Pairs()
    for c in criteria.criteria:
        for text in c.lookalikes:
            out.add(criterion_text(c), text, 0, "criteria", "look-alike")
    return out


def _device_threads() -> None:
    import torch

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def fit_cross_encoder(
    pairs: Pairs,
    base_model: str | Path,
    out_dir: str | Path,
    *,
    max_length: int = MAX_LENGTH,
    epochs: int = EPOCHS,
    learning_rate: float = LEARNING_RATE,
    seed: int = SEED,
    card: dict | None = None,
    progress: Callable[[str], None] | None = None,
    reuse: bool = False,
) -> Path:
    """Fine-tune a three-way cross-encoder on the pairs and ship it as int8 ONNX in out_dir.

    ``reuse``: keep a model already in out_dir that was fitted on the same pairs and settings
    (evaluation folds, so a change to the judge alone does not fine-tune again)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if not len(pairs):
        raise ValueError("no training pairs")
    out = Path(out_dir)
    settings = {"max_length": max_length, "epochs": epochs, "learning_rate": learning_rate}
    if reuse and _fitted_on(out, pairs.digest(), settings, seed):
        if progress:
            progress(f"{out}: already fitted on these pairs, reused")
        return out
    _device_threads()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    base = Path(base_model)
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("transformers").setLevel(logging.ERROR)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(base), num_labels=3, local_files_only=True, attn_implementation="eager"
        )
    y = np.asarray(pairs.y)
    freq = np.bincount(y, minlength=3).astype(float)
    weights = torch.tensor(len(y) / (3 * np.clip(freq, 1, None)), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    steps = epochs * ((len(y) + BATCH - 1) // BATCH)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))),
    )
    model.train()
    order = list(range(len(y)))
    started, step = time.perf_counter(), 0
    for epoch in range(epochs):
        rng.shuffle(order)
        for b in range(0, len(order), BATCH):
            idx = order[b : b + BATCH]
            batch = tokenizer(
                [pairs.criteria[i] for i in idx],
                [pairs.passages[i] for i in idx],
                truncation="only_second",
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            logits = model(**batch).logits
            loss = loss_fn(logits, torch.tensor(y[idx], dtype=torch.long))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if progress and step % 50 == 0:
                rate = step * BATCH / (time.perf_counter() - started)
                progress(f"epoch {epoch + 1}: step {step}/{steps}, {rate:.1f} pairs/s")
    model.eval()
    seconds = round(time.perf_counter() - started, 1)
    _export(model, base, out, max_length)
    meta = {
        "kind": KIND,
        "classes": ["not evidence", "level 1", "level 2"],
        "base_model": base.name if base.name != "model" else base.parent.name,
        "max_length": max_length,
        "epochs": epochs,
        "batch": BATCH,
        "learning_rate": learning_rate,
        "seed": seed,
        "pairs": len(pairs),
        "pairs_sha256": pairs.digest(),
        "pair_classes": pairs.counts(),
        "pair_sources": {k: pairs.kinds.count(k) for k in sorted(set(pairs.kinds))},
        "train_seconds": seconds,
        **(card or {}),
    }
    (out / CARD_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return out


def _fitted_on(folder: Path, digest: str, settings: dict, seed: int) -> bool:
    card_file = folder / CARD_FILE
    if not (folder / ONNX_FILE).is_file() or not card_file.is_file():
        return False
    card = json.loads(card_file.read_text("utf-8"))
    same = all(card.get(k) == v for k, v in settings.items())
    return same and card.get("pairs_sha256") == digest and card.get("seed") == seed


def _export(model, base: Path, out: Path, max_length: int) -> None:
    """The fine-tuned network as int8 ONNX (logits out) with the base model's tokenizer."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        names = ["input_ids", "attention_mask", "token_type_ids"]

        class _Logits(torch.nn.Module):
            def __init__(self, inner: torch.nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, *args: torch.Tensor) -> torch.Tensor:
                return self.inner(**dict(zip(names, args, strict=True))).logits

        ids = torch.full((2, 16), 1000, dtype=torch.long)
        mask = torch.ones((2, 16), dtype=torch.long)
        axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
        fp32 = tmp / "model_fp32.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Logits(model),
                (ids, mask, torch.zeros_like(ids)),
                str(fp32),
                input_names=names,
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=17,
                do_constant_folding=True,
                dynamo=False,
            )
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)
        try:
            quantize_dynamic(fp32, out / ONNX_FILE, weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.setLevel(level)
        shutil.copyfile(base / TOKENIZER_FILE, out / TOKENIZER_FILE)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
