"""OCR of pages without a text layer: real Tesseract on a scanned page the test makes.

The test writes a page of known text with fpdf2, renders it to an image, and puts the image
alone on a new PDF page (a "scan"). Tesseract must read the words back, with boxes that land
where the original text layer put them. Skipped with a reason when Tesseract is absent.
"""

from __future__ import annotations

import io
import shutil

import pypdfium2 as pdfium
import pytest
from fpdf import FPDF

from analyzer.reading.ocr import OcrEngine, OcrUnavailable, ocr_page, words_from_tsv
from analyzer.reading.pdftext import extract_page

LINES = [
    "Supplier Code of Conduct",
    "All tier one suppliers must use renewable electricity by 2030.",
    "Lieferanten verpflichten sich zur Achtung der Menschenrechte.",
]

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="OCR tier skipped: tesseract is not installed (apt-get install tesseract-ocr "
    "tesseract-ocr-eng tesseract-ocr-deu, as .ci/run does)",
)


def scanned_pdf(tmp_path) -> tuple[pdfium.PdfDocument, pdfium.PdfDocument]:
    """(the text original, its scan: one image-only page of the same size)."""
    text = FPDF(unit="pt", format="A4")
    text.add_page()
    text.set_font("helvetica", size=16)
    for i, line in enumerate(LINES):
        text.text(72, 120 + 40 * i, line)
    original = pdfium.PdfDocument(bytes(text.output()))
    image = original[0].render(scale=150 / 72).to_pil().convert("L")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    scan = FPDF(unit="pt", format="A4")
    scan.add_page()
    scan.image(io.BytesIO(buffer.getvalue()), x=0, y=0, w=scan.w, h=scan.h)
    (tmp_path / "scan.pdf").write_bytes(bytes(scan.output()))
    return original, pdfium.PdfDocument(tmp_path / "scan.pdf")


@needs_tesseract
def test_a_scanned_page_is_read_with_boxes_where_the_words_are(tmp_path):
    original, scan = scanned_pdf(tmp_path)
    assert extract_page(scan, 0).words == [], "the scan has no text layer"
    page = ocr_page(OcrEngine.find(), scan, 0)
    read = " ".join(w.text for w in page.words)
    for word in ("Supplier", "renewable", "electricity", "2030", "Lieferanten", "Menschenrechte"):
        assert word in read, read
    truth = {w.text.strip(".,"): w.box for w in extract_page(original, 0).words}
    for w in page.words:
        key = w.text.strip(".,")
        if key in truth and len(key) > 4:
            (x0, t0, x1, b0), (x0o, t0o, x1o, b0o) = w.box, truth[key]
            assert abs((x0 + x1) / 2 - (x0o + x1o) / 2) < 6, (key, w.box, truth[key])
            assert abs((t0 + b0) / 2 - (t0o + b0o) / 2) < 6, (key, w.box, truth[key])


def test_tsv_rows_become_words_in_points():
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "4\t1\t1\t1\t1\t0\t100\t200\t400\t40\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t100\t200\t200\t40\t96.5\tSteel\n"
        "5\t1\t1\t1\t1\t2\t320\t200\t100\t40\t12.0\t~~\n"
    )
    (word,) = words_from_tsv(tsv, scale=2.0)
    assert word.text == "Steel" and word.box == (50.0, 100.0, 150.0, 120.0)


def test_without_tesseract_the_reason_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OcrUnavailable, match="apt-get install tesseract-ocr"):
        OcrEngine.find()


@needs_tesseract
def test_an_analysed_scan_gives_cited_passages_marked_as_ocr(tmp_path, embedder):
    from analyzer.candidates.views import passages
    from analyzer.db.connection import open_db
    from analyzer.pipeline import Analyzer, Settings

    scanned_pdf(tmp_path)
    db = open_db(tmp_path / "ocr.db")
    result = Analyzer(db, Settings(), embedder).analyze(tmp_path / "scan.pdf")
    assert result.error is None and result.flags == {"ocr": [1]}
    records = passages(db, str(result.doc_id))
    assert records and all(r["ocr"] and r["pdf_pages"] == [1] for r in records)
    text = " ".join(r["text"] for r in records)
    assert "renewable electricity" in text and all(r["boxes"]["1"] for r in records)


def test_without_tesseract_a_scan_stays_flagged_and_says_why_once(tmp_path, monkeypatch):
    from analyzer.reading import parsing

    scanned_pdf(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    doc, _ = parsing.parse_checked(tmp_path / "scan.pdf")
    assert doc.flags == {"no_text": [1]}
    assert len(doc.notes) == 1 and "tesseract" in doc.notes[0].lower()
