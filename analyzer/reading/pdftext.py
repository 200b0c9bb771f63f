"""Low-level text extraction with pypdfium2: words with boxes, in displayed page coordinates.

pypdfium2 is used for the bulk work because it is an order of magnitude faster than
pdfminer-based extraction. We ask PDFium for the whole page text in one call and then
for the loose boxes of only the first and last character of each word, which keeps the
number of foreign calls at two per word instead of one per character.

Boxes are ``(x0, top, x1, bottom)`` in PDF points with the origin at the top-left of the
page as it is displayed (page rotation applied), the convention pdfplumber also uses.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

Box = tuple[float, float, float, float]

SOFT_HYPHENS = "\x02\ufffe\u00ad"
# A word, cut after a soft hyphen: PDFium joins a hyphenated word across the line break
# ("sustain\x02ability"), so each half gets its own box on its own line.
_PIECE = re.compile(r"[^\s\x02\ufffe\u00ad]*[\x02\ufffe\u00ad]|[^\s\x02\ufffe\u00ad]+")


@dataclass(slots=True)
class Word:
    """A run of non-space characters as PDFium returned them, with its box."""

    text: str
    box: Box
    font_size: float


@dataclass(slots=True)
class RawPage:
    """What PDFium gives for one page, before layout analysis."""

    number: int  # 1-based PDF page number
    width: float
    height: float
    words: list[Word]


def _transform(rotation: int, w0: float, h0: float):
    """Map unrotated user-space points (origin bottom-left) to displayed top-left coordinates."""
    if rotation == 90:
        return lambda x, y: (y, x)
    if rotation == 180:
        return lambda x, y: (w0 - x, y)
    if rotation == 270:
        return lambda x, y: (h0 - y, w0 - x)
    return lambda x, y: (x, h0 - y)


def extract_page(pdf: pdfium.PdfDocument, index: int) -> RawPage:
    """Extract the words of page ``index`` (0-based) with displayed-coordinate boxes."""
    page = pdf[index]
    try:
        width, height = page.get_size()
        rotation = page.get_rotation() % 360
        # The effective crop box, with inherited boxes resolved (pypdfium2's get_cropbox()
        # falls back to US Letter when the box is inherited from the page tree).
        bounds = pdfium_c.FS_RECTF()
        if pdfium_c.FPDF_GetPageBoundingBox(page.raw, ctypes.byref(bounds)):
            left, bottom = bounds.left, min(bounds.bottom, bounds.top)
        else:
            left, bottom = 0.0, 0.0
        w0, h0 = (height, width) if rotation in (90, 270) else (width, height)
        to_display = _transform(rotation, w0, h0)
        textpage = page.get_textpage()
        try:
            n_chars = textpage.count_chars()
            text = textpage.get_text_range(0, n_chars) if n_chars > 0 else ""
            fast = None if rotation == 0 else to_display
            words = _words(textpage.raw, text, n_chars, left, bottom, h0, fast)
        finally:
            textpage.close()
        return RawPage(index + 1, width, height, words)
    finally:
        page.close()


def _words(
    raw_textpage, text: str, n_chars: int, left: float, bottom: float, h0: float, to_display
):
    """Words as (text, displayed box); `to_display` is None for unrotated pages (fast path)."""
    page_top = bottom + h0
    if len(text) != n_chars:
        # Characters outside the BMP make the string and the char indices disagree;
        # fall back to asking PDFium for each character so indices stay aligned.
        text = "".join(
            chr(pdfium_c.FPDFText_GetUnicode(raw_textpage, i) or 0x20) for i in range(n_chars)
        )
    rect = pdfium_c.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    get_box = pdfium_c.FPDFText_GetLooseCharBox
    words: list[Word] = []
    append = words.append
    for match in _PIECE.finditer(text):
        start, end = match.span()
        if not get_box(raw_textpage, start, rect_ref):
            continue
        x0, top, x1, bot = rect.left, rect.top, rect.right, rect.bottom
        if end - 1 != start and get_box(raw_textpage, end - 1, rect_ref):
            x0b, topb, x1b, botb = rect.left, rect.top, rect.right, rect.bottom
            if x0b < x0:
                x0 = x0b
            if x1b > x1:
                x1 = x1b
            if topb > top:
                top = topb
            if botb < bot:
                bot = botb
        if to_display is None:  # unrotated page: flip the y axis only
            box = (x0 - left, page_top - top, x1 - left, page_top - bot)
        else:
            p1 = to_display(x0 - left, top - bottom)
            p2 = to_display(x1 - left, bot - bottom)
            box = (min(p1[0], p2[0]), min(p1[1], p2[1]), max(p1[0], p2[0]), max(p1[1], p2[1]))
        # The loose box spans the font's ascent to descent, so its height stands in for
        # the font size (which would cost one more call per word).
        append(Word(match.group(), box, box[3] - box[1]))
    return words
