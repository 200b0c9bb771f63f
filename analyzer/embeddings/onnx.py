"""Sentence embeddings with an int8-quantised ONNX export of a sentence-transformers model.

Gives the same vectors (up to quantisation error) as
``SentenceTransformer.encode(texts, normalize_embeddings=True)`` for models made of a
Transformer, a Pooling and optionally a Normalize module, several times faster on CPU
(see benchmarks/results/embedding-quality.md). The ONNX file is exported and quantised on
first use and cached on disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

EXPORT_VERSION = "1"  # bump when the export or quantisation recipe changes
ONNX_FILE = "model_int8.onnx"
META_FILE = "export.json"
OPSET = 17
QUANT = "qint8-per-channel"  # weight type and scale granularity of quantize_dynamic

_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_GENERIC_DIR_NAMES = {"model", "models", "snapshot", "main"}
# Order in which sentence-transformers concatenates legacy ``pooling_mode_*`` flags.
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


def _cpu_count() -> int:
    """Usable cores: the affinity mask where the OS has one, else os.cpu_count()."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _read_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _model_name(model_path: Path) -> str:
    """Readable model name: the folder name, or its parent's for generic names like 'model'."""
    if model_path.name.lower() in _GENERIC_DIR_NAMES and model_path.parent.name:
        return model_path.parent.name
    return model_path.name


def cache_key(model_path: str | Path) -> str:
    """Hash of EXPORT_VERSION, config.json's content and the weight files' names and sizes."""
    model_path = Path(model_path)
    h = hashlib.sha256(f"{EXPORT_VERSION};opset{OPSET};{QUANT}\n".encode())
    h.update((model_path / "config.json").read_bytes())
    for f in sorted(model_path.iterdir()):
        if f.suffix in _WEIGHT_SUFFIXES and f.is_file():
            h.update(f"{f.name}:{f.stat().st_size}\n".encode())
    return h.hexdigest()[:16]


def _pooling_modes(config: dict[str, Any]) -> tuple[str, ...]:
    mode = config.get("pooling_mode")
    if mode is None:
        modes = tuple(m for k, m in _LEGACY_POOLING_KEYS.items() if config.get(k, False))
        return modes or ("mean",)
    return (mode,) if isinstance(mode, str) else tuple(mode)


def _read_st_config(model_path: Path) -> tuple[tuple[str, ...], int | None, int | None]:
    """Pooling modes, pooled width and max_seq_length from the sentence-transformers files."""
    modes: tuple[str, ...] = ("mean",)
    width: int | None = None
    modules_file = model_path / "modules.json"
    if modules_file.is_file():
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
        pooling_dirs = []
        for module in modules:
            kind = module.get("type", "").rsplit(".", 1)[-1]
            if kind == "Pooling":
                pooling_dirs.append(module.get("path", ""))
            elif kind not in ("Transformer", "Normalize"):
                raise NotImplementedError(f"OnnxEmbedder does not support module {module['type']}")
        if pooling_dirs:
            config = _read_json(model_path / pooling_dirs[0] / "config.json")
            modes = _pooling_modes(config)
            width = config.get("embedding_dimension", config.get("word_embedding_dimension"))
    max_len = None
    sbert_file = model_path / "sentence_bert_config.json"
    if sbert_file.is_file():
        max_len = _read_json(sbert_file).get("max_seq_length")
    return modes, width, max_len


def _pool(hidden: np.ndarray, mask: np.ndarray, modes: tuple[str, ...]) -> np.ndarray:
    """Pool token states (batch, seq, dim) under a right-padded 0/1 mask, like ST's Pooling."""
    maskf = mask[:, :, None].astype(np.float32)
    lengths = np.clip(maskf.sum(axis=1), 1e-9, None)
    parts = []
    for mode in modes:
        if mode == "cls":
            parts.append(hidden[:, 0])
        elif mode == "max":
            parts.append(np.where(maskf > 0, hidden, -np.inf).max(axis=1))
        elif mode == "mean":
            parts.append((hidden * maskf).sum(axis=1) / lengths)
        elif mode == "mean_sqrt_len_tokens":
            parts.append((hidden * maskf).sum(axis=1) / np.sqrt(lengths))
        elif mode == "weightedmean":
            w = maskf * np.arange(1, hidden.shape[1] + 1, dtype=np.float32)[None, :, None]
            parts.append((hidden * w).sum(axis=1) / np.clip(w.sum(axis=1), 1e-9, None))
        elif mode == "lasttoken":
            last = np.maximum(mask.sum(axis=1).astype(np.int64) - 1, 0)
            parts.append(hidden[np.arange(hidden.shape[0]), last])
        else:
            raise NotImplementedError(f"pooling mode {mode!r}")
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def _export_fp32(model_path: Path, out_file: Path) -> list[str]:
    """Export the HF transformer (last_hidden_state) to ONNX; return its input names."""
    import inspect

    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(
        str(model_path), local_files_only=True, attn_implementation="eager"
    ).eval()
    params = inspect.signature(model.forward).parameters
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in params and getattr(model.config, "type_vocab_size", None):
        names.append("token_type_ids")

    class _Wrapper(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    seq = 16
    ids = torch.full((2, seq), 1000, dtype=torch.long)
    mask = torch.ones((2, seq), dtype=torch.long)
    mask[1, seq // 2 :] = 0
    dummy = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings and the legacy-exporter notice
        torch.onnx.export(
            _Wrapper(model),
            tuple(dummy[n] for n in names),
            str(out_file),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return names


def export_onnx_int8(model_path: str | Path, out_dir: str | Path) -> Path:
    """Export model_path to ONNX, quantise weights to int8 and publish it atomically at out_dir.

    Returns the path of the int8 ONNX file. If out_dir already holds an export
    (e.g. another process won a race), that one is kept.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model_path, out_dir = Path(model_path), Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        fp32 = tmp / "model_fp32.onnx"
        names = _export_fp32(model_path, fp32)
        # Per-channel weight scales keep cosine to fp32 at ~0.99 (per-tensor gives ~0.95).
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing hint at WARNING
        try:
            quantize_dynamic(fp32, tmp / ONNX_FILE, weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.setLevel(level)
        fp32.unlink()
        for extra in tmp.glob("model_fp32*"):  # external-data files, if torch wrote any
            extra.unlink()
        meta = {
            "model_path": str(model_path),
            "export_version": EXPORT_VERSION,
            "opset": OPSET,
            "quantisation": QUANT,
            "inputs": names,
            "export_seconds": round(time.perf_counter() - started, 2),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        tmp.chmod(0o755)
        if (out_dir / ONNX_FILE).is_file():
            return out_dir / ONNX_FILE
        if out_dir.exists():  # leftover without a finished model
            shutil.rmtree(out_dir)
        try:
            os.rename(tmp, out_dir)
        except OSError:
            if not (out_dir / ONNX_FILE).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir / ONNX_FILE


class OnnxEmbedder:
    """Drop-in for SentenceTransformer.encode(normalize_embeddings=True) on an int8 ONNX model.

    Dynamic int8 quantisation picks activation scales per session call, so a text embedded
    in a batch gets a vector that depends slightly on its batchmates (cosine ~0.99 to its
    lone vector). With ``deterministic`` (the default) every text is run alone, so the same
    text always gets the same vector, with no padding; ``deterministic=False`` runs
    length-sorted batches of batch_size. Either way the cores are used by running
    ``threads`` session calls side by side, each single-threaded: on 2 cores this beat one
    call at a time on 2 intra-op threads (~145 vs ~120 passages/s) and is less hurt by
    other processes competing for the cores.
    """

    def __init__(
        self,
        model_path: str | Path,
        cache_dir: str | Path,
        threads: int | None = None,
        deterministic: bool = True,
    ) -> None:
        self.model_path = Path(model_path)
        self.cache_dir = Path(cache_dir)
        self.threads = threads or _cpu_count()
        self.deterministic = deterministic
        modes, width, max_len = _read_st_config(self.model_path)
        config = _read_json(self.model_path / "config.json")
        self.pooling_modes = modes
        hidden = int(width or config["hidden_size"])
        self.dimension: int = hidden * len(modes)
        self.max_seq_length: int = int(max_len or config.get("max_position_embeddings", 512))
        self.name: str = f"{_model_name(self.model_path)}+onnx-int8"
        self.export_seconds: float | None = None
        self._session: Any = None
        self._input_names: list[str] = []
        self._tokenizer: Any = None

    @property
    def onnx_dir(self) -> Path:
        """Cache folder of this model's export."""
        return self.cache_dir / f"{_model_name(self.model_path)}-{cache_key(self.model_path)}"

    def onnx_path(self) -> Path:
        """Path of the int8 ONNX file, exporting it first if it is not cached yet."""
        path = self.onnx_dir / ONNX_FILE
        if not path.is_file():
            started = time.perf_counter()
            path = export_onnx_int8(self.model_path, self.onnx_dir)
            self.export_seconds = time.perf_counter() - started
        return path

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # parallelism comes from concurrent calls, see encode
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(
            str(self.onnx_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._input_names = [i.name for i in session.get_inputs()]
        self._tokenizer = tokenizer
        self._session = session

    def _run(self, encodings: list[Any], lengths: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Pooled (not yet normalised) vectors for the encodings at idx, in one session call."""
        width = int(lengths[idx].max())
        feeds = {name: np.zeros((len(idx), width), dtype=np.int64) for name in self._input_names}
        for row, i in enumerate(idx):
            enc, n = encodings[i], lengths[i]
            feeds["input_ids"][row, :n] = enc.ids
            feeds["attention_mask"][row, :n] = 1
            if "token_type_ids" in feeds:
                feeds["token_type_ids"][row, :n] = enc.type_ids
        hidden = self._session.run(None, feeds)[0]
        return _pool(hidden, feeds["attention_mask"], self.pooling_modes)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts; returns float32 rows of unit length, in input order.

        batch_size is the rows per session call when ``deterministic`` is off.
        """
        if self._session is None:
            self._load()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")  # longest first: less padding, even load
        step = 1 if self.deterministic else max(1, batch_size)
        chunks = [order[i : i + step] for i in range(0, len(order), step)]
        workers = min(self.threads, len(chunks))
        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:  # onnxruntime releases the GIL in run()
                pooled = list(pool.map(lambda idx: self._run(encodings, lengths, idx), chunks))
        else:
            pooled = [self._run(encodings, lengths, idx) for idx in chunks]
        for idx, vectors in zip(chunks, pooled, strict=True):
            out[idx] = vectors
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.clip(norms, 1e-12, None)
        return out
