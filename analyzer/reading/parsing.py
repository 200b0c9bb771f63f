"""Parse a report PDF into pages of clean, cited text.

For each page: the running text in reading order, the boxes of its words, the printed
page label, and flags for pages the tool could not read. Running headers and footers
are removed so they do not repeat in every passage, and printed page numbers are found
either in the PDF's page labels or in the folios printed in the margins.
"""

from __future__ import annotations

import gc
import hashlib
import re
import stat
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium

from analyzer.reading.layout import Line, compose_text, group_lines, reading_order
from analyzer.reading.limits import LimitError, Limits, inspect_pdf
from analyzer.reading.ocr import OcrEngine, OcrUnavailable, looks_like_a_text_scan, ocr_page
from analyzer.reading.pdftext import RawPage, extract_page
from analyzer.reading.textquality import MIN_LETTERS, page_flags
from analyzer.types import LabelRegion, ParsedDocument, ParsedPage

PARSER_VERSION = "2"  # 2: pages without a text layer are read by OCR
OCR = "ocr"  # page flag: its text was read by Tesseract from the page image
MARGIN = 0.1  # top and bottom share of the page where headers, footers and folios live


class ParseError(Exception):
    """The file cannot be read as a report; the message says why in one line."""


def check_file(path: Path) -> None:
    """Raise ParseError unless path is a non-empty regular file that starts like a PDF.

    Runs before anything opens the file: reading a FIFO or a device would block or never end.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ParseError("no such file") from None
    except OSError as exc:
        raise ParseError(f"cannot read it ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ParseError("is a folder, not a PDF file")
    if stat.S_ISFIFO(info.st_mode):
        raise ParseError("not a regular file (a FIFO, named pipe)")
    if not stat.S_ISREG(info.st_mode):
        raise ParseError("not a regular file (a device or socket)")
    if info.st_size == 0:
        raise ParseError("empty file (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        raise ParseError("not a PDF (no %PDF header)")


def open_pdf(path: Path, data: bytes | None = None) -> pdfium.PdfDocument:
    """Open a PDF (from its bytes when given) or raise ParseError with a one-line reason."""
    check_file(path)
    try:
        pdf = pdfium.PdfDocument(data if data is not None else path.read_bytes())
    except pdfium.PdfiumError as exc:
        message = str(exc).lower()
        if "password" in message:
            raise ParseError("encrypted PDF: a password is needed to open it") from None
        raise ParseError("damaged or truncated PDF: PDFium cannot read it") from None
    if len(pdf) == 0:
        pdf.close()
        raise ParseError("damaged or truncated PDF: no readable pages")
    return pdf


def parse_pdf(path: str | Path, limits: Limits | None = None) -> ParsedDocument:
    """Parse every page of the PDF at path (see ``parse_checked`` for the damage report)."""
    return parse_checked(path, limits)[0]


def parse_checked(
    path: str | Path, limits: Limits | None = None
) -> tuple[ParsedDocument, list[str]]:
    """Parse the PDF at path within limits; returns the document and the repairs it needed.

    A file whose structure had to be repaired has every page flagged ``damaged``: PDFium
    reads what it can, and text may be missing anywhere.
    """
    path = Path(path)
    limits = limits or Limits()
    check_file(path)
    data = path.read_bytes()
    try:
        problems = inspect_pdf(data, limits)
    except LimitError as exc:
        raise ParseError(f"refused: {exc}") from None
    pdf = open_pdf(path, data)
    if len(pdf) > limits.pages:
        count = len(pdf)
        pdf.close()
        raise ParseError(f"refused: {count:,} pages, more than the limit of {limits.pages:,}")
    # Parsing makes ~100,000 small objects per report and no reference cycles; the cyclic
    # garbage collector would only rescan them over and over (15-25% of the parse time).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        raw_pages = []
        lost = 0
        for i in range(len(pdf)):
            try:
                raw_pages.append(extract_page(pdf, i))
            except pdfium.PdfiumError:  # a damaged page: keep its place, read the others
                lost += 1
                raw_pages.append(RawPage(i + 1, 612.0, 792.0, []))
        if lost == len(pdf):
            raise ParseError("damaged PDF: PDFium cannot load any of its pages")
        if lost:
            problems.append(f"{lost} page(s) could not be loaded")
        ocr_pages, notes = _read_scans(pdf, raw_pages, limits)
        pdf_labels = [pdf.get_page_label(i) or "" for i in range(len(pdf))]
        pages = build_pages(raw_pages, pdf_labels)
        for page in pages:
            if page.number in ocr_pages:
                page.flags.append(OCR)
    finally:
        pdf.close()
        if gc_was_enabled:
            gc.enable()
    if problems:
        for page in pages:
            page.flags.append("damaged")
    return ParsedDocument(path, hashlib.sha256(data).hexdigest(), pages, notes), problems


def _read_scans(
    pdf: pdfium.PdfDocument, raw_pages: list[RawPage], limits: Limits
) -> tuple[set[int], list[str]]:
    """Read pages without a text layer with Tesseract, in place; (their numbers, notes)."""
    # A page with (almost) no characters at all: a scan or a photo. A page with many
    # characters that are not letters is a garbled text layer, flagged, not re-read.
    scans = [
        i for i, raw in enumerate(raw_pages) if sum(len(w.text) for w in raw.words) < MIN_LETTERS
    ]
    if not scans or not limits.ocr:
        return set(), []
    try:
        engine = OcrEngine.find()
    except OcrUnavailable as exc:
        return set(), [f"{len(scans)} page(s) without a text layer left unread: {exc}"]
    done: set[int] = set()
    for i in scans:
        try:
            if not looks_like_a_text_scan(pdf, i):
                continue  # a photo or a cover: it stays flagged no_text
        except pdfium.PdfiumError:
            continue  # a page PDFium cannot load (a damaged file) has no image either
        try:
            page = ocr_page(engine, pdf, i)
        except (RuntimeError, OSError, pdfium.PdfiumError) as exc:
            return done, [f"OCR stopped at page {i + 1}: {exc}"]
        if page.words:
            raw_pages[i] = page
            done.add(i + 1)
    return done, []


def build_pages(raw_pages: list[RawPage], pdf_labels: list[str]) -> list[ParsedPage]:
    """Layout analysis across the document: labels, running headers, reading order, flags."""
    lines_per_page = [group_lines(p.words) for p in raw_pages]
    repeated = _repeated_margin_lines(raw_pages, lines_per_page)
    folios = _detect_folios(raw_pages, lines_per_page)
    use_pdf_labels = any(pdf_labels)
    pages: list[ParsedPage] = []
    for raw, lines, folio in zip(raw_pages, lines_per_page, folios, strict=True):
        body = _strip_margins(raw, lines, repeated, folio)
        ordered = reading_order(body, 0.0, raw.width)
        text, spans, line_spans = compose_text(ordered)
        page = ParsedPage(raw.number, raw.width, raw.height, text, spans, line_spans)
        if use_pdf_labels:
            page.label = pdf_labels[raw.number - 1] or None
        elif folio:
            page.label = "-".join(region.label for region in folio)
            page.label_regions = folio if len(folio) > 1 else []
        page.flags = page_flags(text)
        pages.append(page)
    return pages


def _in_margin(line: Line, height: float) -> bool:
    box = line.box
    return box[3] <= MARGIN * height or box[1] >= (1 - MARGIN) * height


def _margin_key(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text.lower())).strip()


def _repeated_margin_lines(raw_pages: list[RawPage], lines_per_page: list[list[Line]]) -> set[str]:
    """Keys of margin lines seen on several pages: running headers, footers, navigation bars."""
    counts: Counter[str] = Counter()
    for raw, lines in zip(raw_pages, lines_per_page, strict=True):
        keys = {_margin_key(ln.text) for ln in lines if _in_margin(ln, raw.height)}
        counts.update(keys)
    threshold = 2 if len(raw_pages) <= 6 else 3
    return {key for key, n in counts.items() if n >= threshold and key}


_NUMBER = re.compile(r"^\W*(\d{1,4})\W*$")


def _margin_numbers(raw: RawPage, lines: list[Line]) -> list[tuple[int, float]]:
    """Integers printed in the page margins, with their horizontal centre."""
    found = []
    # Some renderings (SEC filings) print the folio right after the text, not in the margin,
    # so a lone number as the page's first or last line counts too.
    edge = {id(lines[0]), id(lines[-1])} if lines else set()
    for line in lines:
        if not (_in_margin(line, raw.height) or (id(line) in edge and len(line.words) == 1)):
            continue
        numeric = [(w, m) for w in line.words if (m := _NUMBER.match(w.text))]
        if len(numeric) > 2:
            continue  # navigation tabs or a row of table figures, not a folio
        for word, match in numeric:
            value = int(match.group(1))
            if 0 < value < 1900:  # larger numbers in a margin are years, not page numbers
                found.append((value, (word.box[0] + word.box[2]) / 2))
    return found


def _detect_folios(
    raw_pages: list[RawPage], lines_per_page: list[list[Line]]
) -> list[list[LabelRegion]]:
    """Printed page numbers per PDF page, confirmed by the numbering of neighbouring pages.

    A number counts as a folio only when a nearby page carries the number that a running
    sequence predicts (one printed page per PDF page, or two for spreads), so years, note
    numbers and table figures in the margins are not mistaken for page numbers.
    """
    numbers = [_margin_numbers(r, ln) for r, ln in zip(raw_pages, lines_per_page, strict=True)]
    # A number printed at the same place on many pages (tabs, chapter numbers) is no folio.
    static = Counter((v, round(x / 5)) for found in numbers for v, x in set(found))
    numbers = [[(v, x) for v, x in found if static[(v, round(x / 5))] < 3] for found in numbers]
    values = [{v for v, _ in found} for found in numbers]
    n = len(raw_pages)
    result: list[list[LabelRegion]] = []
    for i, found in enumerate(numbers):
        width = raw_pages[i].width
        regions: list[LabelRegion] = []
        # Spreads: two consecutive numbers, left half and right half, advancing by two.
        for v, x in found:
            right = [x2 for v2, x2 in found if v2 == v + 1 and x < width / 2 <= x2]
            if (
                right
                and x < width / 2
                and _confirmed(values, i, n, lambda d, v=v: {v + 2 * d, v + 1 + 2 * d})
            ):
                regions = [
                    LabelRegion(str(v), 0.0, width / 2),
                    LabelRegion(str(v + 1), width / 2, width),
                ]
                break
        if not regions:
            scored = [(sum(_confirmations(values, i, n, v)), v) for v, _ in found]
            scored = [s for s in scored if s[0] > 0]
            if scored:
                best = max(scored)[1]
                regions = [LabelRegion(str(best), 0.0, width)]
        result.append(regions)
    return result


def _confirmations(values: list[set[int]], i: int, n: int, v: int) -> list[int]:
    return [1 for d in (-3, -2, -1, 1, 2, 3) if 0 <= i + d < n and (v + d) in values[i + d]]


def _confirmed(values: list[set[int]], i: int, n: int, expected) -> bool:
    return any(0 <= i + d < n and expected(d) <= values[i + d] for d in (-2, -1, 1, 2))


def _strip_margins(
    raw: RawPage, lines: list[Line], repeated: set[str], folio: list[LabelRegion]
) -> list[Line]:
    """Drop running headers/footers and the folio itself from a page's lines."""
    folio_numbers = {r.label for r in folio}
    body: list[Line] = []
    for k, line in enumerate(lines):
        edge_folio = (
            k in (0, len(lines) - 1)
            and len(line.words) == 1
            and _NUMBER.sub(r"\1", line.words[0].text).lstrip("0") in folio_numbers
        )
        if edge_folio:
            continue
        if _in_margin(line, raw.height):
            if _margin_key(line.text) in repeated:
                continue
            words = [
                w for w in line.words if _NUMBER.sub(r"\1", w.text).lstrip("0") not in folio_numbers
            ]
            if not words:
                continue
            line = Line(words)
        body.append(line)
    return body
