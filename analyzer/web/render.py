"""PDF pages as PNG images for the review page, rendered in a child process.

PDFium is not thread-safe and the analysis worker thread parses PDFs with it, so rendering
runs in one separate process; recent images are kept in memory because a reviewer flips
through the same pages.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import resource
import signal
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from analyzer.processes import exit_with_parent

MAX_SCALE = 3.0
MAX_PIXELS = 6_000_000  # about 2,450 x 2,450: a 14,400-point page is drawn smaller, not huge
MEMORY_LIMIT = 1 << 30  # the render child's address space: a hostile image fails alone
CACHE_SIZE = 64


class RenderError(Exception):
    """A page cannot be rendered; the message says why."""


def render_png(path: str, pdf_page: int, scale: float) -> bytes:
    """One page as PNG bytes (runs in the child process)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        if not 1 <= pdf_page <= len(pdf):
            raise ValueError(f"the document has {len(pdf)} pages, not {pdf_page}")
        page = pdf[pdf_page - 1]
        width, height = page.get_size()
        scale = min(scale, 0.999 * math.sqrt(MAX_PIXELS / max(width * height, 1.0)))
        image = page.render(scale=scale).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=False)
        page.close()
        return buffer.getvalue()
    finally:
        pdf.close()


def _ignore_interrupts() -> None:
    """Ctrl+C is the server's to handle; the child ends when the server does, however
    that ends (SIGTERM, kill -9). Its memory is capped, so a hostile page kills the child,
    never the server."""
    exit_with_parent()  # started from a request thread: watch, no death signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class PageRenderer:
    """Renders pages one at a time in a child process, with a small memory cache."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=context, initializer=_ignore_interrupts
                )
            return self._pool

    def render(self, path: str, pdf_page: int, scale: float = 1.5) -> bytes:
        scale = min(max(scale, 0.5), MAX_SCALE) if math.isfinite(scale) else 1.5
        key = (path, pdf_page, round(scale, 2))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        try:
            data = self._executor().submit(render_png, path, pdf_page, scale).result(timeout=120)
        except ValueError as exc:
            raise RenderError(str(exc)) from None
        except BrokenProcessPool:  # the child died (memory limit): start a fresh one next time
            self.close()
            raise RenderError(
                f"cannot render page {pdf_page}: the renderer ran out of memory"
            ) from None
        except Exception as exc:  # a broken file or a crashed child
            raise RenderError(f"cannot render page {pdf_page}: {type(exc).__name__}") from None
        with self._lock:
            self._cache[key] = data
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return data

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
