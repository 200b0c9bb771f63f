"""Real-report tier: the 13 reports in ../shared/corpus, analysed through the CLI.

Skipped, with the reason, when ../shared/corpus is absent. Quirks checked are those listed
in ../shared/README.md and INDEX.csv, as this parser actually meets them.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import defaultdict

import pytest

from analyzer.db.connection import open_db
from tests.conftest import run_cli

pytestmark = pytest.mark.corpus


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def corpus_db(corpus, tmp_path_factory):
    db_path = tmp_path_factory.mktemp("corpus") / "corpus.db"
    proc = run_cli("analyze", str(corpus), db=db_path)
    assert proc.returncode == 0, proc.stderr
    assert "Analysed 13 report(s)" in proc.stdout
    return open_db(db_path)


@pytest.fixture(scope="module")
def index(corpus):
    with open(corpus / "INDEX.csv", newline="", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh)}


def docs_by_name(db) -> dict[str, dict]:
    return {row["file_name"]: row for row in db["documents"].rows}


def pages_of(db, doc_id: int) -> dict[int, dict]:
    return {r["pdf_page"]: r for r in db["pages"].rows_where("document_id = ?", [doc_id])}


def test_every_report_stored_with_its_page_count(corpus_db, index):
    docs = docs_by_name(corpus_db)
    assert set(docs) == set(index)
    for name, row in index.items():
        assert docs[name]["page_count"] == int(row["pages"]), name
        assert corpus_db["pages"].count_where("document_id = ?", [docs[name]["id"]]) == int(
            row["pages"]
        )


def unread(flags: dict) -> list[int]:
    """Pages without a text layer: read by OCR (Tesseract installed) or flagged no_text."""
    return sorted(set(flags.get("no_text", [])) | set(flags.get("ocr", [])))


def test_pages_without_text_are_flagged_or_read_by_ocr(corpus_db, index):
    docs = docs_by_name(corpus_db)
    flags = {name: json.loads(d["flags"]) for name, d in docs.items()}
    assert unread(flags["rivian-2024-environmental-metrics.pdf"]) == [5, 6, 7, 8, 9]
    assert unread(flags["tesla-2024-form-10k.pdf"]) == [56, 114]
    for name, row in index.items():
        # INDEX.csv counts "pages with text" by its own measure; ours stays within two pages.
        expected_empty = int(row["pages"]) - int(row["pages_with_text"])
        assert abs(len(unread(flags[name])) - expected_empty) <= 2, name


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="OCR tier: tesseract absent")
def test_rivians_scanned_assurance_pages_are_read_and_cited(corpus_db):
    doc = docs_by_name(corpus_db)["rivian-2024-environmental-metrics.pdf"]
    assert json.loads(doc["flags"])["ocr"] == [5, 6, 7, 8, 9]
    rows = list(corpus_db["passages"].rows_where("document_id = ?", [doc["id"]]))
    scanned = [r for r in rows if 6 <= r["first_page"] <= 9]
    assert scanned, "the scanned pages give passages"
    text = " ".join(r["text"] for r in scanned)
    assert "assurance" in text.lower() and "Apex" in text
    # cited to their own pages: the page text holds the passage's words
    for r in scanned:
        part = json.loads(r["parts"])[0]
        page = corpus_db["pages"].get((doc["id"], part["pdf_page"]))
        assert r["text"][:40] in page["text"], part["pdf_page"]
        assert part["boxes"], "OCR word boxes become citation boxes"


def test_tokyo_gas_is_flagged_as_not_latin_script(corpus_db):
    """INDEX.csv calls Tokyo Gas mojibake; PDFium decodes it to correct Japanese, so the
    honest flag is non_latin (English criteria cannot match it), not garbled."""
    doc = docs_by_name(corpus_db)["tokyo-gas-2022-esg-fact-sheet.pdf"]
    flags = json.loads(doc["flags"])
    assert flags == {"non_latin": list(range(1, 70))}
    page = pages_of(corpus_db, doc["id"])[31]
    assert "労働安全衛生" in page["text"]
    for other in docs_by_name(corpus_db).values():
        assert "garbled" not in json.loads(other["flags"])


def test_bmw_printed_labels_differ_from_pdf_pages(corpus_db):
    doc = docs_by_name(corpus_db)["bmw-2020-group-report-extract.pdf"]
    pages = pages_of(corpus_db, doc["id"])
    assert pages[1]["label"] == "35"
    labelled = [p for p in pages.values() if p["label"]]
    assert len(labelled) >= 140
    assert all(int(p["label"]) == p["pdf_page"] + 34 for p in labelled)


def test_porsche_spreads_cite_the_half_they_are_on(corpus_db):
    doc = docs_by_name(corpus_db)["porsche-2020-report-extract-spreads.pdf"]
    pages = pages_of(corpus_db, doc["id"])
    assert [pages[i]["label"] for i in (1, 2, 3, 4)] == ["64-65", "66-67", "68-69", "70-71"]
    seen = defaultdict(set)
    for row in corpus_db["passages"].rows_where("document_id = ?", [doc["id"]]):
        for part in json.loads(row["parts"]):
            page = pages[part["pdf_page"]]
            left, right = page["label"].split("-")
            halves = {left if box[0] < page["width"] / 2 else right for box in part["boxes"]}
            assert part["label"] == "-".join(h for h in (left, right) if h in halves)
            seen[part["pdf_page"]] |= halves
    assert seen[2] == {"66", "67"}
    # Each candidate's quote is cited to the half of the spread it is printed on.
    for cand in corpus_db["candidates"].rows_where("document_id = ?", [doc["id"]]):
        page = pages[cand["pdf_page"]]
        quote = cand["quote"].removesuffix(" …").split()
        start = page_offset(page["text"], quote)
        line = next(ln for ln in json.loads(page["lines"]) if ln[0] <= start < ln[1] + 1)
        left, right = page["label"].split("-")
        assert cand["page_label"] == (left if line[2] < page["width"] / 2 else right)


def page_offset(text: str, words: list[str]) -> int:
    """Offset in text where the words begin (whitespace may differ)."""
    pattern = r"\s+".join(re.escape(w) for w in words[:6])
    match = re.search(pattern, text)
    assert match, words
    return match.start()


def test_every_candidate_quote_is_on_the_page_it_cites(corpus_db):
    docs = {d["id"]: d for d in corpus_db["documents"].rows}
    checked = 0
    for doc_id, doc in docs.items():
        pages = pages_of(corpus_db, doc_id)
        for cand in corpus_db["candidates"].rows_where("document_id = ?", [doc_id]):
            page = pages[cand["pdf_page"]]
            quote = squash(cand["quote"]).removesuffix(" …")
            assert quote in squash(page["text"]), (doc["file_name"], cand["pdf_page"], quote)
            # On a spread the passage's half decides: "66" or "67" on PDF page "66-67".
            labels = {page["label"], *(page["label"] or "").split("-")}
            assert cand["page_label"] in labels
            checked += 1
    assert checked == 13 * 40 * 5


def test_every_passage_part_points_at_its_page_text(corpus_db):
    pages = {(r["document_id"], r["pdf_page"]): r["text"] for r in corpus_db["pages"].rows}
    for row in corpus_db["passages"].rows:
        parts = json.loads(row["parts"])
        assert [p["pdf_page"] for p in parts] == sorted({p["pdf_page"] for p in parts})
        assert (
            row["first_page"] == parts[0]["pdf_page"] and row["last_page"] == parts[-1]["pdf_page"]
        )
        for part in parts:
            piece = pages[(row["document_id"], part["pdf_page"])][part["start"] : part["end"]]
            assert piece.strip() and piece in row["text"]
            assert part["boxes"], "every part has the boxes of its text"


def test_seed_label_quotes_are_on_their_pages(corpus_db):
    from tests.test_labels import load_seed

    docs = {d["sha256"]: d for d in corpus_db["documents"].rows}
    for label in load_seed():
        doc = docs[label["source"]["document_sha256"]]
        page = pages_of(corpus_db, doc["id"])[label["source"]["pdf_page"]]
        assert squash(label["text"]) in squash(page["text"]), label
