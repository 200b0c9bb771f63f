"""The judge reads; it does not count. With the shipped evidence model and judge, the real
pipeline on real PDFs: a report read twice (one PDF holding every page twice) and the report
with an unrelated report's chapters appended get the draft levels of the report alone (at
most one of 40 may move),
and each criterion's draft, reason, evidence and candidate levels tell one story."""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fpdf import FPDF

from analyzer.candidates.views import candidates as candidate_records
from analyzer.db.drafts import document_drafts
from analyzer.pipeline import Analyzer

pytestmark = pytest.mark.slow

UNRELATED = [
    (
        "Our Bakery Year",
        "The bakery opened two new shops in the old town this year. Our sourdough starter is "
        "fed twice a day with rye flour and water, and the loaves rest overnight in baskets "
        "before they are baked in the stone oven at dawn. Customers asked for more seeded "
        "rolls, so the morning shift now starts half an hour earlier.",
    ),
    (
        "Recipes and Seasons",
        "In spring we bake rhubarb tarts and in autumn plum cakes with cinnamon. The summer "
        "menu adds cold cucumber soup and lemon cake. Our apprentices learn to shape pretzels "
        "in their first week and to laminate croissant dough in their second month. The "
        "football team of the bakery won the town cup after a penalty shoot-out.",
    ),
    (
        "Our Team",
        "Twelve bakers, four shop assistants and two drivers work with us. The choir of the "
        "bakery sings at the winter market, and the annual picnic by the lake was held in "
        "June with games for the children and a long table of cakes.",
    ),
]


def unrelated_pdf(path: Path) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for title, body in UNRELATED * 2:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for _ in range(3):
            pdf.multi_cell(0, 6, body)
            pdf.ln(3)
    pdf.output(str(path))
    return path


def joined(parts: list[Path], out: Path) -> Path:
    """One PDF made of the given PDFs' pages, in order."""
    target = pdfium.PdfDocument.new()
    for part in parts:
        source = pdfium.PdfDocument(str(part))
        target.import_pages(source)
        source.close()
    target.save(str(out))
    target.close()
    return out


@pytest.fixture
def analyzer(db, embedder):
    found = Analyzer(db, embedder=embedder)
    if found.prescorer is None:
        pytest.fail("no shipped evidence model in models/ for the default criteria")
    return found


def levels_of(analyzer: Analyzer, db, path: Path) -> dict[str, int]:
    result = analyzer.analyze(path)
    assert result.error is None, result.error
    drafts = document_drafts(db, result.doc_id, analyzer.criteria.version)
    return {cid: d["level"] for cid, d in drafts.items()}


def test_read_twice_or_with_unrelated_chapters_the_levels_stay(analyzer, db, sample_pdf, tmp_path):
    alone = levels_of(analyzer, db, sample_pdf)
    assert any(alone.values()), "the sample report earns some levels"
    twice = levels_of(analyzer, db, joined([sample_pdf, sample_pdf], tmp_path / "twice.pdf"))
    bakery = unrelated_pdf(tmp_path / "bakery.pdf")
    padded = levels_of(analyzer, db, joined([sample_pdf, bakery], tmp_path / "padded.pdf"))
    changed_twice = {c for c in alone if alone[c] != twice[c]}
    changed_padded = {c for c in alone if alone[c] != padded[c]}
    # At most one level of 40 may move (issue 17's bound): where the two copies meet, a
    # passage can straddle them and the second copy is then cut a little differently, so its
    # texts, and what the model reads, are not exactly the first copy's.
    assert len(changed_twice) <= 1, {c: (alone[c], twice[c]) for c in changed_twice}
    assert len(changed_padded) <= 1, {c: (alone[c], padded[c]) for c in changed_padded}


def test_each_criterion_tells_one_story(analyzer, db, sample_pdf):
    result = analyzer.analyze(sample_pdf)
    drafts = document_drafts(db, result.doc_id, analyzer.criteria.version)
    records = candidate_records(db, str(result.doc_id))
    for cid, d in drafts.items():
        mine = sorted((r for r in records if r["criterion"] == cid), key=lambda r: r["rank"])
        levels = [r["level"] for r in mine]
        rests_on = json.loads(d["evidence"])
        assert d["reason"].startswith(f"level {d['level']}"), (cid, d["reason"])
        if d["level"] == 0:
            assert levels == [0] * len(levels) and rests_on == [], cid
            continue
        assert levels[0] == d["level"] and max(levels) <= d["level"], (cid, levels)
        assert rests_on == [r["passage_id"] for r in mine if r["level"] > 0], cid
        first = mine[0]
        assert f"p. {first['quote_pdf_page']}" in d["reason"], (cid, d["reason"])
        assert first["quote"][:40] in d["reason"].replace("…", ""), (cid, d["reason"])
