"""Content hashes: a file by its bytes, a passage by its whitespace-normalised text.

Documents are found again by file hash and embeddings are cached by passage hash, so
equal content is analysed and embedded once, whatever its name or where it lives.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_hash(text: str) -> str:
    """Hash of the passage text with whitespace normalised: equal text, equal embedding."""
    normal = re.sub(r"\s+", " ", text).strip()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()
