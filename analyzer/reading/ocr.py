"""Read pages without a text layer with Tesseract, keeping word boxes for citations.

A scanned page (an assurance statement, a whole scanned annual report) has no text for
PDFium to give. The page is rendered at 200 dpi and Tesseract (Debian's ``tesseract-ocr``
with English and German data) returns each word with its box in pixels; the boxes are
turned back into PDF points in the displayed page's top-left coordinates, the convention
of ``pdftext``, so OCR words flow through the same layout, passage and citation code.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from dataclasses import dataclass

import pypdfium2 as pdfium

from analyzer.reading.pdftext import RawPage, Word

DPI = 200
LANGUAGES = "eng+deu"
MIN_CONFIDENCE = 30.0  # Tesseract's word confidence (0-100); below it a word is noise
TIMEOUT = 120  # seconds for one page


class OcrUnavailable(Exception):
    """Tesseract (or its language data) is not installed; the message says how to get it."""


@dataclass(frozen=True)
class OcrEngine:
    """The Tesseract binary and the languages it reads."""

    binary: str
    languages: str

    @classmethod
    def find(cls, languages: str = LANGUAGES) -> OcrEngine:
        """The installed Tesseract with the wanted languages, else OcrUnavailable."""
        binary = shutil.which("tesseract")
        if binary is None:
            raise OcrUnavailable(
                "Tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng "
                "tesseract-ocr-deu); pages without a text layer stay flagged no_text"
            )
        listed = subprocess.run(
            [binary, "--list-langs"], capture_output=True, text=True, timeout=30
        ).stdout.split()
        wanted = languages.split("+")
        have = [lang for lang in wanted if lang in listed]
        if not have:
            raise OcrUnavailable(
                f"Tesseract has none of the languages {languages} "
                "(apt-get install tesseract-ocr-eng tesseract-ocr-deu)"
            )
        return cls(binary, "+".join(have))


def looks_like_a_text_scan(pdf: pdfium.PdfDocument, index: int) -> bool:
    """Is the page light with dark marks, as a scanned text page is? A full-bleed photo or
    a coloured cover is not worth seconds of OCR; this look costs about 20 ms."""
    page = pdf[index]
    try:
        image = page.render(scale=50 / 72, grayscale=True).to_pil().convert("L")
    finally:
        page.close()
    histogram = image.histogram()
    total = max(sum(histogram), 1)
    light = sum(histogram[201:]) / total
    return light >= 0.75 and (1 - light) >= 0.01


def ocr_page(engine: OcrEngine, pdf: pdfium.PdfDocument, index: int, dpi: int = DPI) -> RawPage:
    """The words of page ``index`` (0-based) as Tesseract reads them, boxes in PDF points."""
    page = pdf[index]
    try:
        width, height = page.get_size()
        scale = dpi / 72
        bitmap = page.render(scale=scale, grayscale=True)
        image = bitmap.to_pil()
    finally:
        page.close()
    png = io.BytesIO()
    image.save(png, format="PNG")
    proc = subprocess.run(
        [engine.binary, "stdin", "stdout", "-l", engine.languages, "--psm", "3", "tsv"],
        input=png.getvalue(),
        capture_output=True,
        timeout=TIMEOUT,
        # Tesseract's OpenMP threads spin against each other and the embedder: one thread
        # reads a page about six times faster here (1.5 s against 9 s at 200 dpi).
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"tesseract failed on page {index + 1}: {message[-1:] or '?'}")
    return RawPage(index + 1, width, height, words_from_tsv(proc.stdout.decode("utf-8"), scale))


def words_from_tsv(tsv: str, scale: float) -> list[Word]:
    """Tesseract's TSV word rows (level 5) as Words with boxes in points, reading order."""
    words = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") != "5":
            continue
        text = (row.get("text") or "").strip()
        if not text or float(row.get("conf") or -1) < MIN_CONFIDENCE:
            continue
        left, top = int(row["left"]) / scale, int(row["top"]) / scale
        right = left + int(row["width"]) / scale
        bottom = top + int(row["height"]) / scale
        words.append(Word(text, (left, top, right, bottom), bottom - top))
    return words
