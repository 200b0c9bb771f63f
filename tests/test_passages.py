"""The splitter cuts between sentences and keeps a list whole with its introduction."""

from __future__ import annotations

import re

import pytest

from analyzer.passages import SLACK, passage_spans, split_passages
from analyzer.reading.parsing import parse_pdf
from tests import pdf_factory


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("size", [280, 400, 800])
def test_a_generated_report_is_cut_between_sentences_and_lists_stay_whole(tmp_path, size):
    facts = pdf_factory.list_pdf(tmp_path / "list.pdf")
    doc = parse_pdf(tmp_path / "list.pdf")
    passages = split_passages(doc, size=size, overlap=60)
    texts = [squash(p.text) for p in passages]
    for text in texts:
        assert text.endswith((".", ";", ":")), f"cut inside a sentence: ...{text[-60:]!r}"
        assert len(text) <= size * SLACK
    list_text = squash(" ".join([facts["intro"], *facts["items"]]))  # 397 characters
    for needle in (squash(facts["sentence"]), list_text):
        holding = [t for t in texts if needle in t]
        assert len(holding) >= 2, f"not whole in a passage on each page: {needle[:50]!r}"
    by_number = {p.number: p for p in doc.pages}
    for passage in passages:  # the citations still point at the page text
        for part in passage.parts:
            assert by_number[part.pdf_page].text[part.start : part.end].strip() in passage.text


def spans_of(text: str, size: int = 120, overlap: int = 0) -> list[str]:
    return [text[a:b] for a, b in passage_spans(text, size, overlap)]


def test_abbreviations_initials_and_decimals_do_not_end_a_sentence():
    text = (
        "Suppliers, e.g. Acme Corp. Ltd and J. Smith of No. 5 Works, cut emissions by 4.5 "
        "percent in the year under review. Steel is bought from two mills.\n\n"
        "Die Lieferanten, z. B. Stahlwerke, berichten jährlich über ihre Emissionen."
    )
    pieces = spans_of(text, size=100)
    assert pieces[0].startswith("Suppliers, e.g. Acme") and pieces[0].endswith("under review.")
    assert pieces[-1].endswith(
        "Die Lieferanten, z. B. Stahlwerke, berichten jährlich über ihre Emissionen."
    )


def test_a_sentence_running_on_over_a_paragraph_break_stays_whole():
    text = (
        "Opening words of a first paragraph that end here. The minerals are tin, tungsten\n\n"
        "and gold, which come from audited smelters only. A new sentence starts."
    )
    pieces = spans_of(text, size=60)
    assert any("tin, tungsten\n\nand gold, which" in p for p in pieces)


def test_a_heading_joins_the_text_after_it_and_overlap_is_whole_sentences():
    text = (
        "First sentence about steel is here. Second sentence about aluminium.\n\n"
        "Human rights due diligence\n\n"
        "We assess risks at every tier of the supply chain. Findings are followed up."
    )
    pieces = spans_of(text, size=80, overlap=40)
    assert any("Human rights due diligence\n\nWe assess" in p for p in pieces)
    assert pieces[1].startswith("Second sentence about aluminium.")  # the overlap
    assert not any(p.endswith("due diligence") for p in pieces)
    for p in pieces:
        assert p.endswith(".")


def test_japanese_sentences_are_cut_at_the_full_stop():
    text = "当社は人権方針を策定しました。" * 20
    pieces = spans_of(text, size=60)
    assert len(pieces) > 1 and all(p.endswith("。") for p in pieces)


def test_a_table_read_as_one_run_of_text_is_still_cut_to_size():
    text = "\n".join(f"Nickel {i}% 11 8 Graphite {i + 1}%" for i in range(200))
    pieces = spans_of(text, size=200)
    assert len(pieces) > 10 and all(len(p) <= 200 for p in pieces)
    assert squash(" ".join(pieces)) == squash(text)


def test_a_list_too_long_for_one_passage_is_cut_between_its_items(tmp_path):
    facts = pdf_factory.list_pdf(tmp_path / "list.pdf")
    passages = split_passages(parse_pdf(tmp_path / "list.pdf"), size=200, overlap=0)
    texts = [squash(p.text) for p in passages]
    for item in facts["items"]:
        assert any(squash(item) in t for t in texts), f"item cut: {item!r}"


def test_no_text_is_ever_lost_and_every_passage_keeps_its_bounds():
    """Random text made of words, stops, bullets and breaks: every character that is not
    white space lands in some passage, and no passage outgrows size x SLACK."""
    import random
    import string

    rng = random.Random(0)
    alphabet = string.ascii_letters + "      ..,;:!?\n\n•-–()0123456789。ä"
    for _ in range(150):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4000)))
        size = rng.choice([100, 300, 800])
        covered = bytearray(len(text))
        for a, b in passage_spans(text, size, rng.randint(0, size // 2)):
            assert 0 <= a < b <= len(text) and b - a <= size * SLACK
            assert text[a:b] == text[a:b].strip()
            covered[a:b] = b"\x01" * (b - a)
        lost = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
        assert not lost, repr(text[lost[0] - 30 : lost[0] + 30])
