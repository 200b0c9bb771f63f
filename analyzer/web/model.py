"""The server's embedding model, loaded on first use and used by one thread at a time.

Search (the page and ``/api/search``) uses it from the request threads, so the model sits
in the server's memory once; calls are serialised because a fast tokenizer used from two
threads at once can fail. Uploads are analysed in a separate worker process
(``upload_worker.py``), which loads its own copy of the model.
"""

from __future__ import annotations

import threading

import numpy as np

from analyzer.embeddings.model import Embedder, get_embedder


class SharedEmbedder:
    """Wraps an embedder (or loads the default one lazily) behind a lock."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder
        self._lock = threading.RLock()

    def _model(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = get_embedder()
            return self._embedder

    @property
    def name(self) -> str:
        return self._model().name

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        with self._lock:
            return self._model().encode(texts, batch_size=batch_size)
