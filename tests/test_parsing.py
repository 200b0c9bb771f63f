"""Parser tests on PDFs generated with exactly known content."""

from __future__ import annotations

import re

import pdfplumber
import pytest

from analyzer.reading.parsing import ParseError, parse_pdf
from analyzer.reading.textquality import is_garbled
from tests import pdf_factory
from tests.garbled_pdf import garbled_pdf


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_two_columns_read_column_by_column(tmp_path):
    facts = pdf_factory.two_column_pdf(tmp_path / "cols.pdf")
    page = parse_pdf(tmp_path / "cols.pdf").pages[0]
    text = squash(page.text)
    expected = squash(" ".join([facts["title"], *facts["left"], *facts["right"]]))
    assert text == expected
    lines = [page.text[ln.start : ln.end] for ln in page.lines]
    assert lines == [facts["title"], *facts["left"], *facts["right"]]
    left_x = {round(ln.box[0]) for ln in page.lines[1:8]}
    right_x = {round(ln.box[0]) for ln in page.lines[8:]}
    assert len(left_x) == 1 and len(right_x) == 1 and min(right_x) > max(left_x) + 100


def test_pdf_page_labels_are_used(tmp_path):
    labels = pdf_factory.labelled_pdf(tmp_path / "labels.pdf")
    doc = parse_pdf(tmp_path / "labels.pdf")
    assert [p.label for p in doc.pages] == labels
    for page in doc.pages:
        assert f"on PDF page {page.number}." in page.text


def test_folios_found_and_running_header_removed(tmp_path):
    labels = pdf_factory.folio_pdf(tmp_path / "folio.pdf")
    doc = parse_pdf(tmp_path / "folio.pdf")
    assert [p.label for p in doc.pages] == labels
    for page in doc.pages:
        assert pdf_factory.FOLIO_HEADER not in page.text
        assert page.label not in page.text.split(), "the folio itself is not body text"
        assert "Acme Components manages" in page.text


def test_hyphenation_joined_at_line_ends_only(tmp_path):
    facts = pdf_factory.hyphenated_pdf(tmp_path / "hyph.pdf")
    doc = parse_pdf(tmp_path / "hyph.pdf")
    text = " ".join(p.text for p in doc.pages)
    for word in facts["hard"] + facts["soft"] + facts["kept"]:
        assert word in text.split() or word + "." in text.split() or word in text
    assert "\ufffe" not in text and "\x02" not in text and "\u00ad" not in text
    assert "responsi-" not in text


def test_image_only_page_is_flagged_not_dropped(tmp_path):
    pdf_factory.image_only_pdf(tmp_path / "img.pdf")
    doc = parse_pdf(tmp_path / "img.pdf")
    assert len(doc.pages) == 3
    assert [p.flags for p in doc.pages] == [[], ["no_text"], []]
    assert doc.flags == {"no_text": [2]}


def test_garbled_text_layer_is_flagged(tmp_path):
    garbled_pdf(tmp_path / "garbled.pdf")
    doc = parse_pdf(tmp_path / "garbled.pdf")
    assert doc.pages[0].flags == ["garbled"]


def test_garbled_heuristic_on_plain_strings():
    assert not is_garbled("Our suppliers must respect the rights of workers. " * 5)
    assert is_garbled("Ã¼bersicht Ã¤nderung Ã¶ffentlich Â§ Ã¼ber " * 10)
    assert is_garbled("(cid:12)(cid:40)(cid:3) " * 10)


def test_table_kept_as_text_rows(tmp_path):
    rows = pdf_factory.table_pdf(tmp_path / "table.pdf")
    page = parse_pdf(tmp_path / "table.pdf").pages[0]
    lines = [squash(line) for line in page.text.splitlines() if line.strip()]
    for row in rows:
        assert " ".join(row) in lines, f"row {row} not kept together: {lines}"


def test_word_boxes_match_pdfplumber(tmp_path):
    """Our pypdfium2 boxes agree with pdfplumber's word boxes (top-left origin, points)."""
    pdf_factory.folio_pdf(tmp_path / "folio.pdf", n_pages=1)
    page = parse_pdf(tmp_path / "folio.pdf").pages[0]
    with pdfplumber.open(tmp_path / "folio.pdf") as pdf:
        words = pdf.pages[0].extract_words()
    counts = {}
    for w in words:
        counts[w["text"]] = counts.get(w["text"], 0) + 1
    reference = {w["text"]: w for w in words if counts[w["text"]] == 1}
    checked = 0
    for span in page.spans:
        word = page.text[span.start : span.end]
        if word in reference and len(word) > 6 and page.text.count(word) == 1:
            ref = reference[word]
            x0, top, x1, bottom = span.box
            assert abs(x0 - ref["x0"]) < 2 and abs(x1 - ref["x1"]) < 2
            assert abs((top + bottom) / 2 - (ref["top"] + ref["bottom"]) / 2) < 3
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    "maker, reason",
    [
        (pdf_factory.not_a_pdf, "not a PDF"),
        (pdf_factory.empty_pdf, "empty file"),
        (pdf_factory.truncated_pdf, "damaged or truncated"),
        (pdf_factory.encrypted_pdf, "encrypted"),
    ],
)
def test_bad_files_raise_one_clear_reason(tmp_path, maker, reason):
    path = tmp_path / "bad.pdf"
    maker(path)
    with pytest.raises(ParseError) as info:
        parse_pdf(path)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_a_parsed_document_crosses_a_process_boundary_unchanged(tmp_path):
    """The sandboxed parse pickles pages with their spans packed; nothing may change."""
    import pickle

    from analyzer.reading.sandbox import parse_isolated

    pdf_factory.labelled_pdf(tmp_path / "labelled.pdf")
    doc = parse_pdf(tmp_path / "labelled.pdf")
    again = pickle.loads(pickle.dumps(doc))
    assert again == doc and again.pages[1].spans and again.pages[1].lines
    assert again.pages[1].label_regions == doc.pages[1].label_regions
    isolated, _ = parse_isolated(tmp_path / "labelled.pdf")
    assert isolated.pages == doc.pages


def test_a_sandboxed_parse_does_not_import_the_callers_main_script(tmp_path):
    """multiprocessing re-imports __main__ in each child; a script that imports the whole
    pipeline made every parse 1.4 s slower. The child must start from this package alone."""
    import subprocess
    import sys

    pdf_factory.labelled_pdf(tmp_path / "labelled.pdf")
    marker = tmp_path / "imports.txt"
    script = tmp_path / "caller.py"
    script.write_text(
        "from pathlib import Path\n"
        f"with open({str(marker)!r}, 'a') as fh:\n"
        "    fh.write('imported\\n')\n"
        "from analyzer.reading.sandbox import parse_isolated\n"
        "if __name__ == '__main__':\n"
        "    for _ in range(3):\n"
        f"        doc, _ = parse_isolated(Path({str(tmp_path / 'labelled.pdf')!r}))\n"
        "    print(len(doc.pages))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6"
    assert marker.read_text().splitlines() == ["imported"], "a child imported the caller"
