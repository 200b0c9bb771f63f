"""Non-evidence text (navigation, table fragments, bare labels) is never the first quote."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.candidates.quotes import best_quote, ends_mid_sentence, is_heading
from analyzer.candidates.select import select_candidates
from analyzer.criteria.sets import load_criteria
from analyzer.scoring.prescore import PreScore
from analyzer.scoring.scorers import Assessment
from analyzer.textkinds import (
    is_label_soup,
    is_non_evidence,
    is_reporting_index,
    is_table_fragment,
)
from analyzer.types import PagePart, Passage


@pytest.mark.parametrize(
    "text, non_evidence",
    [
        ("Nickel 71% 11 8 Graphite 46%", True),  # the table fragment
        ("Supply Chain and Human Rights", True),  # its cross-reference
        (
            "SUPPLY CHAIN RESPONSIBILITY ENVIRONMENT, SOCIETY AND RESPONSIBLE COMPANY MANAGEMENT",
            True,
        ),
        ("2 Management's Discussion of Environmental Metrics ..........................", True),
        ("1 Thousand tons of CO2e.", True),  # a footnote
        ("Scope 3 – Cat. 1 – Purchased goods and services (CO2e ktons) 8,439 N/A N/A", False),
        ("We require all tier-1 suppliers to use renewable power by 2025 under contract.", False),
        ("当社は2030年までにサプライヤーの人権デューディリジェンスを実施します。", False),
    ],
)
def test_non_evidence_is_told_from_evidence(text, non_evidence):
    assert is_non_evidence(text) is non_evidence


def test_a_labelled_table_row_is_no_fragment():
    assert is_table_fragment("Nickel 71% 11 8 Graphite 46%")
    assert not is_table_fragment("Share of recycled aluminium in new vehicles 2023 18% 2022 15%")


def passage(i: int, text: str) -> Passage:
    return Passage(i, text, [PagePart(i + 1, str(i + 1), 0, len(text))])


def test_the_quote_is_the_prose_not_the_heading_or_the_figures():
    text = (
        "SUPPLY CHAIN AND HUMAN RIGHTS\n\n"
        "Cobalt Nickel Lithium\n71% 11 8 46%\n\n"
        "All cobalt smelters in our battery supply chain were audited against the OECD "
        "guidance in 2023, and two were excluded."
    )
    quote = best_quote(passage(0, text), {"cobalt", "supply", "chain", "nickel", "lithium"})
    assert quote.text.startswith("All cobalt smelters")


def test_a_table_fragment_never_takes_the_first_rank():
    criteria = load_criteria()
    texts = [
        "Nickel 71% 11 8 Graphite 46%",
        "Our battery cell suppliers must trace nickel and graphite to the mine by 2026.",
    ]
    passages = [passage(i, t) for i, t in enumerate(texts)]
    n, c = len(texts), len(criteria.criteria)
    assessment = Assessment(
        np.zeros((n, c)), np.full((n, c), np.nan), np.full(c, np.nan), ["x"] * c
    )
    prescore = PreScore(
        passages=[np.array([0, 1])] * c,  # the model put the fragment first
        relevance=[np.array([0.95, 0.4])] * c,
        level=np.ones(c, int),
        p_evidence=np.full(c, 0.7),
        p_full=np.full(c, 0.2),
    )
    terms = {cr.id: {"nickel", "graphite"} for cr in criteria.criteria}
    rows = select_candidates(criteria, terms, passages, [10, 11], assessment, 2, {}, prescore)
    first = {r["passage_id"] for r in rows if r["rank"] == 1}
    assert first == {11}
    assert {r["probability"] for r in rows if r["passage_id"] == 10} == {0.95}


@pytest.mark.parametrize(
    "text, index",
    [
        (
            "GRI 2-28 Membership associations Mapping our advocacy alignment, p. 45\n"
            "GRI 2-25 Processes to remediate negative impacts Human Rights (Grievance) p. 12\n"
            "GRI 308-1 New suppliers screened Sustainability report p. 33",
            True,
        ),
        (
            "Supplier Code of Conduct • Human Rights Policy\nGRI 414-1\nGRI 414-2\n"
            "SASB TR-AU-440a.1 Sustainability Report p. 56",
            True,
        ),
        ("We require all tier-1 suppliers to use green power by 2025 (see page 45).", False),
        (  # a data table that names its GRI disclosure in a column is data, not an index
            "Scope 3 upstream 1,000 metric tons of CO2e 10,528 10,981 −4.1% GRI 305-3\n"
            "Purchased goods and services 8,439 9,940 GRI 305-3",
            False,
        ),
    ],
)
def test_a_reporting_index_is_never_evidence(text, index):
    assert is_reporting_index(text) is index
    assert is_non_evidence(text) is index


def test_diagram_label_soup_is_never_evidence():
    soup = (
        "Energy expenditure for CO2 emissions Energy expenditure for CO2 emissions "
        "Energy expenditure Raw materials Energy expenditure"
    )
    assert is_label_soup(soup) and is_non_evidence(soup)
    assert not is_label_soup("Suppliers must report energy use and CO2 emissions each year.")


def test_the_quote_is_the_sentence_without_the_heading_beside_it():
    text = (
        "Complaints are investigated by the ombudsperson and the supplier in question.\n"
        "Supply Chain Grievance Mechanism\n"
        "Our battery suppliers were audited and the raw materials, the"
    )
    wanted = {"complaints", "supplier", "grievance", "mechanism", "investigated"}
    quote = best_quote(passage(0, text), wanted)
    assert quote.text == (
        "Complaints are investigated by the ombudsperson and the supplier in question."
    )
    assert is_heading("SUPPLY CHAIN AND HUMAN") and is_heading("Supply Chain Grievance Mechanism")
    assert not is_heading("We audit suppliers")
    assert ends_mid_sentence("Our battery suppliers were audited and the raw materials, the")
    assert not ends_mid_sentence("Scope 3 – Cat. 1 – Purchased goods 8,439")


def test_a_whole_sentence_beats_a_fragment_cut_by_the_passage():
    text = (
        "We require our cobalt suppliers to follow the OECD guidance and audit every smelter.\n\n"
        "In addition, cobalt and lithium from our suppliers in the battery supply chain and"
    )
    quote = best_quote(passage(0, text), {"cobalt", "lithium", "suppliers", "battery", "supply"})
    assert quote.text.startswith("We require our cobalt suppliers")
