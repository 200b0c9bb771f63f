"""Page images for an evidence pack: each cited page rendered once, small, with the cited
quotes boxed, as data: URIs, so the HTML file stands alone (a company reads it offline and
every citation opens its page).

Pages are rendered by PDFium in one child process: PDFium is not thread-safe, and the
review app builds packs in a request thread while its analysis thread parses PDFs; a
hostile page can only take the child down (its memory is capped), and then the pack is
written without that image.
"""

from __future__ import annotations

import base64
import io
import multiprocessing
import resource
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from analyzer.processes import exit_with_parent
from analyzer.scorecard.scores import Evidence, Scorecard

WIDTH = 720  # pixels: the page's words stay legible, the image stays a few tens of kB
COLOURS = 48  # a palette PNG: rendered text needs few colours and compresses far better
MAX_PAGES = 150  # images one pack carries; the citations of further pages stay text
MEMORY_LIMIT = 1 << 30
BOX_OUTLINE = (214, 120, 0)
BOX_FILL = (255, 214, 0)

PageKey = tuple[int, int]  # (document id, PDF page)


def anchor(doc_id: int, pdf_page: int) -> str:
    """The id of a cited page's figure in the pack, which its citations link to."""
    return f"page-{doc_id}-{pdf_page}"


def cited(evidence: list[Evidence]) -> dict[PageKey, list]:
    """(document, page) -> the boxes of every quote cited on it, pages in order of citation."""
    pages: dict[PageKey, list] = {}
    for e in evidence:
        pages.setdefault((e.doc_id, e.pdf_page), []).extend(e.boxes or [])
    return pages


def page_images(card: Scorecard, evidence: list[Evidence]) -> dict[PageKey, str]:
    """(document, page) -> a data:image/png URI of the page with its quotes boxed, for every
    cited page whose PDF can still be read (at most MAX_PAGES)."""
    jobs = [
        (key, card.pdf_paths[key[0]], key[1], boxes)
        for key, boxes in list(cited(evidence).items())[:MAX_PAGES]
        if key[0] in card.pdf_paths and Path(card.pdf_paths[key[0]]).is_file()
    ]
    if not jobs:
        return {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=_child_start) as pool:
        try:
            rendered = pool.submit(render_pages, [job[1:] for job in jobs]).result(timeout=600)
        except Exception:  # the child died (memory cap) or timed out: the pack, without images
            return {}
    return {
        job[0]: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        for job, png in zip(jobs, rendered, strict=True)
        if png
    }


def _child_start() -> None:
    """The render child ends with its parent and cannot take more than MEMORY_LIMIT."""
    exit_with_parent()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def render_pages(jobs: list[tuple[str, int, list]]) -> list[bytes]:
    """PNG bytes per (pdf path, page, boxes); empty bytes for a page that cannot be drawn
    (runs in the child process)."""
    import pypdfium2 as pdfium

    out: list[bytes] = []
    open_pdfs: dict[str, pdfium.PdfDocument] = {}
    try:
        for path, pdf_page, boxes in jobs:
            try:
                if path not in open_pdfs:
                    open_pdfs[path] = pdfium.PdfDocument(path)
                out.append(_render(open_pdfs[path], pdf_page, boxes))
            except Exception:  # a broken file or page: that citation stays text
                out.append(b"")
    finally:
        for pdf in open_pdfs.values():
            pdf.close()
    return out


def _render(pdf, pdf_page: int, boxes: list) -> bytes:
    from PIL import Image, ImageDraw

    if not 1 <= pdf_page <= len(pdf):
        return b""
    page = pdf[pdf_page - 1]
    try:
        width, height = page.get_size()
        if page.get_rotation() in (90, 270):
            width, height = height, width
        scale = min(WIDTH / max(width, 1.0), 2.0)
        image = page.render(scale=scale).to_pil().convert("RGB")
    finally:
        page.close()
    sx, sy = image.width / max(width, 1.0), image.height / max(height, 1.0)
    shade = Image.new("RGB", image.size, BOX_FILL)
    mask = Image.new("L", image.size, 0)
    draw_mask = ImageDraw.Draw(mask)
    rects = [
        (b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy)
        for b in boxes
        if isinstance(b, list | tuple) and len(b) == 4
    ]
    for rect in rects:
        draw_mask.rectangle(rect, fill=80)  # a light yellow wash over the quoted lines
    image = Image.composite(shade, image, mask)
    draw = ImageDraw.Draw(image)
    for x0, y0, x1, y1 in rects:
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=BOX_OUTLINE, width=2)
    buffer = io.BytesIO()
    image.quantize(COLOURS).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
